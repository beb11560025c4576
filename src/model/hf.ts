// Loads a Hugging Face checkpoint directory: config.json + model.safetensors (or the sharded
// model.safetensors.index.json) into the engine's packed layout.
import fs from 'node:fs';
import path from 'node:path';
import type { EngineConfig } from '../native/binding.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { engineConfigFromHf } from './hf-config.js';
import { PackedWeights, type ParamName } from './layout.js';
import { SafetensorsFile } from './safetensors.js';

export interface LoadedCheckpoint {
  config: EngineConfig;
  weights: PackedWeights;
  /** The raw config.json, for tools that write checkpoints back. */
  hfConfig: Record<string, unknown>;
}

export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ModelFormatError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(file, `is not valid JSON (${(e as Error).message})`);
  }
}

/** Where each tensor lives: one file, or the shards named by the index. */
function openShards(dir: string): Map<string, SafetensorsFile> {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const byTensor = new Map<string, SafetensorsFile>();
  if (fs.existsSync(single)) {
    const f = new SafetensorsFile(single);
    for (const name of f.tensors.keys()) byTensor.set(name, f);
    return byTensor;
  }
  if (!fs.existsSync(index)) throw new ModelFormatError(dir, 'has neither model.safetensors nor model.safetensors.index.json');
  const raw = readJsonFile(index) as { weight_map?: unknown };
  const map = raw?.weight_map;
  if (typeof map !== 'object' || map === null) throw new ModelFormatError(index, 'has no weight_map object');
  const files = new Map<string, SafetensorsFile>();
  for (const [tensor, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\')) {
      throw new ModelFormatError(index, `weight_map['${tensor}'] must be a file name in the same directory`);
    }
    let f = files.get(shard);
    if (!f) {
      f = new SafetensorsFile(path.join(dir, shard));
      files.set(shard, f);
    }
    if (!f.tensors.has(tensor)) throw new ModelFormatError(f.path, `has no tensor '${tensor}' although the index says so`);
    byTensor.set(tensor, f);
  }
  return byTensor;
}

/** config.json and the shards, checked against each other before any tensor is read. */
interface OpenedCheckpoint {
  dir: string;
  config: EngineConfig;
  hfConfig: Record<string, unknown>;
  shards: Map<string, SafetensorsFile>;
  /** The checkpoint name of each tensor the engine reads, with the view it fills and its shape. */
  tensors: Array<{ name: string; param: ParamName; layer?: number; shape: number[] }>;
}

function openHfCheckpoint(dir: string): OpenedCheckpoint {
  const configFile = path.join(dir, 'config.json');
  const hfConfig = readJsonFile(configFile) as Record<string, unknown>;
  const config = engineConfigFromHf(hfConfig, configFile);
  const shards = openShards(dir);

  // Tied embeddings: the checkpoint may store only one of the two matrices (the shared 656K model
  // keeps lm_head.weight and names the alias in its metadata). One stored matrix means tied.
  const EMB = 'model.embed_tokens.weight', HEAD = 'lm_head.weight';
  const hasEmb = shards.has(EMB), hasHead = shards.has(HEAD);
  if (!hasEmb && !hasHead) throw new ModelFormatError(dir, `has neither ${EMB} nor ${HEAD}`);
  if (hfConfig.tie_word_embeddings === false && !(hasEmb && hasHead)) {
    throw new ModelFormatError(configFile, `says tie_word_embeddings: false but the checkpoint has only ${hasEmb ? EMB : HEAD} (an untied model needs both)`);
  }
  config.tiedEmbeddings = config.tiedEmbeddings || !(hasEmb && hasHead);
  // Tensors of layers the config does not have mean the config is wrong, not that they are spare.
  for (const name of shards.keys()) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m && Number(m[1]) >= config.nLayers) throw new ModelFormatError(configFile, `says num_hidden_layers = ${config.nLayers} but the checkpoint holds '${name}'`);
  }

  const { dim: C, hiddenDim: H, vocabSize: V, nHeads, nKvHeads, headDim } = config;
  const QD = nHeads * headDim, KVD = nKvHeads * headDim;
  const tensors: OpenedCheckpoint['tensors'] = [{ name: hasEmb ? EMB : HEAD, param: 'tokEmb', shape: [V, C] }];
  if (!config.tiedEmbeddings) tensors.push({ name: HEAD, param: 'lmHead', shape: [V, C] });
  tensors.push({ name: 'model.norm.weight', param: 'finalNorm', shape: [C] });
  const perLayer: Array<[ParamName, string, number[]]> = [
    ['attnNorm', 'input_layernorm.weight', [C]],
    ['wq', 'self_attn.q_proj.weight', [QD, C]],
    ['wk', 'self_attn.k_proj.weight', [KVD, C]],
    ['wv', 'self_attn.v_proj.weight', [KVD, C]],
    ['wo', 'self_attn.o_proj.weight', [C, QD]],
    ['mlpNorm', 'post_attention_layernorm.weight', [C]],
    ['wGate', 'mlp.gate_proj.weight', [H, C]],
    ['wUp', 'mlp.up_proj.weight', [H, C]],
    ['wDown', 'mlp.down_proj.weight', [C, H]],
  ];
  if (config.qkvBias) {
    perLayer.push(['bq', 'self_attn.q_proj.bias', [QD]], ['bk', 'self_attn.k_proj.bias', [KVD]], ['bv', 'self_attn.v_proj.bias', [KVD]]);
  }
  for (let layer = 0; layer < config.nLayers; layer++) {
    for (const [param, suffix, shape] of perLayer) tensors.push({ name: `model.layers.${layer}.${suffix}`, param, layer, shape });
  }
  for (const { name, shape } of tensors) {
    const file = shards.get(name);
    if (!file) throw new ModelFormatError(dir, `missing tensor '${name}'`);
    const info = file.tensors.get(name)!;
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(file.path, `tensor '${name}' has shape ${JSON.stringify(info.shape)}, config.json implies ${JSON.stringify(shape)}`);
    }
  }
  return { dir, config, hfConfig, shards, tensors };
}

export function loadHfCheckpoint(dir: string): LoadedCheckpoint {
  return readF32(openHfCheckpoint(dir));
}

function readF32(ck: OpenedCheckpoint): LoadedCheckpoint {
  const weights = new PackedWeights(ck.config);
  for (const t of ck.tensors) {
    ck.shards.get(t.name)!.readInto(t.name, t.layer === undefined ? weights.view(t.param) : weights.layer(t.param, t.layer));
  }
  return { config: ck.config, weights, hfConfig: ck.hfConfig };
}

/**
 * For inference in a narrow type: the checkpoint's weights as their raw bf16 (or f16) bits when every
 * tensor the engine reads is stored so (packed without an f32 copy), else as f32 like loadHfCheckpoint.
 */
export function loadHfCheckpointKeepingHalf(dir: string): Omit<LoadedCheckpoint, 'weights'> & { weights: PackedWeights | PackedWeights<Uint16Array> } {
  const ck = openHfCheckpoint(dir);
  const dtypes = new Set(ck.tensors.map((t) => ck.shards.get(t.name)!.tensors.get(t.name)!.dtype));
  const only = dtypes.size === 1 ? [...dtypes][0] : undefined;
  if (only !== 'BF16' && only !== 'F16') return readF32(ck);
  const weights = new PackedWeights<Uint16Array>(ck.config, only === 'BF16' ? 'bf16' : 'f16');
  for (const t of ck.tensors) {
    ck.shards.get(t.name)!.readHalfInto(t.name, only, t.layer === undefined ? weights.view(t.param) : weights.layer(t.param, t.layer));
  }
  return { config: ck.config, weights, hfConfig: ck.hfConfig };
}
