// Writes a GGUF file: metadata first, then tensors streamed one at a time (each converted when it
// is written), so a model is never held twice in memory. The file is written aside and renamed
// into place, so a kill leaves the old file or the new one, never half of one.
import { atomicWriteWith, writeAll } from '../util/atomic.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, GgufValueType, alignUp, tensorBytes, type GgmlType, type GgufValue } from './format.js';

export interface GgufTensor {
  /** llama.cpp's name, e.g. blk.0.attn_q.weight. */
  name: string;
  /** ggml order: dims[0] is the contiguous (row) dimension, so a PyTorch (out, in) matrix is [in, out]. */
  dims: number[];
  type: GgmlType;
  /** The tensor's bytes in `type`, produced when it is written. */
  data: () => Uint8Array;
}

/** Little-endian byte builder for the header and metadata. */
class Bytes {
  private chunks: Uint8Array[] = [];
  length = 0;

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  private fixed(n: number, set: (v: DataView) => void): void {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    this.push(b);
  }
  u32(v: number): void { this.fixed(4, (d) => d.setUint32(0, v, true)); }
  u64(v: number | bigint): void { this.fixed(8, (d) => d.setBigUint64(0, BigInt(v), true)); }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  scalar(type: GgufValueType, v: number | bigint | boolean): void {
    switch (type) {
      case GgufValueType.UINT8: return this.fixed(1, (d) => d.setUint8(0, v as number));
      case GgufValueType.INT8: return this.fixed(1, (d) => d.setInt8(0, v as number));
      case GgufValueType.UINT16: return this.fixed(2, (d) => d.setUint16(0, v as number, true));
      case GgufValueType.INT16: return this.fixed(2, (d) => d.setInt16(0, v as number, true));
      case GgufValueType.UINT32: return this.fixed(4, (d) => d.setUint32(0, v as number, true));
      case GgufValueType.INT32: return this.fixed(4, (d) => d.setInt32(0, v as number, true));
      case GgufValueType.FLOAT32: return this.fixed(4, (d) => d.setFloat32(0, v as number, true));
      case GgufValueType.FLOAT64: return this.fixed(8, (d) => d.setFloat64(0, v as number, true));
      case GgufValueType.UINT64: return this.fixed(8, (d) => d.setBigUint64(0, BigInt(v as bigint), true));
      case GgufValueType.INT64: return this.fixed(8, (d) => d.setBigInt64(0, BigInt(v as bigint), true));
      case GgufValueType.BOOL: return this.fixed(1, (d) => d.setUint8(0, v ? 1 : 0));
      default: throw new RangeError(`not a scalar GGUF type: ${type}`);
    }
  }
  value(v: GgufValue): void {
    this.u32(v.type);
    if (v.type === GgufValueType.STRING) return this.string(v.value);
    if (v.type !== GgufValueType.ARRAY) return this.scalar(v.type, v.value);
    this.u32(v.itemType);
    this.u64(v.value.length);
    if (v.itemType === GgufValueType.STRING) for (const s of v.value as string[]) this.string(s);
    else for (const x of v.value as Iterable<number>) this.scalar(v.itemType, x);
  }
  padTo(alignment: number): void {
    const pad = alignUp(this.length, alignment) - this.length;
    if (pad > 0) this.push(new Uint8Array(pad));
  }
  concat(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

/** Writes `file` (atomically) with `metadata` in its order and `tensors` in theirs. */
export function writeGguf(file: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): { bytes: number } {
  const alignedBy = metadata.get('general.alignment');
  const alignment = alignedBy && alignedBy.type === GgufValueType.UINT32 ? alignedBy.value : GGUF_DEFAULT_ALIGNMENT;
  const head = new Bytes();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.size);
  for (const [key, v] of metadata) {
    head.string(key);
    head.value(v);
  }
  // Offsets are relative to the data section, each aligned.
  let offset = 0;
  let end = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    const size = tensorBytes(t.dims, t.type);
    head.string(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(t.type);
    head.u64(offset);
    sizes.push(size);
    end = offset + size;
    offset = alignUp(end, alignment);
  }
  head.padTo(alignment);
  atomicWriteWith(file, (fd) => {
    writeAll(fd, head.concat());
    tensors.forEach((t, i) => {
      const data = t.data();
      if (data.length !== sizes[i]) throw new RangeError(`tensor ${t.name}: ${data.length} bytes produced, ${sizes[i]} expected`);
      writeAll(fd, data);
      const pad = alignUp(sizes[i]!, alignment) - sizes[i]!;
      if (pad > 0 && i < tensors.length - 1) writeAll(fd, new Uint8Array(pad));
    });
  });
  // The last tensor is not padded: the file ends with its data.
  return { bytes: head.length + end };
}
