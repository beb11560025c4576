// `rlcd demo --quick` as a user runs it: a real process on the built-in model (nothing from
// ../shared), the table on stdout, and results.json, results.md and report.html written.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

test('rlcd demo --quick writes the table and the report', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-demo-'));
  try {
    const dir = path.join(out, 'demo');
    const r = spawnSync(process.execPath, [BIN, 'demo', '--quick', '--out', dir], { encoding: 'utf8', timeout: 600_000 });
    expect(r.signal).toBeNull();
    expect([r.status, r.stderr.split('\n').filter((l) => l.startsWith('rlcd:'))]).toEqual([0, []]);
    expect(r.stdout).toMatch(/vs Base model +RLCD-PPO preferred +\d+\.\d%/);
    expect(r.stdout).toContain(path.join(dir, 'report.html'));
    for (const f of ['results.json', 'results.md', 'report.html']) expect(fs.existsSync(path.join(dir, f))).toBe(true);
    const results = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8'));
    expect(results.comparisons.map((c: { b: string }) => c.b)).toEqual(['rlaif', 'base']);
    expect(results.comparisons[0].n).toBe(60);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 600_000);
