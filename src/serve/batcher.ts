// How `rlcd serve` batches: the engine decodes 16 sequences nearly as fast as one, so requests that
// arrive together are decoded together. Sequences wait in a queue; when the engine is free, the
// batcher waits one short window for more arrivals, then takes the oldest sequence and every
// queued sequence with the same sampling settings (temperature, top-p, top-k, ignore-EOS; up to
// `maxBatch`) into one native generate call. Each sequence keeps its own seed (so its tokens do not
// depend on what it was batched with), its own token budget and stop strings (checked here as its
// tokens stream in), and its own cancellation (a client that disconnects ends its sequence at the
// next decoding step and frees its place). Requests that arrive while a batch decodes form the next
// one: batches do not merge mid-flight.
import type { NativeModel } from '../native/binding.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface SequenceParams {
  temperature: number;
  topP: number;
  topK: number;
  ignoreEos: boolean;
  /** Never sample a token whose text contains one of these (vLLM's bad_words). */
  bannedStrings: string[];
}

export interface SequenceJob {
  promptIds: number[];
  params: SequenceParams;
  maxTokens: number;
  seed: number;
  stop: string[];
  /** Text of the tokens so far, as they are sampled (for streaming). */
  onText?: (delta: string) => void;
  /** Ends the sequence early (a client that went away). */
  signal?: AbortSignal;
}

export interface SequenceResult {
  ids: number[];
  logprobs: number[];
  text: string;
  /** OpenAI's reasons: 'stop' (EOS or a stop string) or 'length' (the budget or the context). */
  finishReason: 'stop' | 'length';
  /** vLLM's stop_reason: the stop string that ended it, or null (EOS, or not stopped). */
  stopReason: string | null;
  /** True when the client's signal ended it. */
  aborted: boolean;
}

interface Queued {
  job: SequenceJob;
  resolve: (r: SequenceResult) => void;
  reject: (e: unknown) => void;
}

export interface BatchStats {
  batches: number;
  sequences: number;
  largestBatch: number;
  /** Sequences that ended because their client went away. */
  aborted: number;
}

const sameParams = (a: SequenceParams, b: SequenceParams): boolean =>
  a.temperature === b.temperature && a.topP === b.topP && a.topK === b.topK && a.ignoreEos === b.ignoreEos &&
  a.bannedStrings.length === b.bannedStrings.length && a.bannedStrings.every((x, i) => x === b.bannedStrings[i]);

/** The text before the first stop string, and whether one was found. */
export function cutAtStop(text: string, stop: readonly string[]): { text: string; stopped: boolean; by: string | null } {
  let at = -1, by: string | null = null;
  for (const s of stop) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) [at, by] = [i, s];
  }
  return at < 0 ? { text, stopped: false, by: null } : { text: text.slice(0, at), stopped: true, by };
}

export class Batcher {
  private readonly queue: Queued[] = [];
  private running = false;
  readonly stats: BatchStats = { batches: 0, sequences: 0, largestBatch: 0, aborted: 0 };

  constructor(
    private readonly model: NativeModel,
    private readonly tokenizer: Tokenizer,
    private readonly o: { maxBatch: number; windowMs: number; threads?: number },
  ) {}

  /** Queues one sequence; resolves when it ends. */
  submit(job: SequenceJob): Promise<SequenceResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    // One short window, so that requests sent together (n > 1, concurrent clients) share the batch.
    setTimeout(() => void this.runBatch().finally(() => {
      this.running = false;
      this.pump();
    }), this.o.windowMs);
  }

  private async runBatch(): Promise<void> {
    const first = this.queue[0]!;
    const batch: Queued[] = [];
    for (let i = 0; i < this.queue.length && batch.length < this.o.maxBatch; ) {
      const q = this.queue[i]!;
      if (sameParams(q.job.params, first.job.params)) {
        batch.push(q);
        this.queue.splice(i, 1);
      } else {
        i++;
      }
    }
    // Sequences whose client left while they waited end here.
    const live = batch.filter((q) => {
      if (!q.job.signal?.aborted) return true;
      this.stats.aborted++;
      q.resolve({ ids: [], logprobs: [], text: '', finishReason: 'length', stopReason: null, aborted: true });
      return false;
    });
    if (live.length === 0) return;
    this.stats.batches++;
    this.stats.sequences += live.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, live.length);

    const cancel = new Uint8Array(live.length);
    const ids: number[][] = live.map(() => []);
    const sent = live.map(() => 0); // characters of text already streamed
    const stopped = live.map(() => false);
    const onAbort = live.map((q, b) => {
      const f = (): void => void (cancel[b] = 1);
      q.job.signal?.addEventListener('abort', f, { once: true });
      return f;
    });
    // Text safe to stream: held back while it could still be the start of a stop string.
    const stream = (b: number, final: boolean): void => {
      const q = live[b]!.job;
      const full = this.tokenizer.decode(ids[b]!);
      const cut = cutAtStop(full, q.stop);
      let safe = cut.text.length;
      if (!cut.stopped && !final) {
        // An incomplete UTF-8 character decodes as U+FFFD; hold it back too.
        while (safe > 0 && full.charCodeAt(safe - 1) === 0xfffd) safe--;
        for (const s of q.stop) for (let k = Math.min(s.length - 1, safe); k > 0; k--) if (full.slice(safe - k, safe) === s.slice(0, k)) { safe -= k; break; }
      }
      if (safe > sent[b]!) {
        q.onText?.(cut.text.slice(sent[b]!, safe));
        sent[b] = safe;
      }
      if (cut.stopped) stopped[b] = true;
    };
    const maxTokens = Math.max(...live.map((q) => q.job.maxTokens));
    try {
      const r = await this.model.generate(
        live.map((q) => q.job.promptIds),
        { ...live[0]!.job.params, maxNewTokens: maxTokens, seeds: live.map((q) => q.job.seed), ...(this.o.threads !== undefined && { threads: this.o.threads }) },
        undefined,
        {
          cancel,
          onTokens: (seqs, toks) => {
            for (let i = 0; i < seqs.length; i++) {
              const b = seqs[i]!;
              if (cancel[b]) continue;
              ids[b]!.push(toks[i]!);
              if (live[b]!.job.stop.length > 0 || live[b]!.job.onText) stream(b, false);
              if (stopped[b] || ids[b]!.length >= live[b]!.job.maxTokens) cancel[b] = 1;
            }
          },
        },
      );
      live.forEach((q, b) => {
        // The engine may have sampled past a budget or a stop before its flag was read: cut here.
        const all = Array.from(r.ids[b]!);
        const kept = all.slice(0, q.job.maxTokens);
        const decoded = this.tokenizer.decode(kept);
        const cut = cutAtStop(decoded, q.job.stop);
        let n = kept.length;
        if (cut.stopped) {
          // The fewest tokens whose text reaches the stop string's start.
          n = 0;
          while (n < kept.length && this.tokenizer.decode(kept.slice(0, n)).length < cut.text.length) n++;
        }
        ids[b] = kept.slice(0, n);
        const eos = r.finishReasons[b] === 'eos' && all.length <= q.job.maxTokens;
        if (q.job.onText) {
          const text = cut.text;
          if (text.length > sent[b]!) q.job.onText(text.slice(sent[b]!));
        }
        if (q.job.signal?.aborted) this.stats.aborted++;
        q.resolve({
          ids: ids[b]!, logprobs: Array.from(r.logprobs[b]!).slice(0, n), text: cut.text,
          finishReason: cut.stopped || eos ? 'stop' : 'length', stopReason: cut.by, aborted: q.job.signal?.aborted === true,
        });
      });
    } catch (e) {
      for (const q of live) q.reject(e);
    } finally {
      live.forEach((q, b) => q.job.signal?.removeEventListener('abort', onAbort[b]!));
    }
  }
}
