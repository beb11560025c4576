// What a hub model id and a revision look like, checked before any network or cache access: an id
// becomes a cache folder name and a revision a file under refs/, so neither may climb out of them.

export const DEFAULT_REVISION = 'main';

/** A full commit sha: a revision that names one snapshot forever (no refs/ entry is written for it). */
export const COMMIT_SHA = /^[0-9a-f]{40}$/;

// The hub's own rule (huggingface_hub's validate_repo_id): 1-96 characters of [A-Za-z0-9._-], not
// starting or ending with '.' or '-', and no '--' or '..' (the cache folder joins parts with '--').
const PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;

function validPart(part: string): boolean {
  return PART.test(part) && !part.includes('--') && !part.includes('..');
}

/** True for strings shaped exactly ORG/NAME; whether a local path of that name exists is the caller's question. */
export function isHubId(s: string): boolean {
  const parts = s.split('/');
  return parts.length === 2 && parts.every(validPart);
}

export function checkRepoId(repoId: unknown, name = 'repoId'): string {
  if (typeof repoId !== 'string' || repoId === '') throw new TypeError(`${name} must be a non-empty string ORG/NAME`);
  if (!isHubId(repoId)) {
    throw new RangeError(`${name} must be a hub model id ORG/NAME (letters, digits, '.', '_', '-'; no '..' or '--'), got ${JSON.stringify(repoId)}`);
  }
  return repoId;
}

/** A branch, tag, commit sha or refs/pr/N; it becomes refs/<revision> in the cache, so no empty, '.' or '..' segment. */
export function checkRevision(revision: unknown, name = 'revision'): string {
  if (typeof revision !== 'string' || revision === '') throw new TypeError(`${name} must be a non-empty string (a branch, tag or commit sha)`);
  // git's check-ref-format forbids these characters in ref names.
  const badChars = /[\s\\:~^?*[\]\x00-\x1f\x7f]/.test(revision);
  const badSegment = revision.split('/').some((seg) => seg === '' || seg.startsWith('.') || seg.endsWith('.lock'));
  if (badChars || badSegment || revision.length > 255) {
    throw new RangeError(`${name} must be a branch, tag or commit sha (no spaces, '..', leading '.', empty path segments or any of \\:~^?*[]), got ${JSON.stringify(revision)}`);
  }
  return revision;
}

/** A file path inside a repository, as the hub lists it: relative, '/'-separated, never leaving the snapshot. */
export function isSafeRepoFile(file: string): boolean {
  if (file === '' || file.startsWith('/') || file.includes('\\') || file.includes('\0')) return false;
  return file.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
