// Options of pairwise evaluation: `evaluate(options, hooks)` and `rlcd evaluate`. Sampling follows
// the paper's evaluation (SPEC.md section 5): one sample per prompt, temperature 1, top-p 0.9, the
// task's token budget.
import { z } from 'zod';
import { flag, int, num, type ConfigOf, type ConfigInput } from './schema.js';

export const evaluateFields = {
  a: { schema: z.string().min(1), arg: 'MODEL', doc: 'Side A: a model directory (or llama2.c .bin), or an align / compare-method directory (its policy/ is used).' },
  b: { schema: z.string().min(1), arg: 'MODEL', doc: 'Side B, as --a.' },
  aUrl: { schema: z.string().url().optional(), arg: 'URL', doc: 'Side A is the model named by --a on this OpenAI-compatible server (e.g. http://127.0.0.1:8000/v1); its tokenizer comes from a local directory of that name or --tokenizer.' },
  bUrl: { schema: z.string().url().optional(), arg: 'URL', doc: 'Side B on a server, as --a-url.' },
  prompts: { schema: z.string().min(1), arg: 'F.jsonl', doc: 'Held-out prompts: JSONL lines {"prompt": "..."} or HH lines (.gz allowed).' },
  judge: { schema: z.string().min(1).optional(), arg: 'J', doc: "lexicon, pm:DIR, lm:MODEL or openai:MODEL (default: lexicon for story tasks; others must name one)." },
  out: { schema: z.string().min(1), arg: 'DIR', doc: 'Output directory: records.jsonl (one line per comparison), results.json; a rerun continues it.' },
  task: { schema: z.string().min(1).optional(), arg: 'T', doc: "The prompts' task (stop rule, token budget, judge question); default: the one an align directory records, else none." },
  tokenizer: { schema: z.string().min(1).optional(), arg: 'PATH', doc: 'Tokenizer for a llama2.c .bin side.' },
  limit: { schema: int(1).optional(), arg: 'N', doc: 'Use the first N prompts (default: all).' },
  samples: { schema: int(1, 1000).default(1), arg: 'K', doc: 'Samples per prompt per side.' },
  seed: { schema: int(0, 2 ** 32 - 1).default(0), arg: 'S', doc: 'Seed of the samples, the A/B order shown to the judge and the bootstrap.' },
  maxNewTokens: { schema: int(1, 1 << 20).optional(), arg: 'N', doc: "Token budget per response (default: the task's, else 300)." },
  temperature: { schema: num(0, 100).default(1), arg: 'T', doc: 'Sampling temperature.' },
  topP: { schema: num(0, 1).refine((p) => p > 0, 'must be > 0').default(0.9), arg: 'P', doc: 'Nucleus sampling mass.' },
  batchSize: { schema: int(1, 4096).default(16), arg: 'B', doc: 'Prompts per batch (a kill loses at most one batch).' },
  question: { schema: z.string().min(1).optional(), arg: 'Q', doc: "LM judges: the paper's question to ask (harmless, harmless_helpful, helpful, outline) or a text of your own (default: the task's)." },
  baseUrl: { schema: z.string().url().optional(), arg: 'URL', doc: 'openai judge: the endpoint (default: OPENAI_BASE_URL, else https://api.openai.com/v1; the key comes from OPENAI_API_KEY); lm judge: the server that serves it.' },
  threads: { schema: int(1, 1024).optional(), arg: 'N', doc: 'CPU threads (default: all cores).' },
  quiet: { schema: flag().default(false), doc: 'No progress bar.' },
};

export type EvaluateConfig = ConfigOf<typeof evaluateFields>;
export type EvaluateOptions = ConfigInput<typeof evaluateFields>;
