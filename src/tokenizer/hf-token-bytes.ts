/**
 * The bytes each tokenizer.json token stands for, worked out from the decoder, since
 * @huggingface/tokenizers only decodes whole sequences. Two decoder families are understood:
 *  - SentencePiece style: Sequence[Replace('▁' -> ' '), ByteFallback?, ...] or Metaspace;
 *    '▁' is a space and, with ByteFallback, '<0xXX>' is that byte.
 *  - ByteLevel (GPT-2 style): every byte was written as one printable character; invert that map.
 */
import { bytePieceValue, utf8Encode } from './bytes.js';

export type ByteStyle =
  | { kind: 'sentencepiece'; replacement: string; byteFallback: boolean }
  | { kind: 'bytelevel' };

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the decoder section; undefined when it is neither family (the caller names the file). */
export function byteStyleOf(decoder: unknown): ByteStyle | undefined {
  if (!isObject(decoder)) return undefined;
  if (decoder.type === 'ByteLevel') return { kind: 'bytelevel' };
  if (decoder.type === 'Metaspace') {
    const replacement = typeof decoder.replacement === 'string' ? decoder.replacement : '\u2581';
    return { kind: 'sentencepiece', replacement, byteFallback: false };
  }
  if (decoder.type !== 'Sequence' || !Array.isArray(decoder.decoders)) return undefined;
  const parts: unknown[] = decoder.decoders;
  if (parts.some((d) => isObject(d) && d.type === 'ByteLevel')) return { kind: 'bytelevel' };
  const byteFallback = parts.some((d) => isObject(d) && d.type === 'ByteFallback');
  for (const d of parts) {
    if (!isObject(d)) continue;
    if (d.type === 'Metaspace') {
      const replacement = typeof d.replacement === 'string' ? d.replacement : '\u2581';
      return { kind: 'sentencepiece', replacement, byteFallback };
    }
    const pattern = isObject(d.pattern) ? d.pattern.String : undefined;
    if (d.type === 'Replace' && typeof pattern === 'string' && d.content === ' ') {
      return { kind: 'sentencepiece', replacement: pattern, byteFallback };
    }
  }
  return undefined;
}

let byteLevelDecodeMap: Map<string, number> | undefined;

/**
 * GPT-2's bytes_to_unicode, inverted: printable Latin-1 bytes stand for themselves, the other 68 bytes
 * were shifted to U+0100 and up in byte order.
 */
function byteLevelMap(): Map<string, number> {
  if (byteLevelDecodeMap) return byteLevelDecodeMap;
  const map = new Map<string, number>();
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    map.set(String.fromCodePoint(printable(b) ? b : 256 + shifted++), b);
  }
  byteLevelDecodeMap = map;
  return map;
}

/** A piece's bytes under the given decoder family. */
export function pieceBytes(piece: string, style: ByteStyle): Uint8Array {
  if (style.kind === 'sentencepiece') {
    const byte = style.byteFallback ? bytePieceValue(piece) : undefined;
    return byte !== undefined ? Uint8Array.of(byte) : utf8Encode(piece.replaceAll(style.replacement, ' '));
  }
  const map = byteLevelMap();
  const out: number[] = [];
  for (const ch of piece) {
    const b = map.get(ch);
    // Like the Rust ByteLevel decoder: a character outside the map (an added token's plain text) stays as its UTF-8.
    if (b !== undefined) out.push(b);
    else out.push(...utf8Encode(ch));
  }
  return Uint8Array.from(out);
}
