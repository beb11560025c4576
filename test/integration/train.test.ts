// The training commands end to end on real models: SFT (full and LoRA) lowers the loss, writes a
// model `rlcd generate` loads, and resumes exactly after a kill; the preference model learns a
// real distinction and eval-pm reports its agreement, including on the HH human labels.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/index.js';
import { runSft } from '../../src/pipeline/sft.js';
import { evaluatePreferenceModel, trainPreferenceModel } from '../../src/pipeline/preference-model.js';
import { describeWith, HF_656K, LLAMA2C_260K, SHARED, TOK512 } from '../shared.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const VAL = path.join(SHARED, 'data/tinystories/val.txt');
const HH = path.join(SHARED, 'data/hh-rlhf/harmless-base-test.jsonl.gz');

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-train-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function rlcd(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Sentences of the TinyStories validation text that contain `word`. */
function sentencesWith(word: RegExp, n: number): string[] {
  const text = fs.readFileSync(VAL, 'utf8');
  return text.split(/(?<=[.!?])\s+/).filter((s) => word.test(s) && s.length > 20 && s.length < 120).slice(0, n);
}

describeWith([LLAMA2C_260K, TOK512, VAL], 'rlcd sft (stories260K)', () => {
  const data = () => {
    const file = path.join(tmp, 'sft.jsonl');
    const lines = sentencesWith(/happy/, 32).map((s) => JSON.stringify({ prompt: 'Once upon a time, ', completion: s }));
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };

  test('full fine-tuning lowers the loss on the data and writes a loadable model', async () => {
    const file = data();
    const out = path.join(tmp, 'sft-full');
    const r = await runSft({ model: LLAMA2C_260K, tokenizer: TOK512, data: file, out, epochs: 3, lr: 3e-3, batchSize: 8, seed: 1, quiet: true });
    expect(r.steps).toBe(12);
    expect(r.reports.at(-1)!.stats.loss!).toBeLessThan(r.reports[0]!.stats.loss! * 0.9);
    // The saved model is a Hugging Face checkpoint that loads and generates.
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.architectures).toEqual(['LlamaForCausalLM']);
    const tuned = await loadModel(out);
    const base = await loadModel(LLAMA2C_260K, { tokenizer: TOK512 });
    const prompts = Array(4).fill('Once upon a time, ');
    const target = sentencesWith(/happy/, 4);
    const after = await tuned.logProbs(prompts, target);
    const before = await base.logProbs(prompts, target);
    const mean = (xs: { total: number }[]) => xs.reduce((a, x) => a + x.total, 0) / xs.length;
    expect(mean(after)).toBeGreaterThan(mean(before));
    const [c] = await tuned.generate('Once upon a time, ', { maxNewTokens: 20, seed: 1 });
    expect(c!.text.length).toBeGreaterThan(0);
    tuned.dispose();
    base.dispose();
  });

  test('a run killed after a checkpoint resumes to exactly the same model', async () => {
    const file = data();
    const opts = { model: LLAMA2C_260K, tokenizer: TOK512, data: file, epochs: 2, lr: 1e-3, batchSize: 8, seed: 2, saveEvery: 3, quiet: true };
    const whole = path.join(tmp, 'sft-whole');
    await runSft({ ...opts, out: whole });
    const killed = path.join(tmp, 'sft-killed');
    await expect(
      runSft({ ...opts, out: killed }, {
        onEvent: (e) => {
          if (e.step === 4) throw new Error('simulated kill');
        },
      }),
    ).rejects.toThrow('simulated kill');
    const resumed = await runSft({ ...opts, out: killed });
    expect(resumed.resumedFrom).toBe(3);
    expect(fs.readFileSync(path.join(killed, 'model.safetensors'))).toEqual(fs.readFileSync(path.join(whole, 'model.safetensors')));
    // metrics.jsonl keeps one line per step, and the resumed log equals the uninterrupted one
    const steps = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(steps(killed).map((r) => r.step)).toEqual(steps(whole).map((r) => r.step));
    expect(steps(killed).map((r) => r.loss)).toEqual(steps(whole).map((r) => r.loss));
  });

  test('LoRA: adapters in PEFT layout, merged model differs from the base only through them', async () => {
    const file = data();
    const out = path.join(tmp, 'sft-lora');
    const r = await runSft({ model: LLAMA2C_260K, tokenizer: TOK512, data: file, out, epochs: 2, lr: 1e-2, batchSize: 8, loraRank: 4, loraTargets: ['q_proj', 'v_proj', 'down_proj'], quiet: true });
    expect(r.reports.at(-1)!.stats.loss!).toBeLessThan(r.reports[0]!.stats.loss!);
    const adapter = JSON.parse(fs.readFileSync(path.join(out, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(adapter.r).toBe(4);
    expect([...adapter.target_modules].sort()).toEqual(['down_proj', 'q_proj', 'v_proj']);
    const tuned = await loadModel(out);
    const ids = tuned.tokenizer.encode('Once upon a time');
    const base = await loadModel(LLAMA2C_260K, { tokenizer: TOK512 });
    const a = await tuned.backend.logits!(ids), b = await base.backend.logits!(ids);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    tuned.dispose();
    base.dispose();
  });
});

describeWith([HF_656K, VAL, HH], 'preference model (tinystories-656k)', () => {
  test('train-pm learns happy-over-sad endings; eval-pm reports held-out and HH agreement', async () => {
    const happy = sentencesWith(/\bhappy\b/, 120), sad = sentencesWith(/\bsad\b/, 120);
    const n = Math.min(happy.length, sad.length);
    const pairs = Array.from({ length: n }, (_, i) => ({ prompt: 'Once upon a time,', chosen: happy[i]!, rejected: sad[i]! }));
    const file = path.join(tmp, 'pairs.jsonl');
    fs.writeFileSync(file, pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    const out = path.join(tmp, 'pm');
    const r = await trainPreferenceModel({ model: HF_656K, pairs: file, out, epochs: 3, lr: 1e-3, evalSize: 20, suffix: '', seed: 3, quiet: true });
    expect(r.heldOut!.pairs).toBe(20);
    expect(r.heldOut!.accuracy).toBeGreaterThanOrEqual(0.75);
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.architectures).toEqual(['LlamaForSequenceClassification']);
    // eval-pm through the CLI, on the training file and on the HH human labels.
    const e = rlcd('eval-pm', '--pm', out, '--pairs', file, '--json');
    expect(e.status).toBe(0);
    const agreement = JSON.parse(e.stdout);
    expect(agreement.accuracy).toBeGreaterThan(0.75);
    expect(agreement.meanProb).toBeGreaterThan(0.5);
    const hh = await evaluatePreferenceModel({ pm: out, pairs: HH, limit: 100, suffix: '\n\nHuman:' });
    expect(hh.pairs).toBe(100);
    expect(hh.accuracy).toBeGreaterThanOrEqual(0);
    expect(hh.accuracy).toBeLessThanOrEqual(1);
  });
});

test('rlcd bench train --json on a random model', () => {
  const r = rlcd('bench', 'train', '--model', 'random:1x64x256', '--batch', '2', '--seq', '16', '--steps', '2', '--json');
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.tokensPerSecond).toBeGreaterThan(0);
  expect(j.msPerStep).toHaveLength(2);
  // QLoRA-style: LoRA over a q8_0 base, whose weights take about a third of the f32 base's.
  const q = rlcd('bench', 'train', '--model', 'random:1x64x256', '--batch', '2', '--seq', '16', '--steps', '2', '--lora-rank', '4', '--weights-dtype', 'q8_0', '--json');
  expect(q.status).toBe(0);
  const k = JSON.parse(q.stdout);
  expect([k.loraRank, k.weightsDtype]).toEqual([4, 'q8_0']);
  expect(k.baseBytes).toBeLessThan(j.baseBytes);
  expect(k.gflopsPerSecond).toBeGreaterThan(0);
  const refused = rlcd('bench', 'train', '--model', 'random:1x64x256', '--weights-dtype', 'bf16');
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toMatch(/needs --lora-rank/);
});
