// Stage: DPO (Rafailov et al.) on simulated preference pairs: RLCD-DPO, which no peer toolkit
// offers. The policy conditions on the ORIGINAL prompt p (as PPO and the preference model do); the
// reference is the base model, whose summed response log-probs are computed once before training
// and cached in DIR/reference-logps.json (with LoRA that equals the adapters-off policy).
import fs from 'node:fs';
import path from 'node:path';
import { dpoFields, type DpoConfig, type DpoOptions } from '../config/dpo.js';
import { parseConfig } from '../config/schema.js';
import { checkLoraOptions, identitySettings } from '../config/train-common.js';
import { tokenizePair } from '../model/tokenize-pair.js';
import { chunks, packBatch, shuffled } from '../train/batch.js';
import type { MicroBatch } from '../train/loop.js';
import { trainResumably } from '../train/resumable-run.js';
import { Trainer, trainerOptionsFrom } from '../train/trainer.js';
import { atomicWriteFile } from '../util/atomic.js';
import { readJsonl } from '../util/jsonl.js';
import { assertOutputLocation } from '../util/output-dir.js';
import { appendCue } from '../tasks/placement.js';
import { checkHooks, StepLog, type StageHooks } from './stage.js';

interface EncodedPair {
  /** prompt + chosen, prompt + rejected */
  rows: [number[], number[]];
  promptLengths: [number, number];
  pChosen: number;
}

export interface DpoResult {
  out: string;
  steps: number;
  resumedFrom: number;
  pairs: number;
  final: Record<string, number>;
}

/** The policy's view of a pair: prompt joined by one space (as context distillation), response trimmed + suffix. */
export function policyText(prompt: string, response: string, suffix: string): { source: string; target: string } {
  return { source: appendCue(prompt, ''), target: response.trim() + suffix };
}

function readDpoPairs(file: string): Array<{ prompt: string; chosen: string; rejected: string; pChosen: number }> {
  const rows = readJsonl(file).map(({ line, value: v }) => {
    if (typeof v.prompt !== 'string' || typeof v.chosen !== 'string' || typeof v.rejected !== 'string') {
      throw new Error(`${file}:${line}: expected {"prompt", "chosen", "rejected"} strings`);
    }
    const p = v.p_chosen === undefined ? 1 : v.p_chosen;
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`${file}:${line}: "p_chosen" must be a probability`);
    return { prompt: v.prompt, chosen: v.chosen, rejected: v.rejected, pChosen: p };
  });
  if (rows.length === 0) throw new Error(`${file}: no pairs`);
  return rows;
}

function encode(trainer: Trainer, prompt: string, response: string, suffix: string, maxLen: number): { ids: number[]; promptLength: number } {
  const t = policyText(prompt, response, suffix);
  const pair = tokenizePair(trainer.tokenizer, t.source, t.target, true, maxLen);
  const ids = [...pair.prompt, ...pair.continuation].slice(0, maxLen);
  return { ids, promptLength: Math.min(pair.prompt.length, ids.length - 1) };
}

function pairBatch(group: readonly EncodedPair[]) {
  const batch = packBatch(group.flatMap((p) => p.rows));
  const weights = new Float32Array(batch.B * batch.T);
  group.forEach((p, i) => {
    for (let k = 0; k < 2; k++) {
      const b = 2 * i + k, len = p.rows[k]!.length;
      for (let t = Math.max(0, p.promptLengths[k]! - 1); t < len - 1; t++) weights[b * batch.T + t] = 1;
    }
  });
  return { batch, weights };
}

/** Summed response log-probs of each pair's chosen and rejected rows under the trainer's current weights. */
async function responseLogps(trainer: Trainer, pairs: readonly EncodedPair[], micro: number): Promise<{ chosen: number[]; rejected: number[] }> {
  const chosen: number[] = [], rejected: number[] = [];
  for (const group of chunks(pairs, micro)) {
    const { batch, weights } = pairBatch(group);
    const lp = await trainer.evaluate(batch, 'logprobs', false);
    for (let b = 0; b < batch.B; b++) {
      let s = 0;
      for (let t = 0; t < batch.T; t++) s += weights[b * batch.T + t]! * lp[b * batch.T + t]!;
      (b % 2 === 0 ? chosen : rejected).push(s);
    }
  }
  return { chosen, rejected };
}

const METRIC_NAMES: Record<string, string> = {
  loss: 'loss', rewardChosen: 'rewards/chosen', rewardRejected: 'rewards/rejected', accuracy: 'rewards/accuracies',
  margin: 'rewards/margins', logpChosen: 'logps/chosen', logpRejected: 'logps/rejected',
};

export async function runDpo(options: DpoOptions, hooks: StageHooks = {}): Promise<DpoResult> {
  checkLoraOptions(options);
  const cfg: DpoConfig = parseConfig(dpoFields, options);
  const { onEvent } = checkHooks(hooks);
  assertOutputLocation(cfg.out, [cfg.model, cfg.pairs, ...(cfg.tokenizer ? [cfg.tokenizer] : [])], 'dpo');
  const raw = readDpoPairs(cfg.pairs);
  const trainer = await Trainer.fromModel(cfg.model, trainerOptionsFrom(cfg));
  try {
    const maxLen = Math.min(cfg.maxLength, trainer.config.maxSeqLen);
    const all: EncodedPair[] = raw.map((p) => {
      const c = encode(trainer, p.prompt, p.chosen, cfg.suffix, maxLen), r = encode(trainer, p.prompt, p.rejected, cfg.suffix, maxLen);
      return { rows: [c.ids, r.ids], promptLengths: [c.promptLength, r.promptLength], pChosen: p.pChosen };
    });
    // A pair whose two sides are the same tokens teaches nothing and only adds noise to the metrics.
    const pairs = all.filter((p) => p.rows[0].join() !== p.rows[1].join());
    if (pairs.length === 0) throw new Error(`${cfg.pairs}: no pair has different chosen and rejected responses`);

    // Reference log-probs: once, from the untrained model, cached for reruns.
    const refFile = path.join(cfg.out, 'reference-logps.json');
    const refKey = { model: path.resolve(cfg.model), pairs: path.resolve(cfg.pairs), n: pairs.length, maxLength: maxLen, suffix: cfg.suffix };
    let ref: { chosen: number[]; rejected: number[] } | undefined;
    if (fs.existsSync(refFile)) {
      const saved = JSON.parse(fs.readFileSync(refFile, 'utf8')) as { key: unknown; chosen: number[]; rejected: number[] };
      if (JSON.stringify(saved.key) === JSON.stringify(refKey)) ref = saved;
    }
    if (!ref) {
      if (fs.existsSync(path.join(cfg.out, 'checkpoint'))) throw new Error(`${cfg.out}: has a checkpoint but no matching reference-logps.json; remove the directory to start over`);
      ref = await responseLogps(trainer, pairs, cfg.microBatchSize);
      fs.mkdirSync(cfg.out, { recursive: true });
      atomicWriteFile(refFile, JSON.stringify({ key: refKey, ...ref }));
    }
    const indexed = pairs.map((p, i) => ({ p, refC: ref!.chosen[i]!, refR: ref!.rejected[i]! }));

    const perEpoch = Math.ceil(indexed.length / cfg.batchSize);
    const totalSteps = perEpoch * cfg.epochs;
    const order = Array.from({ length: cfg.epochs }, (_, e) => shuffled(indexed, cfg.seed * 7927 + e + 11));
    const microBatches = (step: number): MicroBatch[] => {
      const epoch = Math.floor(step / perEpoch), i = step % perEpoch;
      const stepPairs = order[epoch]!.slice(i * cfg.batchSize, (i + 1) * cfg.batchSize);
      return chunks(stepPairs, cfg.microBatchSize).map((group) => {
        const { batch, weights } = pairBatch(group.map((g) => g.p));
        return {
          batch,
          loss: {
            kind: 'dpo' as const, weights, beta: cfg.beta, dpoLoss: cfg.lossType,
            targets: Float32Array.from(group.map((g) => g.p.pChosen)),
            refChosen: Float32Array.from(group.map((g) => g.refC)),
            refRejected: Float32Array.from(group.map((g) => g.refR)),
          },
          share: group.length / stepPairs.length,
          tokens: batch.lengths.reduce((n, l) => n + l, 0),
        };
      });
    };
    const { quiet: _q, threads: _t, saveEvery: _s, out: _o, ...settings } = cfg;
    const { resumedFrom, reports } = await trainResumably({
      stage: 'dpo', trainer, out: cfg.out, totalSteps, microBatches, optimizer: cfg, saveEvery: cfg.saveEvery,
      identity: { stage: 'dpo', ...identitySettings(settings), model: path.resolve(cfg.model), pairs: path.resolve(cfg.pairs), n: pairs.length },
      renameMetric: (k) => METRIC_NAMES[k] ?? k,
      ...(onEvent && { onEvent }),
      finish: async () => ({ stage: 'dpo', steps: totalSteps, beta: cfg.beta, lossType: cfg.lossType }),
    });
    const last = reports.at(-1);
    const final = last ? Object.fromEntries(Object.entries(last.stats).map(([k, v]) => [METRIC_NAMES[k] ?? k, v])) : (StepLog.open(path.join(cfg.out, 'metrics.jsonl'), totalSteps).read().at(-1) as Record<string, number> ?? {});
    return { out: cfg.out, steps: totalSteps, resumedFrom, pairs: pairs.length, final };
  } finally {
    trainer.dispose();
  }
}
