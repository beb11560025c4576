// The TypeScript sampler of the onnx backend (mirrors native/model/sampler.cpp).
import { logProbAt, Rng, Sampler } from '../../src/inference/sampler.js';

const LOGITS = Float32Array.from([1, 3, 3, 0.5, -1, 2]);
const V = LOGITS.length;
const none = new Uint8Array(V);

describe('Sampler', () => {
  test('greedy takes the largest logit, lowest id on ties, never a banned token', () => {
    expect(new Sampler(V, { temperature: 0, topK: 0, topP: 1 }, none).sample(LOGITS, 0, new Rng(1))).toBe(1);
    const banned = Uint8Array.from([0, 1, 0, 0, 0, 0]);
    expect(new Sampler(V, { temperature: 0, topK: 0, topP: 1 }, banned).sample(LOGITS, 0, new Rng(1))).toBe(2);
    expect(() => new Sampler(V, { temperature: 1, topK: 0, topP: 1 }, new Uint8Array(V).fill(1))).toThrow(/every token is banned/);
  });

  test('top-k 1 and a tiny top-p are greedy; samples follow the softmax', () => {
    const rng = new Rng(5);
    const k1 = new Sampler(V, { temperature: 1, topK: 1, topP: 1 }, none);
    const p0 = new Sampler(V, { temperature: 1, topK: 0, topP: 1e-6 }, none);
    for (let i = 0; i < 50; i++) {
      expect(k1.sample(LOGITS, 0, rng)).toBe(1);
      expect(p0.sample(LOGITS, 0, rng)).toBe(1);
    }
    for (const params of [{ topK: 0, topP: 1 }, { topK: 3, topP: 1 }, { topK: 0, topP: 0.9 }]) {
      const s = new Sampler(V, { temperature: 1, ...params }, none);
      const counts = new Array<number>(V).fill(0);
      const N = 20000;
      for (let i = 0; i < N; i++) counts[s.sample(LOGITS, 0, rng)]!++;
      // Expected: softmax over the kept candidates.
      const order = [1, 2, 5, 0, 3, 4];
      let keep = params.topK > 0 ? order.slice(0, params.topK) : order;
      const mass = (ids: number[]): number => ids.reduce((a, i) => a + Math.exp(LOGITS[i]!), 0);
      if (params.topP < 1) {
        const total = mass(order);
        let m = 0;
        keep = order.filter((i) => (m < params.topP * total ? ((m += Math.exp(LOGITS[i]!)), true) : false));
      }
      const z = mass(keep);
      for (let i = 0; i < V; i++) {
        const p = keep.includes(i) ? Math.exp(LOGITS[i]!) / z : 0;
        expect(Math.abs(counts[i]! / N - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / N) + 1e-9);
      }
    }
  });

  test('Rng: one stream per seed, uniform in [0, 1)', () => {
    const a = new Rng(42), b = new Rng(42), c = new Rng(43);
    const xs = Array.from({ length: 1000 }, () => a.uniform());
    expect(Array.from({ length: 1000 }, () => b.uniform())).toEqual(xs);
    expect(c.uniform()).not.toBe(xs[0]);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x, 0) / xs.length - 0.5)).toBeLessThan(0.05);
  });

  test('logProbAt is the log-softmax', () => {
    const z = Array.from(LOGITS).reduce((s, x) => s + Math.exp(x), 0);
    expect(logProbAt(LOGITS, 0, V, 3)).toBeCloseTo(0.5 - Math.log(z), 6);
  });
});
