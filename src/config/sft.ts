// Options of supervised fine-tuning (the context-distillation baseline): `rlcd sft`.
import { z } from 'zod';
import { flag, int, num, type ConfigOf, type ConfigInput } from './schema.js';
import { loraFields, optimizerFields, runFields } from './train-common.js';

export const sftFields = {
  model: { schema: z.string().min(1), arg: 'PATH', doc: 'Base model: a Hugging Face directory or a llama2.c .bin.' },
  tokenizer: { schema: z.string().min(1).optional(), arg: 'PATH', doc: 'Tokenizer, when not beside the model.' },
  data: { schema: z.string().min(1), arg: 'F.jsonl', doc: 'Training data: JSONL lines {"prompt", "completion"}; the loss is on the completion only.' },
  out: { schema: z.string().min(1), arg: 'DIR', doc: 'Output directory (Hugging Face layout; LoRA adapters also in PEFT layout under adapter/).' },
  epochs: { schema: int(1, 1000).default(3), arg: 'E', doc: 'Passes over the data (paper: 3).' },
  lr: { schema: num(0, 10).default(1e-4), arg: 'X', doc: 'Peak learning rate (paper: 2e-5 for a 7B model; small models need larger steps).' },
  batchSize: { schema: int(1, 1 << 16).default(16), arg: 'B', doc: 'Examples per optimizer step.' },
  microBatchSize: { schema: int(1, 4096).default(8), arg: 'M', doc: 'Examples per forward/backward pass (memory); gradients accumulate to batch-size.' },
  maxLength: { schema: int(2, 1 << 20).default(512), arg: 'T', doc: 'Longest example in tokens (longer ones are cut at the end).' },
  appendEos: { schema: flag().default(true), doc: 'End every completion with EOS (as the paper does).' },
  ...optimizerFields,
  ...loraFields,
  ...runFields,
};

export type SftConfig = ConfigOf<typeof sftFields>;
export type SftOptions = ConfigInput<typeof sftFields>;
