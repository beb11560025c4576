// Options of text generation: `model.generate(prompts, options)` and `rlcd generate`.
import { z } from 'zod';
import { flag, int, num, type ConfigOf, type ConfigInput } from './schema.js';

export const generateFields = {
  maxNewTokens: { schema: int(0, 1 << 20).default(256), arg: 'N', doc: 'Most new tokens per completion.' },
  temperature: { schema: num(0, 100).default(1), arg: 'T', doc: 'Sampling temperature; 0 is greedy decoding.' },
  topK: { schema: int(0).default(0), arg: 'K', doc: 'Sample among the K most likely tokens only; 0 keeps all.' },
  topP: { schema: num(0, 1).refine((p) => p > 0, 'must be > 0').default(1), arg: 'P', doc: 'Nucleus sampling: the smallest set of tokens with probability mass >= P.' },
  seed: { schema: int(0).default(0), arg: 'S', doc: 'Random seed; completion j (in prompt-major order) samples from stream seed + j, so results do not depend on batching.' },
  n: { schema: int(1, 1 << 16).default(1), arg: 'K', doc: 'Completions per prompt.' },
  stop: { schema: z.array(z.string().min(1)).default([]), arg: 'TEXT', repeatable: true, doc: 'Stop when the completion contains this text (repeatable); the text is cut before it.' },
  bannedStrings: { schema: z.array(z.string().min(1)).default([]), arg: 'TEXT', repeatable: true, doc: 'Never sample a token whose text contains this (repeatable).' },
  ignoreEos: { schema: flag().default(false), doc: 'Never sample EOS; always generate max-new-tokens (benchmarks).' },
  addBos: { schema: flag().default(true), libraryOnly: true, doc: 'Put the BOS token before each prompt.' },
  batchSize: { schema: int(1, 4096).default(16), arg: 'B', doc: 'Completions decoded together (memory grows with it).' },
  threads: { schema: int(1, 1024).optional(), arg: 'N', doc: 'CPU threads (default: all cores).' },
};

export type GenerateConfig = ConfigOf<typeof generateFields>;
export type GenerateOptions = ConfigInput<typeof generateFields> & {
  /** Called as decoding proceeds with tokens generated so far and the total asked for (an upper bound). */
  onProgress?: (generatedTokens: number, totalTokens: number) => void;
};
