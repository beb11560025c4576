// RoPE pairs dimensions differently in llama2.c and Hugging Face checkpoints. llama2.c
// ('interleaved') rotates the pairs (2i, 2i+1) of each head; HF ('rotate-half') rotates
// (i, i + HS/2), with the same frequency for pair i. Reordering the output rows of wq and wk (and
// their biases) within each head, new row order [0, 2, 4, ..., HS-2, 1, 3, ..., HS-1], turns one
// into the other exactly: q.k per head is a sum over the same products, only in another order.
// This is the permutation of transformers' convert_llama_weights_to_hf.py, inverted.

/** Row `r` of a rotate-half head comes from row `source[r]` of the interleaved head. */
function interleavedSource(headDim: number): Int32Array {
  if (headDim % 2 !== 0) throw new RangeError(`RoPE needs an even head dimension, got ${headDim}`);
  const half = headDim / 2;
  const source = new Int32Array(headDim);
  for (let i = 0; i < half; i++) {
    source[i] = 2 * i;
    source[half + i] = 2 * i + 1;
  }
  return source;
}

/**
 * Reorders the rows of a (heads * headDim, cols) row-major matrix (or a bias, cols = 1) head by
 * head: 'to-rotate-half' converts llama2.c rows to HF order, 'to-interleaved' back. Returns a copy.
 */
export function permuteRopeRows(m: Float32Array, headDim: number, cols: number, direction: 'to-rotate-half' | 'to-interleaved'): Float32Array {
  const rows = m.length / cols;
  if (!Number.isInteger(rows) || rows % headDim !== 0) {
    throw new RangeError(`a matrix of ${m.length} values is not (heads * ${headDim}) rows of ${cols}`);
  }
  const source = interleavedSource(headDim);
  const out = new Float32Array(m.length);
  for (let h = 0; h < rows / headDim; h++) {
    for (let r = 0; r < headDim; r++) {
      const hf = (h * headDim + r) * cols;
      const l2c = (h * headDim + source[r]!) * cols;
      if (direction === 'to-rotate-half') out.set(m.subarray(l2c, l2c + cols), hf);
      else out.set(m.subarray(hf, hf + cols), l2c);
    }
  }
  return out;
}
