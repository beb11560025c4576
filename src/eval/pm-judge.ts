// A preference model as judge: it scores both responses as PPO's reward does (the PM's input text,
// its training suffix) and prefers the second with probability sigmoid(r_second - r_first).
import { loadPreferenceModel, encodeForPm } from '../pipeline/preference-model.js';
import { pmInput } from '../pipeline/preference-data.js';
import { packBatch, chunks } from '../train/batch.js';
import type { Comparison, Judge, JudgeOptions, Verdict } from './judge.js';

const MICRO_BATCH = 8;

export async function pmJudge(name: string, dir: string, options: JudgeOptions): Promise<Judge> {
  const { trainer, suffix } = await loadPreferenceModel(dir, options);
  const end = suffix ?? '\n\nHuman:';
  const maxLen = trainer.config.maxSeqLen;
  return {
    name,
    async judge(items: readonly Comparison[]): Promise<Verdict[]> {
      const out: Verdict[] = [];
      for (const group of chunks(items, MICRO_BATCH)) {
        const ids = group.flatMap((c) => [c.first, c.second].map((r) => encodeForPm(trainer.tokenizer, pmInput(c.prompt, r, end), maxLen)));
        const rewards = await trainer.evaluate(packBatch(ids), 'rewards');
        group.forEach((_, i) => {
          const r1 = rewards[2 * i]!, r2 = rewards[2 * i + 1]!;
          out.push({ pSecond: 1 / (1 + Math.exp(-(r2 - r1))), parsed: true, raw: `${r1.toFixed(4)} vs ${r2.toFixed(4)}` });
        });
      }
      return out;
    },
    dispose: () => trainer.dispose(),
  };
}
