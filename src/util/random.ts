// Deterministic draws from small integers (seed, index, ...): the same numbers whatever the batch,
// the thread count or a resume, so every stage's output depends on its seed alone.

function mix32(x: number): number {
  x = Math.imul((x ^ (x >>> 16)) >>> 0, 0x7feb352d);
  x = Math.imul((x ^ (x >>> 15)) >>> 0, 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit hash of small non-negative integers. */
export function hashInts(...xs: number[]): number {
  let h = 0x243f6a88;
  for (const x of xs) h = mix32(((h ^ (x >>> 0)) + 0x9e3779b9) | 0);
  return h;
}

/** Uniform [0, 1) draws (mulberry32) from a 32-bit state. */
export function mulberry32(state: number): () => number {
  let a = state | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** First sampling stream of an attempt: a 52-bit offset, far from every other (seed, attempt). */
export function streamBase(seed: number, attempt: number): number {
  return hashInts(seed, attempt, 1) * 2 ** 20 + (hashInts(seed, attempt, 2) >>> 12);
}
