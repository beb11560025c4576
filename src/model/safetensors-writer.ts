// Writer for the safetensors format (the reader is safetensors.ts): F32 tensors packed back to back
// in the order given, a JSON header padded with spaces to a multiple of 8 bytes as the reference
// implementation does (so that every tensor starts 8-byte aligned when the file is mapped), and
// the whole file written atomically so that a kill never leaves a truncated checkpoint behind.
import os from 'node:os';
import { atomicWriteWith, writeAll } from '../util/atomic.js';

export interface F32Tensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

// The bytes are written as they lie in memory; safetensors is little-endian.
const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Builds the header bytes (length prefix excluded), checking every tensor; errors name `file`. */
export function safetensorsHeader(file: string, tensors: readonly F32Tensor[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`${file}: metadata '${k}' must be a string (safetensors stores only strings), got ${typeof v}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    const where = `${file}: tensor '${t.name}'`;
    if (typeof t.name !== 'string' || t.name === '' || t.name === '__metadata__') throw new TypeError(`${file}: invalid tensor name ${JSON.stringify(t.name)}`);
    if (Object.hasOwn(header, t.name)) throw new TypeError(`${where} appears twice`);
    if (!(t.data instanceof Float32Array)) throw new TypeError(`${where}: data must be a Float32Array`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new TypeError(`${where}: invalid shape ${JSON.stringify(t.shape)}`);
    }
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new RangeError(`${where}: shape ${JSON.stringify(t.shape)} holds ${size} elements but data has ${t.data.length}`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  return Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
}

/**
 * Writes `tensors` (F32) to `file` in the given order, with optional string metadata, atomically
 * (temporary sibling + fsync + rename). Tensor data is written straight from the arrays, so a
 * multi-gigabyte model needs no second copy in memory.
 */
export function writeSafetensors(file: string, tensors: readonly F32Tensor[], metadata?: Record<string, string>): void {
  if (!LITTLE_ENDIAN) throw new Error(`${file}: writing safetensors needs a little-endian machine`);
  const header = safetensorsHeader(file, tensors, metadata);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  atomicWriteWith(file, (fd) => {
    writeAll(fd, len);
    writeAll(fd, header);
    for (const t of tensors) writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  });
}
