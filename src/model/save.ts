// Writes an engine model as a Hugging Face checkpoint directory (config.json, model.safetensors in
// F32, the tokenizer files) that transformers, our loader and `rlcd generate` all read. The whole
// directory is replaced atomically, so a kill mid-save leaves the previous checkpoint intact.
//
// llama2.c models (interleaved RoPE) are converted on the way out: HF Llama only knows rotate-half,
// and permuting the rows of wq/wk within each head makes the two compute the same function.
import fs from 'node:fs';
import path from 'node:path';
import type { EngineConfig } from '../native/binding.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { parseLlama2cVocab } from '../tokenizer/llama2c.js';
import { replaceDirAtomically } from '../util/atomic.js';
import { engineConfigFromHf, SUPPORTED_ARCHITECTURES } from './hf-config.js';
import { PARAM_NAMES, paramSizes, type ParamName } from './layout.js';
import { permuteRopeRows } from './rope-order.js';
import { writeSafetensors, type F32Tensor } from './safetensors-writer.js';

export interface SaveHfOptions {
  config: EngineConfig;
  /** All parameters in the engine's packed layout (layout.ts). */
  weights: Float32Array;
  /** The source's config.json: its other keys (pad_token_id, transformers_version, ...) are kept. */
  hfConfig?: Record<string, unknown>;
  /**
   * Where the tokenizer comes from: a model directory (tokenizer.json, tokenizer_config.json,
   * special_tokens_map.json, generation_config.json, tokenizer.model, tokenizer.bin are copied when
   * present) or one tokenizer file (*.json, *.model, or a llama2.c *.bin, copied as tokenizer.bin).
   */
  tokenizerFrom?: string;
  /** More tensors for model.safetensors (e.g. a reward head's score.weight). */
  extraTensors?: F32Tensor[];
  /** config.json architectures[0]; default: the source's causal-LM architecture, else LlamaForCausalLM (Qwen2ForCausalLM with q/k/v biases). */
  architecture?: string;
  /** Keys merged into config.json last (num_labels, provenance); undefined values are dropped. */
  extraConfig?: Record<string, unknown>;
  /** Entries of an existing `dir` (e.g. a trainer's checkpoint/) copied into the new one, so the swap keeps them. */
  keep?: string[];
}

/** Files copied from a tokenizer directory, when present. */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json', 'tokenizer.model', 'tokenizer.bin'];
/** Companions of a tokenizer.json that transformers reads from the same directory. */
const TOKENIZER_JSON_COMPANIONS = ['tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

/** Named views of `weights` (which must have exactly the layout's length for `config`). */
function weightViews(config: EngineConfig, weights: Float32Array, dir: string): Record<ParamName, Float32Array> {
  const sizes = paramSizes(config);
  const total = PARAM_NAMES.reduce((n, k) => n + sizes[k], 0);
  if (!(weights instanceof Float32Array) || weights.length !== total) {
    throw new RangeError(`${dir}: weights have ${weights?.length} values but this config's layout needs ${total}`);
  }
  const views = {} as Record<ParamName, Float32Array>;
  let offset = 0;
  for (const name of PARAM_NAMES) {
    views[name] = weights.subarray(offset, offset + sizes[name]);
    offset += sizes[name];
  }
  return views;
}

/** The model's tensors under their HF names, in a natural order (embedding, layers, norm, head). */
export function hfTensors(config: EngineConfig, weights: Float32Array, dir = 'model'): F32Tensor[] {
  const v = weightViews(config, weights, dir);
  const { dim: C, hiddenDim: H, vocabSize: V, nLayers: L, headDim } = config;
  const QD = config.nHeads * headDim, KVD = config.nKvHeads * headDim;
  const layer = (name: ParamName, l: number): Float32Array => {
    const per = v[name].length / L;
    return v[name].subarray(l * per, (l + 1) * per);
  };
  // Rows of q/k (and their biases) to HF's rotate-half order; other tensors are written as they are.
  const rope = (m: Float32Array, cols: number): Float32Array =>
    config.ropeStyle === 'interleaved' ? permuteRopeRows(m, headDim, cols, 'to-rotate-half') : m;
  // Tied models store the embedding only; the loader (and transformers) reuse it as the head.
  const out: F32Tensor[] = [{ name: 'model.embed_tokens.weight', shape: [V, C], data: v.tokEmb }];
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    out.push(
      { name: `${p}input_layernorm.weight`, shape: [C], data: layer('attnNorm', l) },
      { name: `${p}self_attn.q_proj.weight`, shape: [QD, C], data: rope(layer('wq', l), C) },
      { name: `${p}self_attn.k_proj.weight`, shape: [KVD, C], data: rope(layer('wk', l), C) },
      { name: `${p}self_attn.v_proj.weight`, shape: [KVD, C], data: layer('wv', l) },
    );
    if (config.qkvBias) {
      out.push(
        { name: `${p}self_attn.q_proj.bias`, shape: [QD], data: rope(layer('bq', l), 1) },
        { name: `${p}self_attn.k_proj.bias`, shape: [KVD], data: rope(layer('bk', l), 1) },
        { name: `${p}self_attn.v_proj.bias`, shape: [KVD], data: layer('bv', l) },
      );
    }
    out.push(
      { name: `${p}self_attn.o_proj.weight`, shape: [C, QD], data: layer('wo', l) },
      { name: `${p}post_attention_layernorm.weight`, shape: [C], data: layer('mlpNorm', l) },
      { name: `${p}mlp.gate_proj.weight`, shape: [H, C], data: layer('wGate', l) },
      { name: `${p}mlp.up_proj.weight`, shape: [H, C], data: layer('wUp', l) },
      { name: `${p}mlp.down_proj.weight`, shape: [C, H], data: layer('wDown', l) },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [C], data: v.finalNorm });
  if (!config.tiedEmbeddings) out.push({ name: 'lm_head.weight', shape: [V, C], data: v.lmHead });
  return out;
}

function defaultArchitecture(config: EngineConfig, hfConfig: Record<string, unknown> | undefined): string {
  // Keep the source's causal-LM class (Mistral stays Mistral) when it fits the weights.
  const archs = Array.isArray(hfConfig?.architectures) ? (hfConfig.architectures as unknown[]) : [];
  const kept = archs.find((a): a is string => typeof a === 'string' && a.endsWith('ForCausalLM') && SUPPORTED_ARCHITECTURES[a]?.qkvBias === config.qkvBias);
  return kept ?? (config.qkvBias ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM');
}

function modelTypeOf(arch: string): string {
  if (arch.startsWith('Qwen2')) return 'qwen2';
  if (arch.startsWith('Mistral')) return 'mistral';
  return 'llama';
}

/**
 * config.json for `config`: the source's keys, overridden by everything the weights determine, then
 * `extraConfig`. It is checked by loading it back, so a stale or contradicting key (a different
 * head_dim, a rope_scaling the weights were not trained with) fails the save instead of the load.
 */
export function buildHfConfig(config: EngineConfig, o: Pick<SaveHfOptions, 'hfConfig' | 'architecture' | 'extraConfig'>, file = 'config.json'): Record<string, unknown> {
  const arch = o.architecture ?? defaultArchitecture(config, o.hfConfig);
  const known = SUPPORTED_ARCHITECTURES[arch];
  if (known && known.qkvBias !== config.qkvBias) {
    const suggestion = config.qkvBias ? arch.replace(/^Llama|^Mistral/, 'Qwen2') : arch.replace(/^Qwen2/, 'Llama');
    throw new RangeError(`${file}: architecture ${arch} ${known.qkvBias ? 'has' : 'has no'} q/k/v biases but the model ${config.qkvBias ? 'has' : 'has none'} (use ${suggestion})`);
  }
  const src = o.hfConfig ?? {};
  const out: Record<string, unknown> = { ...src };
  delete out.quantization_config; // the weights are plain F32 now
  delete out.head_dim; // re-added below when it is not hidden_size / heads
  // Several EOS ids ([eos, eot]) are kept when the engine's is the first of them.
  const special = (key: string, id: number): unknown => {
    const v = src[key];
    return Array.isArray(v) && v[0] === id ? v : id;
  };
  Object.assign(out, {
    architectures: [arch],
    model_type: modelTypeOf(arch),
    hidden_size: config.dim,
    intermediate_size: config.hiddenDim,
    num_hidden_layers: config.nLayers,
    num_attention_heads: config.nHeads,
    num_key_value_heads: config.nKvHeads,
    ...(config.headDim * config.nHeads !== config.dim && { head_dim: config.headDim }),
    vocab_size: config.vocabSize,
    max_position_embeddings: typeof src.max_position_embeddings === 'number' ? src.max_position_embeddings : config.maxSeqLen,
    rms_norm_eps: config.rmsEps,
    rope_theta: config.ropeTheta,
    tie_word_embeddings: config.tiedEmbeddings,
    bos_token_id: special('bos_token_id', config.bosId),
    eos_token_id: special('eos_token_id', config.eosId),
    hidden_act: 'silu',
    torch_dtype: 'float32',
  });
  if (out.model_type === 'llama') Object.assign(out, { attention_bias: false, mlp_bias: false });
  if ('dtype' in out) out.dtype = 'float32'; // newer transformers write dtype instead of torch_dtype
  Object.assign(out, o.extraConfig ?? {});
  // What will be on disk: undefined values dropped, keys sorted as transformers writes them.
  const parsed = JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(parsed).sort()) sorted[k] = parsed[k];

  // The source's max_position_embeddings is kept when it still gives the engine's context (a
  // sliding window may cap it); otherwise the engine's context is written.
  if (reload(sorted, arch, config, file).maxSeqLen !== config.maxSeqLen) sorted.max_position_embeddings = config.maxSeqLen;
  const back = reload(sorted, arch, config, file);
  const fields = ['dim', 'hiddenDim', 'nLayers', 'nHeads', 'nKvHeads', 'headDim', 'vocabSize', 'maxSeqLen', 'rmsEps', 'ropeTheta', 'tiedEmbeddings', 'qkvBias', 'bosId', 'eosId'] as const;
  const wrong = fields.filter((f) => back[f] !== config[f]);
  if (wrong.length > 0) {
    throw new RangeError(`${file}: would load as a different model (${wrong.map((f) => `${f} ${String(back[f])} instead of ${String(config[f])}`).join(', ')}); check extraConfig and hfConfig`);
  }
  return sorted;
}

/** engineConfigFromHf of a config about to be written (an unknown custom architecture is read as its backbone). */
function reload(cfg: Record<string, unknown>, arch: string, config: EngineConfig, file: string): EngineConfig {
  const asKnown = SUPPORTED_ARCHITECTURES[arch] ? cfg : { ...cfg, architectures: [config.qkvBias ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'] };
  try {
    return engineConfigFromHf(asKnown, file);
  } catch (e) {
    throw new RangeError(`config to be written does not load back: ${(e as Error).message}`);
  }
}

/** Copies the tokenizer into `dir` (see SaveHfOptions.tokenizerFrom). */
function copyTokenizer(from: string, dir: string, config: EngineConfig): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(from);
  } catch {
    throw new ModelFormatError(from, 'tokenizer source not found');
  }
  // A llama2.c tokenizer.bin does not say its size; check it against the model now, since a
  // mismatch (or a model .bin passed by mistake) would only surface when the checkpoint is loaded.
  const copyBin = (src: string): void => {
    const buf = fs.readFileSync(src);
    parseLlama2cVocab(buf, config.vocabSize, src);
    fs.writeFileSync(path.join(dir, 'tokenizer.bin'), buf);
  };
  if (stat.isDirectory()) {
    const present = TOKENIZER_FILES.filter((f) => fs.existsSync(path.join(from, f)));
    if (!present.some((f) => f === 'tokenizer.json' || f === 'tokenizer.model' || f === 'tokenizer.bin')) {
      throw new ModelFormatError(from, 'has no tokenizer.json, tokenizer.model or tokenizer.bin to copy');
    }
    for (const f of present) {
      if (f === 'tokenizer.bin') copyBin(path.join(from, f));
      else fs.copyFileSync(path.join(from, f), path.join(dir, f));
    }
    return;
  }
  const ext = path.extname(from).toLowerCase();
  if (ext === '.bin') copyBin(from);
  else if (ext === '.model') fs.copyFileSync(from, path.join(dir, 'tokenizer.model'));
  else if (ext === '.json') {
    fs.copyFileSync(from, path.join(dir, 'tokenizer.json'));
    for (const f of TOKENIZER_JSON_COMPANIONS) {
      const sibling = path.join(path.dirname(from), f);
      if (fs.existsSync(sibling)) fs.copyFileSync(sibling, path.join(dir, f));
    }
  } else {
    throw new ModelFormatError(from, 'unknown tokenizer file (expected a directory, *.json, *.model or a llama2.c *.bin)');
  }
}

/** Writes `dir` as a Hugging Face checkpoint of the model; see SaveHfOptions. */
export async function saveHfCheckpoint(dir: string, o: SaveHfOptions): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('dir must be a non-empty string');
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object { config, weights, ... }');
  if (o.config === null || typeof o.config !== 'object') throw new TypeError('options.config must be an engine config object');
  if (!(o.weights instanceof Float32Array)) throw new TypeError('options.weights must be a Float32Array');
  // Everything that can fail on bad arguments fails before the directory is touched.
  const configJson = buildHfConfig(o.config, o, path.join(dir, 'config.json'));
  const tensors = hfTensors(o.config, o.weights, dir);
  const names = new Set(tensors.map((t) => t.name));
  for (const t of o.extraTensors ?? []) {
    if (names.has(t.name)) throw new RangeError(`${dir}: extra tensor '${t.name}' collides with a model tensor`);
    tensors.push(t);
  }
  await replaceDirAtomically(dir, (tmp) => {
    writeSafetensors(path.join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    fs.writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(configJson, null, 2) + '\n');
    if (o.tokenizerFrom !== undefined) copyTokenizer(o.tokenizerFrom, tmp, o.config);
    for (const name of o.keep ?? []) {
      const from = path.join(dir, name);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(tmp, name), { recursive: true });
    }
  });
}
