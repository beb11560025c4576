// PPO's building blocks against values computed by hand: per-token KL estimators, reward shaping,
// GAE, whitening and the adaptive KL controller.
import { gae, shapeRewards } from '../../src/rl/gae.js';
import { klPerToken } from '../../src/rl/kl.js';
import { adaptiveKlController, fixedKlController } from '../../src/rl/kl-controller.js';
import { maskedMoments, whiten } from '../../src/rl/whiten.js';

const f32 = (xs: number[]) => Float32Array.from(xs);
const close = (got: ArrayLike<number>, want: number[], digits = 5) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, digits));
};

describe('KL estimators', () => {
  const lp = f32([-1, -2, -0.5]), ref = f32([-1.5, -1, -0.5]);
  test('k1 = logp - ref, clamped at 0 by default', () => {
    close(klPerToken(lp, ref), [0.5, 0, 0]);
    close(klPerToken(lp, ref, 'k1', false), [0.5, -1, 0]);
  });
  test('k3 = (r - 1) - log r with r = exp(ref - logp): non-negative, zero when equal', () => {
    // r = e^-0.5: e^-0.5 - 1 + 0.5 = 0.1065307; r = e^1: e - 1 - 1 = 0.7182818
    close(klPerToken(lp, ref, 'k3'), [Math.exp(-0.5) - 0.5, Math.E - 2, 0]);
  });
  test('length mismatch is a RangeError', () => {
    expect(() => klPerToken(f32([1]), f32([1, 2]))).toThrow(RangeError);
  });
});

describe('reward shaping and GAE', () => {
  test('r_t = -beta kl_t, plus the score on the last token', () => {
    close(shapeRewards(f32([0.5, 0, 1]), 0.1, 2), [-0.05, 0, 1.9]);
  });
  test('gamma = lambda = 1: advantages are reward-to-go minus the value', () => {
    const { advantages, returns } = gae(f32([1, 0, 2]), f32([0.5, 1, 1.5]), 1, 1);
    // returns-to-go: 3, 2, 2
    close(advantages, [2.5, 1, 0.5]);
    close(returns, [3, 2, 2]);
  });
  test('gamma = 0.9, lambda = 0.95 by hand', () => {
    const r = f32([1, 0, 2]), v = f32([0.5, 1, 1.5]);
    const d2 = 2 - 1.5, d1 = 0 + 0.9 * 1.5 - 1, d0 = 1 + 0.9 * 1 - 0.5;
    const a2 = d2, a1 = d1 + 0.9 * 0.95 * a2, a0 = d0 + 0.9 * 0.95 * a1;
    const { advantages, returns } = gae(r, v, 0.9, 0.95);
    close(advantages, [a0, a1, a2]);
    close(returns, [a0 + 0.5, a1 + 1, a2 + 1.5]);
  });
});

describe('whitening over real tokens', () => {
  const x = f32([1, 2, 3, 100]), mask = f32([1, 1, 1, 0]);
  test('mean 0 and unbiased std 1 over the masked entries; masked-out entries stay 0', () => {
    const w = whiten(x, mask);
    close(w, [-1, 0, 1, 0]);
  });
  test('shiftMean = false keeps the mean: only the scale changes', () => {
    close(whiten(x, mask, false), [1, 2, 3, 0]);
    close(whiten(f32([0, 4]), f32([1, 1]), false), [2 - 1 / Math.SQRT2, 2 + 1 / Math.SQRT2]);
  });
  test('moments', () => {
    const m = maskedMoments(x, mask);
    expect(m.mean).toBeCloseTo(2);
    expect(m.variance).toBeCloseTo(1);
    expect(m.count).toBe(3);
  });
});

describe('KL controllers', () => {
  test('fixed stays put', () => {
    const c = fixedKlController(0.1);
    c.update(100, 64);
    expect(c.coef).toBe(0.1);
  });
  test("adaptive: Ziegler et al.'s proportional rule with the error clipped to +-0.2", () => {
    const c = adaptiveKlController(0.1, 6, 10000);
    c.update(9, 64); // error clip(9/6 - 1) = 0.2
    expect(c.coef).toBeCloseTo(0.1 * (1 + (0.2 * 64) / 10000), 12);
    c.update(5.4, 100); // error -0.1
    expect(c.coef).toBeCloseTo(0.1 * (1 + 0.00128) * (1 - 0.001), 12);
    expect(c.state().coef).toBe(c.coef);
  });
  test('bad settings are RangeErrors naming the field', () => {
    expect(() => adaptiveKlController(0.1, 0, 10)).toThrow(/klTarget/);
    expect(() => adaptiveKlController(0.1, 1, 0)).toThrow(/klHorizon/);
  });
});
