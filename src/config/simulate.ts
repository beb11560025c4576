// Options of preference-data simulation: `simulatePreferences(model, prompts, options)` and `rlcd simulate`.
// Defaults follow the paper (SPEC.md step 2): temperature 1, top-k 50, 300 new tokens, backslash and
// backtick banned, 5 retries.
import { z } from 'zod';
import type { Task } from '../tasks/task.js';
import { int, num, type ConfigOf, type ConfigInput } from './schema.js';

export const METHODS = ['rlcd', 'rlaif', 'rlcd-rescore'] as const;
export type Method = (typeof METHODS)[number];

export const simulateFields = {
  task: { schema: z.string().min(1), arg: 'T', doc: 'Task: harmless, helpful, outline, positive-story, or a task JSON file (FILE.json or FILE.json#NAME).' },
  method: { schema: z.enum(METHODS), arg: 'M', doc: 'Labeler: rlcd (p+/p- outputs, hard label), rlaif (two samples of p, scored A vs B by the model), rlcd-rescore (RLCD outputs scored like RLAIF).' },
  out: { schema: z.string().min(1), arg: 'FILE', doc: 'Output JSONL (appended; a rerun skips prompts already done). Dropped prompts go to FILE.dropped.jsonl.' },
  n: { schema: int(1).optional(), arg: 'N', doc: 'Use the first N prompts (default: all).' },
  seed: { schema: int(0, 2 ** 32 - 1).default(0), arg: 'S', doc: 'Random seed: affix/instruction draws and sampling streams derive from it and the prompt index, so output does not depend on batching or resuming.' },
  batchSize: { schema: int(2, 4096).default(16), arg: 'B', doc: 'Sequences decoded together (two per prompt).' },
  maxNewTokens: { schema: int(1, 1 << 20).optional(), arg: 'N', doc: "Token budget per output (default: the task's, else 300)." },
  temperature: { schema: num(0, 100).default(1), arg: 'T', doc: 'Sampling temperature.' },
  topK: { schema: int(0).default(50), arg: 'K', doc: 'Sample among the K most likely tokens; 0 keeps all.' },
  topP: { schema: num(0, 1).refine((p) => p > 0, 'must be > 0').default(1), arg: 'P', doc: 'Nucleus sampling mass.' },
  bannedStrings: { schema: z.array(z.string().min(1)).default(['\\', '`']), arg: 'TEXT', repeatable: true, doc: 'Never sample a token whose text contains this (repeatable; default: backslash and backtick).' },
  maxRetries: { schema: int(0, 100).default(5), arg: 'N', doc: 'Resample an output that fails the filter up to N more times, then drop the prompt.' },
  threads: { schema: int(1, 1024).optional(), arg: 'N', doc: 'CPU threads (default: all cores; for the onnx backend, its session threads).' },
};

export type SimulateConfig = ConfigOf<typeof simulateFields>;

export interface SimulateProgress {
  /** Prompts finished this run (pairs + drops) and the number this run has to do. */
  done: number;
  total: number;
  pairs: number;
  dropped: number;
  generatedTokens: number;
  elapsedSeconds: number;
}

export type SimulateOptions = Omit<ConfigInput<typeof simulateFields>, 'task'> & {
  /** A built-in task name, a task JSON file, or a Task object (library only). */
  task: string | Task;
  onProgress?: (progress: SimulateProgress) => void;
};
