// A lock file held by the one run that writes an output (its pid inside), so two runs never append
// the same records; the lock of a killed run is taken over.
import fs from 'node:fs';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `lock` for `out`, or throws naming the live process that holds it; `who` names the writer in the message. */
export function takeLock(out: string, lock: string, who: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${out}: cannot create ${lock} (${(e as NodeJS.ErrnoException).code})`);
      const holder = Number(fs.readFileSync(lock, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
        throw new Error(`${out}: another ${who} (pid ${holder}) is writing it; wait for it or use another --out`);
      }
      fs.rmSync(lock, { force: true }); // left by a killed run
    }
  }
  throw new Error(`${out}: cannot take ${lock}`);
}

export function releaseLock(lock: string): void {
  fs.rmSync(lock, { force: true });
}
