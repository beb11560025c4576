// Where the hub is and where its cache lives, from the same environment variables huggingface_hub
// reads, so that rlcd and the Python tools share one cache and one login.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  /** The hub's base URL, without a trailing '/'. */
  endpoint: string;
  /** The cache root holding models--ORG--NAME folders. */
  cacheDir: string;
  /** Sent as `Authorization: Bearer` to the endpoint (never to another host). */
  token: string | undefined;
  /** No network: everything comes from the cache. */
  offline: boolean;
  /** How long a metadata request (HEAD, file listing) may take: HF_HUB_ETAG_TIMEOUT seconds, default 10. */
  etagTimeoutMs: number;
  /** How long a download may stall without a byte before it is retried: HF_HUB_DOWNLOAD_TIMEOUT seconds, default 10. */
  downloadTimeoutMs: number;
}

/** Explicit settings; each one left out comes from the environment. */
export interface HubOverrides {
  endpoint?: string;
  cacheDir?: string;
  token?: string;
  offline?: boolean;
}

type Env = Record<string, string | undefined>;

const expandHome = (p: string): string => (p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p);

/** huggingface_hub's truthy spellings of a boolean variable. */
const isTrue = (v: string | undefined): boolean => v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.trim().toUpperCase());

export function hfHome(env: Env = process.env): string {
  const xdg = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return expandHome(env.HF_HOME || path.join(xdg, 'huggingface'));
}

export function hubCacheDir(env: Env = process.env): string {
  // HUGGINGFACE_HUB_CACHE is the older name huggingface_hub still honours.
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  return explicit ? expandHome(explicit) : path.join(hfHome(env), 'hub');
}

/** HF_TOKEN, else the file `hf auth login` writes ($HF_TOKEN_PATH, default $HF_HOME/token). */
function tokenFromEnv(env: Env): string | undefined {
  const fromVar = env.HF_TOKEN?.trim();
  if (fromVar) return fromVar;
  const file = env.HF_TOKEN_PATH ? expandHome(env.HF_TOKEN_PATH) : path.join(hfHome(env), 'token');
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function checkToken(token: unknown, name = 'token'): string {
  // It goes into a header line: whitespace or control characters would break or forge headers.
  if (typeof token !== 'string' || token === '') throw new TypeError(`${name} must be a non-empty string`);
  if (/[\s\x00-\x1f\x7f]/.test(token)) throw new RangeError(`${name} must not contain spaces or control characters`);
  return token;
}

export function checkEndpoint(endpoint: unknown, name = 'endpoint'): string {
  if (typeof endpoint !== 'string' || endpoint === '') throw new TypeError(`${name} must be a non-empty URL string`);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new RangeError(`${name} must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`${name} must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  return endpoint.replace(/\/+$/, '');
}

function secondsFromEnv(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0) throw new RangeError(`${name} must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  return s * 1000;
}

export function hubSettings(overrides: HubOverrides = {}, env: Env = process.env): HubSettings {
  const endpoint = overrides.endpoint !== undefined ? checkEndpoint(overrides.endpoint) : checkEndpoint(env.HF_ENDPOINT || DEFAULT_ENDPOINT, 'HF_ENDPOINT');
  const token = overrides.token !== undefined ? checkToken(overrides.token) : tokenFromEnv(env);
  if (token !== undefined && overrides.token === undefined) checkToken(token, 'HF_TOKEN (or the token file)');
  if (overrides.cacheDir !== undefined && (typeof overrides.cacheDir !== 'string' || overrides.cacheDir === '')) throw new TypeError('cacheDir must be a non-empty string');
  if (overrides.offline !== undefined && typeof overrides.offline !== 'boolean') throw new TypeError('offline must be a boolean');
  return {
    endpoint,
    cacheDir: overrides.cacheDir !== undefined ? expandHome(overrides.cacheDir) : hubCacheDir(env),
    token,
    offline: overrides.offline ?? isTrue(env.HF_HUB_OFFLINE),
    etagTimeoutMs: secondsFromEnv(env, 'HF_HUB_ETAG_TIMEOUT', 10),
    downloadTimeoutMs: secondsFromEnv(env, 'HF_HUB_DOWNLOAD_TIMEOUT', 10),
  };
}
