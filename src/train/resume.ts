// Saving and restoring a trainer's full state (trainable tensors, head, AdamW moments, step) so a
// killed run continues exactly where its last checkpoint left it.
import { loadTrainerCheckpoint, saveTrainerCheckpoint } from './checkpoint.js';
import type { Trainer } from './trainer.js';

export interface RunIdentity {
  /** What must match for a checkpoint to be resumed (model, data, hyperparameters). */
  [key: string]: unknown;
}

export async function saveTrainerState(dir: string, trainer: Trainer, identity: RunIdentity, stepsDone: number): Promise<void> {
  const lora = trainer.native.info.loraRank > 0;
  const parts = [lora ? 'lora' : 'baseWeights', 'adamM', 'adamV', ...(trainer.native.info.hasHead ? ['head'] : [])] as const;
  const state = await trainer.native.state([...parts] as Array<'lora' | 'baseWeights' | 'adamM' | 'adamV' | 'head'>);
  const tensors: Record<string, Float32Array> = {};
  for (const p of parts) tensors[p] = (state as unknown as Record<string, Float32Array>)[p]!;
  await saveTrainerCheckpoint(dir, { tensors, meta: { identity, stepsDone, optimizerStep: state.step } });
}

/** Restores the state saved for the same run identity; returns the steps done, or 0 when none. */
export async function restoreTrainerState(dir: string, trainer: Trainer, identity: RunIdentity): Promise<number> {
  const ck = await loadTrainerCheckpoint(dir);
  if (!ck) return 0;
  const saved = JSON.stringify(ck.meta.identity);
  if (saved !== JSON.stringify(identity)) {
    throw new Error(`${dir}: holds a checkpoint of a different run (model, data or settings changed); remove it or choose another --out`);
  }
  const t = ck.tensors;
  await trainer.native.loadState({
    ...(t.lora && { lora: t.lora }),
    ...(t.baseWeights && { weights: t.baseWeights }),
    ...(t.head && { head: t.head }),
    ...(t.adamM && { adamM: t.adamM }),
    ...(t.adamV && { adamV: t.adamV }),
    step: Number(ck.meta.optimizerStep),
  });
  return Number(ck.meta.stepsDone);
}
