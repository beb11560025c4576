// The engine's parameter layout (native/model/weights.h), mirrored: one Float32Array holding every
// tensor in a fixed order, with named views. Loaders fill the views; the engine copies the whole.
import type { EngineConfig } from '../native/binding.js';

export const PARAM_NAMES = [
  'tokEmb', 'attnNorm', 'wq', 'wk', 'wv', 'bq', 'bk', 'bv', 'wo',
  'mlpNorm', 'wGate', 'wUp', 'wDown', 'finalNorm', 'lmHead',
] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

export function paramSizes(c: EngineConfig): Record<ParamName, number> {
  const L = c.nLayers, C = c.dim, H = c.hiddenDim, V = c.vocabSize;
  const QD = c.nHeads * c.headDim, KVD = c.nKvHeads * c.headDim;
  return {
    tokEmb: V * C,
    attnNorm: L * C,
    wq: L * QD * C,
    wk: L * KVD * C,
    wv: L * KVD * C,
    bq: c.qkvBias ? L * QD : 0,
    bk: c.qkvBias ? L * KVD : 0,
    bv: c.qkvBias ? L * KVD : 0,
    wo: L * C * QD,
    mlpNorm: L * C,
    wGate: L * H * C,
    wUp: L * H * C,
    wDown: L * C * H,
    finalNorm: C,
    lmHead: c.tiedEmbeddings ? 0 : V * C,
  };
}

/** How a PackedWeights holds its values: f32, or the raw bits of a bf16 / f16 checkpoint. */
export type CheckpointDtype = 'f32' | 'bf16' | 'f16';

/**
 * Every tensor in the engine's order, in one array: a Float32Array, or (for inference from a bf16 /
 * f16 checkpoint, which the engine packs without widening) a Uint16Array of the checkpoint's bits.
 */
export class PackedWeights<A extends Float32Array | Uint16Array = Float32Array> {
  readonly data: A;
  private readonly views = new Map<ParamName, A>();

  constructor(readonly config: EngineConfig, readonly dtype: CheckpointDtype = 'f32') {
    const sizes = paramSizes(config);
    const total = PARAM_NAMES.reduce((n, k) => n + sizes[k], 0);
    this.data = (dtype === 'f32' ? new Float32Array(total) : new Uint16Array(total)) as A;
    let offset = 0;
    for (const name of PARAM_NAMES) {
      this.views.set(name, this.data.subarray(offset, offset + sizes[name]) as A);
      offset += sizes[name];
    }
  }

  /** The whole tensor (all layers for stacked ones). */
  view(name: ParamName): A {
    return this.views.get(name)!;
  }

  /** Layer `l`'s slice of a stacked (L, ...) tensor. */
  layer(name: ParamName, l: number): A {
    const v = this.view(name);
    const per = v.length / this.config.nLayers;
    return v.subarray(l * per, (l + 1) * per) as A;
  }
}

/**
 * The first non-finite weight, named by tensor (and layer for stacked ones), or undefined when every
 * weight is finite. A NaN in a checkpoint would otherwise flow silently into every output.
 */
export function firstNonFinite(w: PackedWeights | PackedWeights<Uint16Array>): string | undefined {
  // bf16 and f16 bits are non-finite when their exponent field is all ones (NaN if the rest is not 0).
  const exponent = w.dtype === 'bf16' ? 0x7f80 : 0x7c00;
  const value = (v: Float32Array | Uint16Array, i: number): number => {
    if (w.dtype === 'f32') return v[i]!;
    if ((v[i]! & 0x7fff) !== exponent) return NaN;
    return v[i]! & 0x8000 ? -Infinity : Infinity;
  };
  for (const name of PARAM_NAMES) {
    const v = w.view(name);
    for (let i = 0; i < v.length; i++) {
      if (w.dtype === 'f32' ? Number.isFinite(v[i]!) : (v[i]! & exponent) !== exponent) continue;
      const stacked = !['tokEmb', 'finalNorm', 'lmHead'].includes(name);
      const per = v.length / w.config.nLayers;
      const where = stacked ? `${name} of layer ${Math.floor(i / per)}, element ${i % per}` : `${name}, element ${i}`;
      return `${where} is ${value(v, i)}`;
    }
  }
  return undefined;
}
