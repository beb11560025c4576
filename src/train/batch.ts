// Packing token sequences into the engine's right-padded (B, T) batches.
import type { TrainBatch } from '../native/binding.js';

/** Pad id for positions past a row's length: any valid id works, those positions are masked. */
const PAD = 0;

export function packBatch(rows: readonly (readonly number[])[], T = Math.max(1, ...rows.map((r) => r.length))): TrainBatch {
  const B = rows.length;
  const tokens = new Int32Array(B * T).fill(PAD);
  const lengths = new Int32Array(B);
  rows.forEach((r, b) => {
    if (r.length === 0) throw new RangeError(`row ${b} is empty`);
    if (r.length > T) throw new RangeError(`row ${b} has ${r.length} tokens, more than T = ${T}`);
    tokens.set(r, b * T);
    lengths[b] = r.length;
  });
  return { B, T, tokens, lengths };
}

/**
 * SFT loss weights for rows of prompt + completion: the prediction at position t (of token t + 1)
 * counts when token t + 1 is a completion token. (B * T), matching packBatch.
 */
export function completionWeights(batch: TrainBatch, promptLengths: readonly number[]): Float32Array {
  const w = new Float32Array(batch.B * batch.T);
  for (let b = 0; b < batch.B; b++) {
    const len = batch.lengths[b]!;
    for (let t = Math.max(0, promptLengths[b]! - 1); t < len - 1; t++) w[b * batch.T + t] = 1;
  }
  return w;
}

/** Splits `items` into consecutive chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Deterministic Fisher-Yates shuffle (mulberry32 stream from `seed`). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const a = [...items];
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
