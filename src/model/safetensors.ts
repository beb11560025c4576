// Reader for the safetensors format: an 8-byte little-endian header length, a JSON header of
// {name: {dtype, shape, data_offsets}}, then the raw tensor bytes. Every field is checked against
// the file size before a byte is read, so a truncated or lying file gives a ModelFormatError, never
// a huge allocation or a read past the end.
import fs from 'node:fs';
import { ModelFormatError } from '../errors/model-format-error.js';
import { f16BitsToF32 } from '../util/half.js';

export type DType = 'F32' | 'F16' | 'BF16';
const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };
// A header this long would be absurd; the format's own reference implementation caps it at 100 MB.
const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** Element count (product of shape). */
  size: number;
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export class SafetensorsFile {
  readonly tensors = new Map<string, TensorInfo>();
  readonly metadata: Record<string, string> = {};

  constructor(readonly path: string) {
    const fd = openOrThrow(path);
    try {
      const fileSize = fs.fstatSync(fd).size;
      if (fileSize < 8) throw new ModelFormatError(path, `file is ${fileSize} bytes, too short for a safetensors header`);
      const lenBuf = Buffer.alloc(8);
      fs.readSync(fd, lenBuf, 0, 8, 0);
      const headerLen = lenBuf.readBigUInt64LE(0);
      if (headerLen > BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8))) {
        throw new ModelFormatError(path, `header length ${headerLen} exceeds the file (${fileSize} bytes) or the 100 MB limit`);
      }
      const n = Number(headerLen);
      const headerBuf = Buffer.alloc(n);
      fs.readSync(fd, headerBuf, 0, n, 8);
      let header: unknown;
      try {
        header = JSON.parse(headerBuf.toString('utf8'));
      } catch (e) {
        throw new ModelFormatError(path, `header is not valid JSON (${(e as Error).message})`);
      }
      if (!isRecord(header)) throw new ModelFormatError(path, 'header is not a JSON object');
      this.parseHeader(header, 8 + n, fileSize);
    } finally {
      fs.closeSync(fd);
    }
  }

  private parseHeader(header: Record<string, unknown>, dataStart: number, fileSize: number): void {
    const dataSize = fileSize - dataStart;
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') {
        if (!isRecord(raw)) throw new ModelFormatError(this.path, '__metadata__ is not an object');
        for (const [k, v] of Object.entries(raw)) if (typeof v === 'string') this.metadata[k] = v;
        continue;
      }
      const where = `tensor '${name}'`;
      if (!isRecord(raw)) throw new ModelFormatError(this.path, `${where} is not an object`);
      const { dtype, shape, data_offsets: offsets } = raw;
      if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
        throw new ModelFormatError(this.path, `${where} has dtype ${JSON.stringify(dtype)}; supported: F32, F16, BF16`);
      }
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new ModelFormatError(this.path, `${where} has an invalid shape ${JSON.stringify(shape)}`);
      }
      if (
        !Array.isArray(offsets) || offsets.length !== 2 ||
        !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
      ) {
        throw new ModelFormatError(this.path, `${where} has invalid data_offsets ${JSON.stringify(offsets)}`);
      }
      const [start, end] = offsets as [number, number];
      if (end > dataSize) {
        throw new ModelFormatError(this.path, `${where} ends at byte ${end} of the data section, which has only ${dataSize} bytes (truncated file?)`);
      }
      const size = (shape as number[]).reduce((a, b) => a * b, 1);
      const bytes = size * DTYPE_BYTES[dtype as DType];
      if (end - start !== bytes) {
        throw new ModelFormatError(this.path, `${where}: shape ${JSON.stringify(shape)} of ${dtype} needs ${bytes} bytes but data_offsets span ${end - start}`);
      }
      this.tensors.set(name, { name, dtype: dtype as DType, shape: shape as number[], size, begin: dataStart + start, end: dataStart + end });
    }
    // Tensors must not overlap: a header that points two tensors at the same bytes is lying.
    const sorted = [...this.tensors.values()].sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!, cur = sorted[i]!;
      if (cur.begin < prev.end) throw new ModelFormatError(this.path, `tensors '${prev.name}' and '${cur.name}' overlap`);
    }
  }

  /** Reads tensor `name` as float32 into `dest` (which must have exactly its element count). */
  readInto(name: string, dest: Float32Array, fd?: number): void {
    const t = this.tensor(name, dest.length);
    if (t.dtype === 'F32') {
      this.readBytes(t, new Uint8Array(dest.buffer, dest.byteOffset, t.end - t.begin), fd);
      return;
    }
    const half = new Uint16Array(t.size);
    this.readBytes(t, new Uint8Array(half.buffer), fd);
    if (t.dtype === 'BF16') convertBf16(half, dest);
    else convertF16(half, dest);
  }

  /**
   * Reads tensor `name`'s raw bf16 / f16 bits into `dest`, unconverted: the tensor must be stored as
   * `dtype` (the engine packs such weights for inference without widening them).
   */
  readHalfInto(name: string, dtype: 'BF16' | 'F16', dest: Uint16Array): void {
    const t = this.tensor(name, dest.length);
    if (t.dtype !== dtype) throw new ModelFormatError(this.path, `tensor '${name}' is ${t.dtype}, not ${dtype}`);
    this.readBytes(t, new Uint8Array(dest.buffer, dest.byteOffset, t.end - t.begin));
  }

  /** Tensor `name`, which must hold `count` elements. */
  private tensor(name: string, count: number): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new ModelFormatError(this.path, `missing tensor '${name}'`);
    if (count !== t.size) throw new ModelFormatError(this.path, `tensor '${name}' has ${t.size} elements, expected ${count}`);
    return t;
  }

  /** The stored bytes of `t` into `into` (through `fd` when given, else a descriptor of its own). */
  private readBytes(t: TensorInfo, into: Uint8Array, fd?: number): void {
    const own = fd === undefined ? openOrThrow(this.path) : fd;
    try {
      readFully(own, into, t.begin, this.path);
    } finally {
      if (fd === undefined) fs.closeSync(own);
    }
  }
}

function readFully(fd: number, into: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < into.length) {
    const n = fs.readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new ModelFormatError(file, `unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

function openOrThrow(path: string): number {
  try {
    return fs.openSync(path, 'r');
  } catch (e) {
    throw new ModelFormatError(path, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function convertBf16(src: Uint16Array, dest: Float32Array): void {
  const out = new Uint32Array(dest.buffer, dest.byteOffset, dest.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
}

// IEEE half -> float, including subnormals, infinities and NaN.
function convertF16(src: Uint16Array, dest: Float32Array): void {
  for (let i = 0; i < src.length; i++) dest[i] = f16BitsToF32(src[i]!);
}
