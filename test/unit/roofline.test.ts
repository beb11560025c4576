// The roofline the benchmarks divide by: the native peak measurement returns sane, finite limits
// and refuses bad arguments; the bound picks the binding limit.
import { addon } from '../../src/native/binding.js';
import { measurePeak, rooflineFraction, rooflineRate, type Peak } from '../../src/perf/roofline.js';

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
