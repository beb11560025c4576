// Reward shaping and generalised advantage estimation for one response (AlpacaFarm / TRL form),
// over its real tokens only: t = 0 .. L-1 are the response tokens, values[t] is the value of the
// state before token t. (AlpacaFarm runs both over the padded length, which lets padding leak
// into advantages and rewards length; see docs/align.md.)

/** r_t = -klCoef * kl_t, plus the sequence score on the last token. */
export function shapeRewards(kl: Float32Array, klCoef: number, score: number): Float32Array {
  const r = new Float32Array(kl.length);
  for (let t = 0; t < kl.length; t++) r[t] = -klCoef * kl[t]!;
  if (kl.length > 0) r[kl.length - 1]! += score;
  return r;
}

/**
 * delta_t = r_t + gamma V_{t+1} - V_t (V_L = 0: the episode ends);  A_t = delta_t + gamma lam A_{t+1};
 * returns = A + V.
 */
export function gae(rewards: Float32Array, values: Float32Array, gamma: number, lam: number): { advantages: Float32Array; returns: Float32Array } {
  const L = rewards.length;
  if (values.length !== L) throw new RangeError(`rewards has ${L} entries, values ${values.length}`);
  const advantages = new Float32Array(L), returns = new Float32Array(L);
  let next = 0, nextValue = 0;
  for (let t = L - 1; t >= 0; t--) {
    const delta = rewards[t]! + gamma * nextValue - values[t]!;
    next = delta + gamma * lam * next;
    advantages[t] = next;
    nextValue = values[t]!;
  }
  for (let t = 0; t < L; t++) returns[t] = advantages[t]! + values[t]!;
  return { advantages, returns };
}
