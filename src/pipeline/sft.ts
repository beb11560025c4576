// Stage: supervised fine-tuning on (prompt, completion) pairs, loss on the completion only. With
// RLCD's (p, o+) pairs this is the paper's context-distillation baseline.
import path from 'node:path';
import { parseConfig } from '../config/schema.js';
import { checkLoraOptions, identitySettings } from '../config/train-common.js';
import { sftFields, type SftConfig, type SftOptions } from '../config/sft.js';
import { readJsonl } from '../util/jsonl.js';
import { tokenizePair } from '../model/tokenize-pair.js';
import { chunks, completionWeights, packBatch, shuffled } from '../train/batch.js';
import type { MicroBatch, StepReport } from '../train/loop.js';
import { trainResumably } from '../train/resumable-run.js';
import { Trainer, trainerOptionsFrom } from '../train/trainer.js';
import { assertOutputLocation } from '../util/output-dir.js';
import { checkHooks, StepLog, type StageHooks } from './stage.js';

export interface SftExample {
  ids: number[];
  promptLength: number;
}

export interface SftResult {
  out: string;
  steps: number;
  resumedFrom: number;
  examples: number;
  finalLoss: number;
  reports: StepReport[];
}

export function loadSftData(file: string): Array<{ prompt: string; completion: string }> {
  return readJsonl(file).map(({ line, value }) => {
    if (typeof value.prompt !== 'string' || typeof value.completion !== 'string') {
      throw new Error(`${file}:${line}: expected {"prompt": string, "completion": string}`);
    }
    return { prompt: value.prompt, completion: value.completion };
  });
}

export async function runSft(options: SftOptions, hooks: StageHooks = {}): Promise<SftResult> {
  checkLoraOptions(options);
  const cfg: SftConfig = parseConfig(sftFields, options);
  const { onEvent } = checkHooks(hooks);
  assertOutputLocation(cfg.out, [cfg.model, cfg.data, ...(cfg.tokenizer ? [cfg.tokenizer] : [])], 'sft');
  const rows = loadSftData(cfg.data);
  if (rows.length === 0) throw new Error(`${cfg.data}: no examples`);
  const trainer = await Trainer.fromModel(cfg.model, trainerOptionsFrom(cfg));
  try {
    const maxLen = Math.min(cfg.maxLength, trainer.config.maxSeqLen);
    const encoded: SftExample[] = rows.map(({ prompt, completion }) => {
      const pair = tokenizePair(trainer.tokenizer, prompt, completion, true, maxLen);
      const ids = [...pair.prompt, ...pair.continuation, ...(cfg.appendEos ? [trainer.config.eosId] : [])].slice(0, maxLen);
      return { ids, promptLength: Math.min(pair.prompt.length, ids.length) };
    });
    // An example whose prompt fills max-length has no completion token to learn: say so, and never
    // train on nothing (a loss of 0.0 would read like success).
    const empty = encoded.flatMap((e, i) => (e.ids.length - Math.max(1, e.promptLength) <= 0 ? [i + 1] : []));
    const examples = encoded.filter((e) => e.ids.length - Math.max(1, e.promptLength) > 0);
    if (examples.length === 0) throw new RangeError(`${cfg.data}: no example keeps a completion token within --max-length ${maxLen} (the prompts fill it); raise --max-length or shorten the prompts`);
    if (empty.length > 0) {
      onEvent?.({ stage: 'sft', step: 0, total: 0, metrics: {}, message: `warning: ${empty.length} example(s) have no completion token within --max-length ${maxLen} and are skipped (example ${empty.slice(0, 10).join(', ')}${empty.length > 10 ? ', ...' : ''})` });
    }
    const perEpoch = Math.ceil(examples.length / cfg.batchSize);
    const totalSteps = perEpoch * cfg.epochs;
    // Step s of epoch e takes batch s of that epoch's seeded shuffle: resuming needs no other state.
    const order = Array.from({ length: cfg.epochs }, (_, e) => shuffled(examples, cfg.seed * 1000003 + e));
    const microBatches = (step: number): MicroBatch[] => {
      const epoch = Math.floor(step / perEpoch), i = step % perEpoch;
      const stepExamples = order[epoch]!.slice(i * cfg.batchSize, (i + 1) * cfg.batchSize);
      const counted = (e: SftExample): number => Math.max(0, e.ids.length - Math.max(1, e.promptLength));
      const total = stepExamples.reduce((n, e) => n + counted(e), 0);
      return chunks(stepExamples, cfg.microBatchSize).map((group) => {
        const batch = packBatch(group.map((e) => e.ids));
        const weights = completionWeights(batch, group.map((e) => e.promptLength));
        const tokens = group.reduce((n, e) => n + counted(e), 0);
        return { batch, loss: { kind: 'sft' as const, weights }, share: total > 0 ? tokens / total : 0, tokens: group.reduce((n, e) => n + e.ids.length, 0) };
      });
    };
    const { resumedFrom, reports } = await trainResumably({
      stage: 'sft', trainer, out: cfg.out, totalSteps, microBatches, optimizer: cfg, saveEvery: cfg.saveEvery,
      identity: { stage: 'sft', model: path.resolve(cfg.model), data: path.resolve(cfg.data), examples: examples.length, ...hyper(cfg) },
      ...(onEvent && { onEvent }),
      finish: async () => ({ stage: 'sft', steps: totalSteps }),
    });
    // A rerun of a finished run does no steps: its final loss is the logged one.
    const finalLoss = reports.at(-1)?.stats.loss ?? (StepLog.open(path.join(cfg.out, 'metrics.jsonl'), totalSteps).read().at(-1)?.loss as number | undefined) ?? NaN;
    return { out: cfg.out, steps: totalSteps, resumedFrom, examples: examples.length, finalLoss, reports };
  } finally {
    trainer.dispose();
  }
}

/** The settings that change what a run computes (so a checkpoint of other settings is not resumed). */
function hyper(cfg: SftConfig): Record<string, unknown> {
  const { quiet: _q, threads: _t, saveEvery: _s, out: _o, model: _m, data: _d, ...rest } = cfg;
  return identitySettings(rest);
}
