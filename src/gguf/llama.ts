// An engine model as llama.cpp's "llama" architecture: its metadata keys and tensor names
// (token_embd, blk.N.attn_q, ..., output), in the tensor types a dtype asks for.
//
// llama.cpp's llama rotates interleaved pairs (2i, 2i+1), as llama2.c does; Hugging Face
// checkpoints are rotate-half, so their q/k rows are permuted back within each head (the inverse of
// transformers' conversion, as llama.cpp's convert_hf_to_gguf.py does). llama2.c models need none.
import type { EngineConfig } from '../native/binding.js';
import { PARAM_NAMES, paramSizes, type ParamName } from '../model/layout.js';
import { permuteRopeRows } from '../model/rope-order.js';
import { FILE_TYPE, GgmlType, GgufValueType, type GgufDtype, type GgufValue } from './format.js';
import { encodeTensor } from './quantize.js';
import type { GgufVocab } from './vocab.js';
import type { GgufTensor } from './writer.js';

const u32 = (value: number): GgufValue => ({ type: GgufValueType.UINT32, value });
const f32 = (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value });
const str = (value: string): GgufValue => ({ type: GgufValueType.STRING, value });
const bool = (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value });

/** The ggml type of a matrix for `dtype`; rows that q8_0 blocks do not divide stay f16, as llama.cpp's quantizer does for such shapes. */
function matrixType(dtype: GgufDtype, rowLength: number): GgmlType {
  if (dtype === 'q8_0') return rowLength % 32 === 0 ? GgmlType.Q8_0 : GgmlType.F16;
  return { f32: GgmlType.F32, f16: GgmlType.F16, bf16: GgmlType.BF16 }[dtype];
}

export interface LlamaGgufInput {
  config: EngineConfig;
  /** All parameters in the engine's packed layout. */
  weights: Float32Array;
  vocab: GgufVocab;
  dtype: GgufDtype;
  name: string;
  /** Extra metadata (provenance), written after the standard keys. */
  extra?: Record<string, string>;
}

export function llamaMetadata(o: LlamaGgufInput): Map<string, GgufValue> {
  const c = o.config, v = o.vocab;
  const m = new Map<string, GgufValue>([
    ['general.architecture', str('llama')],
    ['general.name', str(o.name)],
    ['general.file_type', u32(FILE_TYPE[o.dtype])],
    ['general.quantization_version', u32(2)],
    ['general.alignment', u32(32)],
    ['llama.context_length', u32(c.maxSeqLen)],
    ['llama.embedding_length', u32(c.dim)],
    ['llama.block_count', u32(c.nLayers)],
    ['llama.feed_forward_length', u32(c.hiddenDim)],
    ['llama.rope.dimension_count', u32(c.headDim)],
    ['llama.attention.head_count', u32(c.nHeads)],
    ['llama.attention.head_count_kv', u32(c.nKvHeads)],
    ['llama.attention.layer_norm_rms_epsilon', f32(c.rmsEps)],
    ['llama.rope.freq_base', f32(c.ropeTheta)],
    ['llama.vocab_size', u32(c.vocabSize)],
  ]);
  if (c.headDim * c.nHeads !== c.dim) {
    m.set('llama.attention.key_length', u32(c.headDim));
    m.set('llama.attention.value_length', u32(c.headDim));
  }
  m.set('tokenizer.ggml.model', str(v.model));
  m.set('tokenizer.ggml.tokens', { type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: v.tokens });
  m.set('tokenizer.ggml.scores', { type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value: v.scores });
  m.set('tokenizer.ggml.token_type', { type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value: v.types });
  if (v.merges) m.set('tokenizer.ggml.merges', { type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: v.merges });
  m.set('tokenizer.ggml.bos_token_id', u32(v.bosId));
  m.set('tokenizer.ggml.eos_token_id', u32(v.eosId));
  if (v.unkId !== undefined) m.set('tokenizer.ggml.unknown_token_id', u32(v.unkId));
  if (v.padId !== undefined) m.set('tokenizer.ggml.padding_token_id', u32(v.padId));
  m.set('tokenizer.ggml.add_bos_token', bool(v.addBos));
  m.set('tokenizer.ggml.add_eos_token', bool(v.addEos));
  m.set('tokenizer.ggml.add_space_prefix', bool(v.addSpacePrefix));
  if (v.chatTemplate !== undefined) m.set('tokenizer.chat_template', str(v.chatTemplate));
  for (const [k, value] of Object.entries(o.extra ?? {})) m.set(k, str(value));
  return m;
}

/** The model's tensors in llama.cpp's names and order, converted to their types when written. */
export function llamaTensors(o: LlamaGgufInput): GgufTensor[] {
  const c = o.config;
  if (c.qkvBias) throw new RangeError('GGUF export writes the llama architecture; this model has q/k/v biases (Qwen2), which it does not support');
  const sizes = paramSizes(c);
  const total = PARAM_NAMES.reduce((n, k) => n + sizes[k], 0);
  if (o.weights.length !== total) throw new RangeError(`weights have ${o.weights.length} values, the layout needs ${total}`);
  const views = {} as Record<ParamName, Float32Array>;
  let offset = 0;
  for (const name of PARAM_NAMES) {
    views[name] = o.weights.subarray(offset, offset + sizes[name]);
    offset += sizes[name];
  }
  const layer = (name: ParamName, l: number): Float32Array => {
    const per = views[name].length / c.nLayers;
    return views[name].subarray(l * per, (l + 1) * per);
  };
  const interleave = (m: Float32Array): Float32Array =>
    c.ropeStyle === 'rotate-half' ? permuteRopeRows(m, c.headDim, c.dim, 'to-interleaved') : m;
  // Norms stay f32 (llama.cpp keeps 1-D tensors f32 in every file type); matrices take the dtype.
  const vector = (name: string, data: Float32Array): GgufTensor => ({ name, dims: [data.length], type: GgmlType.F32, data: () => encodeTensor(data, GgmlType.F32) });
  const matrix = (name: string, rows: number, cols: number, data: () => Float32Array): GgufTensor => {
    const type = matrixType(o.dtype, cols);
    return { name, dims: [cols, rows], type, data: () => encodeTensor(data(), type) };
  };
  const C = c.dim, H = c.hiddenDim, V = c.vocabSize, QD = c.nHeads * c.headDim, KVD = c.nKvHeads * c.headDim;
  const out: GgufTensor[] = [matrix('token_embd.weight', V, C, () => views.tokEmb)];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `blk.${l}.`;
    out.push(
      vector(`${p}attn_norm.weight`, layer('attnNorm', l)),
      matrix(`${p}attn_q.weight`, QD, C, () => interleave(layer('wq', l))),
      matrix(`${p}attn_k.weight`, KVD, C, () => interleave(layer('wk', l))),
      matrix(`${p}attn_v.weight`, KVD, C, () => layer('wv', l)),
      matrix(`${p}attn_output.weight`, C, QD, () => layer('wo', l)),
      vector(`${p}ffn_norm.weight`, layer('mlpNorm', l)),
      matrix(`${p}ffn_gate.weight`, H, C, () => layer('wGate', l)),
      matrix(`${p}ffn_up.weight`, H, C, () => layer('wUp', l)),
      matrix(`${p}ffn_down.weight`, C, H, () => layer('wDown', l)),
    );
  }
  out.push(vector('output_norm.weight', views.finalNorm));
  // A tied model has no output tensor: llama.cpp then uses token_embd as the head.
  if (!c.tiedEmbeddings) out.push(matrix('output.weight', V, C, () => views.lmHead));
  return out;
}
