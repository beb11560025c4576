// One PPO rollout: a prompt, the response tokens the policy sampled, and what the task makes of
// them. The response keeps the tokens up to the one that ended it (EOS or a stop string), or, for a
// story cut at its last sentence, up to that sentence end; later tokens are dropped as if never
// sampled (AlpacaFarm truncates after its stop token the same way).
import type { FinishReason } from '../native/binding.js';
import { filterOutput } from '../pipeline/filter.js';
import type { StopRule } from '../tasks/stop-rules.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface Rollout {
  /** Index into the prompt list. */
  promptIndex: number;
  prompt: string;
  promptIds: number[];
  /** Response tokens that count (never empty). */
  responseIds: number[];
  /** The cleaned response text the preference model reads ('' when not terminated). */
  text: string;
  /** Ended as the task wants (EOS, a stop string, or a complete sentence for story tasks), and non-empty. */
  terminated: boolean;
  finishReason: FinishReason;
}

/** Rule used when no task is given: only EOS ends a response. */
export const EOS_ONLY: StopRule = { name: 'eos', stop: [], dialogue: false, truncated: 'drop' };

export function makeRollout(
  tokenizer: Tokenizer, rule: StopRule, promptIndex: number, prompt: string, promptIds: number[], ids: Int32Array, finishReason: FinishReason,
): Rollout {
  let responseIds = Array.from(ids);
  const raw = tokenizer.decode(responseIds);
  const filtered = filterOutput(raw, finishReason, rule);
  if (filtered.ok && finishReason === 'length' && rule.truncated === 'cut-at-sentence') {
    // Keep the shortest prefix of tokens whose text reaches the kept sentence end (decoded length
    // grows with the prefix, so a binary search needs log L decodes, not L).
    const want = raw.indexOf(filtered.text) + filtered.text.length;
    let lo = 1, hi = responseIds.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (tokenizer.decode(responseIds.slice(0, mid)).length >= want) hi = mid;
      else lo = mid + 1;
    }
    const keep = lo;
    responseIds = responseIds.slice(0, keep);
  }
  return { promptIndex, prompt, promptIds, responseIds, text: filtered.ok ? filtered.text : '', terminated: filtered.ok, finishReason };
}
