// The hub names a file's contents by its etag, which is a digest of them: the sha256 for files
// stored with git LFS (the weights), the git blob id (sha1 of "blob <size>\0" + bytes) for the rest.
// Checking a download against it catches a truncated, corrupted or mixed-up file before it enters
// the cache, where every later load would trust it.
import { createHash, type Hash } from 'node:crypto';

export interface BlobDigest {
  /** 'sha256' or 'git blob sha1', for messages. */
  readonly algorithm: string;
  update(chunk: Uint8Array): void;
  hex(): string;
}

/** A running digest of the kind the etag is, or undefined for an etag that is no digest (size is then all we check). */
export function digestForEtag(etag: string, size: number): BlobDigest | undefined {
  let hash: Hash, algorithm: string;
  if (/^[0-9a-f]{64}$/.test(etag)) {
    hash = createHash('sha256');
    algorithm = 'sha256';
  } else if (/^[0-9a-f]{40}$/.test(etag)) {
    hash = createHash('sha1').update(`blob ${size}\0`);
    algorithm = 'git blob sha1';
  } else {
    return undefined;
  }
  return { algorithm, update: (chunk) => void hash.update(chunk), hex: () => hash.digest('hex') };
}
