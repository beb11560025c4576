// Options of the reproduction table: `compare(options, hooks)` and `rlcd compare`. Every method is
// trained with alignWithRLCD() under OUT/<method>/ (OUT/seed-S/<method>/ for seeds after the first)
// and evaluated against RLCD-PPO on the held-out prompts.
import { z } from 'zod';
import { flag, int, type ConfigOf, type ConfigInput } from './schema.js';

export const COMPARE_METHODS = ['base', 'context-distillation', 'rlaif', 'rlcd-rescore', 'rlcd', 'rlcd-dpo'] as const;
export type CompareMethod = (typeof COMPARE_METHODS)[number];

/** A comma-separated CLI list, or an array from the library. */
const list = <T extends z.ZodType>(item: T) => z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v), z.array(item).min(1));
const stageOptions = z.record(z.string(), z.unknown()).default({});

export const compareFields = {
  task: { schema: z.string().min(1), arg: 'T', doc: 'Task: harmless, helpful, outline, positive-story, or a task JSON file.' },
  model: { schema: z.string().min(1), arg: 'PATH', doc: 'The base model every method starts from (Hugging Face directory or llama2.c .bin).' },
  tokenizer: { schema: z.string().min(1).optional(), arg: 'PATH', doc: 'Tokenizer, when not beside the model.' },
  prompts: { schema: z.string().min(1), arg: 'F.jsonl', doc: 'Training prompts (simulation and PPO).' },
  evalPrompts: { schema: z.string().min(1), arg: 'G.jsonl', doc: 'Held-out evaluation prompts (disjoint from --prompts).' },
  out: { schema: z.string().min(1), arg: 'DIR', doc: 'Output directory: OUT/<method>/policy, OUT/eval/, results.json, results.md, report.html; a rerun continues it.' },
  seeds: { schema: list(int(0, 2 ** 32 - 1)).default([0]), arg: 'S,S,...', doc: 'Seeds: every method is trained and evaluated once per seed, and the records are pooled.' },
  methods: { schema: list(z.enum(COMPARE_METHODS)).default([...COMPARE_METHODS]), arg: 'M,M,...', doc: `Methods to run (rlcd always runs: it is what the others are compared with): ${COMPARE_METHODS.join(', ')}.` },
  judge: { schema: z.string().min(1).optional(), arg: 'J', doc: 'Judge: lexicon, pm:DIR, lm:MODEL or openai:MODEL (default: lexicon for story tasks).' },
  question: { schema: z.string().min(1).optional(), arg: 'Q', doc: "LM judges: the paper's question (harmless, harmless_helpful, helpful, outline) or a text." },
  baseUrl: { schema: z.string().url().optional(), arg: 'URL', doc: 'openai judge: the endpoint (key from OPENAI_API_KEY).' },
  evalLimit: { schema: int(1).optional(), arg: 'N', doc: 'Evaluate on the first N held-out prompts (default: all).' },
  samples: { schema: int(1, 1000).default(1), arg: 'K', doc: 'Evaluation samples per prompt per policy.' },
  pairsPerPrompt: { schema: int(1, 1000).default(4), arg: 'K', doc: 'Simulate each training prompt K times (as rlcd align).' },
  simulate: { schema: stageOptions, libraryOnly: true, doc: 'Options of the simulate stage (see rlcd simulate).' },
  pm: { schema: stageOptions, libraryOnly: true, doc: 'Options of the preference-model stage (see rlcd train-pm).' },
  ppo: { schema: stageOptions, libraryOnly: true, doc: 'Options of the PPO stage (see rlcd ppo).' },
  dpo: { schema: stageOptions, libraryOnly: true, doc: 'Options of the DPO stage (see rlcd dpo).' },
  sft: { schema: stageOptions, libraryOnly: true, doc: 'Options of context distillation (see rlcd sft).' },
  set: { schema: z.array(z.string()).default([]), arg: 'STAGE.KEY=VALUE', repeatable: true, doc: 'A stage option for every method (repeatable), as in rlcd align.' },
  threads: { schema: int(1, 1024).optional(), arg: 'N', doc: 'CPU threads (default: all cores).' },
  quiet: { schema: flag().default(false), doc: 'No progress bars.' },
};

export type CompareConfig = ConfigOf<typeof compareFields>;
export type CompareOptions = ConfigInput<typeof compareFields>;
