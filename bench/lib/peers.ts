// Runs a peer benchmark script (PyTorch under Debian's python) and returns its JSON line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

// Debian's python3-torch lives under /usr/bin/python3; a pyenv python on PATH has no torch.
export const PYTHON = process.env.RLCD_BENCH_PYTHON ?? '/usr/bin/python3';

export function runPeer(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Record<string, unknown> | { error: string } {
  if (!fs.existsSync(PYTHON)) return { error: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, [script, ...args], {
    encoding: 'utf8',
    timeout: 600_000,
    // OpenBLAS on 2 threads with torch.set_num_threads(1) was PyTorch's fastest setting here.
    env: { ...process.env, OPENBLAS_NUM_THREADS: '2', ...env },
  });
  const line = r.stdout?.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  if (r.status !== 0 || !line) return { error: (r.stderr || r.error?.message || 'no output').trim().split('\n').at(-1) ?? 'failed' };
  return JSON.parse(line) as Record<string, unknown>;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
