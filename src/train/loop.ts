// The optimisation loop shared by every trainer (SFT, preference model): for each step, its
// micro-batches run forward/backward with gradients accumulating, then one AdamW step at the
// scheduled learning rate; a checkpoint every `checkpointEvery` steps makes the run resumable.
import { addon, type TrainBatch, type TrainLoss } from '../native/binding.js';
import type { OptimizerSettings, Trainer } from './trainer.js';

export interface MicroBatch {
  batch: TrainBatch;
  loss: TrainLoss;
  /** This micro-batch's share of the step (e.g. its tokens / the step's tokens); scales its gradient. */
  share: number;
  /** Tokens it holds, for throughput. */
  tokens: number;
}

export interface StepReport {
  step: number;        // 1-based, after the update
  totalSteps: number;
  lr: number;
  gradNorm: number;
  tokensPerSecond: number;
  /** Every statistic of the loss, averaged over micro-batches by share (loss, accuracy, ...). */
  stats: Record<string, number>;
}

export interface LoopOptions {
  trainer: Trainer;
  totalSteps: number;
  /** Steps already done (resuming). */
  startStep: number;
  microBatches(step: number): MicroBatch[];
  lr(step: number): number;
  optimizer: Omit<OptimizerSettings, 'lr'>;
  checkpointEvery: number;
  checkpoint(stepsDone: number): Promise<void>;
  /** Called after each step; awaited (e.g. a held-out evaluation). */
  onStep?(report: StepReport): void | Promise<void>;
}

export async function runTrainingLoop(o: LoopOptions): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  for (let step = o.startStep; step < o.totalSteps; step++) {
    const start = performance.now();
    const stats: Record<string, number> = {};
    let tokens = 0;
    for (const mb of o.microBatches(step)) {
      const s = await o.trainer.forwardBackward(mb.batch, { ...mb.loss, scale: mb.share });
      for (const [k, v] of Object.entries(s)) stats[k] = (stats[k] ?? 0) + v * mb.share;
      tokens += mb.tokens;
    }
    const lr = o.lr(step);
    const { gradNorm } = await o.trainer.step({ ...o.optimizer, lr });
    const report: StepReport = {
      step: step + 1, totalSteps: o.totalSteps, lr, gradNorm,
      tokensPerSecond: tokens / ((performance.now() - start) / 1000), stats,
    };
    reports.push(report);
    await o.onStep?.(report);
    if (o.checkpointEvery > 0 && (step + 1) % o.checkpointEvery === 0 && step + 1 < o.totalSteps) await o.checkpoint(step + 1);
  }
  return reports;
}

/** The optimizer and schedule fields every trainer config shares (config/train-common.ts). */
export interface OptimizerConfig {
  lr: number;
  beta1: number;
  beta2: number;
  adamEps: number;
  weightDecay: number;
  maxGradNorm: number;
  schedule: 'constant' | 'linear' | 'cosine';
  warmupRatio: number;
}

/** AdamW settings and the learning rate of every step, from a trainer config. */
export function optimizerPlan(cfg: OptimizerConfig, totalSteps: number): Pick<LoopOptions, 'optimizer' | 'lr'> {
  const warmup = Math.round(cfg.warmupRatio * totalSteps);
  return {
    optimizer: { beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.adamEps, weightDecay: cfg.weightDecay, maxGradNorm: cfg.maxGradNorm },
    lr: (step) => addon().scheduleLr(cfg.schedule, cfg.lr, step, totalSteps, warmup),
  };
}
