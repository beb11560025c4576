// Options of preference-model training and evaluation: `rlcd train-pm`, `rlcd eval-pm`.
import { z } from 'zod';
import { flag, int, num, type ConfigOf, type ConfigInput } from './schema.js';
import { loraFields, optimizerFields, runFields } from './train-common.js';

// What the preference model reads after each response (SPEC.md section 3): the same suffix must
// be used when PPO scores rollouts.
export const DEFAULT_PM_SUFFIX = '\n\nHuman:';

const inputFields = {
  suffix: { schema: z.string().default(DEFAULT_PM_SUFFIX), arg: 'TEXT', doc: 'Text after each response (input = prompt + " " + response.trimEnd() + suffix).' },
  maxLength: { schema: int(2, 1 << 20).default(512), arg: 'T', doc: 'Longest input in tokens; longer ones keep BOS and their last T - 1 tokens (the end is what the head reads).' },
  microBatchSize: { schema: int(1, 4096).default(8), arg: 'M', doc: 'Pairs per forward/backward pass (memory).' },
};

export const trainPmFields = {
  model: { schema: z.string().min(1), arg: 'PATH', doc: 'Backbone: the base model (Hugging Face directory or llama2.c .bin).' },
  tokenizer: { schema: z.string().min(1).optional(), arg: 'PATH', doc: 'Tokenizer, when not beside the model.' },
  pairs: { schema: z.string().min(1), arg: 'F.jsonl', doc: 'Preference pairs: {"prompt", "chosen", "rejected"} with optional soft label "p_chosen"; or HH lines {"chosen", "rejected"} (.jsonl or .jsonl.gz).' },
  out: { schema: z.string().min(1), arg: 'DIR', doc: 'Output directory: the preference model in Hugging Face layout (backbone + score head).' },
  epochs: { schema: int(1, 1000).default(1), arg: 'E', doc: 'Passes over the training pairs (paper: 1).' },
  lr: { schema: num(0, 10).default(5e-5), arg: 'X', doc: 'Peak learning rate (paper: 3e-6 for 7B; small models need larger steps).' },
  batchSize: { schema: int(1, 1 << 16).default(16), arg: 'B', doc: 'Pairs per optimizer step (paper: effective batch 16).' },
  evalSize: { schema: int(0).optional(), arg: 'N', doc: 'Pairs held out for evaluation (default: 500, at most 10% of the data, as in the paper).' },
  evalEvery: { schema: int(0).default(0), arg: 'N', doc: 'Evaluate on the held-out pairs every N steps (0: only at the end).' },
  hardLabels: { schema: flag().default(false), doc: 'Ignore p_chosen and train on hard labels.' },
  ...inputFields,
  ...optimizerFields,
  ...loraFields,
  ...runFields,
};

export const evalPmFields = {
  pm: { schema: z.string().min(1), arg: 'DIR', doc: 'A preference model written by rlcd train-pm.' },
  pairs: { schema: z.string().min(1), arg: 'F.jsonl', doc: 'Pairs with labels: TRL lines {"prompt", "chosen", "rejected", "p_chosen"?} or HH lines {"chosen", "rejected"} (.jsonl or .jsonl.gz).' },
  limit: { schema: int(1).optional(), arg: 'N', doc: 'Evaluate the first N pairs only.' },
  json: { schema: flag().default(false), doc: 'Print one JSON object.' },
  suffix: { schema: z.string().optional(), arg: 'TEXT', doc: 'Override the suffix stored with the model.' },
  maxLength: inputFields.maxLength,
  microBatchSize: inputFields.microBatchSize,
  threads: runFields.threads,
  quiet: runFields.quiet,
};

export type TrainPmConfig = ConfigOf<typeof trainPmFields>;
export type TrainPmOptions = ConfigInput<typeof trainPmFields>;
export type EvalPmConfig = ConfigOf<typeof evalPmFields>;
export type EvalPmOptions = ConfigInput<typeof evalPmFields>;
