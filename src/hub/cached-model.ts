// Is a hub id already in the cache as a loadable model? A synchronous question (no network), for
// the code that maps model names to directories without awaiting (resolveModelName).
import fs from 'node:fs';
import { RepoCache } from './cache.js';
import { DEFAULT_REVISION, isHubId } from './repo-id.js';
import { missingModelFiles } from './select.js';
import { hubCacheDir } from './settings.js';

/**
 * The snapshot directory refs/<revision> names, when it holds config.json and all the safetensors
 * weights (a snapshot huggingface_hub filled with only some files does not count); else undefined.
 */
export function cachedModelDir(repoId: string, revision = DEFAULT_REVISION, cacheDir = hubCacheDir()): string | undefined {
  if (!isHubId(repoId)) return undefined;
  const cache = new RepoCache(cacheDir, repoId);
  const commit = cache.commitOf(revision);
  if (commit === undefined) return undefined;
  const dir = cache.snapshotDir(commit);
  return fs.existsSync(dir) && missingModelFiles(dir).length === 0 ? dir : undefined;
}
