// Rollouts as the engine's right-padded (B, T) batches. Row b holds prompt + response; the
// prediction at position t is of token t + 1, so response token j of a prompt of P tokens sits at
// grid index b*T + P - 1 + j in every token-level array (log-probs, values, masks, advantages).
import type { TrainBatch } from '../native/binding.js';
import { packBatch } from '../train/batch.js';
import type { Rollout } from './rollout.js';

export function rolloutBatch(rollouts: readonly Rollout[]): TrainBatch {
  return packBatch(rollouts.map((r) => [...r.promptIds, ...r.responseIds]));
}

/** Per-response-token values (one array per rollout) read out of a (B * T) grid. */
export function gather(grid: Float32Array, batch: TrainBatch, rollouts: readonly Rollout[]): Float32Array[] {
  return rollouts.map((r, b) => {
    const start = b * batch.T + r.promptIds.length - 1;
    return grid.slice(start, start + r.responseIds.length);
  });
}

/** The inverse of gather: per-rollout arrays into a (B * T) grid, zero elsewhere. */
export function scatter(values: readonly Float32Array[], batch: TrainBatch, rollouts: readonly Rollout[]): Float32Array {
  const grid = new Float32Array(batch.B * batch.T);
  rollouts.forEach((r, b) => grid.set(values[b]!, b * batch.T + r.promptIds.length - 1));
  return grid;
}

/** 1 at the response tokens of each row. */
export function responseMask(batch: TrainBatch, rollouts: readonly Rollout[]): Float32Array {
  return scatter(rollouts.map((r) => new Float32Array(r.responseIds.length).fill(1)), batch, rollouts);
}
