// Per-token KL of the policy from the reference, estimated from the log-probs of the sampled tokens
// (Schulman's estimators). RLCD/AlpacaFarm use k1 clamped at zero: a negative per-token estimate
// would pay the policy for moving away from the reference (a known failure of peer RLHF tools).
export type KlEstimator = 'k1' | 'k3';

/**
 * kl[i] from logp[i] (policy) and ref[i] (reference):
 *   k1 = logp - ref (clamped at 0 when clampNonNegative),
 *   k3 = (r - 1) - log r with r = exp(ref - logp): unbiased and never negative.
 */
export function klPerToken(logp: Float32Array, ref: Float32Array, estimator: KlEstimator = 'k1', clampNonNegative = true): Float32Array {
  if (logp.length !== ref.length) throw new RangeError(`logp has ${logp.length} entries, ref ${ref.length}`);
  const kl = new Float32Array(logp.length);
  for (let i = 0; i < logp.length; i++) {
    const d = logp[i]! - ref[i]!;
    kl[i] = estimator === 'k1' ? (clampNonNegative ? Math.max(0, d) : d) : Math.expm1(-d) + d;
  }
  return kl;
}
