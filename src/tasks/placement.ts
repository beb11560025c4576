// Building p+ and p- from a prompt p (SPEC.md step 1).
//  - 'assistant-turns' (the paper's dialogues): the final '\n\nAssistant:' becomes
//    '\n\nAssistant {affix}:' with the same-polarity affix, and every EARLIER '\n\nAssistant:' gets
//    the OPPOSITE-polarity affix of the same index, so the conversation so far reads as if the other
//    kind of assistant had been talking.
//  - 'append' (story tasks): the cue follows the premise, separated by one space unless the premise
//    already ends in whitespace.

export type Placement = 'assistant-turns' | 'append';

const TURN = '\n\nAssistant:';

export interface AffixedPrompts {
  positive: string;
  negative: string;
}

/** True when `prompt` can take affixes under `placement` (dialogues must end with '\n\nAssistant:'). */
export function canPlace(prompt: string, placement: Placement): boolean {
  return placement === 'append' || prompt.endsWith(TURN);
}

function affixTurns(prompt: string, last: string, earlier: string): string {
  const head = prompt.slice(0, prompt.length - TURN.length);
  return head.replaceAll(TURN, `\n\nAssistant ${earlier}:`) + `\n\nAssistant ${last}:`;
}

export function appendCue(prompt: string, cue: string): string {
  return prompt === '' || /\s$/.test(prompt) ? prompt + cue : prompt + ' ' + cue;
}

/** p+ and p- for one affix pair. Throws a RangeError when a dialogue prompt does not end with '\n\nAssistant:'. */
export function placeAffixes(prompt: string, positive: string, negative: string, placement: Placement): AffixedPrompts {
  if (placement === 'append') return { positive: appendCue(prompt, positive), negative: appendCue(prompt, negative) };
  if (!prompt.endsWith(TURN)) throw new RangeError(`a dialogue prompt must end with ${JSON.stringify(TURN)}`);
  return { positive: affixTurns(prompt, positive, negative), negative: affixTurns(prompt, negative, positive) };
}
