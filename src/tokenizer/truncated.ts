// Tokenizing only as much of a long text as a cut to N tokens keeps. Tokenization costs about 9 s
// per MB, so a stage that keeps the first (or last) N tokens of each example should not tokenize
// the rest. The text is cut at a word boundary (a whitespace character after a non-whitespace
// one), where every tokenizer we load starts a new piece, and the few tokens next to the cut are
// never kept; a text too short for that is tokenized whole. The result equals cutting the whole
// text's tokens (test/unit/tokenizer.test.ts checks it on every tokenizer kind).
import type { Tokenizer } from './types.js';

// Tokens next to the cut that may differ from the whole text's (a piece the cut split).
const MARGIN = 8;

/** The first `maxTokens` ids of tokenizer.encode(text, { bos }). */
export function encodeHead(tokenizer: Tokenizer, text: string, maxTokens: number, bos = true): number[] {
  for (let chars = (maxTokens + MARGIN) * 4; chars < text.length; chars *= 2) {
    const cut = wordEndAfter(text, chars);
    if (cut < 0) break;
    const ids = tokenizer.encode(text.slice(0, cut), { bos });
    if (ids.length >= maxTokens + MARGIN) return ids.slice(0, maxTokens);
  }
  return tokenizer.encode(text, { bos }).slice(0, maxTokens);
}

/** The last `maxTokens` ids of tokenizer.encode(text, { bos: false }). */
export function encodeTail(tokenizer: Tokenizer, text: string, maxTokens: number): number[] {
  for (let chars = (maxTokens + MARGIN) * 4; chars < text.length; chars *= 2) {
    const cut = wordStartBefore(text, text.length - chars);
    if (cut <= 0) break;
    const ids = tokenizer.encode(text.slice(cut), { bos: false });
    if (ids.length >= maxTokens + MARGIN) return ids.slice(ids.length - maxTokens);
  }
  const ids = tokenizer.encode(text, { bos: false });
  return ids.slice(Math.max(0, ids.length - maxTokens));
}

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

// The first index >= from where a whitespace character follows a non-whitespace one, or -1.
function wordEndAfter(text: string, from: number): number {
  for (let i = Math.max(1, from); i < text.length; i++) if (isSpace(text[i]) && !isSpace(text[i - 1])) return i;
  return -1;
}

// The last index <= from where a whitespace character follows a non-whitespace one, or -1.
function wordStartBefore(text: string, from: number): number {
  for (let i = Math.min(from, text.length - 1); i >= 1; i--) if (isSpace(text[i]) && !isSpace(text[i - 1])) return i;
  return -1;
}
