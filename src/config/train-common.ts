// Option fields every trainer shares (optimizer, schedule, LoRA, checkpoints).
import { z } from 'zod';
import { flag, int, num } from './schema.js';

export const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

const DEFAULT_LORA_TARGETS = ['q_proj', 'v_proj'] as const;

export const optimizerFields = {
  weightDecay: { schema: num(0, 10).default(0), arg: 'W', doc: 'AdamW decoupled weight decay.' },
  beta1: { schema: num(0, 0.999999).default(0.9), arg: 'B1', doc: 'AdamW beta1.' },
  beta2: { schema: num(0, 0.999999).default(0.999), arg: 'B2', doc: 'AdamW beta2.' },
  adamEps: { schema: num(1e-12, 1).default(1e-8), arg: 'EPS', doc: 'AdamW epsilon.' },
  maxGradNorm: { schema: num(0).default(1), arg: 'N', doc: 'Clip the global gradient norm to N (0: no clipping).' },
  schedule: { schema: z.enum(['constant', 'linear', 'cosine']).default('cosine'), arg: 'KIND', doc: 'Learning-rate schedule after warmup.' },
  warmupRatio: { schema: num(0, 1).default(0.03), arg: 'R', doc: 'Fraction of the steps spent in linear warmup.' },
};

export const loraFields = {
  loraRank: { schema: int(0, 4096).default(0), arg: 'R', doc: 'LoRA rank; 0 trains every weight (full fine-tuning).' },
  loraAlpha: { schema: num(0).refine((a) => a > 0, 'must be > 0 (0 would switch the adapters off)').optional(), arg: 'A', doc: 'LoRA alpha (default: 2 x rank); adapters scale by alpha / rank.' },
  loraTargets: {
    schema: z.array(z.enum(LORA_TARGETS)).default([...DEFAULT_LORA_TARGETS]), arg: 'MODULE', repeatable: true,
    doc: `Modules that get adapters (repeatable): ${LORA_TARGETS.join(', ')}.`,
  },
  weightsDtype: {
    schema: z.enum(['f32', 'bf16', 'f16', 'q8_0']).default('f32'), arg: 'TYPE',
    doc: 'How the frozen base is stored under LoRA: f32, or bf16 / f16 / q8_0 (QLoRA-style: the linear weights take 1/2 or ~1/4 of the memory; the adapters train in f32 through the stored values). Needs --lora-rank.',
  },
};

export const runFields = {
  seed: { schema: int(0).default(0), arg: 'S', doc: 'Seed for data order and initialisation.' },
  saveEvery: { schema: int(0).default(50), arg: 'N', doc: 'Write a resumable checkpoint every N optimizer steps (0: only at the end).' },
  threads: { schema: int(1, 1024).optional(), arg: 'N', doc: 'CPU threads (default: all cores).' },
  quiet: { schema: flag().default(false), doc: 'No progress bar.' },
};

/** LoRA options only mean something with a rank: given without one they would be ignored silently. */
export function checkLoraOptions(input: unknown): void {
  const o = (input ?? {}) as { loraRank?: unknown; loraAlpha?: unknown; loraTargets?: unknown; weightsDtype?: unknown };
  const targetsGiven = o.loraTargets !== undefined && JSON.stringify(o.loraTargets) !== JSON.stringify(DEFAULT_LORA_TARGETS);
  if ((o.loraRank === undefined || Number(o.loraRank) === 0) && (o.loraAlpha !== undefined || targetsGiven)) {
    throw new RangeError(`${o.loraAlpha !== undefined ? 'loraAlpha' : 'loraTargets'} (--lora-${o.loraAlpha !== undefined ? 'alpha' : 'targets'}) needs loraRank (--lora-rank) > 0`);
  }
  // A bf16 / f16 / q8_0 base is frozen: without adapters nothing would train.
  if ((o.loraRank === undefined || Number(o.loraRank) === 0) && o.weightsDtype !== undefined && o.weightsDtype !== 'f32') {
    throw new RangeError(`weightsDtype (--weights-dtype) ${String(o.weightsDtype)} stores a frozen base: it needs loraRank (--lora-rank) > 0`);
  }
}

/**
 * A run's settings as its checkpoint identity records them: an f32 base (the default) is left out,
 * so checkpoints written before weightsDtype existed still resume.
 */
export function identitySettings<T extends { weightsDtype?: string }>(settings: T): Omit<T, 'weightsDtype'> | T {
  if (settings.weightsDtype !== 'f32') return settings;
  const { weightsDtype: _w, ...rest } = settings;
  return rest;
}
