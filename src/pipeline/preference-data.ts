// Preference pairs as the preference model reads them: TRL lines {"prompt", "chosen", "rejected",
// "p_chosen"?} (our simulator's output) or Anthropic HH lines {"chosen", "rejected"} (whole
// dialogues, e.g. ../shared/data/hh-rlhf). Input text per SPEC.md: prompt + ' ' + response.trimEnd() + suffix.
import { readJsonl } from '../util/jsonl.js';

export interface PreferencePair {
  /** Full input texts, suffix included. */
  chosen: string;
  rejected: string;
  /** Probability that `chosen` is preferred (1 for hard labels). */
  pChosen: number;
}

/** What the preference model reads for a response to a prompt (SPEC.md section 3); PPO scores rollouts the same way. */
export function pmInput(prompt: string, response: string, suffix: string): string {
  return `${prompt} ${response.trimEnd()}${suffix}`;
}

export function readPairs(file: string, suffix: string, hardLabels = false): PreferencePair[] {
  const pairs = readJsonl(file).map(({ line, value: v }) => {
    if (typeof v.chosen !== 'string' || typeof v.rejected !== 'string') throw new Error(`${file}:${line}: "chosen" and "rejected" must be strings`);
    let p = 1;
    if (!hardLabels && v.p_chosen !== undefined) {
      if (typeof v.p_chosen !== 'number' || !(v.p_chosen >= 0 && v.p_chosen <= 1)) throw new Error(`${file}:${line}: "p_chosen" must be a probability`);
      p = v.p_chosen;
    }
    // HH lines are whole dialogues that already read "...\n\nAssistant: response".
    if (typeof v.prompt === 'string') return { chosen: pmInput(v.prompt, v.chosen, suffix), rejected: pmInput(v.prompt, v.rejected, suffix), pChosen: p };
    return { chosen: v.chosen.trimEnd() + suffix, rejected: v.rejected.trimEnd() + suffix, pChosen: p };
  });
  if (pairs.length === 0) throw new Error(`${file}: no pairs`);
  return pairs;
}
