// Paths into ../shared (real models and references). It is optional: suites that need it skip,
// and their names say why.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHARED = fileURLToPath(new URL('../../shared', import.meta.url));
export const HF_656K = path.join(SHARED, 'models/tinystories-656k');
export const LLAMA2C_260K = path.join(SHARED, 'models/stories260K/stories260K.bin');
export const TOK512 = path.join(SHARED, 'models/stories260K/tok512.bin');
export const GOLDEN = path.join(SHARED, 'reference/golden.json');

/** `describe` when every file exists, else `describe.skip` with the reason in the suite name. */
export function describeWith(files: string[], name: string, fn: () => void): void {
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length === 0) describe(name, fn);
  else describe.skip(`${name} [skipped: ${missing.join(', ')} not found]`, fn);
}

/** Spawns `node ARGS` (with `env` added to ours), SIGKILLs it as soon as `ready()` holds (polled every millisecond), and returns the signal it died of. */
export async function spawnAndKillWhen(args: string[], ready: () => boolean, env: Record<string, string> = {}): Promise<NodeJS.Signals | null> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (ready()) {
        clearInterval(poll);
        child.kill('SIGKILL');
      }
    }, 1);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve(signal);
    });
  });
}

/**
 * Starts `node ARGS` (a server) and resolves once its output (stdout or stderr) matches `pattern`,
 * with the first group of the match (a URL, a port), the child, and all its output so far.
 */
export async function spawnUntil(args: string[], pattern: RegExp, env: Record<string, string> = {}): Promise<{ match: string; child: import('node:child_process').ChildProcess; output: () => string }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    let found = false;
    const read = (d: Buffer): void => {
      out += d.toString();
      const m = found ? null : pattern.exec(out);
      if (m) {
        found = true;
        resolve({ match: m[1]!, child, output: () => out });
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.on('exit', (code) => !found && reject(new Error(`exited ${code}: ${out}`)));
  });
}
