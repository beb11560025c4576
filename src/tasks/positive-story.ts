// A warm, happy story, for TinyStories-class base models (they continue text but do not follow
// instructions). p+ and p- are the premise plus a short narrative cue; the two cues of a pair differ
// in the polarity word only, so p+ and p- differ as little as possible on the surface.
//
// Chosen by measurement (docs/simulate.md, bench/story-cues.ts; 160 premises, tinystories-656k):
// cues that END MID-SENTENCE ('Everyone was happy and ') make the output itself carry the polarity,
// and the diagnostic sentiment judge agrees with the hard label on 0.68-0.79 of pairs at 32-48 tokens,
// falling to about 0.70 for whole stories; complete-sentence cues ('Everyone was very happy. ')
// stay at 0.47-0.59 at every length, because the 656K model does not carry a mood across a full
// stop. The price: outputs start mid-sentence ('they played all day.'). Outputs get 48 tokens and
// are cut after their last complete sentence (or end at EOS).
import { PAPER_RLAIF_TEMPLATE } from './rlaif-template.js';
import { STORY_SENTENCES_STOP } from './stop-rules.js';
import type { Task } from './task.js';

export const POSITIVE_STORY: Task = {
  name: 'positive-story',
  description: 'A warm, happy story: premise + a cue differing in polarity only (3 pairs); 48-token outputs cut at the last sentence.',
  source: 'rlcd project',
  placement: 'append',
  positiveAffixes: ['Everyone was happy and ', 'They were happy and ', 'Everyone felt happy and '],
  negativeAffixes: ['Everyone was sad and ', 'They were sad and ', 'Everyone felt sad and '],
  rlaifInstructions: ['Please choose the story that is warmer and happier.'],
  rlaifTemplate: PAPER_RLAIF_TEMPLATE,
  responsePrefix: '',
  stopRule: STORY_SENTENCES_STOP,
  maxNewTokens: 48,
  // Users write premises as sentences ('... named Sue.'); TinyStories tokenizers attach the space to
  // the end of the previous token, so without one the model continues half a word.
  normalizePrompt: (p) => p.trim() + ' ',
};
