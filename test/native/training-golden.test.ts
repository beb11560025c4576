// The training engine against an independent PyTorch implementation
// (test/fixtures/make_training_golden.py -> training-golden.json): loss and every parameter
// gradient, ten AdamW steps with clipping, three LoRA steps, and a Bradley-Terry step with a head.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addon, type TrainBatch } from '../../src/native/binding.js';
import { loadHfCheckpoint } from '../../src/model/hf.js';
import { PARAM_NAMES, paramSizes } from '../../src/model/layout.js';
import { describeWith, HF_656K } from '../shared.js';

interface Summary { norm: number; sum: number; first: number[] }
const golden = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../fixtures/training-golden.json', import.meta.url)), 'utf8'));

const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-6, Math.abs(b));

function summarize(v: Float32Array): Summary {
  let norm = 0, sum = 0;
  for (const x of v) { norm += x * x; sum += x; }
  return { norm: Math.sqrt(norm), sum, first: Array.from(v.subarray(0, 8)) };
}

function expectClose(actual: Summary, expected: Summary, what: string): void {
  expect({ what, err: relErr(actual.norm, expected.norm) < 1e-4 }).toEqual({ what, err: true });
  const scale = expected.norm;
  expected.first.forEach((x, i) => expect(Math.abs(actual.first[i]! - x)).toBeLessThan(1e-5 * Math.max(1, scale)));
  expect(Math.abs(actual.sum - expected.sum)).toBeLessThan(1e-4 * Math.max(1, scale * 10));
}

describeWith([HF_656K], 'training engine vs PyTorch (tinystories-656k)', () => {
  const ck = () => loadHfCheckpoint(HF_656K);
  const batch: TrainBatch = {
    B: golden.batch.B, T: golden.batch.T,
    tokens: Int32Array.from(golden.batch.tokens), lengths: Int32Array.from(golden.batch.lengths),
  };
  const weights = Float32Array.from(golden.weights);

  // Gradients come back as one flat array in the engine's parameter order.
  function byParam(flat: Float32Array, config: ReturnType<typeof ck>['config']): Record<string, Float32Array> {
    const sizes = paramSizes(config);
    const out: Record<string, Float32Array> = {};
    let o = 0;
    for (const name of PARAM_NAMES) {
      out[name] = flat.subarray(o, o + sizes[name]);
      o += sizes[name];
    }
    return out;
  }

  test('SFT loss and every parameter gradient', async () => {
    const { config, weights: w } = ck();
    const t = await addon().createTrainer(config, w.data);
    const stats = await t.forwardBackward(batch, { kind: 'sft', weights });
    expect(relErr(stats.loss!, golden.sft.loss)).toBeLessThan(1e-5);
    const grads = byParam((await t.state(['gradients'])).gradients, config);
    for (const [name, summary] of Object.entries(golden.sft.grads as Record<string, Summary>)) {
      expectClose(summarize(grads[name]!), summary, name);
    }
    t.dispose();
  });

  test('ten AdamW steps with gradient clipping give the same losses', async () => {
    const { config, weights: w } = ck();
    const t = await addon().createTrainer(config, w.data);
    const a = golden.adamw.config;
    for (let i = 0; i < 10; i++) {
      const s = await t.forwardBackward(batch, { kind: 'sft', weights });
      const { gradNorm } = await t.step({ lr: a.lr, beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weightDecay, maxGradNorm: a.maxGradNorm });
      expect(relErr(s.loss!, golden.adamw.losses[i])).toBeLessThan(2e-3);
      expect(relErr(gradNorm, golden.adamw.gradNorms[i])).toBeLessThan(2e-3);
    }
    const final = byParam((await t.state(['weights'])).weights, config);
    for (const [name, summary] of Object.entries(golden.adamw.final as Record<string, Summary>)) {
      expect(relErr(summarize(final[name]!).norm, summary.norm)).toBeLessThan(1e-4);
    }
    t.dispose();
  });

  test('LoRA steps on q_proj and v_proj match', async () => {
    const { config, weights: w } = ck();
    const g = golden.lora;
    const t = await addon().createTrainer(config, w.data, { lora: { rank: g.rank, alpha: g.alpha, targets: g.targets } });
    expect(t.info.trainableCount).toBe(g.init.length);
    await t.loadState({ lora: Float32Array.from(g.init) });
    for (let i = 0; i < 3; i++) {
      const s = await t.forwardBackward(batch, { kind: 'sft', weights });
      await t.step({ lr: g.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
      expect(relErr(s.loss!, g.losses[i])).toBeLessThan(1e-4);
    }
    const lora = (await t.state(['lora'])).lora;
    expect(relErr(summarize(lora).norm, g.finalNorm)).toBeLessThan(1e-4);
    // The frozen base (adapters disabled) is the untouched model: PPO's reference policy.
    const base = await t.evaluate(batch, 'logprobs', { adapters: false });
    const fresh = await addon().createTrainer(config, w.data);
    expect(Array.from(base)).toEqual(Array.from(await fresh.evaluate(batch, 'logprobs')));
    const after = await t.forwardBackward(batch, { kind: 'sft', weights });
    expect(relErr(after.loss!, g.finalLoss)).toBeLessThan(1e-4);
    t.dispose();
    fresh.dispose();
  });

  test('Bradley-Terry loss with a scalar head: loss, rewards and gradients', async () => {
    const { config, weights: w } = ck();
    const g = golden.preference;
    const t = await addon().createTrainer(config, w.data, { head: 'scalar', headWeights: Float32Array.from(g.headInit) });
    const rows: number[] = g.rows;
    const T = batch.T;
    const tokens = new Int32Array(rows.length * T);
    rows.forEach((r, i) => tokens.set(batch.tokens.subarray(r * T, (r + 1) * T), i * T));
    const pb: TrainBatch = { B: rows.length, T, tokens, lengths: Int32Array.from(rows.map((r) => batch.lengths[r]!)) };
    const rewards = await t.evaluate(pb, 'rewards');
    (g.rewards as number[]).forEach((r, i) => expect(Math.abs(rewards[i]! - r)).toBeLessThan(1e-4));
    const s = await t.forwardBackward(pb, { kind: 'preference', targets: Float32Array.from(g.targets) });
    expect(relErr(s.loss!, g.loss)).toBeLessThan(1e-5);
    const flat = (await t.state(['gradients'])).gradients;
    const n = t.info.parameterCount;
    const headGrad = flat.subarray(n);
    (g.headGrad as number[]).forEach((x, i) => expect(Math.abs(headGrad[i]! - x)).toBeLessThan(1e-5));
    const grads = byParam(flat.subarray(0, n), config);
    for (const [name, summary] of Object.entries(g.grads as Record<string, Summary>)) expectClose(summarize(grads[name]!), summary, name);
    t.dispose();
  });
});
