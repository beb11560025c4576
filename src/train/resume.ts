// Saving and restoring a trainer's full state (trainable tensors, head, AdamW moments, step) so a
// killed run continues exactly where its last checkpoint left it.
import { loadTrainerCheckpoint, saveTrainerCheckpoint } from './checkpoint.js';
import type { Trainer } from './trainer.js';

export interface RunIdentity {
  /** What must match for a checkpoint to be resumed (model, data, hyperparameters). */
  [key: string]: unknown;
}

/** The tensors that make a trainer's state, keyed `${prefix}${part}`, and its optimizer step. */
export async function trainerTensors(trainer: Trainer, prefix = ''): Promise<{ tensors: Record<string, Float32Array>; optimizerStep: number }> {
  const lora = trainer.native.info.loraRank > 0;
  const parts = [lora ? 'lora' : 'baseWeights', 'adamM', 'adamV', ...(trainer.native.info.hasHead ? ['head'] : [])] as const;
  const state = await trainer.native.state([...parts] as Array<'lora' | 'baseWeights' | 'adamM' | 'adamV' | 'head'>);
  const tensors: Record<string, Float32Array> = {};
  for (const p of parts) tensors[prefix + p] = (state as unknown as Record<string, Float32Array>)[p]!;
  return { tensors, optimizerStep: state.step };
}

/** Loads what trainerTensors saved under `prefix`. */
export async function loadTrainerTensors(trainer: Trainer, tensors: Record<string, Float32Array>, optimizerStep: number, prefix = ''): Promise<void> {
  const t = (k: string): Float32Array | undefined => tensors[prefix + k];
  const lora = t('lora'), base = t('baseWeights'), head = t('head'), m = t('adamM'), v = t('adamV');
  await trainer.native.loadState({
    ...(lora && { lora }),
    ...(base && { weights: base }),
    ...(head && { head }),
    ...(m && { adamM: m }),
    ...(v && { adamV: v }),
    step: optimizerStep,
  });
}

export async function saveTrainerState(dir: string, trainer: Trainer, identity: RunIdentity, stepsDone: number): Promise<void> {
  const { tensors, optimizerStep } = await trainerTensors(trainer);
  await saveTrainerCheckpoint(dir, { tensors, meta: { identity, stepsDone, optimizerStep } });
}

/** Throws when a checkpoint belongs to another run. */
export function checkIdentity(dir: string, saved: unknown, identity: RunIdentity): void {
  if (JSON.stringify(saved) !== JSON.stringify(identity)) {
    throw new Error(`${dir}: holds a checkpoint of a different run (model, data or settings changed); remove it or choose another --out`);
  }
}

/** Restores the state saved for the same run identity; returns the steps done, or 0 when none. */
export async function restoreTrainerState(dir: string, trainer: Trainer, identity: RunIdentity): Promise<number> {
  const ck = await loadTrainerCheckpoint(dir);
  if (!ck) return 0;
  checkIdentity(dir, ck.meta.identity, identity);
  await loadTrainerTensors(trainer, ck.tensors, Number(ck.meta.optimizerStep));
  return Number(ck.meta.stepsDone);
}
