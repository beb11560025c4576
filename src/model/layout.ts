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

export class PackedWeights {
  readonly data: Float32Array;
  private readonly views = new Map<ParamName, Float32Array>();

  constructor(readonly config: EngineConfig) {
    const sizes = paramSizes(config);
    const total = PARAM_NAMES.reduce((n, k) => n + sizes[k], 0);
    this.data = new Float32Array(total);
    let offset = 0;
    for (const name of PARAM_NAMES) {
      this.views.set(name, this.data.subarray(offset, offset + sizes[name]));
      offset += sizes[name];
    }
  }

  /** The whole tensor (all layers for stacked ones). */
  view(name: ParamName): Float32Array {
    return this.views.get(name)!;
  }

  /** Layer `l`'s slice of a stacked (L, ...) tensor. */
  layer(name: ParamName, l: number): Float32Array {
    const v = this.view(name);
    const per = v.length / this.config.nLayers;
    return v.subarray(l * per, (l + 1) * per);
  }
}

/**
 * The first non-finite weight, named by tensor (and layer for stacked ones), or undefined when every
 * weight is finite. A NaN in a checkpoint would otherwise flow silently into every output.
 */
export function firstNonFinite(w: PackedWeights): string | undefined {
  for (const name of PARAM_NAMES) {
    const v = w.view(name);
    for (let i = 0; i < v.length; i++) {
      if (Number.isFinite(v[i]!)) continue;
      const stacked = !['tokEmb', 'finalNorm', 'lmHead'].includes(name);
      const per = v.length / w.config.nLayers;
      const where = stacked ? `${name} of layer ${Math.floor(i / per)}, element ${i % per}` : `${name}, element ${i}`;
      return `${where} is ${v[i]}`;
    }
  }
  return undefined;
}
