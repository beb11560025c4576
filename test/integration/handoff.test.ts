// Hand-off to distributed trainers: `rlcd export` writes each engine's documented preference and
// prompt layouts (checked field by field and type by type), and `rlcd serve-reward` answers
// OpenRLHF's remote reward requests, as a real process, with the preference model's own rewards.
import { spawnSync } from 'node:child_process';
import { spawnUntil } from '../shared.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { encodeForPm, loadPreferenceModel } from '../../src/pipeline/preference-model.js';
import { pmInput } from '../../src/pipeline/preference-data.js';
import { packBatch } from '../../src/train/batch.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
let tmp: string, pairs: string;
const rlcd = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-handoff-'));
  pairs = path.join(tmp, 'pairs.jsonl');
  const rows = Array.from({ length: 40 }, (_, i) => ({ prompt: `Once upon a time, there was a dog number ${i}. `, chosen: `They played all day ${i}.`, rejected: `They cried and were sad ${i}.`, p_chosen: i % 2 ? 1 : 0.75 }));
  fs.writeFileSync(pairs, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const lines = (f: string): unknown[] => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

// The documented layouts (TRL's preference dataset; OpenRLHF's RewardDataset keys and prompt input
// key; verl's RL dataset row), strict: no missing or mistyped field.
const preference = z.object({ prompt: z.string(), chosen: z.string(), rejected: z.string(), p_chosen: z.number().min(0).max(1) }).strict();
const verlRow = z.object({
  data_source: z.string(),
  prompt: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }).strict()).min(1),
  ability: z.string(),
  reward_model: z.object({ style: z.enum(['rule', 'model']), ground_truth: z.string() }).strict(),
  extra_info: z.object({ split: z.string(), index: z.number().int(), chosen: z.string(), rejected: z.string(), p_chosen: z.number() }).strict(),
}).strict();

test('export: trl, openrlhf (with its launch script) and verl layouts', () => {
  for (const format of ['trl', 'openrlhf', 'verl']) {
    const r = rlcd(['export', '--pairs', pairs, '--format', format, '--out', path.join(tmp, format), '--model', 'meta-llama/Llama-2-7b-hf', '--task', 'positive-story']);
    expect([format, r.status, r.stderr]).toEqual([format, 0, expect.stringMatching(/export: 40 pairs, 40 prompts/)]);
  }
  for (const row of lines(path.join(tmp, 'trl', 'preferences.jsonl'))) preference.parse(row);
  for (const row of lines(path.join(tmp, 'trl', 'prompts.jsonl'))) z.object({ prompt: z.string() }).strict().parse(row);
  for (const row of lines(path.join(tmp, 'openrlhf', 'preferences.jsonl'))) preference.parse(row);
  for (const row of lines(path.join(tmp, 'openrlhf', 'prompts.jsonl'))) z.object({ input: z.string() }).strict().parse(row);
  const script = path.join(tmp, 'openrlhf', 'train_rlcd.sh');
  expect(fs.statSync(script).mode & 0o111).not.toBe(0);
  const text = fs.readFileSync(script, 'utf8');
  for (const flag of ['openrlhf.cli.train_rm', '--prompt_key prompt --chosen_key chosen --rejected_key rejected', 'openrlhf.cli.train_ppo_ray', '--input_key input', '--init_kl_coef 0.004', 'meta-llama/Llama-2-7b-hf']) expect(text).toContain(flag);
  expect(spawnSync('bash', ['-n', script]).status).toBe(0); // valid shell
  const verl = lines(path.join(tmp, 'verl', 'prompts.jsonl'));
  expect(verl).toHaveLength(40);
  for (const row of verl) verlRow.parse(row);
  // Bad input: a clean error.
  const bad = rlcd(['export', '--pairs', pairs, '--format', 'parquet', '--out', path.join(tmp, 'x')]);
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toMatch(/parquet/);
});

test("serve-reward answers OpenRLHF's /get_reward with the preference model's rewards", async () => {
  const pm = path.join(tmp, 'pm');
  expect(rlcd(['train-pm', '--model', 'rlcd-story-base', '--pairs', pairs, '--out', pm, '--epochs', '1', '--suffix', '', '--eval-size', '4', '--quiet']).status).toBe(0);
  const { match: url, child: server } = await spawnUntil([BIN, 'serve-reward', '--pm', pm, '--port', '0'], / at (http:\/\/\S+\/get_reward)/);
  try {
    const prompts = ['Once upon a time, Lily found a ball. ', 'One day, Tom went out. '];
    const responses = ['She was happy and played.', 'He was sad and cried.'];
    const res = await fetch(url, { method: 'POST', body: JSON.stringify({ query: prompts.map((p, i) => p + responses[i]), prompts, labels: ['', ''] }) });
    const body = (await res.json()) as { rewards: number[]; scores: number[]; extra_logs: object };
    expect(body.rewards).toHaveLength(2);
    expect(body.scores).toEqual(body.rewards);
    expect(body.extra_logs).toEqual({});
    const { trainer, suffix } = await loadPreferenceModel(pm);
    const local = await trainer.evaluate(packBatch(prompts.map((p, i) => encodeForPm(trainer.tokenizer, pmInput(p.trimEnd(), responses[i]!, suffix ?? ''), trainer.config.maxSeqLen))), 'rewards');
    trainer.dispose();
    body.rewards.forEach((r, i) => expect(r).toBeCloseTo(local[i]!, 5));
    const old = await fetch(url, { method: 'POST', body: JSON.stringify({ query: ['Once upon a time, a dog ran.'] }) });
    expect(((await old.json()) as { rewards: number[] }).rewards).toHaveLength(1);
    expect((await fetch(url, { method: 'POST', body: '{"query": 3}' })).status).toBe(400);
  } finally {
    server.kill('SIGKILL');
  }
}, 60_000);
