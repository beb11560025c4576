// The statistics of a pairwise evaluation. A record's score is how much the judge prefers side A
// (1 a win, 0 a loss, 0.5 a tie or an unparseable verdict, or a probability for judges that give
// one). With several samples per prompt the prompt is the unit of resampling: the standard error
// and the bootstrap interval are over per-prompt mean scores, so K samples of one prompt do not
// count as K independent prompts.
import { mulberry32 } from '../util/random.js';

export interface ScoredRecord {
  promptIndex: number;
  /** Preference for side A in [0, 1]. */
  score: number;
  /** Response lengths in tokens. */
  lengthA: number;
  lengthB: number;
}

export interface WinRate {
  /** Records and prompts counted. */
  n: number;
  prompts: number;
  /** Mean score of side A: its win rate, ties counted half. */
  winRate: number;
  /** Standard error of winRate over prompts. */
  stderr: number;
  /** 95% percentile bootstrap interval over prompts. */
  ci95: [number, number];
  /** Win rate at equal length (lengthControlledWinRate). */
  lengthControlled: number;
  wins: number;
  losses: number;
  ties: number;
  meanLengthA: number;
  meanLengthB: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Per-prompt mean scores, in order of first appearance. */
export function promptMeans(records: readonly ScoredRecord[]): number[] {
  const by = new Map<number, number[]>();
  for (const r of records) by.set(r.promptIndex, [...(by.get(r.promptIndex) ?? []), r.score]);
  return [...by.values()].map(mean);
}

/** Sample standard deviation over sqrt(n); 0 for fewer than two values. */
export function standardError(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1) / xs.length);
}

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q, lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** 95% percentile bootstrap interval of the mean of xs: `resamples` draws with replacement, seeded. */
export function bootstrapInterval(xs: readonly number[], seed: number, resamples = 2000): [number, number] {
  if (xs.length === 0) return [NaN, NaN];
  const rand = mulberry32(seed ^ 0x5bd1e995);
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(rand() * xs.length)]!;
    means[b] = s / xs.length;
  }
  const sorted = Array.from(means).sort((a, b) => a - b);
  return [quantile(sorted, 0.025), quantile(sorted, 0.975)];
}

/**
 * The length-controlled win rate of AlpacaEval 2 (Dubois et al., 2024), without its per-instruction
 * term: a logistic model of the score, logit P(A preferred) = b0 + b1 * tanh((lenA - lenB) / sd),
 * with sd the standard deviation of the length differences, fitted by maximum likelihood (scores
 * are soft targets); the win rate at equal length is sigmoid(b0). Equal lengths everywhere give
 * the plain win rate. A tiny ridge term keeps b0 finite when one side wins every comparison.
 */
export function lengthControlledWinRate(records: readonly ScoredRecord[]): { winRate: number; intercept: number; lengthSlope: number } {
  const n = records.length;
  if (n === 0) return { winRate: NaN, intercept: NaN, lengthSlope: NaN };
  const d = records.map((r) => r.lengthA - r.lengthB);
  const dm = mean(d);
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - dm) ** 2, 0) / n);
  const x = d.map((v) => (sd > 0 ? Math.tanh(v / sd) : 0));
  const y = records.map((r) => r.score);
  const ridge = 1e-4;
  let b0 = 0, b1 = 0;
  for (let iter = 0; iter < 100; iter++) {
    // Newton step on the mean negative log-likelihood plus ridge/2 * (b0^2 + b1^2).
    let g0 = ridge * b0, g1 = ridge * b1, h00 = ridge, h01 = 0, h11 = ridge;
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-(b0 + b1 * x[i]!)));
      const w = p * (1 - p);
      g0 += (p - y[i]!) / n;
      g1 += ((p - y[i]!) * x[i]!) / n;
      h00 += w / n;
      h01 += (w * x[i]!) / n;
      h11 += (w * x[i]! * x[i]!) / n;
    }
    const det = h00 * h11 - h01 * h01;
    const s0 = (h11 * g0 - h01 * g1) / det, s1 = (h00 * g1 - h01 * g0) / det;
    b0 -= s0;
    b1 -= s1;
    if (Math.abs(s0) + Math.abs(s1) < 1e-12) break;
  }
  return { winRate: 1 / (1 + Math.exp(-b0)), intercept: b0, lengthSlope: b1 };
}

/** Every figure of a comparison; `seed` fixes the bootstrap. */
export function winRate(records: readonly ScoredRecord[], seed: number): WinRate {
  const per = promptMeans(records);
  return {
    n: records.length,
    prompts: per.length,
    winRate: records.length ? mean(records.map((r) => r.score)) : NaN,
    stderr: standardError(per),
    ci95: bootstrapInterval(per, seed),
    lengthControlled: lengthControlledWinRate(records).winRate,
    wins: records.filter((r) => r.score > 0.5).length,
    losses: records.filter((r) => r.score < 0.5).length,
    ties: records.filter((r) => r.score === 0.5).length,
    meanLengthA: records.length ? mean(records.map((r) => r.lengthA)) : NaN,
    meanLengthB: records.length ? mean(records.map((r) => r.lengthB)) : NaN,
  };
}
