// Just enough of the protobuf wire format and of onnx.proto (field numbers from onnx/onnx.proto) to
// write an ONNX model. Messages are lists of byte chunks, so weight buffers are never copied until
// the file is written.

const WIRE_VARINT = 0, WIRE_FIXED32 = 5, WIRE_LEN = 2;

export class Message {
  readonly chunks: Uint8Array[] = [];
  byteLength = 0;

  private push(bytes: Uint8Array): this {
    this.chunks.push(bytes);
    this.byteLength += bytes.length;
    return this;
  }

  private static varintBytes(value: number | bigint): Uint8Array {
    // int64 fields: negative values are their 64-bit two's complement (10 bytes).
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      out.push(byte);
    } while (v > 0n);
    return Uint8Array.from(out);
  }

  private tag(field: number, wire: number): this {
    return this.push(Message.varintBytes((field << 3) | wire));
  }

  int(field: number, value: number | bigint): this {
    return this.tag(field, WIRE_VARINT).push(Message.varintBytes(value));
  }

  float(field: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.tag(field, WIRE_FIXED32).push(b);
  }

  bytes(field: number, data: Uint8Array): this {
    return this.tag(field, WIRE_LEN).push(Message.varintBytes(data.length)).push(data);
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  message(field: number, m: Message): this {
    this.tag(field, WIRE_LEN).push(Message.varintBytes(m.byteLength));
    for (const c of m.chunks) this.push(c);
    return this;
  }

  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const parts = values.map((v) => Message.varintBytes(v));
    const body = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      body.set(p, at);
      at += p.length;
    }
    return this.bytes(field, body);
  }
}

// onnx.proto enums
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export type AttrValue = number | number[] | string | { float: number } | { tensor: Message };

/** AttributeProto: integers become INT(S), { float } a FLOAT, strings a STRING. */
export function attribute(name: string, value: AttrValue): Message {
  const m = new Message().string(1, name);
  if (typeof value === 'number') return m.int(3, value).int(20, AttrType.INT);
  if (typeof value === 'string') return m.string(4, value).int(20, AttrType.STRING);
  if (Array.isArray(value)) return m.packedInts(8, value).int(20, AttrType.INTS);
  if ('float' in value) return m.float(2, value.float).int(20, AttrType.FLOAT);
  return m.message(5, value.tensor).int(20, AttrType.TENSOR);
}

/** NodeProto. */
export function node(op: string, inputs: readonly string[], outputs: readonly string[], name: string, attrs: Record<string, AttrValue> = {}): Message {
  const m = new Message();
  for (const i of inputs) m.string(1, i);
  for (const o of outputs) m.string(2, o);
  m.string(3, name).string(4, op);
  for (const [k, v] of Object.entries(attrs)) m.message(5, attribute(k, v));
  return m;
}

export interface ExternalLocation {
  location: string;
  offset: number;
  length: number;
}

/** TensorProto with raw little-endian data, or pointing at an external data file. */
export function tensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array | ExternalLocation): Message {
  const m = new Message().packedInts(1, dims).int(2, dataType).string(8, name);
  if (raw instanceof Uint8Array) return m.bytes(9, raw);
  for (const [k, v] of [['location', raw.location], ['offset', String(raw.offset)], ['length', String(raw.length)]]) {
    m.message(13, new Message().string(1, k!).string(2, v!));
  }
  return m.int(14, 1);
}

/** ValueInfoProto of a tensor; a string dim is symbolic (dim_param). */
export function valueInfo(name: string, elemType: number, dims: readonly (number | string)[]): Message {
  const shape = new Message();
  for (const d of dims) shape.message(1, typeof d === 'number' ? new Message().int(1, d) : new Message().string(2, d));
  const tensorType = new Message().int(1, elemType).message(2, shape);
  return new Message().string(1, name).message(2, new Message().message(1, tensorType));
}

/** GraphProto. */
export function graph(name: string, nodes: readonly Message[], initializers: readonly Message[], inputs: readonly Message[], outputs: readonly Message[]): Message {
  const m = new Message();
  for (const n of nodes) m.message(1, n);
  m.string(2, name);
  for (const t of initializers) m.message(5, t);
  for (const i of inputs) m.message(11, i);
  for (const o of outputs) m.message(12, o);
  return m;
}

/** ModelProto at IR version 8 with one default-domain opset import. */
export function model(g: Message, opset: number, producer: { name: string; version: string }, metadata: Record<string, string> = {}): Message {
  const m = new Message().int(1, 8).string(2, producer.name).string(3, producer.version).message(7, g);
  m.message(8, new Message().string(1, '').int(2, opset));
  for (const [k, v] of Object.entries(metadata)) m.message(14, new Message().string(1, k).string(2, v));
  return m;
}
