// A training run that survives a kill: restore DIR/checkpoint when it holds this run, train with a
// checkpoint every `saveEvery` steps, then write the model to DIR and the final checkpoint.
import path from 'node:path';
import { optimizerPlan, runTrainingLoop, type MicroBatch, type OptimizerConfig, type StepReport } from './loop.js';
import { restoreTrainerState, saveTrainerState, type RunIdentity } from './resume.js';
import { saveTrainedModel } from './save-trained.js';
import type { Trainer } from './trainer.js';

export interface ResumableRun {
  trainer: Trainer;
  out: string;
  /** What must match for DIR/checkpoint to be resumed. */
  identity: RunIdentity;
  totalSteps: number;
  microBatches(step: number): MicroBatch[];
  optimizer: OptimizerConfig;
  saveEvery: number;
  onStep?(report: StepReport): void | Promise<void>;
  /** Runs after the last step, before saving; returns what to record in config.json's rlcd entry. */
  finish(): Promise<Record<string, unknown>>;
}

export async function trainResumably(run: ResumableRun): Promise<{ resumedFrom: number; reports: StepReport[] }> {
  const ckDir = path.join(run.out, 'checkpoint');
  const resumedFrom = await restoreTrainerState(ckDir, run.trainer, run.identity);
  const reports = await runTrainingLoop({
    trainer: run.trainer,
    totalSteps: run.totalSteps,
    startStep: resumedFrom,
    microBatches: run.microBatches,
    ...optimizerPlan(run.optimizer, run.totalSteps),
    checkpointEvery: run.saveEvery,
    checkpoint: (done) => saveTrainerState(ckDir, run.trainer, run.identity, done),
    ...(run.onStep && { onStep: run.onStep }),
  });
  await saveTrainedModel(run.out, run.trainer, await run.finish());
  await saveTrainerState(ckDir, run.trainer, run.identity, run.totalSteps);
  return { resumedFrom, reports };
}
