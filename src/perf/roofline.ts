// The roofline a benchmark row is measured against: a workload of F FLOPs that must read B bytes
// cannot run faster than max(F / peak FLOP/s, B / peak bytes/s). Every benchmark reports its
// throughput as a fraction of that bound, measured on the same machine in the same run, so a
// figure says how far from the hardware it is, not only how it compares with a peer.
import os from 'node:os';
import { addon, type EngineConfig } from '../native/binding.js';
import { linearWeights } from '../model/random.js';

export interface Peak {
  threads: number;
  /** FMA throughput of all threads together, GFLOP/s. */
  fmaGflops: number;
  /** Memory read bandwidth, GB/s. */
  readGBps: number;
  /** The vector width the FMA loop used (16: AVX-512, 8: AVX2, 1: scalar). */
  vectorFloats: number;
}

/** Measures the machine's peak FMA rate and read bandwidth on `threads` threads (about `seconds` each). */
export async function measurePeak(threads = os.availableParallelism(), seconds = 0.3): Promise<Peak> {
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) throw new RangeError(`threads must be an integer in [1, 1024], got ${threads}`);
  const r = await addon().measurePeak(threads, seconds);
  return { threads, ...r };
}

/**
 * The higher of two measurements of the same limits. On a shared machine a measurement taken while
 * another process runs is too low, which would flatter every fraction; benchmarks measure before and
 * after their rows and keep the best.
 */
export function bestPeak(a: Peak, b: Peak): Peak {
  return { ...a, fmaGflops: Math.max(a.fmaGflops, b.fmaGflops), readGBps: Math.max(a.readGBps, b.readGBps) };
}

/** A unit of work (a token, a step): the FLOPs it does and the bytes it must read from memory. */
export interface Work {
  flops: number;
  bytes: number;
}

/** How a generate() call is timed: `batch` sequences, each a `promptTokens`-token prompt and `newTokens` generated. */
export interface GenerationShape {
  batch: number;
  promptTokens: number;
  newTokens: number;
  /** Bytes each linear weight takes as the engine reads it (f32 4, bf16/f16 2, q8_0 34/32). */
  bytesPerWeight: number;
}

/**
 * The work of one generated token when a benchmark times whole generate() calls, as decoding
 * benchmarks (ours and llama.cpp's) do: the prompt's prefill is part of the time, so its FLOPs are
 * part of the work (a bound without them read 1.3x too low at batch 64 after an 11-token prompt).
 * Per sequence: every linear layer on the P prompt positions and the N - 1 fed-back tokens, the LM
 * head on N positions (the prefill's last and each decode step's), attention from each position to
 * itself and all before it. Bytes: the weights once per step (N steps, the prefill counted as one,
 * shared by the batch) and each position's keys and values.
 */
export function generationWork(c: EngineConfig, g: GenerationShape): Work {
  const QD = c.nHeads * c.headDim, KVD = c.nKvHeads * c.headDim;
  const { layers: layerParams, head: headParams } = linearWeights(c);
  const positions = g.promptTokens + g.newTokens - 1;
  // sum over positions t = 0 .. positions - 1 of the t + 1 keys each attends to
  const attended = (positions * (positions + 1)) / 2;
  const flops = 2 * layerParams * positions + 2 * headParams * g.newTokens + 4 * c.nLayers * QD * attended;
  const bytes = ((layerParams + headParams) * g.bytesPerWeight * g.newTokens) / g.batch + 2 * c.nLayers * KVD * 4 * attended;
  return { flops: flops / g.newTokens, bytes: bytes / g.newTokens };
}

/** Units per second at the roofline, and which limit binds. */
export function rooflineRate(work: Work, peak: Peak): { rate: number; bound: 'compute' | 'memory' } {
  const compute = (peak.fmaGflops * 1e9) / work.flops;
  const memory = work.bytes > 0 ? (peak.readGBps * 1e9) / work.bytes : Infinity;
  return compute <= memory ? { rate: compute, bound: 'compute' } : { rate: memory, bound: 'memory' };
}

/** `achieved` units per second as a fraction of the roofline. */
export function rooflineFraction(achieved: number, work: Work, peak: Peak): number {
  return achieved / rooflineRate(work, peak).rate;
}

/** One line for the benchmark headers. */
export function describePeak(p: Peak): string {
  const isa = p.vectorFloats === 16 ? 'AVX-512' : p.vectorFloats === 8 ? 'AVX2' : 'scalar';
  return `peak on ${p.threads} thread${p.threads === 1 ? '' : 's'}: ${p.fmaGflops.toFixed(0)} GFLOP/s (${isa} FMA), ${p.readGBps.toFixed(1)} GB/s memory read`;
}
