// The engine's LoRA buffer layout (native/model/lora.cpp), mirrored: one Float32Array holding, for
// each layer and each enabled target in the fixed order below, A (r x in) then B (out x r), both
// row-major, which is exactly PEFT's lora_A.weight / lora_B.weight.
import type { EngineConfig, LoraOptions } from '../native/binding.js';

export type LoraTarget = LoraOptions['targets'][number];

/** The engine's target order (LoraTarget enum in native/model/lora.h). */
export const LORA_TARGETS: readonly LoraTarget[] = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** (in, out) features of the projection `target` adapts. */
export function loraShape(c: EngineConfig, target: LoraTarget): { in: number; out: number } {
  const QD = c.nHeads * c.headDim, KVD = c.nKvHeads * c.headDim;
  switch (target) {
    case 'q_proj': return { in: c.dim, out: QD };
    case 'k_proj': case 'v_proj': return { in: c.dim, out: KVD };
    case 'o_proj': return { in: QD, out: c.dim };
    case 'gate_proj': case 'up_proj': return { in: c.dim, out: c.hiddenDim };
    case 'down_proj': return { in: c.hiddenDim, out: c.dim };
  }
}

export interface LoraSlot {
  layer: number;
  target: LoraTarget;
  in: number;
  out: number;
  /** Offsets (in floats) of A (rank x in) and B (out x rank) in the buffer. */
  a: number;
  b: number;
}

/** Every adapter's place in the buffer, in buffer order, and the buffer's length. */
export function loraSlots(c: EngineConfig, rank: number, targets: readonly string[]): { slots: LoraSlot[]; total: number } {
  if (!Number.isSafeInteger(rank) || rank <= 0) throw new RangeError(`LoRA rank must be a positive integer, got ${rank}`);
  const unknown = targets.filter((t) => !(LORA_TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) throw new RangeError(`unknown LoRA target(s) ${unknown.join(', ')}; known: ${LORA_TARGETS.join(', ')}`);
  const enabled = LORA_TARGETS.filter((t) => targets.includes(t));
  const slots: LoraSlot[] = [];
  let total = 0;
  for (let layer = 0; layer < c.nLayers; layer++) {
    for (const target of enabled) {
      const s = loraShape(c, target);
      const a = total;
      total += rank * s.in;
      const b = total;
      total += s.out * rank;
      slots.push({ layer, target, in: s.in, out: s.out, a, b });
    }
  }
  return { slots, total };
}
