// The roofline the benchmarks divide by: the native peak measurement returns sane, finite limits
// and refuses bad arguments; the bound picks the binding limit.
import { addon } from '../../src/native/binding.js';
import { generationWork, measurePeak, rooflineFraction, rooflineRate, type Peak } from '../../src/perf/roofline.js';
import { parseRandomSpec } from '../../src/model/random.js';

test('measurePeak gives positive, finite FMA and read rates', async () => {
  const p = await measurePeak(1, 0.02);
  expect(p.fmaGflops).toBeGreaterThan(1);
  expect(Number.isFinite(p.fmaGflops)).toBe(true);
  expect(p.readGBps).toBeGreaterThan(0.5);
  expect([1, 8, 16]).toContain(p.vectorFloats);
  await expect(measurePeak(0)).rejects.toThrow(RangeError);
  expect(() => addon().measurePeak(2, 0)).toThrow(/seconds/);
  expect(() => addon().measurePeak(1.5, 0.1)).toThrow(/threads/);
});

test('the roofline is the lower of the compute and memory bounds', () => {
  const peak: Peak = { threads: 1, fmaGflops: 100, readGBps: 10, vectorFloats: 16 };
  // 1 GFLOP and 1 MB a unit: compute allows 100/s, memory 10,000/s.
  expect(rooflineRate({ flops: 1e9, bytes: 1e6 }, peak)).toEqual({ rate: 100, bound: 'compute' });
  // 1 MFLOP and 100 MB a unit: memory allows 100/s.
  expect(rooflineRate({ flops: 1e6, bytes: 1e8 }, peak)).toEqual({ rate: 100, bound: 'memory' });
  expect(rooflineFraction(50, { flops: 1e9, bytes: 0 }, peak)).toBeCloseTo(0.5);
});

test('a generate call\'s work per new token counts the prompt\'s prefill', () => {
  // 1 layer, dim 32 (one 32-wide head, kv 1), hidden 96, vocab 64: 32*(32+32+32+32) + 3*32*96 = 13,312 layer weights, 2,048 in the head.
  const c = parseRandomSpec('random:1x32x64')!;
  const decodeOnly = generationWork(c, { batch: 1, promptTokens: 1, newTokens: 1, bytesPerWeight: 4 });
  // one position attending to itself: 2 * (13,312 + 2,048) + 4 * 32 * 1
  expect(decodeOnly.flops).toBe(2 * (13312 + 2048) + 4 * 32);
  expect(decodeOnly.bytes).toBe((13312 + 2048) * 4 + 2 * 32 * 4);
  // 11-token prompt, 32 new: 42 positions through the layers, 32 through the head, 903 attended keys
  const g = generationWork(c, { batch: 64, promptTokens: 11, newTokens: 32, bytesPerWeight: 2 });
  expect(g.flops * 32).toBe(2 * 13312 * 42 + 2 * 2048 * 32 + 4 * 32 * 903);
  expect(g.bytes * 32).toBeCloseTo(((13312 + 2048) * 2 * 32) / 64 + 2 * 32 * 4 * 903, 6);
});
