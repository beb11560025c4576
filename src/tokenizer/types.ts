/** What every tokenizer kind (tokenizer.json, llama2.c tokenizer.bin, SentencePiece .model) offers. */
export interface Tokenizer {
  /** Which file format this tokenizer came from. */
  readonly kind: 'hf' | 'llama2c' | 'sentencepiece';
  readonly vocabSize: number;
  /** Begin/end-of-sequence ids (from the model's config when it names them). */
  readonly bosId: number;
  readonly eosId: number;
  /** Text -> ids. With `bos` (default true) the BOS id comes first. */
  encode(text: string, options?: { bos?: boolean }): number[];
  /** Ids -> text; special tokens (BOS/EOS/pad) are skipped. */
  decode(ids: readonly number[]): string;
  /**
   * The raw UTF-8 bytes each token contributes to decoded text, mid-sequence (no leading-space
   * stripping), indexed by id; special tokens map to empty arrays. The native engine uses this
   * table to check stop strings and banned strings without a round trip to JS per token.
   */
  tokenBytes(): Uint8Array[];
  /** The id of a single token whose text is exactly `piece`, or undefined. */
  tokenId(piece: string): number | undefined;
}

/** encode()'s argument checks, shared by every tokenizer: a wrong type is a TypeError naming it. */
export function checkEncodeArgs(text: unknown, options: unknown): void {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${text === null ? 'null' : typeof text}`);
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object { bos? }');
  const bos = (options as { bos?: unknown }).bos;
  if (bos !== undefined && typeof bos !== 'boolean') throw new TypeError('options.bos must be a boolean');
}
