// LoRA adapters in the Hugging Face PEFT layout: adapter_config.json + adapter_model.safetensors
// with `base_model.model.model.layers.{l}.{self_attn|mlp}.{target}.lora_{A,B}.weight`, A (r, in)
// and B (out, r) -- the same row-major matrices as the engine's LoRA buffer, so no transposes.
//
// PEFT adapters apply to Hugging Face (rotate-half) base weights. For a llama2.c (interleaved RoPE)
// base, saveHfCheckpoint reorders the rows of wq/wk within each head; the q/k adapters' B rows
// (outputs) are reordered the same way here, so that the saved adapter fits the saved base, and
// back on load.
import fs from 'node:fs';
import path from 'node:path';
import type { EngineConfig } from '../native/binding.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { replaceDirAtomically } from '../util/atomic.js';
import { readJsonFile } from './hf.js';
import { LORA_TARGETS, loraSlots, type LoraSlot, type LoraTarget } from './lora-layout.js';
import { permuteRopeRows } from './rope-order.js';
import { SafetensorsFile } from './safetensors.js';
import { writeSafetensors, type F32Tensor } from './safetensors-writer.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

export interface PeftAdapter {
  /** The engine's LoRA buffer (see lora-layout.ts). */
  lora: Float32Array;
  rank: number;
  alpha: number;
  /** Enabled targets, in the engine's order. */
  targets: LoraTarget[];
}

export interface SavePeftOptions extends PeftAdapter {
  config: EngineConfig;
  /** base_model_name_or_path: the model the adapter was trained on. */
  baseModel: string;
}

function tensorPrefix(s: LoraSlot): string {
  const block = s.target === 'gate_proj' || s.target === 'up_proj' || s.target === 'down_proj' ? 'mlp' : 'self_attn';
  return `base_model.model.model.layers.${s.layer}.${block}.${s.target}`;
}

/** Whether B's rows of this target must be reordered between the engine and the HF convention. */
function ropeRows(config: EngineConfig, s: LoraSlot): boolean {
  return config.ropeStyle === 'interleaved' && (s.target === 'q_proj' || s.target === 'k_proj');
}

/** Writes a PEFT adapter directory (atomically: the whole directory is replaced at once). */
export async function savePeftAdapter(dir: string, o: SavePeftOptions): Promise<void> {
  const targets = LORA_TARGETS.filter((t) => o.targets.includes(t));
  const { slots, total } = loraSlots(o.config, o.rank, o.targets);
  if (!(o.lora instanceof Float32Array) || o.lora.length !== total) {
    throw new RangeError(`${dir}: the LoRA buffer has ${o.lora?.length} values; rank ${o.rank} on ${targets.join(', ')} needs ${total}`);
  }
  if (!Number.isFinite(o.alpha)) throw new RangeError(`${dir}: lora alpha must be a finite number, got ${o.alpha}`);
  const tensors: F32Tensor[] = [];
  for (const s of slots) {
    const p = tensorPrefix(s);
    let B = o.lora.subarray(s.b, s.b + s.out * o.rank);
    if (ropeRows(o.config, s)) B = permuteRopeRows(B, o.config.headDim, o.rank, 'to-rotate-half');
    tensors.push({ name: `${p}.lora_A.weight`, shape: [o.rank, s.in], data: o.lora.subarray(s.a, s.a + o.rank * s.in) });
    tensors.push({ name: `${p}.lora_B.weight`, shape: [s.out, o.rank], data: B });
  }
  const adapterConfig = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: o.baseModel,
    r: o.rank,
    lora_alpha: o.alpha,
    target_modules: targets,
    lora_dropout: 0.0,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    revision: null,
  };
  await replaceDirAtomically(dir, (tmp) => {
    writeSafetensors(path.join(tmp, ADAPTER_WEIGHTS), tensors, { format: 'pt' });
    fs.writeFileSync(path.join(tmp, ADAPTER_CONFIG), JSON.stringify(adapterConfig, null, 2) + '\n');
  });
}

/** Reads a PEFT LoRA adapter for a model of `config` into the engine's buffer layout. */
export function loadPeftAdapter(dir: string, config: EngineConfig): PeftAdapter {
  const configFile = path.join(dir, ADAPTER_CONFIG);
  const raw = readJsonFile(configFile);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelFormatError(configFile, 'is not a JSON object');
  const c = raw as Record<string, unknown>;
  const fail = (problem: string): never => {
    throw new ModelFormatError(configFile, problem);
  };
  if (c.peft_type !== 'LORA') fail(`peft_type is ${JSON.stringify(c.peft_type)}; only LORA adapters are supported`);
  const rank = c.r;
  if (typeof rank !== 'number' || !Number.isSafeInteger(rank) || rank <= 0) fail(`r must be a positive integer, got ${JSON.stringify(rank)}`);
  const alpha = c.lora_alpha;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) fail(`lora_alpha must be a number, got ${JSON.stringify(alpha)}`);
  const modules = c.target_modules;
  if (!Array.isArray(modules) || !modules.every((m): m is string => typeof m === 'string')) {
    fail(`target_modules must be a list of module names (a regex or 'all-linear' is not supported), got ${JSON.stringify(modules)}`);
  }
  const names = modules as string[];
  const unknown = names.filter((m) => !(LORA_TARGETS as readonly string[]).includes(m));
  if (unknown.length > 0 || names.length === 0) fail(`target_modules ${JSON.stringify(names)}: the engine adapts only ${LORA_TARGETS.join(', ')}`);
  // Variants whose math the engine does not implement: refuse rather than apply them wrongly.
  if (c.use_dora === true) fail('use_dora adapters are not supported');
  if (c.use_rslora === true) fail('use_rslora adapters are not supported (their scale is alpha / sqrt(r))');
  if (c.bias !== undefined && c.bias !== 'none') fail(`bias '${String(c.bias)}' is not supported (only 'none')`);
  const nonEmpty = (v: unknown): boolean => v != null && (Array.isArray(v) ? v.length > 0 : typeof v !== 'object' || Object.keys(v).length > 0);
  for (const key of ['rank_pattern', 'alpha_pattern', 'layers_to_transform', 'modules_to_save']) {
    if (nonEmpty(c[key])) fail(`${key} is not supported (the engine adapts every layer with one rank and alpha)`);
  }

  const weightsFile = path.join(dir, ADAPTER_WEIGHTS);
  if (!fs.existsSync(weightsFile)) {
    const legacy = path.join(dir, 'adapter_model.bin');
    throw new ModelFormatError(fs.existsSync(legacy) ? legacy : weightsFile, fs.existsSync(legacy) ? 'is a pickled PyTorch file; only adapter_model.safetensors is supported' : 'not found');
  }
  const file = new SafetensorsFile(weightsFile);
  const { slots, total } = loraSlots(config, rank as number, names);
  const lora = new Float32Array(total);
  const used = new Set<string>();
  const read = (name: string, shape: number[], dest: Float32Array): void => {
    const info = file.tensors.get(name);
    if (!info) throw new ModelFormatError(weightsFile, `missing tensor '${name}'`);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(weightsFile, `tensor '${name}' has shape ${JSON.stringify(info.shape)}, expected ${JSON.stringify(shape)} for this model and r=${rank}`);
    }
    file.readInto(name, dest);
    used.add(name);
  };
  for (const s of slots) {
    const p = tensorPrefix(s);
    read(`${p}.lora_A.weight`, [rank as number, s.in], lora.subarray(s.a, s.a + (rank as number) * s.in));
    const B = lora.subarray(s.b, s.b + s.out * (rank as number));
    read(`${p}.lora_B.weight`, [s.out, rank as number], B);
    if (ropeRows(config, s)) B.set(permuteRopeRows(B, config.headDim, rank as number, 'to-interleaved'));
  }
  const extra = [...file.tensors.keys()].filter((n) => !used.has(n));
  if (extra.length > 0) {
    throw new ModelFormatError(weightsFile, `has ${extra.length} tensor(s) this model's adapter layout does not use (e.g. '${extra[0]}'): more layers than the model, or modules the engine cannot adapt`);
  }
  return { lora, rank: rank as number, alpha: alpha as number, targets: LORA_TARGETS.filter((t) => names.includes(t)) };
}
