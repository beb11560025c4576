// PPO's policy and value losses and DPO (sigmoid with a soft label; IPO and hinge) through the
// trainer binding, against an independent float64 PyTorch implementation on stories260K
// (test/fixtures/make_rl_golden.py -> rl-golden.json): the reported loss and statistics, the
// per-token log-probs and values, the total gradient norm and every parameter gradient (norm, sum,
// first values, values around the largest entry), and the value head's gradient.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TrainBatch, TrainLoss } from '../../src/native/binding.js';
import { PARAM_NAMES, paramSizes } from '../../src/model/layout.js';
import { Trainer } from '../../src/train/trainer.js';
import { describeWith, LLAMA2C_260K, TOK512 } from '../shared.js';

interface Summary { norm: number; sum: number; first: number[]; peakAt: number; peak: number[] }
interface Stats { [k: string]: number }
const golden = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../fixtures/rl-golden.json', import.meta.url)), 'utf8'));

// Tolerances. Scalars (losses, statistics, norms) are relative. A gradient entry is measured
// against its tensor's norm (an entry near zero has no meaningful relative error in float32), and a
// tensor's sum against norm * sqrt(size) (a sum of thousands of entries of both signs cancels).
// Per-token log-probs and values, float32 outputs of a five-layer forward pass, against
// max(1, |x|). Observed worst cases: 6e-6 (value gradients), 3e-6 (per-token values and losses).
const TOL = { scalar: 1e-4, entry: 1e-4, sum: 1e-4, token: 5e-5 };
const relErr = (a: number, b: number): number => Math.abs(a - b) / Math.max(1e-12, Math.abs(b));

// The largest error seen per quantity (printed with RL_GOLDEN_VERBOSE=1).
const worst: Record<string, number> = {};
function note(what: string, err: number): number {
  worst[what] = Math.max(worst[what] ?? 0, err);
  return err;
}
afterAll(() => {
  if (process.env.RL_GOLDEN_VERBOSE) console.log(Object.entries(worst).map(([k, v]) => `${k}: ${v.toExponential(2)}`).join('\n'));
});

function expectScalar(actual: number | undefined, expected: number, what: string, tol = TOL.scalar): void {
  expect(actual).toBeDefined();
  const err = note(what, relErr(actual!, expected));
  expect({ what, actual, expected, ok: err < tol }).toMatchObject({ ok: true });
}

function expectGrad(v: Float32Array, g: Summary, what: string): void {
  let norm = 0, sum = 0;
  for (const x of v) { norm += x * x; sum += x; }
  expectScalar(Math.sqrt(norm), g.norm, `${what} norm`);
  const scale = g.norm;
  const entryErr = (off: number, xs: number[]): number => Math.max(...xs.map((x, i) => Math.abs(v[off + i]! - x) / scale));
  const e1 = note(`${what} entries`, Math.max(entryErr(0, g.first), entryErr(g.peakAt, g.peak)));
  const e2 = note(`${what} sum`, Math.abs(sum - g.sum) / (scale * Math.sqrt(v.length)));
  expect({ what, entries: e1 < TOL.entry, sum: e2 < TOL.sum }).toEqual({ what, entries: true, sum: true });
}

describeWith([LLAMA2C_260K, TOK512], 'RL losses vs PyTorch (stories260K): PPO policy, PPO value, DPO', () => {
  const batch: TrainBatch = {
    B: golden.batch.B, T: golden.batch.T,
    tokens: Int32Array.from(golden.batch.tokens), lengths: Int32Array.from(golden.batch.lengths),
  };
  const mask = Float32Array.from(golden.mask);
  const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

  async function run(loss: TrainLoss, head?: number[]): Promise<{ t: Trainer; stats: Stats; grads: Record<string, Float32Array>; headGrad: Float32Array }> {
    const t = await Trainer.fromModel(LLAMA2C_260K, { tokenizer: TOK512, ...(head && { head: 'scalar' as const, headWeights: f32(head) }) });
    const stats = await t.forwardBackward(batch, loss);
    const flat = (await t.native.state(['gradients'])).gradients;
    const sizes = paramSizes(t.config);
    const grads: Record<string, Float32Array> = {};
    let o = 0;
    for (const name of PARAM_NAMES) {
      grads[name] = flat.subarray(o, o + sizes[name]);
      o += sizes[name];
    }
    expect(o).toBe(t.native.info.parameterCount);
    return { t, stats, grads, headGrad: flat.subarray(o) };
  }

  function expectAll(r: Awaited<ReturnType<typeof run>>, g: { stats: Stats; grads?: Record<string, Summary> }, what: string): void {
    for (const [k, x] of Object.entries(g.stats)) expectScalar(r.stats[k], x, `${what} ${k}`);
    for (const [name, s] of Object.entries(g.grads ?? {})) expectGrad(r.grads[name]!, s, `${what} d${name}`);
  }

  test('the batch covers every branch of the clipped losses', () => {
    expect(golden.policy.cases).toEqual({ masked: 16, insideClipRange: 5, clipped: 8 });
    expect(golden.value.cases).toEqual({ masked: 16, clipped: 6, outsideClipRange: 11 });
    expect(golden.dpo.hinge.h[0] * golden.dpo.inputs.beta).toBeGreaterThan(1); // one hinge pair inactive
  });

  test('PPO policy loss (clip 0.2, entropy 0.01): loss, statistics, log-probs, gradients', async () => {
    const p = golden.policy;
    const r = await run({
      kind: 'policy', oldLogprobs: f32(p.inputs.oldLogprobs), advantages: f32(p.inputs.advantages), mask,
      cliprange: p.inputs.cliprange, entropyCoef: p.inputs.entropyCoef,
    });
    const lp = await r.t.evaluate(batch, 'logprobs');
    (golden.logprobs as Array<number | null>).forEach((x, i) => {
      if (x !== null) expect(note('logprobs', Math.abs(lp[i]! - x) / Math.max(1, Math.abs(x)))).toBeLessThan(TOL.token);
    });
    expectAll(r, p, 'policy');
    expectScalar(await r.t.gradNorm(), p.gradNorm, 'policy gradNorm');
    r.t.dispose();
  });

  test('PPO policy loss with zero advantages: the entropy bonus and its gradient alone', async () => {
    const p = golden.policy;
    const r = await run({
      kind: 'policy', oldLogprobs: f32(p.inputs.oldLogprobs), advantages: new Float32Array(mask.length), mask,
      cliprange: p.inputs.cliprange, entropyCoef: p.inputs.entropyCoef,
    });
    expectAll(r, p.entropyOnly, 'entropy only');
    expectScalar(await r.t.gradNorm(), p.entropyOnly.gradNorm, 'entropy only gradNorm');
    r.t.dispose();
  });

  test('PPO value loss (clip 0.2, coef 0.1) on a scalar head: loss, statistics, values, gradients', async () => {
    const v = golden.value;
    const r = await run({
      kind: 'value', returns: f32(v.inputs.returns), oldValues: f32(v.inputs.oldValues), mask,
      cliprange: v.inputs.cliprange, coef: v.inputs.coef,
    }, v.inputs.headWeights);
    const values = await r.t.evaluate(batch, 'head');
    (v.values as Array<number | null>).forEach((x, i) => {
      if (x !== null) expect(note('values', Math.abs(values[i]! - x) / Math.max(1, Math.abs(x)))).toBeLessThan(TOL.token);
    });
    expectAll(r, v, 'value');
    expectScalar(await r.t.gradNorm(), v.gradNorm, 'value gradNorm');
    const hg = v.headGrad as number[];
    const hnorm = Math.hypot(...hg);
    expect(r.headGrad.length).toBe(hg.length);
    hg.forEach((x, i) => expect(note('value dhead entries', Math.abs(r.headGrad[i]! - x) / hnorm)).toBeLessThan(TOL.entry));
    r.t.dispose();
  });

  test.each(['sigmoid', 'ipo', 'hinge'] as const)('DPO %s (beta 0.1, targets [1, 0.7]): loss, statistics, gradients', async (kind) => {
    const d = golden.dpo;
    const r = await run({
      kind: 'dpo', weights: mask, targets: f32(d.inputs.targets), refChosen: f32(d.inputs.refChosen),
      refRejected: f32(d.inputs.refRejected), beta: d.inputs.beta, dpoLoss: kind,
    });
    expectAll(r, d[kind], `dpo ${kind}`);
    expectScalar(await r.t.gradNorm(), d[kind].gradNorm, `dpo ${kind} gradNorm`);
    r.t.dispose();
  });
});
