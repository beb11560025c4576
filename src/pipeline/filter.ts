// The output filter of SPEC.md step 3. An output must have ended naturally (a stop string of the
// task's rule, or EOS) within its token budget; it is cut there, a leading 'Assistant:' is stripped
// from dialogue responses, and what is left must be non-empty.
//
// The paper's code cuts at the first 'Human' and then at the last newline before it. Our dialogue
// stop string is '\nHuman', which ends the text right where that cut would (the newline before the
// next turn), without the paper's side effect of ending a response at a word like 'Humans'.
import type { FinishReason } from '../native/binding.js';
import type { StopRule } from '../tasks/stop-rules.js';

export type FilterDrop = 'unfinished' | 'empty';
/** Why a prompt produced no pair: a filter failure after every retry, or a problem before or after sampling. */
export type DropReason = FilterDrop | 'prompt-format' | 'prompt-too-long' | 'score-too-long';
export const DROP_REASONS: readonly DropReason[] = ['unfinished', 'empty', 'prompt-format', 'prompt-too-long', 'score-too-long'];

export type FilterResult = { ok: true; text: string } | { ok: false; reason: FilterDrop };

// A sentence ends with . ! or ?, possibly followed by closing quotes or brackets.
const SENTENCE_END = /[.!?]["'\u201d\u2019)\]]*/g;

/** The text up to and including its last sentence end, or '' when it has none. */
export function cutAtLastSentence(text: string): string {
  let end = -1;
  for (const m of text.matchAll(SENTENCE_END)) end = m.index + m[0].length;
  return end < 0 ? '' : text.slice(0, end);
}

/**
 * Filters one sampled output. `text` is the generated text (prompt excluded); when the sampler
 * stopped on a stop string, the text may still hold it (it is cut here at the first one).
 */
export function filterOutput(text: string, finishReason: FinishReason, rule: StopRule): FilterResult {
  let out = text;
  if (finishReason === 'length') {
    if (rule.truncated === 'drop') return { ok: false, reason: 'unfinished' };
    out = cutAtLastSentence(out);
    if (out.trim() === '') return { ok: false, reason: 'unfinished' };
  } else if (finishReason === 'stop') {
    let cut = out.length;
    for (const s of rule.stop) {
      const i = out.indexOf(s);
      if (i >= 0 && i < cut) cut = i;
    }
    out = out.slice(0, cut);
  }
  out = out.trim();
  if (rule.dialogue && out.startsWith('Assistant:')) out = out.slice('Assistant:'.length).trim();
  if (out === '') return { ok: false, reason: 'empty' };
  return { ok: true, text: out };
}
