// GGUF (version 3), the file format of llama.cpp, Ollama, LM Studio and node-llama-cpp, as
// ggml/docs/gguf.md defines it: a header, typed key/value metadata, tensor descriptors, then the
// tensor data, each piece aligned to `general.alignment` (32 by default). Little-endian throughout.

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (gguf_type). */
export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** The tensor types we write and read (ggml_type ids). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q8_0 = 8,
  BF16 = 30,
}

/** Values per block and bytes per block of each tensor type. */
export const GGML_BLOCK: Record<GgmlType, { values: number; bytes: number }> = {
  [GgmlType.F32]: { values: 1, bytes: 4 },
  [GgmlType.F16]: { values: 1, bytes: 2 },
  [GgmlType.BF16]: { values: 1, bytes: 2 },
  [GgmlType.Q8_0]: { values: 32, bytes: 34 }, // one f16 scale, 32 int8
};

/** llama.cpp's general.file_type (llama_ftype): what most tensors are stored as. */
export const FILE_TYPE = { f32: 0, f16: 1, q8_0: 7, bf16: 32 } as const;
export type GgufDtype = keyof typeof FILE_TYPE;
export const GGUF_DTYPES = Object.keys(FILE_TYPE) as GgufDtype[];

/** llama.cpp's token types (llama_token_type) are SentencePiece's piece types, number for number. */
export { PieceType as TokenType } from '../tokenizer/sentencepiece-model.js';

/** A typed metadata value; arrays hold one element type. */
export type GgufValue =
  | { type: GgufValueType.UINT32 | GgufValueType.INT32 | GgufValueType.FLOAT32 | GgufValueType.UINT8 | GgufValueType.INT8 | GgufValueType.UINT16 | GgufValueType.INT16 | GgufValueType.FLOAT64; value: number }
  | { type: GgufValueType.UINT64 | GgufValueType.INT64; value: bigint }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.STRING; value: string }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.STRING; value: string[] }
  | { type: GgufValueType.ARRAY; itemType: Exclude<GgufValueType, GgufValueType.STRING | GgufValueType.ARRAY | GgufValueType.BOOL | GgufValueType.UINT64 | GgufValueType.INT64>; value: number[] | Float32Array | Int32Array };

/** Bytes of a tensor with `dims` (ggml order: dims[0] is the contiguous one) stored as `type`. */
export function tensorBytes(dims: readonly number[], type: GgmlType): number {
  const { values, bytes } = GGML_BLOCK[type];
  if (dims[0]! % values !== 0) throw new RangeError(`a ${GgmlType[type]} tensor needs rows of a multiple of ${values} values, got ${dims[0]}`);
  return (dims.reduce((n, d) => n * d, 1) / values) * bytes;
}

export const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;
