// Options of the whole pipeline: alignWithRLCD() and `rlcd align`. The top-level fields choose
// the method and algorithm; each stage's own options (its schema in this folder) go in a nested
// object (library) or as --set STAGE.KEY=VALUE (CLI), and are validated by that stage's schema.
import { z } from 'zod';
import { flag, int, type ConfigOf, type ConfigInput } from './schema.js';

export const ALIGN_METHODS = ['rlcd', 'rlaif', 'rlcd-rescore', 'context-distillation'] as const;
export type AlignMethod = (typeof ALIGN_METHODS)[number];

const stageOptions = z.record(z.string(), z.unknown()).default({});

export const alignFields = {
  task: { schema: z.string().min(1), arg: 'T', doc: 'Task: harmless, helpful, outline, positive-story, or a task JSON file.' },
  model: { schema: z.string().min(1), arg: 'PATH', doc: 'The base model: simulator, preference-model backbone and policy start (Hugging Face directory or llama2.c .bin).' },
  tokenizer: { schema: z.string().min(1).optional(), arg: 'PATH', doc: 'Tokenizer, when not beside the model.' },
  prompts: { schema: z.string().min(1), arg: 'F.jsonl', doc: 'Prompts: JSONL lines {"prompt": "..."} or HH lines (.jsonl or .jsonl.gz).' },
  out: { schema: z.string().min(1), arg: 'DIR', doc: 'Output directory: pairs.jsonl, pm/, policy/, summary.json.' },
  method: { schema: z.enum(ALIGN_METHODS).default('rlcd'), arg: 'M', doc: 'rlcd, rlaif, rlcd-rescore (labelers of the simulated pairs), or context-distillation (SFT on the RLCD positives).' },
  algorithm: { schema: z.enum(['ppo', 'dpo']).default('ppo'), arg: 'A', doc: 'ppo (preference model, then PPO) or dpo (DPO on the pairs directly); ignored by context-distillation.' },
  pairsPerPrompt: { schema: int(1, 1000).default(4), arg: 'K', doc: 'Simulate each prompt K times (different samples) for more preference pairs.' },
  seed: { schema: int(0, 2 ** 32 - 1).default(0), arg: 'S', doc: 'Seed of every stage.' },
  simulate: { schema: stageOptions, libraryOnly: true, doc: 'Options of the simulate stage (see rlcd simulate).' },
  pm: { schema: stageOptions, libraryOnly: true, doc: 'Options of the preference-model stage (see rlcd train-pm).' },
  ppo: { schema: stageOptions, libraryOnly: true, doc: 'Options of the PPO stage (see rlcd ppo).' },
  dpo: { schema: stageOptions, libraryOnly: true, doc: 'Options of the DPO stage (see rlcd dpo).' },
  sft: { schema: stageOptions, libraryOnly: true, doc: 'Options of context distillation (see rlcd sft).' },
  pairsFrom: { schema: z.string().min(1).optional(), libraryOnly: true, doc: 'A pair file of an earlier run with the same simulate settings (e.g. another method\'s pairs.jsonl): copied in instead of simulating again; the resume check still compares its recorded settings.' },
  set: { schema: z.array(z.string()).default([]), arg: 'STAGE.KEY=VALUE', repeatable: true, doc: 'A stage option (repeatable), e.g. --set ppo.steps=40 --set pm.lr=1e-4; STAGE is simulate, pm, ppo, dpo or sft.' },
  threads: { schema: int(1, 1024).optional(), arg: 'N', doc: 'CPU threads (default: all cores).' },
  quiet: { schema: flag().default(false), doc: 'No progress bars.' },
};

export type AlignConfig = ConfigOf<typeof alignFields>;
export type AlignOptions = ConfigInput<typeof alignFields>;
export const ALIGN_STAGES = ['simulate', 'pm', 'ppo', 'dpo', 'sft'] as const;
