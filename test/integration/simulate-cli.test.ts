// `rlcd simulate` and `rlcd export-onnx` as a user runs them (the built dist/cli/main.js): flags,
// a kill in the middle of a run and the rerun that finishes it, and generate --backend onnx.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWith, HF_656K } from '../shared.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function rlcd(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build:ts\` (npm ci does it)`);
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rlcd simulate / export-onnx (no model needed)', () => {
  test('--help lists the commands and the simulate flags', () => {
    expect(rlcd('--help').stdout).toMatch(/simulate[\s\S]*export-onnx/);
    const r = rlcd('simulate', '--help');
    expect(r.status).toBe(0);
    for (const f of ['--task', '--method', '--model', '--prompts', '--out', '--n', '--seed', '--backend', '--batch-size', '--max-retries']) expect(r.stdout).toContain(f);
    expect(rlcd('generate', '--help').stdout).toContain('--backend');
  });

  test('bad values fail with one line naming the flag', () => {
    const r = rlcd('simulate', '--task', 'harmless', '--method', 'rlhf', '--model', 'x', '--prompts', 'p.jsonl', '--out', 'o.jsonl');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--method');
    expect(rlcd('generate', '--backend', 'cuda', '--model', 'x', '--prompt', 'y').stderr).toContain('cuda');
  });
});

describeWith([HF_656K], 'rlcd simulate on tinystories-656k', () => {
  let dir: string;
  let prompts: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-sim-cli-'));
    prompts = path.join(dir, 'premises.jsonl');
    const names = ['Sue', 'Tim', 'Lily', 'Ben', 'Mia', 'Max', 'Anna', 'Sam', 'Zoe', 'Tom', 'Amy', 'Jack'];
    const lines = [];
    for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ prompt: `Once upon a time, there was a ${i % 2 ? 'boy' : 'girl'} named ${names[i % 12]}. ` }));
    fs.writeFileSync(prompts, lines.join('\n') + '\n');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const args = (out: string, batch: string): string[] => [
    'simulate', '--task', 'positive-story', '--method', 'rlcd', '--model', HF_656K, '--prompts', prompts, '--out', out,
    '--seed', '7', '--batch-size', batch, '--max-new-tokens', '96', '--threads', '1',
  ];

  test('killed mid-run, a rerun skips finished prompts and ends with the file an uninterrupted run writes', async () => {
    const whole = path.join(dir, 'whole.jsonl');
    const r = rlcd(...args(whole, '4'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/pairs from 40 prompts/);
    expect(r.stderr).toMatch(/pairs\/min/);

    const killed = path.join(dir, 'killed.jsonl');
    const child = spawn(process.execPath, [BIN, ...args(killed, '2')], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill as soon as a few pairs are on disk.
    for (let i = 0; i < 2000 && !(fs.existsSync(killed) && fs.readFileSync(killed, 'utf8').split('\n').length > 3); i++) await new Promise((res) => setTimeout(res, 5));
    child.kill('SIGKILL');
    await exited;
    const before = fs.readFileSync(killed, 'utf8').split('\n').filter((l) => l.endsWith('}')).length;
    expect(before).toBeLessThan(40);

    const rerun = rlcd(...args(killed, '3'));
    expect(rerun.status).toBe(0);
    expect(rerun.stderr).toMatch(/were done by an earlier run/);
    const sorted = (f: string): string[] => [f, f + '.dropped.jsonl'].flatMap((x) => (fs.existsSync(x) ? fs.readFileSync(x, 'utf8').trim().split('\n') : [])).filter(Boolean).sort();
    expect(sorted(killed)).toEqual(sorted(whole));
  });

  test('export-onnx, then generate --backend onnx prints the native greedy text', () => {
    const out = path.join(dir, 'onnx');
    const e = rlcd('export-onnx', '--model', HF_656K, '--out', out);
    expect(e.status).toBe(0);
    for (const f of ['model.onnx', 'config.json', 'tokenizer.json']) expect(fs.existsSync(path.join(out, f))).toBe(true);
    const g = ['--prompt', 'Once upon a time', '--temperature', '0', '--max-new-tokens', '40'];
    const native = rlcd('generate', '--model', HF_656K, ...g);
    const onnx = rlcd('generate', '--backend', 'onnx', '--model', out, ...g);
    expect(onnx.stderr).toBe('');
    expect(onnx.status).toBe(0);
    expect(onnx.stdout).toBe(native.stdout);
  });
});
