// Task data from the RLCD paper (Yang, Klein, Celikyilmaz, Peng, Tian, "RLCD: Reinforcement Learning
// from Contrastive Distillation for Language Model Alignment", ICLR 2024, arXiv 2307.12950), copied
// from its official code release facebookresearch/RLCD (MIT licence, Copyright (c) Meta Platforms,
// Inc. and affiliates), scripts/simulate_preference_data.py at commit fac0b8fe. Texts kept verbatim.
import { PAPER_RLAIF_TEMPLATE } from './rlaif-template.js';
import { DIALOGUE_STOP } from './stop-rules.js';
import type { Task } from './task.js';

export const HELPFUL: Task = {
  name: 'helpful',
  description: 'Helpfulness on HH-style dialogues: 1 affix pair and 1 RLAIF scoring instruction.',
  source: 'RLCD paper code release, facebookresearch/RLCD (MIT), scripts/simulate_preference_data.py @ fac0b8fe',
  placement: 'assistant-turns',
  positiveAffixes: [
    '(giving a helpful response)',
  ],
  negativeAffixes: [
    '(giving an unhelpful response)',
  ],
  rlaifInstructions: [
    'Please choose the response that is more helpful.',
  ],
  rlaifTemplate: PAPER_RLAIF_TEMPLATE,
  responsePrefix: '',
  stopRule: DIALOGUE_STOP,
};
