// Whitening over the tokens that count (AlpacaFarm's and TRL's `whiten`, masked): subtract the mean,
// divide by the standard deviation (unbiased, as torch.var), and with shiftMean = false add the mean
// back, so rewards keep their level and only their scale changes.
export function whiten(values: Float32Array, mask: Float32Array, shiftMean = true, eps = 1e-8): Float32Array {
  let n = 0, sum = 0;
  for (let i = 0; i < values.length; i++) if (mask[i]) { n++; sum += values[i]!; }
  const out = new Float32Array(values.length);
  if (n === 0) return out;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < values.length; i++) if (mask[i]) sq += (values[i]! - mean) ** 2;
  const variance = n > 1 ? sq / (n - 1) : 0;
  const inv = 1 / Math.sqrt(variance + eps);
  for (let i = 0; i < values.length; i++) {
    if (!mask[i]) continue;
    const w = (values[i]! - mean) * inv;
    out[i] = shiftMean ? w : w + mean;
  }
  return out;
}

/** Mean and unbiased variance over the masked entries. */
export function maskedMoments(values: Float32Array, mask: Float32Array): { mean: number; variance: number; count: number } {
  let n = 0, sum = 0;
  for (let i = 0; i < values.length; i++) if (mask[i]) { n++; sum += values[i]!; }
  const mean = n ? sum / n : 0;
  let sq = 0;
  for (let i = 0; i < values.length; i++) if (mask[i]) sq += (values[i]! - mean) ** 2;
  return { mean, variance: n > 1 ? sq / (n - 1) : 0, count: n };
}
