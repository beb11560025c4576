// Story outlining, the paper's third task. The paper used three description pairs (interestingness,
// well-formedness, relevance to the premise) and the response prefix 'Here is a possible outline:\n1. ',
// but did not release the pair texts: the affixes and instructions below are OUR OWN WORDS, written
// to the paper's description (one pair per aspect, p+ and p- differing in one word or phrase).
import { PAPER_RLAIF_TEMPLATE } from './rlaif-template.js';
import { DIALOGUE_STOP } from './stop-rules.js';
import type { Task } from './task.js';

export const OUTLINE: Task = {
  name: 'outline',
  description: 'Story outlines for a premise (HH-style prompt); 3 affix pairs in our own words: interestingness, well-formedness, relevance.',
  source: 'rlcd project (our own wording of the three aspects the RLCD paper names)',
  placement: 'assistant-turns',
  positiveAffixes: [
    '(interesting, creative outline)',
    '(well-formed, coherent outline)',
    '(outline relevant to the premise)',
  ],
  negativeAffixes: [
    '(boring, predictable outline)',
    '(badly formed, incoherent outline)',
    '(outline irrelevant to the premise)',
  ],
  rlaifInstructions: [
    'Please choose the outline that is more interesting and creative.',
    'Please choose the outline that is better formed and more coherent.',
    'Please choose the outline that is more relevant to the premise.',
  ],
  rlaifTemplate: PAPER_RLAIF_TEMPLATE,
  responsePrefix: 'Here is a possible outline:\n1. ',
  stopRule: DIALOGUE_STOP,
};
