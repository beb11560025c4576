// pullModel(): a model repository from the Hugging Face hub into huggingface_hub's cache, as its
// snapshot_download does it: the revision's file list and commit from the API, the files chosen
// (select.ts), each one downloaded into blobs/ and linked from snapshots/<commit>/ (download.ts),
// then refs/<revision> -> commit. Files already in that snapshot cost no request at all.
import fs from 'node:fs';
import path from 'node:path';
import { HubError } from '../errors/hub-error.js';
import { checkHooks, type StageEvent, type StageHooks } from '../pipeline/stage.js';
import { RepoCache } from './cache.js';
import { downloadBlob, fileMetadata } from './download.js';
import { hubRequest, withRetries } from './http.js';
import { checkRepoId, checkRevision, COMMIT_SHA, DEFAULT_REVISION } from './repo-id.js';
import { checkIncludeGlobs, defaultSelection, filesMatching, globMatcher, missingModelFiles, shardsOfIndex, WEIGHTS_FILE, WEIGHTS_INDEX } from './select.js';
import { hubSettings, type HubOverrides, type HubSettings } from './settings.js';

export interface PullOptions extends HubOverrides {
  /** Branch, tag or commit sha; default 'main'. */
  revision?: string;
  /** fnmatch globs (huggingface_hub's allow_patterns): pull the matching files instead of the model files. */
  include?: string[];
}

export interface PulledFile {
  /** Path inside the repository. */
  file: string;
  size: number;
  /** Fetched over the network by this pull (else it was in the cache). */
  downloaded: boolean;
}

export interface PullResult {
  repoId: string;
  revision: string;
  commit: string;
  /** snapshots/<commit>: a model directory to load. */
  dir: string;
  files: PulledFile[];
  /** Bytes fetched over the network (0 when everything was cached). */
  downloadedBytes: number;
  /** True when HF_HUB_OFFLINE (or `offline`) made this a cache lookup. */
  offline: boolean;
}

const PULL_OPTIONS = ['revision', 'include', 'token', 'endpoint', 'cacheDir', 'offline'];
// Listing a repository with thousands of files takes longer than a HEAD.
const LISTING_TIMEOUT_MS = 30_000;

interface RepoListing {
  commit: string;
  /** Every file at that commit with its size when the API gave it. */
  files: Map<string, number | undefined>;
}

/** GET /api/models/ORG/NAME/revision/REV?blobs=true: the commit and its files (with sizes, for the progress total). */
async function listRepo(s: HubSettings, repoId: string, revision: string): Promise<RepoListing> {
  const url = `${s.endpoint}/api/models/${repoId}/revision/${encodeURIComponent(revision)}?blobs=true`;
  const body = await withRetries(async () => {
    const res = await hubRequest(s, url, { method: 'GET', redirects: 'all', signal: AbortSignal.timeout(Math.max(s.etagTimeoutMs, LISTING_TIMEOUT_MS)) }, { repoId, revision });
    return res.text();
  }, url);
  let info: { sha?: unknown; siblings?: unknown };
  try {
    info = JSON.parse(body) as typeof info;
  } catch {
    throw new HubError('protocol', `${url}: the answer is not JSON; is ${s.endpoint} a Hugging Face hub?`);
  }
  if (typeof info.sha !== 'string' || !COMMIT_SHA.test(info.sha) || !Array.isArray(info.siblings)) {
    throw new HubError('protocol', `${url}: the answer lacks the commit sha or the file list; is ${s.endpoint} a Hugging Face hub?`);
  }
  const files = new Map<string, number | undefined>();
  for (const sib of info.siblings as Array<{ rfilename?: unknown; size?: unknown }>) {
    if (typeof sib?.rfilename !== 'string') throw new HubError('protocol', `${url}: a file entry without rfilename`);
    files.set(sib.rfilename, typeof sib.size === 'number' ? sib.size : undefined);
  }
  return { commit: info.sha, files };
}

/** What a pull takes from the listing: the --include matches, or the model files (without shards yet). */
function chooseFiles(listing: RepoListing, repoId: string, revision: string, include: string[] | undefined): { files: string[]; index: string | undefined } {
  const all = [...listing.files.keys()];
  const sample = all.slice(0, 12).join(', ') + (all.length > 12 ? ', ...' : '');
  if (include) {
    const files = filesMatching(all, include);
    if (files.length === 0) throw new HubError('file-not-found', `${repoId}: no file at revision ${JSON.stringify(revision)} matches ${include.map((g) => JSON.stringify(g)).join(', ')} (it has ${sample})`);
    return { files, index: undefined };
  }
  const chosen = defaultSelection(all);
  if (!chosen.files.includes(WEIGHTS_FILE) && !chosen.index) {
    throw new HubError('file-not-found', `${repoId}: no ${WEIGHTS_FILE} or ${WEIGHTS_INDEX} at revision ${JSON.stringify(revision)} (it has ${sample}); rlcd loads safetensors weights: pass --include GLOB to pull other files`);
  }
  return chosen;
}

function checkPullOptions(options: unknown): PullOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`options must be an object { ${PULL_OPTIONS.join(', ')} }`);
  const unknown = Object.keys(options).filter((k) => !PULL_OPTIONS.includes(k));
  if (unknown.length > 0) throw new RangeError(`unknown option(s): ${unknown.join(', ')} (pullModel takes ${PULL_OPTIONS.join(', ')})`);
  return options as PullOptions;
}

function snapshotFiles(dir: string): PulledFile[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((f) => ({ f: f.split(path.sep).join('/'), st: fs.statSync(path.join(dir, f), { throwIfNoEntry: false }) }))
    .filter(({ st }) => st?.isFile())
    .map(({ f, st }) => ({ file: f, size: st!.size, downloaded: false }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** HF_HUB_OFFLINE: the snapshot refs/<revision> names, if it holds what the pull would have taken. */
function pullFromCache(cache: RepoCache, repoId: string, revision: string, include: string[] | undefined): PullResult {
  const offline = `HF_HUB_OFFLINE is set and ${repoId} (revision ${JSON.stringify(revision)})`;
  const commit = cache.commitOf(revision);
  if (commit === undefined) throw new HubError('offline', `${offline} is not in the cache ${cache.cacheDir} (no ${path.join(cache.root, 'refs', revision)}); pull it once online`);
  const dir = cache.snapshotDir(commit);
  if (!fs.existsSync(dir)) throw new HubError('offline', `${offline} is not in the cache (no snapshot ${dir}); pull it once online`);
  const files = snapshotFiles(dir);
  const missing = include
    ? include.filter((g) => !files.some((f) => globMatcher(g)(f.file))).map((g) => `a file matching ${JSON.stringify(g)}`)
    : missingModelFiles(dir);
  if (missing.length > 0) throw new HubError('offline', `${offline}: the cached snapshot ${dir} lacks ${missing.join(', ')}; pull it once online`);
  return { repoId, revision, commit, dir, files, downloadedBytes: 0, offline: true };
}

/**
 * Pulls ORG/NAME at a revision into the hub cache and returns its snapshot directory. Reports bytes
 * on disk against the total as StageEvents (stage 'pull'). Throws HubError for what the hub refused
 * or the network did not deliver; bad arguments throw TypeError/RangeError before any request.
 */
export async function pullModel(repoId: string, options: PullOptions = {}, hooks: StageHooks = {}): Promise<PullResult> {
  checkRepoId(repoId);
  const o = checkPullOptions(options);
  const revision = checkRevision(o.revision ?? DEFAULT_REVISION);
  const include = o.include !== undefined ? checkIncludeGlobs(o.include) : undefined;
  const { onEvent } = checkHooks(hooks);
  const s = hubSettings(o);
  const cache = new RepoCache(s.cacheDir, repoId);
  if (s.offline) return pullFromCache(cache, repoId, revision, include);

  const listing = await listRepo(s, repoId, revision);
  const { commit } = listing;
  const { files: queue, index } = chooseFiles(listing, repoId, revision, include);
  const sizes = new Map(queue.map((f) => [f, listing.files.get(f)]));
  const onDisk = new Map<string, number>();
  let total = [...sizes.values()].reduce<number>((n, v) => n + (v ?? 0), 0);
  const emit = (message?: string): void => {
    const done = [...onDisk.values()].reduce((n, v) => n + v, 0);
    onEvent?.({ stage: 'pull', step: done, total, metrics: { files: queue.length, files_done: pulled.length }, ...(message && { message }) } satisfies StageEvent);
  };
  const pulled: PulledFile[] = [];
  let downloadedBytes = 0;
  emit(`${repoId}@${revision}: commit ${commit}, ${queue.length} file(s)`);

  // The queue grows by the shards once the index is in.
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i]!;
    const target = { repoId, revision: commit, file };
    // Downloads name the commit, not the branch, so every file comes from the same snapshot.
    let size: number, downloaded = false;
    if (cache.hasFile(commit, file)) {
      size = fs.statSync(cache.pointerPath(commit, file)).size;
    } else {
      const remote = await fileMetadata(s, target);
      cache.tagCacheDir();
      if (sizes.get(file) === undefined) total += remote.size;
      sizes.set(file, remote.size);
      const fetched = await downloadBlob(s, cache, remote, target, (bytes) => {
        onDisk.set(file, bytes);
        emit();
      });
      cache.linkFile(commit, file, remote.etag);
      size = remote.size;
      downloaded = fetched > 0;
      downloadedBytes += fetched;
    }
    onDisk.set(file, size);
    pulled.push({ file, size, downloaded });
    emit();
    if (file === index) {
      let shards: string[];
      try {
        shards = shardsOfIndex(JSON.parse(fs.readFileSync(cache.pointerPath(commit, file), 'utf8')), `${repoId}/${file}`);
      } catch (e) {
        throw new HubError('protocol', (e as Error).message);
      }
      const absent = shards.filter((f) => !listing.files.has(f));
      if (absent.length > 0) throw new HubError('file-not-found', `${repoId}: ${file} names shard(s) the repository does not have at revision ${JSON.stringify(revision)}: ${absent.join(', ')}`);
      for (const shard of shards) {
        if (queue.includes(shard)) continue;
        queue.push(shard);
        sizes.set(shard, listing.files.get(shard));
        total += listing.files.get(shard) ?? 0;
      }
    }
  }
  // Last, so a ref only ever names a snapshot this pull completed.
  cache.writeRef(revision, commit);
  return { repoId, revision, commit, dir: cache.snapshotDir(commit), files: pulled, downloadedBytes, offline: false };
}
