// Loads a llama2.c legacy checkpoint (.bin): seven int32 header fields (dim, hidden_dim, n_layers,
// n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means an unshared classifier),
// then float32 tensors in a fixed order, including two RoPE tables that we recompute instead.
import fs from 'node:fs';
import type { EngineConfig } from '../native/binding.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { PackedWeights } from './layout.js';

const HEADER_BYTES = 28;
const LIMITS = { dim: 1 << 16, hidden: 1 << 18, layers: 1024, heads: 1024, vocab: 1 << 22, seq: 1 << 20 };

export function loadLlama2cCheckpoint(file: string): { config: EngineConfig; weights: PackedWeights } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new ModelFormatError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < HEADER_BYTES) throw new ModelFormatError(file, `is ${size} bytes, too short for a llama2.c header`);
    const header = Buffer.alloc(HEADER_BYTES);
    fs.readSync(fd, header, 0, HEADER_BYTES, 0);
    const [dim, hidden, layers, heads, kvHeads, vocabRaw, seqLen] = Array.from({ length: 7 }, (_, i) => header.readInt32LE(i * 4)) as [
      number, number, number, number, number, number, number,
    ];
    const check = (name: string, v: number, max: number): void => {
      if (v <= 0 || v > max) throw new ModelFormatError(file, `header field ${name} = ${v} is out of range [1, ${max}] (not a llama2.c checkpoint?)`);
    };
    check('dim', dim, LIMITS.dim);
    check('hidden_dim', hidden, LIMITS.hidden);
    check('n_layers', layers, LIMITS.layers);
    check('n_heads', heads, LIMITS.heads);
    check('n_kv_heads', kvHeads, LIMITS.heads);
    check('|vocab_size|', Math.abs(vocabRaw), LIMITS.vocab);
    check('seq_len', seqLen, LIMITS.seq);
    if (dim % heads !== 0) throw new ModelFormatError(file, `dim ${dim} is not a multiple of n_heads ${heads}`);
    if (heads % kvHeads !== 0) throw new ModelFormatError(file, `n_heads ${heads} is not a multiple of n_kv_heads ${kvHeads}`);
    const shared = vocabRaw > 0;
    const vocab = Math.abs(vocabRaw);
    const hs = dim / heads;
    const kvd = kvHeads * hs;
    const config: EngineConfig = {
      dim, hiddenDim: hidden, nLayers: layers, nHeads: heads, nKvHeads: kvHeads, headDim: hs,
      vocabSize: vocab, maxSeqLen: seqLen, rmsEps: 1e-5, ropeTheta: 10000, ropeStyle: 'interleaved',
      tiedEmbeddings: shared, qkvBias: false, bosId: 1, eosId: 2,
    };
    // The file order, in floats; the two RoPE tables (seq_len x hs/2 each) are skipped.
    const L = layers;
    const order: Array<[string, number]> = [
      ['tokEmb', vocab * dim], ['attnNorm', L * dim], ['wq', L * dim * dim], ['wk', L * kvd * dim],
      ['wv', L * kvd * dim], ['wo', L * dim * dim], ['mlpNorm', L * dim], ['wGate', L * hidden * dim],
      ['wDown', L * dim * hidden], ['wUp', L * hidden * dim], ['finalNorm', dim], ['ropeTables', seqLen * hs],
    ];
    if (!shared) order.push(['lmHead', vocab * dim]);
    const floats = order.reduce((n, [, c]) => n + c, 0);
    const expected = HEADER_BYTES + floats * 4;
    if (size !== expected) {
      throw new ModelFormatError(file, `is ${size} bytes but its header implies ${expected} (truncated or not a llama2.c checkpoint)`);
    }
    const weights = new PackedWeights(config);
    let pos = HEADER_BYTES;
    for (const [name, count] of order) {
      if (name !== 'ropeTables') {
        const dest = weights.view(name as Parameters<PackedWeights['view']>[0]);
        if (dest.length !== count) throw new ModelFormatError(file, `internal layout mismatch for ${name}`);
        const bytes = new Uint8Array(dest.buffer, dest.byteOffset, count * 4);
        let done = 0;
        while (done < bytes.length) {
          const n = fs.readSync(fd, bytes, done, bytes.length - done, pos + done);
          if (n === 0) throw new ModelFormatError(file, 'unexpected end of file');
          done += n;
        }
      }
      pos += count * 4;
    }
    return { config, weights };
  } finally {
    fs.closeSync(fd);
  }
}
