// A training run that survives a kill: restore DIR/checkpoint when it holds this run, train with a
// checkpoint every `saveEvery` steps, then write the model to DIR and the final checkpoint.
import path from 'node:path';
import { StepLog, type StageEvent } from '../pipeline/stage.js';
import { optimizerPlan, runTrainingLoop, type MicroBatch, type OptimizerConfig, type StepReport } from './loop.js';
import { restoreTrainerState, saveTrainerState, type RunIdentity } from './resume.js';
import { saveTrainedModel } from './save-trained.js';
import type { Trainer } from './trainer.js';

export interface ResumableRun {
  /** Stage name for events and metrics.jsonl. */
  stage: string;
  trainer: Trainer;
  out: string;
  /** What must match for DIR/checkpoint to be resumed. */
  identity: RunIdentity;
  totalSteps: number;
  microBatches(step: number): MicroBatch[];
  optimizer: OptimizerConfig;
  saveEvery: number;
  onStep?(report: StepReport): void | Promise<void>;
  onEvent?(event: StageEvent): void;
  /** Metric names in metrics.jsonl and events (e.g. TRL's 'rewards/margins' for the loss's 'margin'). */
  renameMetric?(name: string): string;
  /** Runs after the last step, before saving; returns what to record in config.json's rlcd entry. */
  finish(): Promise<Record<string, unknown>>;
}

export async function trainResumably(run: ResumableRun): Promise<{ resumedFrom: number; reports: StepReport[] }> {
  const ckDir = path.join(run.out, 'checkpoint');
  const resumedFrom = await restoreTrainerState(ckDir, run.trainer, run.identity);
  const log = StepLog.open(path.join(run.out, 'metrics.jsonl'), resumedFrom);
  run.onEvent?.({ stage: run.stage, step: resumedFrom, total: run.totalSteps, metrics: {}, ...(resumedFrom > 0 && { message: `resumed at step ${resumedFrom}` }) });
  const reports = await runTrainingLoop({
    trainer: run.trainer,
    totalSteps: run.totalSteps,
    startStep: resumedFrom,
    microBatches: run.microBatches,
    ...optimizerPlan(run.optimizer, run.totalSteps),
    checkpointEvery: run.saveEvery,
    checkpoint: (done) => saveTrainerState(ckDir, run.trainer, run.identity, done),
    onStep: async (r) => {
      const named = Object.fromEntries(Object.entries(r.stats).map(([k, v]) => [run.renameMetric?.(k) ?? k, v]));
      const metrics = { ...named, lr: r.lr, grad_norm: r.gradNorm, tokens_per_second: r.tokensPerSecond };
      for (const [k, v] of Object.entries(metrics)) {
        if (!Number.isFinite(v)) throw new Error(`${run.stage} step ${r.step}: ${k} is ${v}; the run diverged (lower the learning rate); the last checkpoint is kept`);
      }
      log.append({ step: r.step, ...metrics });
      run.onEvent?.({ stage: run.stage, step: r.step, total: r.totalSteps, metrics });
      await run.onStep?.(r);
    },
  });
  await saveTrainedModel(run.out, run.trainer, await run.finish(), ['metrics.jsonl']);
  await saveTrainerState(ckDir, run.trainer, run.identity, run.totalSteps);
  return { resumedFrom, reports };
}
