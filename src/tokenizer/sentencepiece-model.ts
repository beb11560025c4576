/**
 * A minimal reader for SentencePiece `.model` files (protobuf `ModelProto`), for what sentencepiece-js
 * does not expose: the piece list with piece types, and the special ids. It also catches files that are
 * not models at all, which sentencepiece-js would load silently (and then encode everything to []).
 *
 * Field numbers from sentencepiece_model.proto:
 *   ModelProto:     1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
 *   SentencePiece:  1 piece (string), 2 score (float), 3 type (enum, default NORMAL)
 *   TrainerSpec:    40 unk_id (default 0), 41 bos_id (1), 42 eos_id (2), 43 pad_id (-1)
 */

export enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface SentencePieceModel {
  /** Each piece with its type and score (the merge priority of BPE models, the log-probability of unigram ones). */
  readonly pieces: readonly { readonly piece: string; readonly type: PieceType; readonly score: number }[];
  /** -1 where the model has none. */
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

class ProtoReader {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    private readonly fail: (problem: string) => never,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint's low 32 bits as a signed int (how protobuf stores int32, negatives included). */
  int32(): number {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) this.fail(`varint runs past the end of its message at byte ${this.pos}`);
      const b = this.buf[this.pos++] ?? 0;
      if (shift < 32) result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result | 0;
    }
    return this.fail(`varint longer than 10 bytes at byte ${this.pos}`);
  }

  /** A fixed32 field read as a little-endian float. */
  float32(): number {
    if (this.pos + 4 > this.end) this.fail(`float runs past the end at byte ${this.pos}`);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** A length-delimited field's bounds, checked against the enclosing message. */
  span(): { start: number; end: number } {
    const len = this.int32() >>> 0;
    const start = this.pos;
    if (len > this.end - start) this.fail(`field of ${len} bytes at byte ${start} runs past the end (${this.end})`);
    this.pos = start + len;
    return { start, end: start + len };
  }

  /** A length-delimited field's bytes (a view, not a copy). */
  bytes(): Uint8Array {
    const { start, end } = this.span();
    return this.buf.subarray(start, end);
  }

  tag(): { field: number; wire: number } {
    const key = this.int32() >>> 0;
    return { field: key >>> 3, wire: key & 7 };
  }

  skip(wire: number): void {
    const widths: Record<number, number> = { [WIRE_FIXED64]: 8, [WIRE_FIXED32]: 4 };
    if (wire === WIRE_VARINT) this.int32();
    else if (wire === WIRE_LEN) this.span();
    else if (widths[wire] !== undefined) {
      const w = widths[wire];
      if (this.pos + w > this.end) this.fail(`fixed-width field runs past the end at byte ${this.pos}`);
      this.pos += w;
    } else this.fail(`unsupported protobuf wire type ${wire} at byte ${this.pos}`);
  }

  sub(span: { start: number; end: number }): ProtoReader {
    return new ProtoReader(this.buf, this.fail, span.start, span.end);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseSentencePieceModel(buf: Uint8Array, file: string): SentencePieceModel {
  const fail = (problem: string): never => {
    throw new Error(`SentencePiece model ${file}: ${problem}`);
  };
  const pieces: { piece: string; type: PieceType; score: number }[] = [];
  const ids = { unkId: 0, bosId: 1, eosId: 2, padId: -1 };
  const top = new ProtoReader(buf, fail);
  while (!top.done) {
    const { field, wire } = top.tag();
    if (field === 1 && wire === WIRE_LEN) pieces.push(readPiece(top.sub(top.span()), fail, pieces.length));
    else if (field === 2 && wire === WIRE_LEN) readTrainerIds(top.sub(top.span()), ids);
    else if (field === 0) fail('field number 0: not a protobuf message');
    else top.skip(wire);
  }
  if (pieces.length === 0) fail('no pieces: not a SentencePiece model');
  for (const [name, id] of Object.entries(ids)) {
    if (id < -1 || id >= pieces.length) fail(`${name} ${id} is outside the ${pieces.length} pieces`);
  }
  return { pieces, ...ids };
}

function readPiece(r: ProtoReader, fail: (problem: string) => never, index: number): { piece: string; type: PieceType; score: number } {
  let piece: string | undefined;
  let type = PieceType.Normal;
  let score = 0;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) {
      const bytes = r.bytes();
      try {
        piece = utf8.decode(bytes);
      } catch {
        fail(`piece ${index} is not valid UTF-8`);
      }
    } else if (field === 2 && wire === WIRE_FIXED32) {
      score = r.float32();
    } else if (field === 3 && wire === WIRE_VARINT) {
      type = r.int32();
      if (!(type in PieceType)) fail(`piece ${index} has unknown type ${type}`);
    } else r.skip(wire);
  }
  if (piece === undefined) return fail(`piece ${index} has no text`);
  return { piece, type, score };
}

function readTrainerIds(r: ProtoReader, ids: { unkId: number; bosId: number; eosId: number; padId: number }): void {
  const fields: Record<number, keyof typeof ids> = { 40: 'unkId', 41: 'bosId', 42: 'eosId', 43: 'padId' };
  while (!r.done) {
    const { field, wire } = r.tag();
    const name = fields[field];
    if (name !== undefined && wire === WIRE_VARINT) ids[name] = r.int32();
    else r.skip(wire);
  }
}
