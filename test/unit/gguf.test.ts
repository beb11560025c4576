// The GGUF pieces that need no model: half-precision rounding, and the writer and reader agreeing
// on every metadata type, tensor offset and alignment.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/util/half.js';
import { GgmlType, GgufValueType, type GgufValue } from '../../src/gguf/format.js';
import { encodeTensor } from '../../src/gguf/quantize.js';
import { readGguf, readGgufTensorData } from '../../src/gguf/reader.js';
import { writeGguf } from '../../src/gguf/writer.js';

test('f16: exact values, rounding to nearest even, subnormals, overflow', () => {
  expect(f32ToF16Bits(1)).toBe(0x3c00);
  expect(f32ToF16Bits(-2)).toBe(0xc000);
  expect(f32ToF16Bits(65504)).toBe(0x7bff);
  expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds up past the largest half: infinity
  expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00); // a tie goes to the even mantissa
  expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
  expect(f32ToF16Bits(2 ** -25)).toBe(0x0000); // a tie with zero goes to zero
  expect(f32ToF16Bits(3 * 2 ** -25)).toBe(0x0002);
  expect(f32ToF16Bits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the normals
  expect(f32ToF16Bits(NaN) & 0x7c00).toBe(0x7c00);
  for (const x of [0.1, -3.14159, 1e-5, 1234.5678]) expect(Math.abs(f16BitsToF32(f32ToF16Bits(x)) - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -11, 2 ** -25)); // subnormals: half of 2^-24
});

test('bf16: the top half of float32, rounded to nearest even', () => {
  expect(f32ToBf16Bits(1)).toBe(0x3f80);
  expect(f32ToBf16Bits(-1)).toBe(0xbf80);
  expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie to even
  expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  expect(f32ToBf16Bits(NaN) & 0x7f80).toBe(0x7f80);
});

test('q8_0 blocks: one f16 scale and 32 int8 values, as ggml rounds them', () => {
  const x = Float32Array.from({ length: 64 }, (_, i) => (i < 32 ? (i - 16) / 8 : 0));
  const q = encodeTensor(x, GgmlType.Q8_0);
  expect(q.length).toBe(68);
  const v = new DataView(q.buffer);
  expect(f16BitsToF32(v.getUint16(0, true))).toBeCloseTo(2 / 127, 4); // max |x| = 2
  expect(v.getInt8(2)).toBe(-127); // x = -2
  expect(v.getInt8(2 + 16)).toBe(0);
  expect(v.getInt8(2 + 20)).toBe(32); // 0.5 / (2/127) = 31.75
  expect(v.getUint16(34, true)).toBe(0); // an all-zero block has scale 0
  expect(() => encodeTensor(new Float32Array(33), GgmlType.Q8_0)).toThrow(/multiple of 32/);
});

test('writer and reader agree on every metadata type, tensor offsets and alignment', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-gguf-unit-'));
  try {
    const file = path.join(dir, 'x.gguf');
    const metadata = new Map<string, GgufValue>([
      ['u8', { type: GgufValueType.UINT8, value: 200 }],
      ['i8', { type: GgufValueType.INT8, value: -5 }],
      ['u16', { type: GgufValueType.UINT16, value: 60000 }],
      ['i16', { type: GgufValueType.INT16, value: -300 }],
      ['u32', { type: GgufValueType.UINT32, value: 4e9 }],
      ['i32', { type: GgufValueType.INT32, value: -2e9 }],
      ['f32', { type: GgufValueType.FLOAT32, value: 0.5 }],
      ['f64', { type: GgufValueType.FLOAT64, value: Math.PI }],
      ['u64', { type: GgufValueType.UINT64, value: 2n ** 40n }],
      ['i64', { type: GgufValueType.INT64, value: -(2n ** 40n) }],
      ['bool', { type: GgufValueType.BOOL, value: true }],
      ['str', { type: GgufValueType.STRING, value: 'héllo ▁' }],
      ['strs', { type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value: ['a', '', '▁b'] }],
      ['f32s', { type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value: Float32Array.of(1, -2.5) }],
    ]);
    const a = Float32Array.from({ length: 3 * 5 }, (_, i) => i); // 60 bytes: the next tensor needs padding
    const b = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const { bytes } = writeGguf(file, metadata, [
      { name: 'a', dims: [5, 3], type: GgmlType.F32, data: () => encodeTensor(a, GgmlType.F32) },
      { name: 'b', dims: [32, 2], type: GgmlType.F16, data: () => encodeTensor(b, GgmlType.F16) },
    ]);
    expect(fs.statSync(file).size).toBe(bytes);
    const g = readGguf(file);
    expect(g.version).toBe(3);
    expect(Object.fromEntries(g.metadata)).toEqual({
      u8: 200, i8: -5, u16: 60000, i16: -300, u32: 4e9, i32: -2e9, f32: 0.5, f64: Math.PI, u64: 2n ** 40n, i64: -(2n ** 40n),
      bool: true, str: 'héllo ▁', strs: ['a', '', '▁b'], f32s: [1, -2.5],
    });
    expect(g.tensors.map((t) => [t.name, t.dims, t.type, t.bytes])).toEqual([['a', [5, 3], 0, 60], ['b', [32, 2], 1, 128]]);
    expect(g.tensors.every((t) => t.offset % 32 === 0)).toBe(true);
    expect(new Float32Array(readGgufTensorData(file, g.tensors[0]!).slice().buffer)).toEqual(a);
    expect(() => readGguf(path.join(dir, 'nope.gguf'))).toThrow();
    fs.writeFileSync(path.join(dir, 'bad.gguf'), fs.readFileSync(file).subarray(0, 100));
    expect(() => readGguf(path.join(dir, 'bad.gguf'))).toThrow(/not a complete GGUF file|larger than the file|runs past the end/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
