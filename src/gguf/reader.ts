// Reads a GGUF file's metadata and tensor descriptors (and, on request, a tensor's bytes): what the
// tests use to check what export-gguf wrote, and what `rlcd export-gguf` checks before replacing a
// file. Every length and offset is checked against the file before it is used.
import fs from 'node:fs';
import { GGML_BLOCK, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GgmlType, GgufValueType, alignUp, tensorBytes } from './format.js';

export type GgufMetadataValue = number | bigint | boolean | string | Array<number | bigint | boolean | string>;

export interface GgufTensorInfo {
  name: string;
  dims: number[];
  type: GgmlType;
  /** Absolute offset of the data in the file. */
  offset: number;
  bytes: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
}

/** Thrown when the header reaches past the part of the file read so far. */
class NeedMore extends Error {}

class Cursor {
  pos = 0;
  constructor(private readonly buf: Buffer, private readonly file: string, private readonly fileSize: number) {}
  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.buf.length < this.fileSize) throw new NeedMore();
    throw new Error(`${this.file}: not a complete GGUF file (needs ${n} bytes at offset ${this.pos}, has ${this.buf.length})`);
  }
  u8(): number { this.need(1); return this.buf.readUInt8(this.pos++); }
  u32(): number { this.need(4); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  u64(): bigint { this.need(8); const v = this.buf.readBigUInt64LE(this.pos); this.pos += 8; return v; }
  size(what: string): number {
    const v = this.u64();
    if (v > BigInt(this.fileSize)) throw new Error(`${this.file}: ${what} ${v} is larger than the file`);
    return Number(v);
  }
  string(): string {
    const n = this.size('string length');
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  scalar(type: GgufValueType): number | bigint | boolean | string {
    const b = this.buf;
    const at = (n: number): number => { this.need(n); const p = this.pos; this.pos += n; return p; };
    switch (type) {
      case GgufValueType.UINT8: return b.readUInt8(at(1));
      case GgufValueType.INT8: return b.readInt8(at(1));
      case GgufValueType.UINT16: return b.readUInt16LE(at(2));
      case GgufValueType.INT16: return b.readInt16LE(at(2));
      case GgufValueType.UINT32: return b.readUInt32LE(at(4));
      case GgufValueType.INT32: return b.readInt32LE(at(4));
      case GgufValueType.FLOAT32: return b.readFloatLE(at(4));
      case GgufValueType.FLOAT64: return b.readDoubleLE(at(8));
      case GgufValueType.UINT64: return b.readBigUInt64LE(at(8));
      case GgufValueType.INT64: return b.readBigInt64LE(at(8));
      case GgufValueType.BOOL: return b.readUInt8(at(1)) !== 0;
      case GgufValueType.STRING: return this.string();
      default: throw new Error(`${this.file}: unknown metadata type ${type} at offset ${this.pos}`);
    }
  }
  value(): GgufMetadataValue {
    const type = this.u32();
    if (type !== GgufValueType.ARRAY) return this.scalar(type);
    const itemType = this.u32();
    const n = this.size('array length');
    const out: Array<number | bigint | boolean | string> = [];
    for (let i = 0; i < n; i++) out.push(this.scalar(itemType));
    return out;
  }
}

/** The GGUF file's header, metadata and tensor descriptors (only the header is read, however large the file). */
export function readGguf(file: string): GgufFile {
  const fileSize = fs.statSync(file).size;
  for (let prefix = 1 << 20; ; prefix *= 4) {
    const fd = fs.openSync(file, 'r');
    let buf: Buffer;
    try {
      buf = Buffer.alloc(Math.min(prefix, fileSize));
      fs.readSync(fd, buf, 0, buf.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    try {
      return parseHeader(buf, file, fileSize);
    } catch (e) {
      if (!(e instanceof NeedMore)) throw e;
    }
  }
}

function parseHeader(buf: Buffer, file: string, fileSize: number): GgufFile {
  const c = new Cursor(buf, file, fileSize);
  if (buf.length < 8 || c.u32() !== GGUF_MAGIC) throw new Error(`${file}: not a GGUF file (no GGUF magic)`);
  const version = c.u32();
  if (version < 2 || version > 3) throw new Error(`${file}: GGUF version ${version}, expected 2 or 3`);
  const nTensors = c.size('tensor count');
  const nKv = c.size('metadata count');
  const metadata = new Map<string, GgufMetadataValue>();
  for (let i = 0; i < nKv; i++) metadata.set(c.string(), c.value());
  const alignment = typeof metadata.get('general.alignment') === 'number' ? (metadata.get('general.alignment') as number) : GGUF_DEFAULT_ALIGNMENT;
  const raw: Array<Omit<GgufTensorInfo, 'offset' | 'bytes'> & { rel: number }> = [];
  for (let i = 0; i < nTensors; i++) {
    const name = c.string();
    const nDims = c.u32();
    if (nDims < 1 || nDims > 4) throw new Error(`${file}: tensor ${name} has ${nDims} dimensions`);
    const dims = Array.from({ length: nDims }, () => c.size(`tensor ${name} dimension`));
    const type = c.u32();
    if (!(type in GGML_BLOCK)) throw new Error(`${file}: tensor ${name} has type ${type}, which this reader does not know`);
    raw.push({ name, dims, type, rel: c.size(`tensor ${name} offset`) });
  }
  const dataStart = alignUp(c.pos, alignment);
  const tensors = raw.map(({ rel, ...t }) => {
    const bytes = tensorBytes(t.dims, t.type);
    const offset = dataStart + rel;
    if (offset + bytes > fileSize) throw new Error(`${file}: tensor ${t.name} (${bytes} bytes at ${offset}) runs past the end of the file`);
    return { ...t, offset, bytes };
  });
  return { version, metadata, tensors, alignment };
}

/** True when `file` starts with the GGUF magic. */
export function isGgufFile(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const b = Buffer.alloc(4);
      return fs.readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32LE(0) === GGUF_MAGIC;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** The bytes of one tensor. */
export function readGgufTensorData(file: string, t: GgufTensorInfo): Uint8Array {
  const out = Buffer.alloc(t.bytes);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, out, 0, t.bytes, t.offset);
  } finally {
    fs.closeSync(fd);
  }
  return out;
}
