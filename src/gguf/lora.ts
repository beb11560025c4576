// A PEFT LoRA adapter as a llama.cpp GGUF adapter (general.type "adapter", adapter.type "lora"):
// for each adapted matrix W, blk.N.<name>.weight.lora_a (ggml dims [in, r]) and .lora_b ([r, out]),
// which llama.cpp adds as (alpha / r) * B A, the scale PEFT uses. B's rows of q/k follow the same
// RoPE reordering as the base's q/k rows (see llama.ts).
import type { EngineConfig } from '../native/binding.js';
import type { LoraTarget } from '../model/lora-layout.js';
import { loraSlots } from '../model/lora-layout.js';
import type { PeftAdapter } from '../model/peft.js';
import { permuteRopeRows } from '../model/rope-order.js';
import { GgmlType, GgufValueType, type GgufValue } from './format.js';
import { encodeTensor } from './quantize.js';
import type { GgufTensor } from './writer.js';

const GGUF_NAME: Record<LoraTarget, string> = {
  q_proj: 'attn_q', k_proj: 'attn_k', v_proj: 'attn_v', o_proj: 'attn_output',
  gate_proj: 'ffn_gate', up_proj: 'ffn_up', down_proj: 'ffn_down',
};

export function loraMetadata(adapter: PeftAdapter, name: string, extra: Record<string, string> = {}): Map<string, GgufValue> {
  const m = new Map<string, GgufValue>([
    ['general.architecture', { type: GgufValueType.STRING, value: 'llama' }],
    ['general.type', { type: GgufValueType.STRING, value: 'adapter' }],
    ['general.name', { type: GgufValueType.STRING, value: name }],
    ['general.alignment', { type: GgufValueType.UINT32, value: 32 }],
    ['adapter.type', { type: GgufValueType.STRING, value: 'lora' }],
    ['adapter.lora.alpha', { type: GgufValueType.FLOAT32, value: adapter.alpha }],
  ]);
  for (const [k, value] of Object.entries(extra)) m.set(k, { type: GgufValueType.STRING, value });
  return m;
}

/** The adapter's A and B matrices in f32, under llama.cpp's names. */
export function loraTensors(config: EngineConfig, adapter: PeftAdapter): GgufTensor[] {
  const r = adapter.rank;
  const { slots } = loraSlots(config, r, adapter.targets);
  const out: GgufTensor[] = [];
  for (const s of slots) {
    const base = `blk.${s.layer}.${GGUF_NAME[s.target]}.weight`;
    const a = adapter.lora.subarray(s.a, s.a + r * s.in);
    const b = adapter.lora.subarray(s.b, s.b + s.out * r);
    const rope = config.ropeStyle === 'rotate-half' && (s.target === 'q_proj' || s.target === 'k_proj');
    out.push(
      { name: `${base}.lora_a`, dims: [s.in, r], type: GgmlType.F32, data: () => encodeTensor(a, GgmlType.F32) },
      { name: `${base}.lora_b`, dims: [r, s.out], type: GgmlType.F32, data: () => encodeTensor(rope ? permuteRopeRows(b, config.headDim, r, 'to-interleaved') : b, GgmlType.F32) },
    );
  }
  return out;
}
