// Requests to the hub: the token only to the hub's own origin, redirects followed by hand (so a
// HEAD can stop at the CDN redirect and read its headers), statuses turned into HubErrors that say
// what to do, and transient failures (network resets, timeouts, 429, 5xx) retried with backoff.
import { HubError } from '../errors/hub-error.js';

export interface HubClient {
  endpoint: string;
  token: string | undefined;
}

/** What a request is about, for the error messages. */
export interface HubTarget {
  repoId: string;
  revision: string;
  file?: string;
}

export interface HubRequestInit {
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** 'relative': follow only redirects within the same host (a renamed repo), return one to elsewhere (the CDN); 'all': follow every one. */
  redirects: 'relative' | 'all';
  /** Statuses returned as they are instead of thrown (e.g. 416 for a range past the end). */
  pass?: number[];
  signal?: AbortSignal;
}

/** A failure worth another try; the retry loop turns the last one into a HubError. */
export class TransientError extends Error {
  constructor(message: string, readonly status?: number, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'TransientError';
  }
}

const MAX_REDIRECTS = 10;
export const RETRY_DELAYS_MS = [500, 1000, 2000, 4000];
// Connection failures that another try a second later will not fix: report them at once.
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_NONAME']);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function networkCode(e: unknown): string | undefined {
  const cause = (e as { cause?: { code?: unknown } })?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function unreachable(url: string, detail: string): HubError {
  return new HubError('unreachable', `cannot reach ${new URL(url).origin}: check the network, or set HF_HUB_OFFLINE=1 to use the cache (${detail})`);
}

/** Turns what fetch threw into a HubError (no point retrying) or a TransientError. */
export function classifyNetworkError(e: unknown, url: string): Error {
  if (e instanceof HubError || e instanceof TransientError) return e;
  const code = networkCode(e);
  if (code !== undefined && UNREACHABLE.has(code)) return unreachable(url, code);
  const name = (e as Error)?.name;
  const detail = code ?? (name === 'TimeoutError' ? 'timed out' : (e as Error)?.message ?? String(e));
  return new TransientError(`${url}: ${detail}`);
}

/** Runs `attempt` until it succeeds, fails for good, or has failed transiently RETRY_DELAYS_MS.length + 1 times. */
export async function withRetries<T>(attempt: () => Promise<T>, url: string): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const err = classifyNetworkError(e, url);
      if (!(err instanceof TransientError)) throw err;
      if (n >= RETRY_DELAYS_MS.length) {
        if (err.status !== undefined) throw new HubError('unreachable', `${url}: HTTP ${err.status} after ${n + 1} tries: the hub is overloaded or down; try again later, or set HF_HUB_OFFLINE=1 to use the cache`, err.status);
        throw unreachable(url, `${err.message.replace(`${url}: `, '')}, ${n + 1} tries`);
      }
      await sleep(Math.min(err.retryAfterMs ?? RETRY_DELAYS_MS[n]!, 30_000));
    }
  }
}

function statusError(res: Response, url: string, client: HubClient, target: HubTarget): Error {
  const status = res.status;
  const code = res.headers.get('x-error-code') ?? '';
  const hubSays = res.headers.get('x-error-message');
  const { repoId, revision, file } = target;
  if (status === 429 || status >= 500) {
    const retryAfter = res.headers.get('retry-after');
    return new TransientError(`${url}: HTTP ${status}`, status, retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) * 1000 : undefined);
  }
  if ((status === 401 || status === 403) && new URL(url).origin !== new URL(client.endpoint).origin) {
    // Not the hub but the CDN it redirected to: its signed URL is what failed, not the access.
    return new HubError('protocol', `${repoId}: ${file ?? url}: the download URL the hub gave was refused (HTTP ${status}; signed URLs expire): pull again`, status);
  }
  if (status === 401 || status === 403) {
    const refused = client.token !== undefined ? ' (the token given was not accepted for it)' : '';
    return new HubError('unauthorized', `${repoId}: gated or private model${refused}: accept its licence on the hub and pass a token (--token or HF_TOKEN) [HTTP ${status}]`, status);
  }
  if (status === 404) {
    if (code === 'RevisionNotFound') return new HubError('revision-not-found', `${repoId}: revision ${JSON.stringify(revision)} not found on ${client.endpoint} (the repository exists)`, status);
    if (code === 'EntryNotFound' || (code === '' && file !== undefined)) {
      return new HubError('file-not-found', `${repoId}: file ${JSON.stringify(file ?? new URL(url).pathname)} not found at revision ${JSON.stringify(revision)}`, status);
    }
    return new HubError('repo-not-found', `${repoId}: repository not found on ${client.endpoint} (check the name)`, status);
  }
  return new HubError('protocol', `${url}: HTTP ${status} ${res.statusText}${hubSays ? `: ${hubSays}` : ''}`, status);
}

/**
 * One request (no retries: wrap it in withRetries). Returns 2xx answers, a 3xx the redirect mode
 * does not follow, and statuses in `pass`; throws a HubError or TransientError for the rest.
 */
export async function hubRequest(client: HubClient, url: string, init: HubRequestInit, target: HubTarget): Promise<Response> {
  const hubOrigin = new URL(client.endpoint).origin;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'rlcd', ...init.headers };
    // The token is for the hub; a CDN or any other host it redirects to gets a signed URL instead.
    if (client.token !== undefined && new URL(current).origin === hubOrigin) headers.authorization = `Bearer ${client.token}`;
    const res = await fetch(current, { method: init.method, headers, redirect: 'manual', ...(init.signal && { signal: init.signal }) });
    if (init.pass?.includes(res.status)) return res;
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      if (location === null) throw new HubError('protocol', `${current}: HTTP ${res.status} without a Location header`, res.status);
      const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith('//');
      if (init.redirects === 'relative' && !relative) return res;
      await res.body?.cancel();
      current = new URL(location, current).toString();
      continue;
    }
    if (res.ok) return res;
    await res.body?.cancel();
    throw statusError(res, current, client, target);
  }
  throw new HubError('protocol', `${url}: more than ${MAX_REDIRECTS} redirects`);
}
