// Stage: the preference model. A scalar head on the base model's last-token hidden state, trained
// with the Bradley-Terry loss on simulated pairs (hard labels for RLCD, soft for RLAIF), and its
// agreement with labelled pairs (the paper's human-agreement metric on HH).
import fs from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../config/schema.js';
import { checkLoraOptions, identitySettings } from '../config/train-common.js';
import { evalPmFields, trainPmFields, type EvalPmOptions, type TrainPmOptions } from '../config/preference-model.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { SafetensorsFile } from '../model/safetensors.js';
import { engineConfigFromHf } from '../model/hf-config.js';
import { encodeTail } from '../tokenizer/truncated.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { chunks, packBatch, shuffled } from '../train/batch.js';
import type { MicroBatch, StepReport } from '../train/loop.js';
import { trainResumably } from '../train/resumable-run.js';
import { Trainer, trainerOptionsFrom } from '../train/trainer.js';
import { readPairs, type PreferencePair } from './preference-data.js';
import { assertOutputLocation } from '../util/output-dir.js';
import { checkHooks, type StageHooks } from './stage.js';

interface EncodedPair {
  chosen: number[];
  rejected: number[];
  pChosen: number;
}

export interface Agreement {
  pairs: number;
  /** Fraction where the reward order agrees with the label (ties in the label are skipped). */
  accuracy: number;
  /** Mean sigmoid(r_chosen - r_rejected). */
  meanProb: number;
  /** Mean r_chosen - r_rejected. */
  margin: number;
}

/** BOS + text, cut from the left to maxLength (the head reads the end). */
export function encodeForPm(tokenizer: Tokenizer, text: string, maxLength: number): number[] {
  const hasBos = tokenizer.encode('', { bos: true }).length > 0;
  const tail = encodeTail(tokenizer, text, hasBos ? maxLength - 1 : maxLength);
  return hasBos ? [tokenizer.bosId, ...tail] : tail;
}

function encodePairs(tokenizer: Tokenizer, pairs: PreferencePair[], maxLength: number): EncodedPair[] {
  return pairs.map((p) => ({ chosen: encodeForPm(tokenizer, p.chosen, maxLength), rejected: encodeForPm(tokenizer, p.rejected, maxLength), pChosen: p.pChosen }));
}

function pairBatch(group: EncodedPair[]) {
  return packBatch(group.flatMap((p) => [p.chosen, p.rejected]));
}

export async function agreement(
  trainer: Trainer, pairs: EncodedPair[], microBatch: number, onProgress?: (done: number, total: number) => void,
): Promise<Agreement> {
  let correct = 0, counted = 0, prob = 0, margin = 0, done = 0;
  for (const group of chunks(pairs, microBatch)) {
    const r = await trainer.evaluate(pairBatch(group), 'rewards');
    group.forEach((p, i) => {
      const m = r[2 * i]! - r[2 * i + 1]!;
      prob += 1 / (1 + Math.exp(-m));
      margin += m;
      if (p.pChosen !== 0.5) {
        counted++;
        if ((m > 0) === (p.pChosen > 0.5)) correct++;
      }
    });
    done += group.length;
    onProgress?.(done, pairs.length);
  }
  const n = pairs.length;
  return { pairs: n, accuracy: counted ? correct / counted : NaN, meanProb: prob / n, margin: margin / n };
}

export interface TrainPmResult {
  out: string;
  steps: number;
  resumedFrom: number;
  trainPairs: number;
  heldOut: Agreement | undefined;
  reports: StepReport[];
}

/** onEval: the held-out agreement, every evalEvery steps and at the end (also sent as an event). */
export async function trainPreferenceModel(
  options: TrainPmOptions,
  hooks: StageHooks & { onEval?: (step: number, a: Agreement) => void } = {},
): Promise<TrainPmResult> {
  checkLoraOptions(options);
  const cfg = parseConfig(trainPmFields, options);
  const { onEvent } = checkHooks(hooks);
  assertOutputLocation(cfg.out, [cfg.model, cfg.pairs, ...(cfg.tokenizer ? [cfg.tokenizer] : [])], 'train-pm');
  const onEval = (step: number, a: Agreement): void => {
    hooks.onEval?.(step, a);
    onEvent?.({ stage: 'train-pm', step, total: step, metrics: {}, message: `held-out at step ${step}: accuracy ${(100 * a.accuracy).toFixed(1)}%, mean P(chosen) ${a.meanProb.toFixed(4)} (${a.pairs} pairs)` });
  };
  const all = readPairs(cfg.pairs, cfg.suffix, cfg.hardLabels);
  const trainer = await Trainer.fromModel(cfg.model, { ...trainerOptionsFrom(cfg), head: 'scalar' });
  try {
    const maxLen = Math.min(cfg.maxLength, trainer.config.maxSeqLen);
    const allEncoded = encodePairs(trainer.tokenizer, all, maxLen);
    // A pair whose two inputs are the same tokens (identical texts, or equal after truncation) carries no preference.
    const same = allEncoded.filter((p) => p.chosen.join() === p.rejected.join()).length;
    if (same > 0) onEvent?.({ stage: 'train-pm', step: 0, total: 0, metrics: {}, message: `warning: ${same} pair(s) have identical chosen and rejected inputs (after truncation to ${maxLen} tokens) and are dropped` });
    const encoded = shuffled(allEncoded.filter((p) => p.chosen.join() !== p.rejected.join()), cfg.seed);
    if (encoded.length === 0) throw new RangeError(`${cfg.pairs}: every pair has identical chosen and rejected inputs`);
    const evalSize = cfg.evalSize ?? Math.min(500, Math.floor(encoded.length * 0.1));
    const heldOut = encoded.slice(0, evalSize);
    const train = encoded.slice(evalSize);
    if (train.length === 0) throw new Error(`${cfg.pairs}: no pairs left for training after holding out ${evalSize}`);
    const perEpoch = Math.ceil(train.length / cfg.batchSize);
    const totalSteps = perEpoch * cfg.epochs;
    const order = Array.from({ length: cfg.epochs }, (_, e) => shuffled(train, cfg.seed * 7919 + e + 1));
    const microBatches = (step: number): MicroBatch[] => {
      const epoch = Math.floor(step / perEpoch), i = step % perEpoch;
      const stepPairs = order[epoch]!.slice(i * cfg.batchSize, (i + 1) * cfg.batchSize);
      return chunks(stepPairs, cfg.microBatchSize).map((group) => {
        const batch = pairBatch(group);
        return {
          batch,
          loss: { kind: 'preference' as const, targets: Float32Array.from(group.map((p) => p.pChosen)) },
          share: group.length / stepPairs.length,
          tokens: group.reduce((n, p) => n + p.chosen.length + p.rejected.length, 0),
        };
      });
    };
    let final: Agreement | undefined;
    const { resumedFrom, reports } = await trainResumably({
      stage: 'train-pm', trainer, out: cfg.out, totalSteps, microBatches, optimizer: cfg, saveEvery: cfg.saveEvery,
      ...(onEvent && { onEvent }),
      identity: { stage: 'train-pm', model: path.resolve(cfg.model), pairs: path.resolve(cfg.pairs), n: encoded.length, ...hyper(cfg) },
      onStep: async (r) => {
        if (cfg.evalEvery > 0 && r.step % cfg.evalEvery === 0 && r.step < totalSteps && heldOut.length > 0) {
          onEval(r.step, await agreement(trainer, heldOut, cfg.microBatchSize));
        }
      },
      finish: async () => {
        final = heldOut.length > 0 ? await agreement(trainer, heldOut, cfg.microBatchSize) : undefined;
        if (final) onEval(totalSteps, final);
        return { stage: 'preference-model', suffix: cfg.suffix, steps: totalSteps, heldOut: final };
      },
    });
    return { out: cfg.out, steps: totalSteps, resumedFrom, trainPairs: train.length, heldOut: final, reports };
  } finally {
    trainer.dispose();
  }
}

/** The score head of a preference model written by train-pm: [w (C), b]. */
export function readScoreHead(dir: string, dim: number): Float32Array {
  const file = path.join(dir, 'model.safetensors');
  const st = new SafetensorsFile(file);
  if (!st.tensors.has('score.weight')) throw new ModelFormatError(dir, 'is not a preference model (no score.weight tensor; train one with rlcd train-pm)');
  const shapeOf = (name: string): string => JSON.stringify(st.tensors.get(name)!.shape);
  if (shapeOf('score.weight') !== JSON.stringify([1, dim])) throw new ModelFormatError(file, `tensor 'score.weight' has shape ${shapeOf('score.weight')}, a scalar head on hidden size ${dim} needs [1,${dim}]`);
  if (st.tensors.has('score.bias') && shapeOf('score.bias') !== '[1]') throw new ModelFormatError(file, `tensor 'score.bias' has shape ${shapeOf('score.bias')}, expected [1]`);
  const head = new Float32Array(dim + 1);
  st.readInto('score.weight', head.subarray(0, dim));
  if (st.tensors.has('score.bias')) st.readInto('score.bias', head.subarray(dim));
  const badAt = head.findIndex((x) => !Number.isFinite(x));
  if (badAt >= 0) throw new ModelFormatError(file, `the score head holds a non-finite value (${badAt < dim ? `score.weight[0][${badAt}]` : 'score.bias'})`);
  return head;
}

/** What the preference model directory stored about itself (its suffix) and its width. */
export function readPmInfo(dir: string): { suffix: string | undefined; dim: number } {
  const file = path.join(dir, 'config.json');
  let cfg: { hidden_size?: unknown; rlcd?: { suffix?: unknown } };
  try {
    cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new ModelFormatError(file, 'cannot read the preference model config');
  }
  if (typeof cfg.hidden_size !== 'number') throw new ModelFormatError(file, 'has no hidden_size');
  return { suffix: typeof cfg.rlcd?.suffix === 'string' ? cfg.rlcd.suffix : undefined, dim: cfg.hidden_size };
}

/** A preference model ready to score texts: its trainer (scalar head loaded) and the suffix it was trained with. */
export async function loadPreferenceModel(dir: string, options: { threads?: number } = {}): Promise<{ trainer: Trainer; suffix: string | undefined }> {
  const info = readPmInfo(dir);
  const trainer = await Trainer.fromModel(dir, { head: 'scalar', headWeights: readScoreHead(dir, info.dim), ...(options.threads !== undefined && { threads: options.threads }) });
  return { trainer, suffix: info.suffix };
}

/** The paper's agreement metric; progress comes as events (step = pairs scored). */
export async function evaluatePreferenceModel(options: EvalPmOptions, hooks: StageHooks = {}): Promise<Agreement> {
  const cfg = parseConfig(evalPmFields, options);
  const { onEvent } = checkHooks(hooks);
  const onProgress = onEvent && ((done: number, total: number) => onEvent({ stage: 'eval-pm', step: done, total, metrics: {} }));
  const configFile = path.join(cfg.pm, 'config.json');
  let stored: Record<string, unknown> & { rlcd?: { suffix?: string } } = {};
  try {
    stored = JSON.parse(fs.readFileSync(configFile, 'utf8'));
  } catch {
    throw new ModelFormatError(configFile, 'cannot read the preference model config');
  }
  const suffix = cfg.suffix ?? stored.rlcd?.suffix ?? '\n\nHuman:';
  const dim = engineConfigFromHf(stored, configFile).dim;
  const trainer = await Trainer.fromModel(cfg.pm, { head: 'scalar', headWeights: readScoreHead(cfg.pm, dim), ...(cfg.threads !== undefined && { threads: cfg.threads }) });
  try {
    let pairs = readPairs(cfg.pairs, suffix);
    if (cfg.limit !== undefined) pairs = pairs.slice(0, cfg.limit);
    const maxLen = Math.min(cfg.maxLength, trainer.config.maxSeqLen);
    return await agreement(trainer, encodePairs(trainer.tokenizer, pairs, maxLen), cfg.microBatchSize, onProgress);
  } finally {
    trainer.dispose();
  }
}

function hyper(cfg: ReturnType<typeof parseConfig<typeof trainPmFields>>): Record<string, unknown> {
  const { quiet: _q, threads: _t, saveEvery: _s, out: _o, model: _m, pairs: _p, evalEvery: _e, ...rest } = cfg;
  return identitySettings(rest);
}
