// An OpenAI-compatible HTTP server as an inference backend (`--backend openai --base-url URL`): a
// simulator too large for this machine runs on vLLM, TGI, llama.cpp's server or `rlcd serve`, and
// rlcd talks to it through /v1/completions. What a server can give, this backend gives:
//   - generation with the sampled tokens' log-probabilities (`logprobs: 0`), one request per
//     sequence with seed + b (the native engine's streams, so `rlcd serve` gives the same tokens as
//     the engine in process), sent a few at a time (the server batches what arrives together);
//   - scoring by echo (`echo: true, max_tokens: 0, logprobs: 0`): the log-probability of every
//     prompt token, which also gives the RLAIF labeler its A/B scores (label.ts);
//   - no whole-vocabulary logits (the interface's optional `logits` is absent).
// Token ids come from the server when it returns them (`return_token_ids`, as vLLM and rlcd serve
// do), else from the local tokenizer. 429 and 5xx answers are retried with backoff; every request
// has a timeout; a server that lacks a feature gets an error that says which.
import type { EngineConfig, FinishReason } from '../native/binding.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { IdCompletion, IdGenerateOptions, InferenceBackend } from './backend.js';

export interface OpenAiBackendOptions {
  /** e.g. http://127.0.0.1:8000/v1 */
  baseUrl: string;
  /** The model's id as the server lists it in /v1/models. */
  model: string;
  /** Default: the OPENAI_API_KEY environment variable, else none. */
  apiKey?: string;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Seconds before a request is given up (default 300). */
  timeoutSeconds?: number;
  /** Attempts for a request answered 429 or 5xx, or not answered (default 4). */
  attempts?: number;
}

interface CompletionChoice {
  text: string;
  finish_reason: string | null;
  stop_reason?: string | number | null;
  token_ids?: number[];
  prompt_token_ids?: number[];
  logprobs?: { token_logprobs?: Array<number | null>; tokens?: string[] } | null;
}

export class OpenAiBackend implements InferenceBackend {
  readonly name = 'openai';
  private readonly url: string;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  private constructor(readonly config: EngineConfig, private readonly tokenizer: Tokenizer, private readonly o: Required<Omit<OpenAiBackendOptions, 'apiKey'>> & { apiKey?: string }) {
    this.url = o.baseUrl.replace(/\/+$/, '');
  }

  /** Checks that the server lists the model and reads its context length (max_model_len where given). */
  static async create(tokenizer: Tokenizer, config: EngineConfig, options: OpenAiBackendOptions): Promise<OpenAiBackend> {
    const o = {
      concurrency: 16, timeoutSeconds: 300, attempts: 4, ...options,
      ...((options.apiKey ?? process.env.OPENAI_API_KEY) !== undefined && { apiKey: options.apiKey ?? process.env.OPENAI_API_KEY }),
    };
    const backend = new OpenAiBackend(config, tokenizer, o);
    const list = (await backend.request('GET', '/models')) as { data?: Array<{ id: string; max_model_len?: number }> };
    const entry = list.data?.find((m) => m.id === o.model);
    if (!entry) throw new Error(`${o.baseUrl} does not serve '${o.model}' (it lists ${(list.data ?? []).map((m) => `'${m.id}'`).join(', ') || 'nothing'})`);
    const maxSeqLen = entry.max_model_len ?? config.maxSeqLen;
    return new OpenAiBackend({ ...config, maxSeqLen }, tokenizer, o);
  }

  private async slot<T>(work: () => Promise<T>): Promise<T> {
    while (this.active >= this.o.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  private async request(method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(this.o.apiKey && { authorization: `Bearer ${this.o.apiKey}` }) };
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.url + route, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(this.o.timeoutSeconds * 1000) });
      } catch (e) {
        if (attempt >= this.o.attempts) throw new Error(`${this.url}${route}: no answer after ${attempt} attempts (${(e as Error).message})`);
        await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
        continue;
      }
      if ((res.status === 429 || res.status >= 500) && attempt < this.o.attempts) {
        const after = Number(res.headers.get('retry-after'));
        await new Promise((r) => setTimeout(r, Number.isFinite(after) && after > 0 ? after * 1000 : 200 * 2 ** attempt));
        continue;
      }
      const text = await res.text();
      if (!res.ok) {
        let message = text.slice(0, 300);
        try {
          message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
        } catch {
          // not JSON
        }
        throw new Error(`${this.url}${route} answered ${res.status}: ${message}`);
      }
      return JSON.parse(text) as unknown;
    }
  }

  async generate(prompts: readonly (readonly number[])[], o: IdGenerateOptions, onProgress?: (generatedTokens: number) => void): Promise<IdCompletion[]> {
    let generated = 0;
    return Promise.all(prompts.map((p, b) => this.slot(async () => {
      const body = {
        model: this.o.model, prompt: [...p], max_tokens: o.maxNewTokens, temperature: o.temperature, top_p: o.topP, seed: o.seed + b,
        logprobs: 0, return_token_ids: true,
        ...(o.topK > 0 && { top_k: o.topK }), ...(o.stop.length > 0 && { stop: o.stop }), ...(o.ignoreEos && { ignore_eos: true }),
        ...(o.bannedStrings.length > 0 && { bad_words: o.bannedStrings }),
      };
      const r = (await this.request('POST', '/completions', body)) as { choices?: CompletionChoice[] };
      const c = r.choices?.[0];
      if (!c) throw new Error(`${this.url}/completions answered without a choice`);
      const ids = c.token_ids ?? this.tokenizer.encode(c.text, { bos: false });
      const lps = (c.logprobs?.token_logprobs ?? []).map((v) => v ?? 0);
      if (lps.length === 0 && ids.length > 0) throw new Error(`${this.url}: the server returned no log-probabilities (logprobs: 0); rlcd needs them`);
      // EOS and a stop string both read 'stop'; vLLM and rlcd serve say which in stop_reason.
      const finishReason: FinishReason = c.finish_reason === 'length' ? 'length' : typeof c.stop_reason === 'string' ? 'stop' : 'eos';
      generated += ids.length;
      onProgress?.(generated);
      return { ids, logprobs: lps.slice(0, ids.length), finishReason };
    })));
  }

  async logProbs(prompts: readonly (readonly number[])[], continuations: readonly (readonly number[])[]): Promise<number[][]> {
    if (prompts.length !== continuations.length) throw new RangeError(`got ${prompts.length} prompts but ${continuations.length} continuations`);
    return Promise.all(prompts.map((p, i) => this.slot(async () => {
      const cont = continuations[i]!;
      if (cont.length === 0) return [];
      const body = { model: this.o.model, prompt: [...p, ...cont], max_tokens: 0, echo: true, logprobs: 0 };
      let r: { choices?: CompletionChoice[] };
      try {
        r = (await this.request('POST', '/completions', body)) as { choices?: CompletionChoice[] };
      } catch (e) {
        throw new Error(`scoring needs a server that echoes prompt log-probabilities (echo: true, max_tokens: 0, logprobs: 0): ${(e as Error).message}`);
      }
      const lps = r.choices?.[0]?.logprobs?.token_logprobs;
      if (!lps || lps.length < cont.length) throw new Error(`${this.url}: the server did not echo the prompt's log-probabilities; scoring (and the RLAIF labeler) needs echo`);
      return lps.slice(lps.length - cont.length).map((v) => v ?? 0);
    })));
  }

  dispose(): void {}
}
