// One file from the hub into the cache, as huggingface_hub's hf_hub_download does it: a HEAD on
// /resolve/ (CDN redirect not followed) gives the etag, size and download URL; the bytes go to
// blobs/<etag>.incomplete, resumed with a Range request after a kill or a dropped connection; the
// result is checked against the size and the etag's digest and only then renamed to blobs/<etag>.
import fs from 'node:fs';
import path from 'node:path';
import { HubError } from '../errors/hub-error.js';
import { pidAlive } from '../util/lock.js';
import { digestForEtag } from './blob-hash.js';
import type { RepoCache } from './cache.js';
import { hubRequest, TransientError, withRetries, type HubClient, type HubTarget } from './http.js';
import { COMMIT_SHA } from './repo-id.js';

export interface RemoteFile {
  file: string;
  /** The commit the hub resolved the revision to (X-Repo-Commit). */
  commit: string;
  /** The blob's name in the cache: X-Linked-Etag (LFS: the sha256) or ETag, unquoted. */
  etag: string;
  size: number;
  /** Where the bytes are: the CDN URL of an LFS file, else the /resolve/ URL. */
  url: string;
}

export interface DownloadClient extends HubClient {
  etagTimeoutMs: number;
  downloadTimeoutMs: number;
}

export function resolveUrl(endpoint: string, repoId: string, revision: string, file: string): string {
  return `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** huggingface_hub's _normalize_etag: W/"x" and "x" both name the blob x. */
const normalizeEtag = (etag: string): string => etag.replace(/^W\//, '').replace(/^"|"$/g, '');

/** The HEAD of one file: what the cache will call it, how big it is, and where to GET it. */
export async function fileMetadata(client: DownloadClient, target: Required<HubTarget>): Promise<RemoteFile> {
  const url = resolveUrl(client.endpoint, target.repoId, target.revision, target.file);
  const res = await withRetries(
    () => hubRequest(client, url, { method: 'HEAD', redirects: 'relative', signal: AbortSignal.timeout(client.etagTimeoutMs) }, target),
    url,
  );
  const redirected = res.status >= 300 && res.status < 400;
  const etagHeader = res.headers.get('x-linked-etag') ?? res.headers.get('etag');
  const sizeHeader = res.headers.get('x-linked-size') ?? (redirected ? null : res.headers.get('content-length'));
  const commit = res.headers.get('x-repo-commit') ?? (COMMIT_SHA.test(target.revision) ? target.revision : null);
  const missing = [etagHeader === null && 'ETag', sizeHeader === null && 'a size (X-Linked-Size or Content-Length)', commit === null && 'X-Repo-Commit'].filter(Boolean);
  if (missing.length > 0) throw new HubError('protocol', `${target.repoId}: the hub's answer for ${target.file} lacks ${missing.join(', ')}; is ${client.endpoint} a Hugging Face hub?`);
  const size = Number(sizeHeader);
  if (!Number.isSafeInteger(size) || size < 0) throw new HubError('protocol', `${target.repoId}: ${target.file}: bad size ${JSON.stringify(sizeHeader)}`);
  const location = res.headers.get('location');
  return { file: target.file, commit: commit!, etag: normalizeEtag(etagHeader!), size, url: location !== null ? new URL(location, res.url || url).toString() : res.url || url };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One downloader per blob (another process pulling the same model waits for it): the lock file
 * holds the owner's pid, so the lock of a killed pull is taken over.
 */
async function lockBlob(lock: string): Promise<() => void> {
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  for (;;) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(lock, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = NaN;
    try {
      holder = Number(fs.readFileSync(lock, 'utf8'));
    } catch {
      continue; // released between our two calls
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) await sleep(500);
    else fs.rmSync(lock, { force: true }); // a killed pull's (or huggingface_hub's empty leftover)
  }
}

const fileSize = (f: string): number => {
  try {
    return fs.statSync(f).size;
  } catch {
    return 0;
  }
};

/**
 * Appends the rest of the file to `incomplete` from byte `have` on. A server that ignores the Range
 * (200) or answers from another offset restarts the file; a stall longer than downloadTimeoutMs
 * aborts the request (the retry resumes from what arrived).
 */
async function fetchRest(client: DownloadClient, remote: RemoteFile, target: Required<HubTarget>, incomplete: string, onDisk: (bytes: number, fetched: number) => void): Promise<void> {
  let have = fileSize(incomplete);
  if (have > remote.size) {
    fs.truncateSync(incomplete, 0); // not this blob's prefix
    have = 0;
  }
  onDisk(have, 0);
  if (have === remote.size) return;
  const stall = new AbortController();
  let timer = setTimeout(() => stall.abort(), client.downloadTimeoutMs);
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  try {
    const res = await hubRequest(client, remote.url, { method: 'GET', redirects: 'all', headers, pass: [416], signal: stall.signal }, target);
    if (res.status === 416) {
      fs.truncateSync(incomplete, 0);
      throw new TransientError(`${remote.url}: range ${have}- not satisfiable; restarting the file`);
    }
    const start = res.status === 206 ? Number(/^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1]) : 0;
    if (start !== have) {
      if (res.status === 206) {
        await res.body?.cancel();
        fs.truncateSync(incomplete, 0);
        throw new TransientError(`${remote.url}: asked for bytes ${have}- and got ${res.headers.get('content-range')}; restarting the file`);
      }
      fs.truncateSync(incomplete, 0); // the server ignored the Range: take the whole file
      have = 0;
      onDisk(0, 0);
    }
    const out = await fs.promises.open(incomplete, 'a');
    try {
      for await (const chunk of res.body ?? []) {
        clearTimeout(timer);
        timer = setTimeout(() => stall.abort(), client.downloadTimeoutMs);
        await out.write(chunk as Uint8Array);
        have += (chunk as Uint8Array).length;
        onDisk(have, (chunk as Uint8Array).length);
      }
    } finally {
      await out.close();
    }
  } catch (e) {
    if (stall.signal.aborted) throw new TransientError(`${remote.url}: no data for ${client.downloadTimeoutMs / 1000} s`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
  if (have < remote.size) throw new TransientError(`${remote.url}: connection closed at byte ${have} of ${remote.size}`);
}

/** Size, then digest (the etag's kind); a file that fails is deleted, so the next pull starts clean. */
async function verify(remote: RemoteFile, repoId: string, incomplete: string): Promise<void> {
  const size = fileSize(incomplete);
  const fail = (what: string): never => {
    fs.rmSync(incomplete, { force: true });
    throw new HubError('integrity', `${repoId}: ${remote.file}: ${what}; the partial download was deleted, pull again`);
  };
  if (size !== remote.size) fail(`size mismatch: expected ${remote.size} bytes, got ${size}`);
  const digest = digestForEtag(remote.etag, remote.size);
  if (!digest) return;
  // Read back from disk rather than hashing as bytes arrive: a resumed file's first part came from
  // an earlier process, and what counts is what the cache will serve.
  for await (const chunk of fs.createReadStream(incomplete)) digest.update(chunk as Buffer);
  const actual = digest.hex();
  if (actual !== remote.etag) fail(`${digest.algorithm} mismatch: expected ${remote.etag}, got ${actual}`);
}

/**
 * Makes blobs/<etag> hold the file (downloading what is missing) and reports the bytes on disk for
 * it as they grow. Returns the bytes fetched over the network by this call.
 */
export async function downloadBlob(client: DownloadClient, cache: RepoCache, remote: RemoteFile, target: Required<HubTarget>, onDisk: (bytes: number) => void): Promise<number> {
  const blob = cache.blobPath(remote.etag);
  if (fs.existsSync(blob)) {
    onDisk(remote.size);
    return 0;
  }
  fs.mkdirSync(path.dirname(blob), { recursive: true });
  const release = await lockBlob(cache.lockPath(remote.etag));
  try {
    if (fs.existsSync(blob)) {
      onDisk(remote.size); // another process finished it while we waited
      return 0;
    }
    const incomplete = cache.incompletePath(remote.etag);
    fs.closeSync(fs.openSync(incomplete, 'a'));
    let fetched = 0;
    await withRetries(() => fetchRest(client, remote, target, incomplete, (bytes, more) => {
      fetched += more;
      onDisk(bytes);
    }), remote.url);
    await verify(remote, target.repoId, incomplete);
    fs.renameSync(incomplete, blob);
    return fetched;
  } finally {
    release();
  }
}
