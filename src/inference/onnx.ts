// onnxruntime-node as an inference backend, for simulators too large for the native engine: a
// decoder-only ONNX model with past key/values in the Hugging Face Optimum layout (inputs input_ids,
// attention_mask, position_ids, past_key_values.{l}.key/value; outputs logits, present.{l}.key/value),
// as `optimum-cli export onnx --task text-generation-with-past` writes for LLaMA, or as
// `rlcd export-onnx` writes for our own checkpoints. This is the only file that imports
// onnxruntime-node. Sampling runs in TypeScript (sampler.ts).
//
// Batching: prompts are left-padded to one length, with attention_mask 0 on the pads and
// position_ids counting each sequence's own tokens; every decoding step feeds one token per running
// sequence, and finished sequences leave the batch (their rows are cut out of the cache).
import path from 'node:path';
import fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import type { EngineConfig, FinishReason } from '../native/binding.js';
import { checkThreads, type IdCompletion, type IdGenerateOptions, type InferenceBackend } from './backend.js';
import { logProbAt, Rng, Sampler } from './sampler.js';
import { f16BitsToF32 } from '../util/half.js';

export interface OnnxBackendOptions {
  /**
   * Execution providers in order of preference, e.g. ['cuda', 'cpu']. Default: the comma-separated
   * list in the environment variable RLCD_ONNX_PROVIDERS, else ['cpu'].
   */
  executionProviders?: string[];
  /** Threads of the CPU execution provider (default: onnxruntime's choice). */
  threads?: number;
  /**
   * Let onnxruntime's idle CPU threads spin between runs (its own default). Off here: spinning
   * threads keep the cores busy after every step, which starves the native engine (training,
   * preference scoring) running in the same process.
   */
  spinning?: boolean;
}

type KvType = 'float32' | 'float16';
type KvData = Float32Array | Uint16Array;

function toFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') return Float32Array.from(t.data as Uint16Array, (h) => f16BitsToF32(h));
  throw new Error(`onnx backend: logits of type ${t.type} are not supported`);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Byte-wise text (one char per byte) of each token, for stop and banned strings. */
function pieceTexts(pieces: readonly Uint8Array[] | undefined, vocab: number): string[] {
  return Array.from({ length: vocab }, (_, id) => (pieces?.[id] ? latin1(pieces[id]!) : ''));
}

const utf8Latin1 = (s: string): string => latin1(new TextEncoder().encode(s));

function providersFromEnv(): string[] | undefined {
  const list = process.env.RLCD_ONNX_PROVIDERS?.split(',').map((p) => p.trim()).filter(Boolean);
  return list && list.length > 0 ? list : undefined;
}

export class OnnxBackend implements InferenceBackend {
  /** Most bytes of prefill logits (every position of every prompt) one onnxruntime call may return. */
  static prefillLogitBytes = 256 * 2 ** 20;
  readonly name = 'onnx';
  private readonly pieces: string[];
  private readonly layers: number;
  private readonly kvType: KvType;
  private readonly hasPositionIds: boolean;
  private readonly hasCacheBranch: boolean;

  private constructor(readonly config: EngineConfig, private readonly session: ort.InferenceSession, readonly modelFile: string, pieces?: readonly Uint8Array[]) {
    this.pieces = pieceTexts(pieces, config.vocabSize);
    const inputs = new Set(session.inputNames);
    const outputs = new Set(session.outputNames);
    const fail = (problem: string): never => {
      throw new Error(`${modelFile}: ${problem} (expected the Optimum decoder layout: input_ids, attention_mask, position_ids, past_key_values.N.key/value -> logits, present.N.key/value)`);
    };
    for (const name of ['input_ids', 'attention_mask']) if (!inputs.has(name)) fail(`no input '${name}'`);
    if (!outputs.has('logits')) fail("no output 'logits'");
    let layers = 0;
    while (inputs.has(`past_key_values.${layers}.key`)) layers++;
    if (layers === 0) fail('no past_key_values inputs (export with past, e.g. --task text-generation-with-past)');
    if (layers !== config.nLayers) fail(`${layers} layers of past_key_values but config.json says ${config.nLayers}`);
    for (let l = 0; l < layers; l++) {
      for (const kind of ['key', 'value']) {
        if (!inputs.has(`past_key_values.${l}.${kind}`)) fail(`no input past_key_values.${l}.${kind}`);
        if (!outputs.has(`present.${l}.${kind}`)) fail(`no output present.${l}.${kind}`);
      }
    }
    this.layers = layers;
    this.hasPositionIds = inputs.has('position_ids');
    this.hasCacheBranch = inputs.has('use_cache_branch');
    const meta = session.inputMetadata.find((m) => m.name === 'past_key_values.0.key');
    const type = meta && meta.isTensor ? meta.type : 'float32';
    if (type !== 'float32' && type !== 'float16') fail(`past_key_values of type ${type} are not supported`);
    this.kvType = type as KvType;
  }

  /**
   * Opens `model` (a directory holding model.onnx, or the .onnx file). `config` comes from the
   * model's config.json; `pieces` (token bytes) enable stop and banned strings.
   */
  static async create(model: string, config: EngineConfig, pieces?: readonly Uint8Array[], options: OnnxBackendOptions = {}): Promise<OnnxBackend> {
    const file = fs.statSync(model).isDirectory() ? path.join(model, 'model.onnx') : model;
    const session = await ort.InferenceSession.create(file, {
      executionProviders: options.executionProviders ?? providersFromEnv() ?? ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.threads !== undefined && { intraOpNumThreads: options.threads }),
      extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' }, inter_op: { allow_spinning: options.spinning ? '1' : '0' } } },
    });
    return new OnnxBackend(config, session, file, pieces);
  }

  private emptyPast(batch: number): ort.Tensor {
    const { nKvHeads, headDim } = this.config;
    const data: KvData = this.kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0);
    return new ort.Tensor(this.kvType, data, [batch, nKvHeads, 0, headDim]);
  }

  /** One forward pass; rows of `ids` are equally long (left-padded). */
  private async run(ids: number[][], mask: number[][], positions: number[][], past: ort.Tensor[] | undefined): Promise<{ logits: Float32Array; present: ort.Tensor[] }> {
    const B = ids.length, S = ids[0]!.length, T = mask[0]!.length;
    const i64 = (rows: number[][], width: number): ort.Tensor => {
      const data = new BigInt64Array(B * width);
      rows.forEach((r, b) => r.forEach((v, j) => (data[b * width + j] = BigInt(v))));
      return new ort.Tensor('int64', data, [B, width]);
    };
    const feeds: Record<string, ort.Tensor> = { input_ids: i64(ids, S), attention_mask: i64(mask, T) };
    if (this.hasPositionIds) feeds.position_ids = i64(positions, S);
    if (this.hasCacheBranch) feeds.use_cache_branch = new ort.Tensor('bool', Uint8Array.of(past ? 1 : 0), [1]);
    for (let l = 0; l < this.layers; l++) {
      feeds[`past_key_values.${l}.key`] = past?.[2 * l] ?? this.emptyPast(B);
      feeds[`past_key_values.${l}.value`] = past?.[2 * l + 1] ?? this.emptyPast(B);
    }
    const out = await this.session.run(feeds);
    const present: ort.Tensor[] = [];
    for (let l = 0; l < this.layers; l++) present.push(out[`present.${l}.key`]!, out[`present.${l}.value`]!);
    return { logits: toFloat32(out.logits!), present };
  }

  /** Cache tensors of sequence groups, stacked along the batch. */
  private concatRows(parts: ort.Tensor[]): ort.Tensor {
    const [, H, T, D] = parts[0]!.dims as [number, number, number, number];
    const rows = parts.reduce((n, t) => n + t.dims[0]!, 0);
    const f16 = parts[0]!.data instanceof Uint16Array;
    const dst = f16 ? new Uint16Array(rows * H * T * D) : new Float32Array(rows * H * T * D);
    let at = 0;
    for (const t of parts) {
      dst.set(t.data as KvData, at);
      at += (t.data as KvData).length;
    }
    return new ort.Tensor(parts[0]!.type as KvType, dst, [rows, H, T, D]);
  }

  /** The cache with only the given batch rows. */
  private keepRows(past: ort.Tensor[], rows: number[]): ort.Tensor[] {
    return past.map((t) => {
      const [, H, T, D] = t.dims as [number, number, number, number];
      const per = H * T * D;
      const src = t.data as KvData;
      const dst = src instanceof Uint16Array ? new Uint16Array(rows.length * per) : new Float32Array(rows.length * per);
      rows.forEach((r, i) => dst.set(src.subarray(r * per, (r + 1) * per), i * per));
      return new ort.Tensor(t.type as KvType, dst, [rows.length, H, T, D]);
    });
  }

  private checkPrompts(prompts: readonly (readonly number[])[]): void {
    const { maxSeqLen, vocabSize } = this.config;
    prompts.forEach((p, b) => {
      if (p.length === 0) throw new RangeError(`prompt ${b} is empty: give at least one token (e.g. BOS)`);
      if (p.length >= maxSeqLen) throw new RangeError(`prompt ${b} has ${p.length} tokens; the model's context is ${maxSeqLen}`);
      for (const t of p) if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new RangeError(`prompt ${b} has token id ${t} outside the vocabulary [0, ${vocabSize})`);
    });
  }

  async generate(prompts: readonly (readonly number[])[], o: IdGenerateOptions, onProgress?: (generatedTokens: number) => void): Promise<IdCompletion[]> {
    const c = this.config, V = c.vocabSize;
    const B = prompts.length;
    const out: IdCompletion[] = prompts.map(() => ({ ids: [], logprobs: [], finishReason: 'length' as FinishReason }));
    // The session's threads are fixed when it opens (loadModel's onnx.threads); a per-call count is
    // still checked as the native engine checks it.
    checkThreads(o.threads);
    if (B === 0) return out;
    this.checkPrompts(prompts);
    if (!this.hasPositionIds && new Set(prompts.map((p) => p.length)).size > 1) {
      // Without position_ids the model counts positions from the start of the padded row, so
      // left padding would shift them: decode such prompts one at a time instead.
      const each: IdCompletion[] = [];
      let done = 0;
      for (let b = 0; b < B; b++) {
        const [r] = await this.generate([prompts[b]!], { ...o, seed: o.seed + b }, onProgress && ((n) => onProgress(done + n)));
        each.push(r!);
        done += r!.ids.length;
      }
      return each;
    }
    const longest = Math.max(...prompts.map((p) => p.length));
    const tMax = Math.min(c.maxSeqLen, longest + Math.max(o.maxNewTokens, 0));
    const banned = new Uint8Array(V);
    const bannedText = o.bannedStrings.filter((s) => s !== '').map(utf8Latin1);
    if (bannedText.length > 0) this.pieces.forEach((p, id) => (banned[id] = bannedText.some((s) => p.includes(s)) ? 1 : 0));
    if (o.ignoreEos && c.eosId >= 0 && c.eosId < V) banned[c.eosId] = 1;
    const sampler = new Sampler(V, { temperature: o.temperature, topK: o.topK, topP: o.topP }, banned);
    const rngs = prompts.map((_, b) => new Rng(BigInt(o.seed) + BigInt(b)));
    const stops = o.stop.filter((s) => s !== '').map(utf8Latin1);
    const text = prompts.map(() => '');
    const length = prompts.map((p) => p.length);
    if (o.maxNewTokens <= 0) return out;

    // Prefill, left-padded. Pads repeat the first token; the mask hides them. The model returns
    // logits at every prompt position, so sequences go in groups that keep those under ~256 MB.
    const pad = (p: readonly number[]): number => longest - p.length;
    let mask = prompts.map((p) => [...Array<number>(pad(p)).fill(0), ...Array<number>(p.length).fill(1)]);
    const group = Math.max(1, Math.floor(OnnxBackend.prefillLogitBytes / (longest * V * 4)));
    const lastRows = new Float32Array(B * V);
    const parts: ort.Tensor[][] = [];
    for (let g0 = 0; g0 < B; g0 += group) {
      const some = prompts.slice(g0, g0 + group);
      const r = await this.run(
        some.map((p) => [...Array<number>(pad(p)).fill(p[0]!), ...p]),
        mask.slice(g0, g0 + group),
        some.map((p) => [...Array<number>(pad(p)).fill(0), ...p.map((_, j) => j)]),
        undefined,
      );
      some.forEach((_, i) => lastRows.set(r.logits.subarray(((i + 1) * longest - 1) * V, (i + 1) * longest * V), (g0 + i) * V));
      parts.push(r.present);
    }
    let present = parts.length === 1 ? parts[0]! : parts[0]!.map((_, k) => this.concatRows(parts.map((p) => p[k]!)));
    let logits: Float32Array = lastRows;        // one row of V per running sequence
    let rowOf = prompts.map((_, b) => b);       // sequence -> row of the current logits
    let active = prompts.map((_, b) => b);
    let generated = 0;
    while (active.length > 0) {
      const next: number[] = [];
      for (const b of active) {
        const at = rowOf[b]! * V;
        const tok = sampler.sample(logits, at, rngs[b]!);
        out[b]!.ids.push(tok);
        out[b]!.logprobs.push(logProbAt(logits, at, V, tok));
        generated++;
        if (tok === c.eosId && !o.ignoreEos) {
          out[b]!.finishReason = 'eos';
          continue;
        }
        if (stops.length > 0) {
          const old = text[b]!.length;
          text[b] += this.pieces[tok] ?? '';
          if (stops.some((s) => text[b]!.indexOf(s, Math.max(0, old - s.length + 1)) >= 0)) {
            out[b]!.finishReason = 'stop';
            continue;
          }
        }
        if (out[b]!.ids.length >= o.maxNewTokens || length[b]! >= tMax) {
          out[b]!.finishReason = 'length';
          continue;
        }
        next.push(b);
      }
      onProgress?.(generated);
      if (next.length === 0) break;
      // Drop finished rows from the cache, then feed one token per running sequence.
      if (next.length < active.length) {
        const keep = next.map((b) => rowOf[b]!);
        present = this.keepRows(present, keep);
        mask = keep.map((r) => mask[r]!);
      }
      mask = mask.map((m) => [...m, 1]);
      const step = await this.run(
        next.map((b) => [out[b]!.ids.at(-1)!]),
        mask,
        next.map((b) => [length[b]!]),
        present,
      );
      for (const b of next) length[b]!++;
      ({ logits, present } = step);
      rowOf = [];
      next.forEach((b, i) => (rowOf[b] = i));
      active = next;
    }
    return out;
  }

  async logProbs(prompts: readonly (readonly number[])[], continuations: readonly (readonly number[])[], options: { threads?: number } = {}): Promise<number[][]> {
    checkThreads(options.threads);
    if (prompts.length !== continuations.length) throw new RangeError(`got ${prompts.length} prompts but ${continuations.length} continuations`);
    this.checkPrompts(prompts);
    const V = this.config.vocabSize;
    const out: number[][] = [];
    for (let i = 0; i < prompts.length; i++) {
      const p = prompts[i]!, cont = continuations[i]!;
      if (cont.length === 0) {
        out.push([]);
        continue;
      }
      const all = await this.logits([...p, ...cont]);
      out.push(cont.map((id, j) => logProbAt(all, (p.length - 1 + j) * V, V, id)));
    }
    return out;
  }

  async logits(ids: readonly number[], options: { threads?: number } = {}): Promise<Float32Array> {
    checkThreads(options.threads);
    const { maxSeqLen, vocabSize } = this.config;
    if (ids.length === 0) throw new RangeError('logits: give at least one token');
    if (ids.length > maxSeqLen) throw new RangeError(`logits: ${ids.length} tokens exceed the model's context of ${maxSeqLen}`);
    for (const t of ids) if (!Number.isInteger(t) || t < 0 || t >= vocabSize) throw new RangeError(`logits: token id ${t} outside the vocabulary [0, ${vocabSize})`);
    const { logits } = await this.run([[...ids]], [ids.map(() => 1)], [ids.map((_, j) => j)], undefined);
    return logits;
  }

  dispose(): void {
    void this.session.release();
  }
}
