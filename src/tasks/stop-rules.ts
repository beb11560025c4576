// When a sampled output counts as finished, and how it is cleaned up (SPEC.md step 3).
// `dialogue`: HH-style prompts; the output ends at the next Human turn (or EOS).
// `story`: TinyStories-class models end a story with EOS; tinystories-656k first writes the text
// '<|end_story|>' (or another '<|...|>' special-token text), so any output that starts one has ended.

export interface StopRule {
  /** Preset name, for records and docs. */
  readonly name: string;
  /** Strings that end an output; they go to the sampler as stop strings and the output is cut before the first. */
  readonly stop: readonly string[];
  /** Apply the paper's dialogue clean-up: strip a leading 'Assistant:' left by the model. */
  readonly dialogue: boolean;
  /**
   * What to do with an output that used its whole token budget without a stop string or EOS:
   * 'drop' (the paper: it did not end naturally) or 'cut-at-sentence' (keep it up to its last
   * sentence end; used to study short story outputs).
   */
  readonly truncated: 'drop' | 'cut-at-sentence';
}

/** The next `Human` turn ends a dialogue response; '\nHuman' also catches a single-newline turn. */
export const DIALOGUE_STOP: StopRule = { name: 'dialogue', stop: ['\nHuman'], dialogue: true, truncated: 'drop' };

/** EOS ends a story, and so does the text of a special token ('<|end_story|>' and the like) that tinystories-656k writes before it. */
export const STORY_STOP: StopRule = { name: 'story', stop: ['<|'], dialogue: false, truncated: 'drop' };

/** Short story outputs: EOS / '<|end_story|>' as above, and an output that uses its whole budget is kept up to its last sentence. */
export const STORY_SENTENCES_STOP: StopRule = { ...STORY_STOP, name: 'story-sentences', truncated: 'cut-at-sentence' };

export const STOP_RULES: Readonly<Record<string, StopRule>> = { dialogue: DIALOGUE_STOP, story: STORY_STOP, 'story-sentences': STORY_SENTENCES_STOP };
