// Randomly initialised LLaMA-family models, for benchmarks: `random:LxCxV` (layers x width x vocab).
// Heads of 32 dims, half as many key/value heads, MLP width 3C, weights N(0, 0.02), norms 1.
import type { EngineConfig } from '../native/binding.js';
import { PackedWeights } from './layout.js';

export function parseRandomSpec(spec: string): EngineConfig | undefined {
  const m = /^random:(\d+)x(\d+)x(\d+)$/.exec(spec);
  if (!m) return undefined;
  const [nLayers, dim, vocabSize] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (dim % 32 !== 0 || dim === 0) throw new RangeError(`${spec}: the width must be a positive multiple of 32`);
  const nHeads = dim / 32;
  return {
    dim, hiddenDim: 3 * dim, nLayers, nHeads, nKvHeads: nHeads % 2 === 0 ? nHeads / 2 : nHeads,
    headDim: 32, vocabSize, maxSeqLen: 2048, rmsEps: 1e-5, ropeTheta: 10000, ropeStyle: 'rotate-half',
    tiedEmbeddings: true, qkvBias: false, bosId: 1, eosId: 2,
  };
}

export function randomWeights(config: EngineConfig, seed = 0): PackedWeights {
  const w = new PackedWeights(config);
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  for (const name of ['tokEmb', 'wq', 'wk', 'wv', 'wo', 'wGate', 'wUp', 'wDown', 'lmHead'] as const) {
    const v = w.view(name);
    for (let i = 0; i < v.length; i++) v[i] = 0.02 * normal();
  }
  for (const name of ['attnNorm', 'mlpNorm', 'finalNorm'] as const) w.view(name).fill(1);
  return w;
}

/** Weights of the model's linear layers: every layer's q, k, v, o, gate, up and down, and the LM head. */
export function linearWeights(c: EngineConfig): { layers: number; head: number } {
  const QD = c.nHeads * c.headDim, KVD = c.nKvHeads * c.headDim;
  return { layers: c.nLayers * (2 * c.dim * QD + 2 * c.dim * KVD + 3 * c.dim * c.hiddenDim), head: c.vocabSize * c.dim };
}

/** FLOPs of one training step (forward + backward) on B x T tokens: 6 per weight per token for
 *  every matmul (LM head included), plus attention (q.k and p.v over the causal half), times 3.
 *  With LoRA of rank `loraRank` on every projection, the frozen weights take 4 (forward and the
 *  input's gradient, no weight gradient) and each adapter weight 6. */
export function trainingFlops(c: EngineConfig, B: number, T: number, loraRank = 0): number {
  const QD = c.nHeads * c.headDim, KVD = c.nKvHeads * c.headDim;
  const { layers, head } = linearWeights(c);
  const matmulParams = layers + head;
  const attention = 3 * 2 * 2 * c.nLayers * B * QD * ((T * (T + 1)) / 2);
  if (loraRank === 0) return 6 * matmulParams * B * T + attention;
  // (in + out) of q, k, v, o, gate, up, down
  const adapterParams = loraRank * c.nLayers * ((c.dim + QD) * 2 + (c.dim + KVD) * 2 + (c.dim + c.hiddenDim) * 3);
  return (4 * matmulParams + 6 * adapterParams) * B * T + attention;
}
