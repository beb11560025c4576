/**
 * llama2.c `tokenizer.bin`: int32 max_token_length, then per vocab entry float32 score, int32 len and
 * len bytes (little-endian). The file does not store the vocab size; the model header does.
 * Encoding and decoding follow llama2.c run.c exactly, so ids match the checkpoints trained with it.
 */
import { checkEncodeArgs } from './types.js';
import { readFile } from 'node:fs/promises';
import type { Tokenizer } from './types.js';
import { mergeByScore } from './score-merge.js';
import { buildTextIndex, bytePieceValue, checkIds, concatBytes, utf8Decode, utf8Encode } from './bytes.js';

export const LLAMA2C_BOS = 1;
export const LLAMA2C_EOS = 2;
/** run.c's byte fallback: byte b is token b + 3 (after <unk>, <s>, </s>). */
const BYTE_OFFSET = 3;
const SPACE = 0x20;

export interface Llama2cVocab {
  /** Raw piece bytes, views into the file buffer. */
  readonly pieces: readonly Uint8Array[];
  readonly scores: Float32Array;
  readonly maxTokenLength: number;
}

/** Parses and validates a tokenizer.bin buffer; `file` only names it in errors. */
export function parseLlama2cVocab(buf: Uint8Array, vocabSize: number, file: string): Llama2cVocab {
  const fail = (problem: string): never => {
    throw new Error(`llama2.c tokenizer ${file}: ${problem}`);
  };
  if (!Number.isInteger(vocabSize) || vocabSize <= LLAMA2C_EOS) {
    fail(`vocab size must be an integer > ${LLAMA2C_EOS} (got ${vocabSize})`);
  }
  if (buf.length < 4) fail(`file is ${buf.length} bytes, too short for the 4-byte header`);
  // Each entry takes at least 8 bytes, so this bounds vocabSize by the file before anything is allocated.
  if ((buf.length - 4) / 8 < vocabSize) {
    fail(`file is ${buf.length} bytes, too small for ${vocabSize} entries (at least ${4 + 8 * vocabSize} bytes)`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength <= 0) fail(`max_token_length is ${maxTokenLength}, expected > 0`);

  const pieces: Uint8Array[] = [];
  const scores = new Float32Array(vocabSize);
  let off = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (off + 8 > buf.length) fail(`truncated at entry ${i} of ${vocabSize} (offset ${off}, file is ${buf.length} bytes)`);
    const score = view.getFloat32(off, true);
    const len = view.getInt32(off + 4, true);
    off += 8;
    if (Number.isNaN(score)) fail(`entry ${i} has a NaN score`);
    if (len < 0 || len > maxTokenLength) {
      fail(`entry ${i} has length ${len}, outside [0, max_token_length ${maxTokenLength}]`);
    }
    if (off + len > buf.length) {
      fail(`truncated at entry ${i} of ${vocabSize}: ${len} bytes needed at offset ${off}, file is ${buf.length} bytes`);
    }
    scores[i] = score;
    pieces.push(buf.subarray(off, off + len));
    off += len;
  }
  if (off !== buf.length) {
    fail(`${buf.length - off} bytes left after ${vocabSize} entries: does the vocab size match the model?`);
  }
  return { pieces, scores, maxTokenLength };
}

/** Pieces become map keys as latin1 strings: one char per byte, so any byte sequence is a valid key. */
const keyOf = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');

export class Llama2cTokenizer implements Tokenizer {
  readonly kind = 'llama2c' as const;
  readonly vocabSize: number;
  readonly bosId = LLAMA2C_BOS;
  readonly eosId = LLAMA2C_EOS;
  private readonly keys: string[];
  private readonly lookup = new Map<string, number>();
  private readonly table: Uint8Array[];
  private readonly isBytePiece: boolean[];
  private readonly textIndex: Map<string, number>;

  constructor(
    private readonly vocab: Llama2cVocab,
    private readonly file: string,
  ) {
    this.vocabSize = vocab.pieces.length;
    this.keys = vocab.pieces.map(keyOf);
    // run.c bsearches a sorted copy; with duplicate pieces either could win there. Keep the first.
    this.keys.forEach((k, id) => {
      if (!this.lookup.has(k)) this.lookup.set(k, id);
    });
    this.isBytePiece = vocab.pieces.map((p) => bytePieceValue(keyOf(p)) !== undefined);
    this.table = vocab.pieces.map((p, id) => {
      if (id === LLAMA2C_BOS || id === LLAMA2C_EOS) return new Uint8Array(0);
      const byte = bytePieceValue(keyOf(p));
      return byte === undefined ? p.slice() : Uint8Array.of(byte);
    });
    const specials: [string, number][] = [LLAMA2C_BOS, LLAMA2C_EOS].map((id) => [utf8Decode(vocab.pieces[id] ?? new Uint8Array(0)), id]);
    this.textIndex = buildTextIndex(this.table, (id) => this.isBytePiece[id] === true, specials);
  }

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    checkEncodeArgs(text, options);
    const ids: number[] = [];
    if (options.bos ?? true) ids.push(LLAMA2C_BOS);
    const bytes = utf8Encode(text);
    // run.c adds a dummy ' ' token before non-empty text, as SentencePiece's add_dummy_prefix does.
    if (bytes.length > 0) this.pushPiece(ids, Uint8Array.of(SPACE));
    // Walk UTF-8 code points (at most 4 bytes, as run.c does) and look each one up whole.
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const next = bytes[i + 1];
      const continues = next !== undefined && (next & 0xc0) === 0x80 && i + 1 - start < 4;
      if (continues) continue;
      this.pushPiece(ids, bytes.subarray(start, i + 1));
      start = i + 1;
    }
    // BOS ('\n<s>\n') never merges in run.c with a real vocab; keeping it out makes that certain.
    mergeByScore(ids, options.bos ?? true ? 1 : 0, (a, b) => this.lookup.get((this.keys[a] ?? '') + (this.keys[b] ?? '')) ?? -1, (id) => this.vocab.scores[id] ?? -Infinity);
    return ids;
  }

  decode(ids: readonly number[]): string {
    checkIds(ids, this.vocabSize, 'llama2c');
    const parts: Uint8Array[] = [];
    let prev = -1;
    for (const id of ids) {
      if (id !== LLAMA2C_BOS && id !== LLAMA2C_EOS) {
        let piece = this.table[id] ?? new Uint8Array(0);
        // run.c strips the dummy-prefix space of the piece right after BOS (not of a '<0x20>' piece).
        if (prev === LLAMA2C_BOS && !this.isBytePiece[id] && piece[0] === SPACE) piece = piece.subarray(1);
        parts.push(piece);
      }
      prev = id;
    }
    return utf8Decode(concatBytes(parts));
  }

  tokenBytes(): Uint8Array[] {
    return this.table.slice();
  }

  tokenId(piece: string): number | undefined {
    return this.textIndex.get(piece);
  }

  /** Appends the token for one code point, or its bytes as byte-fallback tokens when it has none. */
  private pushPiece(ids: number[], bytes: Uint8Array): void {
    const id = this.lookup.get(keyOf(bytes));
    if (id !== undefined) {
      ids.push(id);
      return;
    }
    for (const b of bytes) {
      if (b + BYTE_OFFSET >= this.vocabSize) {
        throw new Error(`llama2.c tokenizer ${this.file}: no token for byte 0x${b.toString(16)} (vocab of ${this.vocabSize} has no byte fallback)`);
      }
      ids.push(b + BYTE_OFFSET);
    }
  }
}

/** Loads a llama2.c tokenizer.bin; the vocab size comes from the model checkpoint's header. */
export async function loadLlama2cTokenizer(file: string, options: { vocabSize: number }): Promise<Llama2cTokenizer> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new Error(`llama2.c tokenizer ${file}: cannot read: ${(e as Error).message}`);
  }
  return new Llama2cTokenizer(parseLlama2cVocab(buf, options.vocabSize, file), file);
}
