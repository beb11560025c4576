// Story premises for the positive-story task and a diagnostic sentiment judge. The judge (the npm
// `sentiment` package, AFINN word list) is for evaluation only, never a training signal.
import fs from 'node:fs';
import { sentimentOf } from '../../src/eval/lexicon-judge.js';

export { sentimentOf };

/** First sentences of TinyStories validation stories, each with a trailing space (the 656K tokenizer wants one). */
export function storyPremises(valTxt: string, count: number, skip = 0): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const para of fs.readFileSync(valTxt, 'utf8').split(/\n\s*\n/)) {
    const first = /^[^.!?\n]{10,120}[.!?]/.exec(para.trim())?.[0];
    if (!first || !/^(Once upon a time|One day|There was|There once)/.test(first) || seen.has(first)) continue;
    seen.add(first);
    out.push(first + ' ');
  }
  if (out.length < skip + count) throw new Error(`${valTxt}: only ${out.length} premises, asked for ${skip + count}`);
  return out.slice(skip, skip + count);
}

/** Fraction of pairs whose chosen text the judge rates more positive than the rejected one (ties count 0.5). */
export function judgeAccuracy(pairs: ReadonlyArray<{ chosen: string; rejected: string }>): { accuracy: number; ties: number; n: number } {
  let score = 0, ties = 0;
  for (const p of pairs) {
    const c = sentimentOf(p.chosen), r = sentimentOf(p.rejected);
    if (c > r) score += 1;
    else if (c === r) {
      score += 0.5;
      ties++;
    }
  }
  return { accuracy: pairs.length ? score / pairs.length : NaN, ties: pairs.length ? ties / pairs.length : NaN, n: pairs.length };
}
