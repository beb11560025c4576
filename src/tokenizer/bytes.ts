/** Byte-level helpers shared by the tokenizer kinds: UTF-8, `<0xXX>` pieces, id checks, text lookup. */

const encoder = new TextEncoder();
// Not fatal: a sequence cut mid-character (e.g. by max_new_tokens) decodes to U+FFFD instead of throwing.
const lenientDecoder = new TextDecoder('utf-8');
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decodes UTF-8, replacing invalid sequences with U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return lenientDecoder.decode(bytes);
}

/** Decodes UTF-8, or undefined when the bytes are not valid UTF-8 on their own (e.g. one byte of 'é'). */
export function utf8DecodeExact(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** The byte a SentencePiece byte-fallback piece such as '<0x0A>' stands for, or undefined. */
export function bytePieceValue(piece: string): number | undefined {
  const m = BYTE_PIECE.exec(piece);
  return m?.[1] === undefined ? undefined : parseInt(m[1], 16);
}

/** Throws a RangeError naming the first id that is not an integer in [0, vocabSize). */
export function checkIds(ids: readonly number[], vocabSize: number, kind: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id === undefined || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new RangeError(`${kind} tokenizer: id ${String(id)} at index ${i} is outside the vocabulary [0, ${vocabSize})`);
    }
  }
}

/**
 * Text -> id for `Tokenizer.tokenId`: a token is found by the text it decodes to (its bytes as UTF-8),
 * special tokens by their literal content. Where two tokens share a text (the piece '\n' and the
 * byte-fallback piece '<0x0A>'), the ordinary piece wins because that is what encode() produces;
 * otherwise the lowest id wins.
 */
export function buildTextIndex(
  table: readonly Uint8Array[],
  isFallbackByte: (id: number) => boolean,
  specials: Iterable<readonly [string, number]>,
): Map<string, number> {
  const index = new Map<string, number>();
  for (const [content, id] of specials) if (!index.has(content)) index.set(content, id);
  for (const pass of [false, true]) {
    table.forEach((bytes, id) => {
      if (bytes.length === 0 || isFallbackByte(id) !== pass) return;
      const text = utf8DecodeExact(bytes);
      if (text !== undefined && !index.has(text)) index.set(text, id);
    });
  }
  return index;
}
