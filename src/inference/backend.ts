// What every inference backend offers, in token ids. The native engine implements it; the
// onnxruntime-node backend for large exported simulators plugs in behind the same interface.
import os from 'node:os';
import type { EngineConfig, FinishReason } from '../native/binding.js';

/** Threads a call may ask for: 1 to 4 x the cores, the bound the native engine checks too. */
export function checkThreads(threads: unknown, name = 'threads'): void {
  if (threads === undefined) return;
  if (typeof threads !== 'number' || !Number.isInteger(threads)) throw new TypeError(`${name} must be an integer, got ${JSON.stringify(threads)}`);
  const cores = os.availableParallelism(), max = 4 * cores;
  if (threads < 1 || threads > max) throw new RangeError(`${name} must be in [1, ${max}] (4 x this machine's ${cores} cores), got ${threads}`);
}

export interface IdGenerateOptions {
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  /** Sequence b of this call samples from stream seed + b. */
  seed: number;
  ignoreEos: boolean;
  stop: string[];
  bannedStrings: string[];
  threads?: number;
}

export interface IdCompletion {
  ids: number[];
  /** log p(id) under the model at temperature 1, one per generated id. */
  logprobs: number[];
  finishReason: FinishReason;
}

export interface InferenceBackend {
  readonly name: string;
  readonly config: EngineConfig;
  generate(
    prompts: readonly (readonly number[])[],
    options: IdGenerateOptions,
    onProgress?: (generatedTokens: number) => void,
  ): Promise<IdCompletion[]>;
  /** log p(continuation[i][j] | prompt[i], continuation[i][:j]) for every continuation token. */
  logProbs(prompts: readonly (readonly number[])[], continuations: readonly (readonly number[])[], options?: { threads?: number }): Promise<number[][]>;
  /**
   * Next-token logits at every position of one sequence: (T * V) row-major. Local engines have them;
   * an HTTP backend does not (servers return the top few log-probabilities at most), and callers
   * fall back on logProbs.
   */
  logits?(ids: readonly number[], options?: { threads?: number }): Promise<Float32Array>;
  dispose(): void;
}
