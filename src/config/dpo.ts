// Options of DPO on simulated preference pairs (RLCD-DPO): `rlcd dpo`, runDpo(). Names follow TRL's
// DPOConfig (beta, loss type) and its logged metrics (rewards/chosen, rewards/margins, ...).
import { z } from 'zod';
import { int, num, type ConfigOf, type ConfigInput } from './schema.js';
import { loraFields, optimizerFields, runFields } from './train-common.js';

export const dpoFields = {
  model: { schema: z.string().min(1), arg: 'PATH', doc: 'The base model to align; also the reference (its log-probs are computed once, before training).' },
  tokenizer: { schema: z.string().min(1).optional(), arg: 'PATH', doc: 'Tokenizer, when not beside the model.' },
  pairs: { schema: z.string().min(1), arg: 'F.jsonl', doc: 'Preference pairs {"prompt", "chosen", "rejected", "p_chosen"?} as rlcd simulate writes them.' },
  out: { schema: z.string().min(1), arg: 'DIR', doc: 'Output directory: the policy (Hugging Face layout), metrics.jsonl, checkpoint/.' },
  beta: { schema: num(1e-6, 1e3).default(0.1), arg: 'BETA', doc: 'DPO temperature: the implicit reward is beta (logp - logp_ref) (Rafailov et al.: 0.1).' },
  lossType: { schema: z.enum(['sigmoid', 'ipo', 'hinge']).default('sigmoid'), arg: 'KIND', doc: 'sigmoid (DPO; reads soft labels p_chosen), ipo (Azar et al.) or hinge (SLiC).' },
  suffix: { schema: z.string().default(''), arg: 'TEXT', doc: 'Text after each response (e.g. "\\n\\nHuman:" for dialogue tasks).' },
  epochs: { schema: int(1, 1000).default(2), arg: 'E', doc: 'Passes over the pairs.' },
  lr: { schema: num(0, 10).default(1e-4), arg: 'X', doc: 'Peak learning rate (small models; TRL\'s default for large ones is 1e-6).' },
  batchSize: { schema: int(1, 1 << 16).default(16), arg: 'B', doc: 'Pairs per optimizer step.' },
  microBatchSize: { schema: int(1, 4096).default(8), arg: 'M', doc: 'Pairs per forward/backward pass (memory).' },
  maxLength: { schema: int(2, 1 << 20).default(512), arg: 'T', doc: 'Longest prompt + response in tokens (longer responses are cut at the end).' },
  ...optimizerFields,
  ...loraFields,
  ...runFields,
};

export type DpoConfig = ConfigOf<typeof dpoFields>;
export type DpoOptions = ConfigInput<typeof dpoFields>;
