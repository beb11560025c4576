// Crash-safe writes. A checkpoint that a kill (or power loss) can leave half-written is worse than
// none: the next run would load it, or refuse to start. Everything here writes to a temporary
// sibling first, fsyncs it, and only then renames it into place, because rename(2) within one
// filesystem is atomic: readers see the old name or the new one, never a mix.
//
// Temporary names are hidden siblings of the target, `.${name}.<kind>-<pid>-<random>`, so they
// live on the same filesystem (rename cannot cross filesystems) and a later call can recognise
// and remove the leftovers of a killed run.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

type TempKind = 'tmp' | 'old';

function tempSibling(target: string, kind: TempKind): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** The leftovers of earlier calls for `target`: [path, kind, pid] for each hidden sibling we made. */
function listSiblings(target: string): Array<{ file: string; kind: TempKind; pid: number }> {
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  const out: Array<{ file: string; kind: TempKind; pid: number }> = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(tmp|old)-(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length));
    if (m) out.push({ file: path.join(parent, name), kind: m[1] as TempKind, pid: Number(m[2]) });
  }
  return out;
}

// Temporary paths this process is using right now; they must survive a cleanup by a sibling call.
const inUse = new Set<string>();

/** True when `pid` is another process that is still running (its temporaries are not leftovers). */
function otherProcessAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isLeftover(s: { file: string; pid: number }): boolean {
  return !inUse.has(s.file) && !otherProcessAlive(s.pid);
}

/** fsync a directory so that the renames and creations inside it survive a power loss. */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return; // Some platforms (Windows) cannot open directories; rename is still atomic there.
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // EINVAL/EISDIR on filesystems that do not support syncing directories: nothing more to do.
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync every file and directory under `root` (what build() wrote may not have been synced). */
function fsyncTree(root: string): void {
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, entry.name);
    if (entry.isDirectory()) fsyncTree(p);
    else if (entry.isFile()) {
      const fd = fs.openSync(p, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  }
  fsyncDir(root);
}

/**
 * Writes `file` through `write(fd)` atomically: into a temporary sibling, fsynced, then renamed
 * over `file`. A kill at any moment leaves the old `file` (or none) or the complete new one; a
 * stray temporary is removed by the next write of the same file.
 */
export function atomicWriteWith(file: string, write: (fd: number) => void): void {
  for (const s of listSiblings(file)) if (s.kind === 'tmp' && isLeftover(s)) fs.rmSync(s.file, { force: true });
  const tmp = tempSibling(file, 'tmp');
  inUse.add(tmp);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      write(fd);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    fsyncDir(path.dirname(file));
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    inUse.delete(tmp);
  }
}

// One write(2) moves at most ~2 GiB on Linux; larger tensors go in pieces.
const MAX_WRITE = 1 << 30;

/** Writes all of `buf` at the file's current position (writeSync may write less than asked). */
export function writeAll(fd: number, buf: Uint8Array): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, Math.min(MAX_WRITE, buf.length - done));
}

/** atomicWriteWith for a string (UTF-8) or bytes. */
export function atomicWriteFile(file: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  atomicWriteWith(file, (fd) => writeAll(fd, bytes));
}

/**
 * Finishes or undoes an interrupted replaceDirAtomically of `finalDir`, and removes the leftovers
 * of killed runs. replaceDirAtomically calls it first; readers of such a directory (trainer
 * checkpoints) call it before looking, because a kill between its two renames leaves `finalDir`
 * missing with the complete old content set aside: this puts it back.
 */
export function recoverDir(dir: string): void {
  const finalDir = path.resolve(dir);
  const leftovers = listSiblings(finalDir).filter(isLeftover);
  if (!fs.existsSync(finalDir)) {
    // The newest set-aside copy is the last complete content (normally there is only one).
    const olds = leftovers.filter((s) => s.kind === 'old').sort((a, b) => fs.statSync(b.file).mtimeMs - fs.statSync(a.file).mtimeMs);
    if (olds[0]) {
      fs.renameSync(olds[0].file, finalDir);
      fsyncDir(path.dirname(finalDir));
    }
  }
  // Everything else is garbage: unfinished builds, and set-aside copies of a swap that completed.
  for (const s of leftovers) if (fs.existsSync(s.file)) fs.rmSync(s.file, { recursive: true, force: true });
}

/**
 * Replaces directory `finalDir` with the one `build(tmpDir)` fills, so that a reader never sees a
 * partial directory.
 *
 * Steps: build into a hidden sibling `.name.tmp-*`; fsync everything in it; rename the current
 * `finalDir` aside to `.name.old-*`; rename the new one to `finalDir`; relabel the old one as a
 * `.name.tmp-*` and remove it. So an `.old-*` sibling is always a complete copy.
 *
 * Guarantee: if the process is killed at any moment, `finalDir` afterwards holds either the
 * complete old content or the complete new one. The one gap is between the two renames, when
 * `finalDir` is briefly missing and the complete old content sits at `.name.old-*`; recoverDir()
 * (run by the next replaceDirAtomically of the same directory, and by readers that care) renames
 * it back. Leftover `.name.tmp-*` / `.name.old-*` siblings of killed runs are removed by the next
 * call; those of a process that is still running are left alone (judged by the pid in the name,
 * so in the rare case that a killed writer's pid has been reused, they wait for a later call).
 *
 * If build() throws, the temporary is removed and `finalDir` is untouched. Only one writer per
 * directory at a time: two concurrent replacements of the same `finalDir` may fail, but still
 * never leave a partial directory at `finalDir`.
 */
export async function replaceDirAtomically(dir: string, build: (tmpDir: string) => void | Promise<void>): Promise<void> {
  const finalDir = path.resolve(dir); // so that '.', 'a/' and the like have a real name and parent
  const parent = path.dirname(finalDir);
  fs.mkdirSync(parent, { recursive: true });
  recoverDir(finalDir);
  if (fs.existsSync(finalDir) && !fs.statSync(finalDir).isDirectory()) {
    throw new Error(`${dir}: exists and is not a directory; refusing to replace it`);
  }
  const tmp = tempSibling(finalDir, 'tmp');
  const old = tempSibling(finalDir, 'old');
  inUse.add(tmp).add(old);
  try {
    fs.mkdirSync(tmp);
    try {
      await build(tmp);
      fsyncTree(tmp);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    const hadOld = fs.existsSync(finalDir);
    if (hadOld) fs.renameSync(finalDir, old);
    // ---- a kill here leaves finalDir missing and the old content at `old`: recoverDir restores it.
    try {
      fs.renameSync(tmp, finalDir);
    } catch (e) {
      if (hadOld) fs.renameSync(old, finalDir);
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
    fsyncDir(parent);
    if (hadOld) {
      // Relabel before deleting: a kill mid-delete must not leave a half-deleted `.old-*` that a
      // later recoverDir (finding finalDir removed by hand) would mistake for a complete copy.
      const trash = tempSibling(finalDir, 'tmp');
      inUse.add(trash);
      try {
        fs.renameSync(old, trash);
        fs.rmSync(trash, { recursive: true, force: true });
      } finally {
        inUse.delete(trash);
      }
    }
  } finally {
    inUse.delete(tmp);
    inUse.delete(old);
  }
}
