// Preference pairs as the preference model reads them: TRL lines {"prompt", "chosen", "rejected",
// "p_chosen"?} (our simulator's output) or Anthropic HH lines {"chosen", "rejected"} (whole
// dialogues, e.g. ../shared/data/hh-rlhf). Input text per SPEC.md: prompt + ' ' + response.trimEnd() + suffix.
import fs from 'node:fs';
import zlib from 'node:zlib';

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
  let text: string;
  try {
    const raw = fs.readFileSync(file);
    text = (file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const pairs: PreferencePair[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof v.chosen !== 'string' || typeof v.rejected !== 'string') throw new Error(`${file}:${i + 1}: "chosen" and "rejected" must be strings`);
    let p = 1;
    if (!hardLabels && v.p_chosen !== undefined) {
      if (typeof v.p_chosen !== 'number' || !(v.p_chosen >= 0 && v.p_chosen <= 1)) throw new Error(`${file}:${i + 1}: "p_chosen" must be a probability`);
      p = v.p_chosen;
    }
    if (typeof v.prompt === 'string') {
      pairs.push({ chosen: pmInput(v.prompt, v.chosen, suffix), rejected: pmInput(v.prompt, v.rejected, suffix), pChosen: p });
    } else {
      // HH: the dialogue already reads "...\n\nAssistant: response".
      pairs.push({ chosen: v.chosen.trimEnd() + suffix, rejected: v.rejected.trimEnd() + suffix, pChosen: p });
    }
  });
  if (pairs.length === 0) throw new Error(`${file}: no pairs`);
  return pairs;
}
