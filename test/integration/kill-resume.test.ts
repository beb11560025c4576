// Every training stage survives SIGKILL of the real CLI process: killed right after its first
// checkpoint lands and rerun with the same command, it ends with the same model, byte for byte, as
// a run that was never interrupted, and its metrics.jsonl holds each step once. (align, and PPO
// through it, has the same test in align.test.ts; simulate in simulate-cli.test.ts.)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWith, LLAMA2C_260K, spawnAndKillWhen, TOK512 } from '../shared.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
let tmp: string;

const STORIES = ['a dog', 'a cat', 'a red ball', 'the sun', 'a big tree', 'a little bird', 'the sea', 'a toy car'];
function writeData(): { sft: string; pairs: string } {
  const sft = path.join(tmp, 'sft.jsonl'), pairs = path.join(tmp, 'pairs.jsonl');
  const rows = Array.from({ length: 48 }, (_, i) => ({ prompt: `Once upon a time, there was ${STORIES[i % 8]}.`, i }));
  fs.writeFileSync(sft, rows.map((r) => JSON.stringify({ prompt: r.prompt + ' ', completion: `It was happy number ${r.i}.` })).join('\n') + '\n');
  fs.writeFileSync(pairs, rows.map((r) => JSON.stringify({ prompt: r.prompt, chosen: ` They played all day ${r.i}.`, rejected: ` It was sad and cried ${r.i}.` })).join('\n') + '\n');
  return { sft, pairs };
}

describeWith([LLAMA2C_260K, TOK512], 'SIGKILL and rerun of each training stage gives the uninterrupted result (stories260K)', () => {
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-kill-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const model = ['--tokenizer', TOK512, '--batch-size', '2', '--save-every', '2', '--quiet'];
  test.each([
    ['sft', (d: { sft: string; pairs: string }, out: string) => ['sft', '--model', LLAMA2C_260K, ...model, '--data', d.sft, '--out', out, '--epochs', '1']],
    ['train-pm', (d: { sft: string; pairs: string }, out: string) => ['train-pm', '--model', LLAMA2C_260K, ...model, '--pairs', d.pairs, '--out', out, '--epochs', '1', '--eval-size', '4', '--suffix', '']],
    ['dpo', (d: { sft: string; pairs: string }, out: string) => ['dpo', '--model', LLAMA2C_260K, ...model, '--pairs', d.pairs, '--out', out, '--epochs', '1', '--suffix', '']],
  ])('%s', async (stage, argsFor) => {
    const data = writeData();
    const whole = path.join(tmp, `${stage}-whole`), killed = path.join(tmp, `${stage}-killed`);
    const w = spawnSync(process.execPath, [BIN, ...argsFor(data, whole)], { encoding: 'utf8' });
    expect([w.status, w.stderr]).toEqual([0, expect.stringMatching(/model in|policy in/)]);

    expect(await spawnAndKillWhen([BIN, ...argsFor(data, killed)], () => fs.existsSync(path.join(killed, 'checkpoint', 'trainer.json')))).toBe('SIGKILL');
    expect(fs.existsSync(path.join(killed, 'model.safetensors'))).toBe(false); // killed mid-run, not after
    const r = spawnSync(process.execPath, [BIN, ...argsFor(data, killed)], { encoding: 'utf8' });
    expect(r.status).toBe(0);

    expect(fs.readFileSync(path.join(killed, 'model.safetensors'))).toEqual(fs.readFileSync(path.join(whole, 'model.safetensors')));
    const steps = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step as number);
    expect(steps(killed)).toEqual(steps(whole));
    expect(new Set(steps(killed)).size).toBe(steps(killed).length);
  }, 120_000);
});
