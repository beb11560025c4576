// huggingface_hub's cache layout, exactly, so a model fetched by either side is reused by the other:
//
//   <cache>/models--ORG--NAME/blobs/<etag>                 file contents, named by the hub's etag
//                                                          (sha256 for LFS files, git blob sha1 else)
//   <cache>/models--ORG--NAME/blobs/<etag>.incomplete      a download in progress (resumed from)
//   <cache>/models--ORG--NAME/snapshots/<commit>/<file>    relative symlink to ../../blobs/<etag>
//   <cache>/models--ORG--NAME/refs/<revision>              the commit a branch or tag pointed at
//   <cache>/.locks/models--ORG--NAME/<etag>.lock           one downloader per blob
import fs from 'node:fs';
import path from 'node:path';
import { HubError } from '../errors/hub-error.js';
import { atomicWriteFile } from '../util/atomic.js';
import { COMMIT_SHA, isSafeRepoFile } from './repo-id.js';

/** models--ORG--NAME: huggingface_hub's repo_folder_name for a model. */
export const repoFolderName = (repoId: string): string => ['models', ...repoId.split('/')].join('--');

// An etag becomes a file name: the hub's are hex digests; anything else is refused rather than trusted.
const SAFE_ETAG = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export class RepoCache {
  /** The repository's folder, models--ORG--NAME. */
  readonly root: string;

  constructor(readonly cacheDir: string, readonly repoId: string) {
    this.root = path.join(cacheDir, repoFolderName(repoId));
  }

  blobPath(etag: string): string {
    if (!SAFE_ETAG.test(etag)) throw new HubError('protocol', `${this.repoId}: the hub sent an etag that cannot name a file: ${JSON.stringify(etag)}`);
    return path.join(this.root, 'blobs', etag);
  }

  incompletePath(etag: string): string {
    return `${this.blobPath(etag)}.incomplete`;
  }

  lockPath(etag: string): string {
    return path.join(this.cacheDir, '.locks', repoFolderName(this.repoId), `${etag}.lock`);
  }

  snapshotDir(commit: string): string {
    return path.join(this.root, 'snapshots', commit);
  }

  /** snapshots/<commit>/<file>; a file path from the hub that would leave the snapshot is refused. */
  pointerPath(commit: string, file: string): string {
    if (!isSafeRepoFile(file)) throw new HubError('protocol', `${this.repoId}: refusing the repository file path ${JSON.stringify(file)} (it would leave the snapshot folder)`);
    return path.join(this.snapshotDir(commit), ...file.split('/'));
  }

  /** True when the snapshot holds the file and its blob (a symlink to a missing blob does not count). */
  hasFile(commit: string, file: string): boolean {
    return fs.existsSync(this.pointerPath(commit, file));
  }

  /** The commit a revision names: itself when it is a full sha, else what refs/<revision> holds. */
  commitOf(revision: string): string | undefined {
    return COMMIT_SHA.test(revision) ? revision : this.readRef(revision);
  }

  readRef(revision: string): string | undefined {
    try {
      const commit = fs.readFileSync(path.join(this.root, 'refs', ...revision.split('/')), 'utf8').trim();
      return COMMIT_SHA.test(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records revision -> commit (nothing for a revision that is the commit itself, as huggingface_hub does). */
  writeRef(revision: string, commit: string): void {
    if (revision === commit || this.readRef(revision) === commit) return;
    const file = path.join(this.root, 'refs', ...revision.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // No trailing newline: huggingface_hub writes the bare sha.
    atomicWriteFile(file, commit);
  }

  /** Marks the cache root as a cache (https://bford.info/cachedir/) so backup tools skip it, as huggingface_hub does. */
  tagCacheDir(): void {
    const tag = path.join(this.cacheDir, 'CACHEDIR.TAG');
    if (fs.existsSync(tag)) return;
    fs.mkdirSync(this.cacheDir, { recursive: true });
    fs.writeFileSync(tag, 'Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by rlcd (the huggingface_hub cache layout).\n# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n');
  }

  /** Points snapshots/<commit>/<file> at blobs/<etag> with a relative link, so the cache can be moved whole. */
  linkFile(commit: string, file: string, etag: string): void {
    const pointer = this.pointerPath(commit, file);
    const blob = this.blobPath(etag);
    fs.mkdirSync(path.dirname(pointer), { recursive: true });
    fs.rmSync(pointer, { force: true });
    try {
      fs.symlinkSync(path.relative(path.dirname(pointer), blob), pointer);
    } catch (e) {
      // Where symlinks are not allowed (Windows without developer mode) huggingface_hub copies the blob.
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
      fs.copyFileSync(blob, pointer);
    }
  }
}
