// What a labeler produced: pairs kept, prompts dropped and why, the soft labels' spread, and, where
// a cheap judge exists (lexicon, a preference model), how often the judge agrees with the label.
import fs from 'node:fs';
import { dropsFileOf } from '../pipeline/pair-file.js';
import { readCompleteJsonl } from '../util/jsonl.js';
import type { Judge } from './judge.js';

/** Lower edges of the soft-label histogram's bins; the last bin includes 1. */
export const SOFT_LABEL_BINS = [0.5, 0.6, 0.7, 0.8, 0.9];

export interface LabelStats {
  pairs: number;
  dropped: number;
  dropReasons: Record<string, number>;
  /** Pairs per bin of p_chosen (SOFT_LABEL_BINS); RLCD's hard labels all fall in the last. */
  softLabels: number[];
  meanPChosen: number;
  /** Fraction of pairs whose chosen response the judge prefers (ties 0.5), weighted by nothing; absent without a judge. */
  judgeAgreement?: number;
  judge?: string;
}

export async function labelStats(pairsFile: string, judge?: Judge): Promise<LabelStats> {
  const pairs = readCompleteJsonl(pairsFile, 'rlcd simulate').map(({ value }) => value as { prompt: string; chosen: string; rejected: string; p_chosen?: number });
  const drops = fs.existsSync(dropsFileOf(pairsFile)) ? readCompleteJsonl(dropsFileOf(pairsFile), 'rlcd simulate').map(({ value }) => String(value.reason)) : [];
  const dropReasons: Record<string, number> = {};
  for (const r of drops) dropReasons[r] = (dropReasons[r] ?? 0) + 1;
  const softLabels = SOFT_LABEL_BINS.map(() => 0);
  let sum = 0;
  for (const p of pairs) {
    const v = p.p_chosen ?? 1;
    sum += v;
    let bin = SOFT_LABEL_BINS.length - 1;
    while (bin > 0 && v < SOFT_LABEL_BINS[bin]!) bin--;
    softLabels[bin]!++;
  }
  const out: LabelStats = { pairs: pairs.length, dropped: drops.length, dropReasons, softLabels, meanPChosen: pairs.length ? sum / pairs.length : NaN };
  if (judge && pairs.length > 0) {
    const verdicts = await judge.judge(pairs.map((p) => ({ prompt: p.prompt, first: p.rejected, second: p.chosen })));
    out.judgeAgreement = verdicts.reduce((s, v) => s + (v.parsed ? v.pSecond : 0.5), 0) / verdicts.length;
    out.judge = judge.name;
  }
  return out;
}
