// A language model as users see it: a tokenizer plus an inference backend, working in text.
import { generateFields, type GenerateOptions } from '../config/generate.js';
import { parseConfig } from '../config/schema.js';
import type { FinishReason } from '../native/binding.js';
import type { InferenceBackend } from '../inference/backend.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { tokenizePair } from './tokenize-pair.js';

export interface Completion {
  /** Index of the prompt this completes. */
  promptIndex: number;
  /** The generated text (prompt excluded), cut before a stop string when one ended it. */
  text: string;
  /** Generated token ids (prompt excluded; a stop string's tokens included). */
  ids: number[];
  /** log p of each generated id under the model (temperature 1). */
  logprobs: number[];
  finishReason: FinishReason;
  promptTokens: number;
}

export interface ScoredContinuation {
  /** The continuation's token ids that were scored (see logProbs). */
  ids: number[];
  logprobs: number[];
  /** Sum of logprobs. */
  total: number;
}

export class LanguageModel {
  constructor(readonly tokenizer: Tokenizer, readonly backend: InferenceBackend, readonly source: string) {}

  get config() {
    return this.backend.config;
  }

  /** Samples completions for each prompt; see config/generate.ts for every option. */
  async generate(prompts: string | readonly string[], options: GenerateOptions = {}): Promise<Completion[]> {
    const list = typeof prompts === 'string' ? [prompts] : prompts;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) throw new TypeError('prompts must be a string or an array of strings');
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError('options must be an object (see generateFields)');
    const { onProgress, ...rest } = options;
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
    const o = parseConfig(generateFields, rest);
    const encoded = list.map((p) => this.tokenizer.encode(p, { bos: o.addBos }));
    encoded.forEach((ids, i) => {
      if (ids.length === 0) throw new RangeError(`prompt ${i} encodes to no tokens; give text or keep addBos`);
      if (ids.length >= this.config.maxSeqLen) throw new RangeError(`prompt ${i} has ${ids.length} tokens; the model's context is ${this.config.maxSeqLen}`);
    });
    // Completion j (prompt-major) is sequence j of the whole request; batches pass seed + first index.
    const jobs = encoded.flatMap((ids, promptIndex) => Array.from({ length: o.n }, () => ({ ids, promptIndex })));
    const total = jobs.length * o.maxNewTokens;
    const out: Completion[] = [];
    let done = 0;
    for (let start = 0; start < jobs.length; start += o.batchSize) {
      const batch = jobs.slice(start, start + o.batchSize);
      // Native progress events arrive asynchronously and may land after the batch resolved.
      const base = done;
      let batchOpen = true;
      const results = await this.backend.generate(
        batch.map((j) => j.ids),
        {
          maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: o.topP, seed: o.seed + start,
          ignoreEos: o.ignoreEos, stop: o.stop, bannedStrings: o.bannedStrings, ...(o.threads !== undefined && { threads: o.threads }),
        },
        onProgress && ((tokens) => batchOpen && onProgress(base + tokens, total)),
      );
      batchOpen = false;
      results.forEach((r, i) => {
        const job = batch[i]!;
        out.push({
          promptIndex: job.promptIndex,
          text: cutAtStop(this.continuationText(job.ids, r.ids), o.stop, r.finishReason),
          ids: r.ids,
          logprobs: r.logprobs,
          finishReason: r.finishReason,
          promptTokens: job.ids.length,
        });
        done += r.ids.length;
      });
      onProgress?.(done, total);
    }
    return out;
  }

  /**
   * Log-probabilities of `continuations[i]` after `prompts[i]` (teacher forcing). Text is tokenized
   * as prompt + continuation together, as it would be generated; the scored ids are the ones past
   * the prompt's own tokenization (a token that straddles the boundary counts as continuation).
   */
  async logProbs(prompts: readonly string[], continuations: readonly string[], options: { threads?: number; addBos?: boolean } = {}): Promise<ScoredContinuation[]> {
    if (!Array.isArray(prompts) || !Array.isArray(continuations)) throw new TypeError('prompts and continuations must be arrays of strings');
    if (prompts.length !== continuations.length) throw new RangeError(`got ${prompts.length} prompts but ${continuations.length} continuations`);
    const bos = options.addBos ?? true;
    const pairs = prompts.map((p, i) => {
      const c = continuations[i];
      if (typeof p !== 'string' || typeof c !== 'string') throw new TypeError(`prompts[${i}] and continuations[${i}] must be strings`);
      const { prompt, continuation } = tokenizePair(this.tokenizer, p, c, bos);
      return { prompt, cont: continuation };
    });
    const lps = await this.backend.logProbs(pairs.map((p) => p.prompt), pairs.map((p) => p.cont), options.threads !== undefined ? { threads: options.threads } : {});
    return pairs.map((p, i) => {
      const lp = lps[i]!;
      return { ids: p.cont, logprobs: lp, total: lp.reduce((a, b) => a + b, 0) };
    });
  }

  /** Log-probabilities of continuation ids after prompt ids, with no tokenization. */
  logProbsOfIds(prompts: readonly (readonly number[])[], continuations: readonly (readonly number[])[], options: { threads?: number } = {}): Promise<number[][]> {
    return this.backend.logProbs(prompts, continuations, options);
  }

  dispose(): void {
    this.backend.dispose();
  }

  // Decoding the continuation alone would lose a leading space (SentencePiece-style decoders strip
  // the first one), so decode prompt + continuation and take what follows the decoded prompt.
  private continuationText(promptIds: readonly number[], ids: readonly number[]): string {
    const prompt = this.tokenizer.decode(promptIds);
    const full = this.tokenizer.decode([...promptIds, ...ids]);
    return full.startsWith(prompt) ? full.slice(prompt.length) : this.tokenizer.decode(ids);
  }
}

function cutAtStop(text: string, stops: readonly string[], reason: FinishReason): string {
  if (reason !== 'stop') return text;
  let cut = text.length;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) cut = i;
  }
  return text.slice(0, cut);
}
