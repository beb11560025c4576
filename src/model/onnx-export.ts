// Exports one of our LLaMA-family checkpoints as a decoder-only ONNX model with past key/values in
// the Hugging Face Optimum layout, so the onnxruntime-node backend runs it exactly like a model a user
// exported with Optimum:
//   inputs   input_ids (B, S) int64, attention_mask (B, P+S) int64, position_ids (B, S) int64,
//            past_key_values.{l}.key / .value (B, KVH, P, HS) float32
//   outputs  logits (B, S, V) float32, present.{l}.key / .value (B, KVH, P+S, HS) float32
// Opset 17 standard operators only: RMSNorm from ReduceMean/Sqrt/Reciprocal, rotate-half RoPE with
// cos/sin tables gathered by position_ids, GQA by Expand + Reshape of the cached keys and values,
// causal + padding mask built from attention_mask, SiLU as x * Sigmoid(x).
// A llama2.c checkpoint uses interleaved RoPE; its wq/wk rows are permuted per head into rotate-half
// order (pair (2i, 2i+1) -> (i, i + HS/2)), which leaves every q.k product unchanged, so the graph
// has a single RoPE form. config.json describes the exported model as a LlamaForCausalLM.
import { permuteRopeRows } from './rope-order.js';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { EngineConfig } from '../native/binding.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { loadHfCheckpoint } from './hf.js';
import { loadLlama2cCheckpoint } from './llama2c.js';
import { checkpointFormat } from './load.js';
import { resolveModelSource } from '../hub/resolve.js';
import type { PackedWeights } from './layout.js';
import { DataType, graph, model, node, tensor, valueInfo, type AttrValue, type ExternalLocation, type Message } from './onnx-proto.js';
import { replaceDirAtomically, writeAll } from '../util/atomic.js';
import { assertOutputLocation } from '../util/output-dir.js';

export const ONNX_OPSET = 17;
/** Large negative score for masked attention: finite, so a row with every key masked (a left pad) stays NaN-free. */
const MASKED = -1e9;

export interface ExportOnnxOptions {
  /** Tokenizer to copy beside the model; default: the model's own (tokenizer.json / tokenizer.model, or tokenizer.bin beside a llama2.c .bin). */
  tokenizer?: string;
  /** Weights above this many bytes in total go to model.onnx.data (protobuf files cannot exceed 2 GiB). Default 1 GiB. */
  externalDataThreshold?: number;
}

export interface ExportOnnxResult {
  dir: string;
  files: string[];
  config: EngineConfig;
}

/** Builds graph nodes with unique names; initializers collect their raw bytes. */
class GraphBuilder {
  readonly nodes: Message[] = [];
  readonly weights: Array<{ name: string; type: number; dims: number[]; bytes: Uint8Array }> = [];
  private count = 0;

  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[]): string {
    const id = `${type}_${this.count++}`;
    const outs = outputs ?? [id];
    this.nodes.push(node(type, inputs, outs, id, attrs));
    return outs[0]!;
  }

  f32(name: string, dims: number[], data: Float32Array): string {
    this.weights.push({ name, type: DataType.FLOAT, dims, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  i64(name: string, values: number[], dims = [values.length]): string {
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.weights.push({ name, type: DataType.INT64, dims, bytes: new Uint8Array(data.buffer) });
    return name;
  }
}

/** (rows, cols) row-major -> (cols, rows): MatMul(x, W^T) is a Linear layer. */
function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

/** Rotate-half tables (maxSeqLen, HS): both halves hold cos/sin of position * theta^(-2i/HS). */
function ropeTables(c: EngineConfig): { cos: Float32Array; sin: Float32Array } {
  const hs = c.headDim, half = hs / 2;
  const cos = new Float32Array(c.maxSeqLen * hs), sin = new Float32Array(c.maxSeqLen * hs);
  for (let p = 0; p < c.maxSeqLen; p++) {
    for (let i = 0; i < half; i++) {
      const angle = p * (1 / Math.pow(c.ropeTheta, (2 * i) / hs));
      cos[p * hs + i] = cos[p * hs + i + half] = Math.cos(angle);
      sin[p * hs + i] = sin[p * hs + i + half] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/** The transformer as ONNX nodes and weights (see the header for the interface). */
export function buildLlamaGraph(c: EngineConfig, w: PackedWeights): GraphBuilder {
  const g = new GraphBuilder();
  const { dim: C, hiddenDim: H, nHeads: NH, nKvHeads: KVH, headDim: HS, vocabSize: V, nLayers: L } = c;
  const QD = NH * HS, KVD = KVH * HS, half = HS / 2;
  const interleaved = c.ropeStyle === 'interleaved';
  const scalar = (name: string, v: number): string => g.f32(name, [], Float32Array.of(v));

  // Shared constants.
  const eps = scalar('rms_eps', c.rmsEps);
  const scale = scalar('attn_scale', Math.fround(1 / Math.sqrt(HS)));
  const one = scalar('one', 1);
  const masked = scalar('masked', MASKED);
  const zero = scalar('zero', 0);
  const { cos: cosT, sin: sinT } = ropeTables(c);
  g.f32('rope_cos', [c.maxSeqLen, HS], cosT);
  g.f32('rope_sin', [c.maxSeqLen, HS], sinT);
  const axes0 = g.i64('axes_0', [0]), axes1 = g.i64('axes_1', [1]), axes2 = g.i64('axes_2', [2]), axesLast = g.i64('axes_last', [-1]);
  const startHalf = g.i64('start_half', [half]), endHalf = g.i64('end_half', [HS]), start0 = g.i64('start_0', [0]);
  const qShape = g.i64('q_shape', [0, 0, NH, HS]), kvShape = g.i64('kv_shape', [0, 0, KVH, HS]);
  const outShape = g.i64('attn_out_shape', [0, 0, QD]);
  const scalarShape = g.i64('scalar_shape', [], [0]);
  const expandRep = g.i64('gqa_expand', [1, 1, NH / KVH, 1, 1]);
  const gqaShape = g.i64('gqa_shape', [0, NH, -1, HS]);

  // Embedding, RoPE rows and the additive mask, shared by every layer.
  let x = g.op('Gather', [g.f32('embed_tokens', [V, C], w.view('tokEmb')), 'input_ids'], { axis: 0 });
  const cos = g.op('Unsqueeze', [g.op('Gather', ['rope_cos', 'position_ids'], { axis: 0 }), axes1]);  // (B, 1, S, HS)
  const sin = g.op('Unsqueeze', [g.op('Gather', ['rope_sin', 'position_ids'], { axis: 0 }), axes1]);
  const past = g.op('Reshape', [g.op('Shape', ['past_key_values.0.key'], { start: 2, end: 3 }), scalarShape]);
  const seq = g.op('Reshape', [g.op('Shape', ['input_ids'], { start: 1, end: 2 }), scalarShape]);
  const total = g.op('Reshape', [g.op('Shape', ['attention_mask'], { start: 1, end: 2 }), scalarShape]);
  const step = g.i64('step', [1], []);
  const first = g.i64('first', [0], []);
  const qPos = g.op('Add', [g.op('Range', [first, seq, step]), past]);               // (S) cache slot of each query
  const kPos = g.op('Range', [first, total, step]);                                   // (T)
  const future = g.op('Greater', [g.op('Unsqueeze', [kPos, axes0]), g.op('Unsqueeze', [qPos, axes1])]);  // (S, T)
  const causal = g.op('Unsqueeze', [g.op('Where', [future, masked, zero]), g.i64('axes_01', [0, 1])]);  // (1, 1, S, T)
  const keep = g.op('Cast', ['attention_mask'], { to: DataType.FLOAT });
  const padding = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [one, keep]), masked]), g.i64('axes_12', [1, 2])]);  // (B, 1, 1, T)
  const mask = g.op('Add', [causal, padding]);                                        // (B, 1, S, T)

  const rmsnorm = (input: string, weight: string): string => {
    const ms = g.op('ReduceMean', [g.op('Mul', [input, input])], { axes: [-1], keepdims: 1 });
    return g.op('Mul', [g.op('Mul', [input, g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, eps])])])]), weight]);
  };
  const rope = (t: string): string => {
    const lo = g.op('Slice', [t, start0, startHalf, axesLast]);
    const hi = g.op('Slice', [t, startHalf, endHalf, axesLast]);
    const rotated = g.op('Concat', [g.op('Neg', [hi]), lo], { axis: -1 });
    return g.op('Add', [g.op('Mul', [t, cos]), g.op('Mul', [rotated, sin])]);
  };
  const linear = (input: string, name: string, weight: Float32Array, outF: number, inF: number, bias?: Float32Array): string => {
    const y = g.op('MatMul', [input, g.f32(`${name}.weight_t`, [inF, outF], transpose(weight, outF, inF))]);
    return bias ? g.op('Add', [y, g.f32(`${name}.bias`, [outF], bias)]) : y;
  };
  const heads = (t: string, shape: string): string => g.op('Transpose', [g.op('Reshape', [t, shape])], { perm: [0, 2, 1, 3] });

  for (let l = 0; l < L; l++) {
    const p = `layers.${l}`;
    let wq = w.layer('wq', l), wk = w.layer('wk', l);
    let bq = c.qkvBias ? w.layer('bq', l) : undefined, bk = c.qkvBias ? w.layer('bk', l) : undefined;
    if (interleaved) {
      wq = permuteRopeRows(wq, HS, C, 'to-rotate-half');
      wk = permuteRopeRows(wk, HS, C, 'to-rotate-half');
      if (bq && bk) {
        bq = permuteRopeRows(bq, HS, 1, 'to-rotate-half');
        bk = permuteRopeRows(bk, HS, 1, 'to-rotate-half');
      }
    }
    const h = rmsnorm(x, g.f32(`${p}.attn_norm`, [C], w.layer('attnNorm', l)));
    const q = rope(heads(linear(h, `${p}.q`, wq, QD, C, bq), qShape));               // (B, NH, S, HS)
    const k = rope(heads(linear(h, `${p}.k`, wk, KVD, C, bk), kvShape));             // (B, KVH, S, HS)
    const v = heads(linear(h, `${p}.v`, w.layer('wv', l), KVD, C, c.qkvBias ? w.layer('bv', l) : undefined), kvShape);
    const keys = g.op('Concat', [`past_key_values.${l}.key`, k], { axis: 2 }, [`present.${l}.key`]);      // (B, KVH, T, HS)
    const values = g.op('Concat', [`past_key_values.${l}.value`, v], { axis: 2 }, [`present.${l}.value`]);
    const repeat = (t: string): string => (NH === KVH ? t : g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [t, axes2]), expandRep]), gqaShape]));
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [repeat(keys)], { perm: [0, 1, 3, 2] })]), scale]), mask]);
    const attn = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), repeat(values)]);                // (B, NH, S, HS)
    const merged = g.op('Reshape', [g.op('Transpose', [attn], { perm: [0, 2, 1, 3] }), outShape]);
    x = g.op('Add', [x, linear(merged, `${p}.o`, w.layer('wo', l), C, QD)]);

    const m = rmsnorm(x, g.f32(`${p}.mlp_norm`, [C], w.layer('mlpNorm', l)));
    const gate = linear(m, `${p}.gate`, w.layer('wGate', l), H, C);
    const up = linear(m, `${p}.up`, w.layer('wUp', l), H, C);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, linear(act, `${p}.down`, w.layer('wDown', l), C, H)]);
  }
  const final = rmsnorm(x, g.f32('final_norm', [C], w.view('finalNorm')));
  const head = c.tiedEmbeddings ? w.view('tokEmb') : w.view('lmHead');
  g.op('MatMul', [final, g.f32('lm_head.weight_t', [C, V], transpose(head, V, C))], {}, ['logits']);
  return g;
}

/** Graph inputs and outputs in the Optimum naming, with symbolic batch and sequence dimensions. */
function signature(c: EngineConfig): { inputs: Message[]; outputs: Message[] } {
  const kv = (name: string, len: string): Message => valueInfo(name, DataType.FLOAT, ['batch_size', c.nKvHeads, len, c.headDim]);
  const inputs = [
    valueInfo('input_ids', DataType.INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', DataType.INT64, ['batch_size', 'total_sequence_length']),
    valueInfo('position_ids', DataType.INT64, ['batch_size', 'sequence_length']),
  ];
  const outputs = [valueInfo('logits', DataType.FLOAT, ['batch_size', 'sequence_length', c.vocabSize])];
  for (let l = 0; l < c.nLayers; l++) {
    inputs.push(kv(`past_key_values.${l}.key`, 'past_sequence_length'), kv(`past_key_values.${l}.value`, 'past_sequence_length'));
    outputs.push(kv(`present.${l}.key`, 'total_sequence_length'), kv(`present.${l}.value`, 'total_sequence_length'));
  }
  return { inputs, outputs };
}

/** config.json of the exported model: the source's own for a Hugging Face model, else the equivalent LlamaForCausalLM. */
function exportedConfig(c: EngineConfig, source: Record<string, unknown> | undefined): Record<string, unknown> {
  const base = source ?? {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', hidden_act: 'silu', torch_dtype: 'float32',
    hidden_size: c.dim, intermediate_size: c.hiddenDim, num_hidden_layers: c.nLayers, num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads, vocab_size: c.vocabSize, max_position_embeddings: c.maxSeqLen, rms_norm_eps: c.rmsEps,
    rope_theta: c.ropeTheta, tie_word_embeddings: c.tiedEmbeddings, bos_token_id: c.bosId, eos_token_id: c.eosId,
  };
  return { ...base, tie_word_embeddings: c.tiedEmbeddings, rlcd: { stage: 'export-onnx' }, rlcd_onnx_export: { opset: ONNX_OPSET, rope: c.ropeStyle === 'interleaved' ? 'rotate-half (wq/wk rows permuted from interleaved)' : 'rotate-half' } };
}

/** The tokenizer files to copy: [source, name in the output directory]. */
function tokenizerFiles(modelPath: string, format: 'hf' | 'llama2c', tokenizer: string | undefined): Array<[string, string]> {
  if (tokenizer !== undefined) {
    if (fs.statSync(tokenizer).isDirectory()) return tokenizerFiles(tokenizer, 'hf', undefined);
    const ext = path.extname(tokenizer).toLowerCase();
    const name = ext === '.json' ? 'tokenizer.json' : ext === '.model' ? 'tokenizer.model' : 'tokenizer.bin';
    return [[tokenizer, name]];
  }
  if (format === 'llama2c') {
    const beside = path.join(path.dirname(modelPath), 'tokenizer.bin');
    if (!fs.existsSync(beside)) throw new ModelFormatError(modelPath, 'a llama2.c checkpoint needs its tokenizer: pass --tokenizer (e.g. tok512.bin)');
    return [[beside, 'tokenizer.bin']];
  }
  const found = ['tokenizer.json', 'tokenizer.model', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']
    .filter((f) => fs.existsSync(path.join(modelPath, f)))
    .map((f): [string, string] => [path.join(modelPath, f), f]);
  if (!found.some(([, f]) => f === 'tokenizer.json' || f === 'tokenizer.model')) throw new ModelFormatError(modelPath, 'has no tokenizer.json or tokenizer.model to copy');
  return found;
}

/**
 * Writes DIR/model.onnx (+ model.onnx.data for large models), config.json and the tokenizer. The
 * directory is built aside and swapped in whole (replaceDirAtomically): a kill or a full disk leaves
 * the previous export, never a truncated model.onnx or a stale tokenizer of another model.
 */
export async function exportOnnx(modelName: string, outDir: string, options: ExportOnnxOptions = {}): Promise<ExportOnnxResult> {
  assertOutputLocation(outDir, [modelName, ...(options.tokenizer ? [options.tokenizer] : [])], 'export-onnx');
  const modelPath = await resolveModelSource(modelName); // a built-in name or hub id (pulled if need be) to its directory
  const format = checkpointFormat(modelPath);
  if (format === 'onnx') throw new ModelFormatError(modelPath, 'is already an ONNX model');
  const loaded = format === 'hf' ? loadHfCheckpoint(modelPath) : { ...loadLlama2cCheckpoint(modelPath), hfConfig: undefined };
  const { config } = loaded;
  const copies = tokenizerFiles(modelPath, format, options.tokenizer);
  const g = buildLlamaGraph(config, loaded.weights);
  const { inputs, outputs } = signature(config);

  const files: string[] = [];
  const threshold = options.externalDataThreshold ?? 2 ** 30;
  const totalBytes = g.weights.reduce((n, t) => n + t.bytes.length, 0);
  const external = totalBytes > threshold;
  const dataName = 'model.onnx.data';
  await replaceDirAtomically(outDir, (tmp) => {
    let dataFd: number | undefined;
    let offset = 0;
    if (external) {
      dataFd = fs.openSync(path.join(tmp, dataName), 'w');
      files.push(dataName);
    }
    try {
      const initializers = g.weights.map((t) => {
        if (dataFd === undefined || t.bytes.length < 1024) return tensor(t.name, t.type, t.dims, t.bytes);
        const aligned = Math.ceil(offset / 4096) * 4096;  // page-aligned, so onnxruntime can mmap
        fs.writeSync(dataFd, t.bytes, 0, t.bytes.length, aligned);
        const loc: ExternalLocation = { location: dataName, offset: aligned, length: t.bytes.length };
        offset = aligned + t.bytes.length;
        return tensor(t.name, t.type, t.dims, loc);
      });
      const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
      const proto = model(graph('rlcd_llama', g.nodes, initializers, inputs, outputs), ONNX_OPSET, { name: 'rlcd', version }, {
        source: path.resolve(modelPath),
      });
      const fd = fs.openSync(path.join(tmp, 'model.onnx'), 'w');
      try {
        for (const chunk of proto.chunks) writeAll(fd, chunk);
      } finally {
        fs.closeSync(fd);
      }
      files.unshift('model.onnx');
    } finally {
      if (dataFd !== undefined) fs.closeSync(dataFd);
    }
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(exportedConfig(config, loaded.hfConfig), null, 2) + '\n');
    files.push('config.json');
    for (const [from, name] of copies) {
      fs.copyFileSync(from, path.join(tmp, name));
      files.push(name);
    }
  });
  return { dir: outDir, files, config };
}
