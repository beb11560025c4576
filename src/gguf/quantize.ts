// Tensor data in the GGUF types we write: f32 as is, f16/bf16 rounded to nearest even, and q8_0
// exactly as ggml's quantize_row_q8_0_ref: blocks of 32 values, scale d = max|x| / 127 stored as
// f16, q = round(x / d) (half away from zero, as C's roundf).
import { f32ToBf16Bits, f32ToF16Bits } from '../util/half.js';
import { GgmlType } from './format.js';

const QK8_0 = 32;

function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % QK8_0 !== 0) throw new RangeError(`q8_0 needs a multiple of ${QK8_0} values, got ${x.length}`);
  const blocks = x.length / QK8_0;
  const out = new Uint8Array(blocks * 34);
  const view = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = 0; j < QK8_0; j++) amax = Math.max(amax, Math.abs(x[b * QK8_0 + j]!));
    // float arithmetic as in C: d and its inverse are float32 values.
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    view.setUint16(b * 34, f32ToF16Bits(d), true);
    for (let j = 0; j < QK8_0; j++) {
      const v = Math.fround(x[b * QK8_0 + j]! * id);
      view.setInt8(b * 34 + 2 + j, Math.sign(v) * Math.round(Math.abs(v)));
    }
  }
  return out;
}

function toHalf(x: Float32Array, convert: (v: number) => number): Uint8Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = convert(x[i]!);
  return new Uint8Array(out.buffer);
}

/** `x` (row-major, rows a multiple of the type's block) as the bytes of a `type` tensor. */
export function encodeTensor(x: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case GgmlType.F32:
      return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    case GgmlType.F16:
      return toHalf(x, f32ToF16Bits);
    case GgmlType.BF16:
      return toHalf(x, f32ToBf16Bits);
    case GgmlType.Q8_0:
      return quantizeQ8_0(x);
  }
}
