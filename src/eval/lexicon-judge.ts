// The lexicon judge: which response reads more positive by the AFINN word list (the npm `sentiment`
// package, comparative score = sum of word scores / words). A diagnostic for story tasks that never
// trains anything; exact ties count 0.5.
import Sentiment from 'sentiment';
import type { Comparison, Judge, Verdict } from './judge.js';

const analyzer = new Sentiment();

/** AFINN sentiment per word of the text. */
export function sentimentOf(text: string): number {
  return analyzer.analyze(text).comparative;
}

export function lexiconJudge(): Judge {
  return {
    name: 'lexicon',
    async judge(items: readonly Comparison[]): Promise<Verdict[]> {
      return items.map(({ first, second }) => {
        const a = sentimentOf(first), b = sentimentOf(second);
        return { pSecond: b > a ? 1 : b < a ? 0 : 0.5, parsed: true, raw: `${a.toFixed(4)} vs ${b.toFixed(4)}` };
      });
    },
    dispose() {},
  };
}
