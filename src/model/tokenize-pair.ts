// Tokenizing a (prompt, continuation) pair the way the text would be generated: the two strings
// are encoded together, and the continuation is whatever follows the prompt's own tokenization.
import type { Tokenizer } from '../tokenizer/types.js';

export interface TokenizedPair {
  /** Prompt ids (BOS first when asked); never empty. */
  prompt: number[];
  /** Continuation ids; a token that straddles the boundary counts as continuation. */
  continuation: number[];
}

export function tokenizePair(tokenizer: Tokenizer, prompt: string, continuation: string, bos = true): TokenizedPair {
  const promptIds = tokenizer.encode(prompt, { bos });
  const full = tokenizer.encode(prompt + continuation, { bos });
  let split = 0;
  while (split < promptIds.length && split < full.length && promptIds[split] === full[split]) split++;
  // Keep at least one prompt token (the engine needs a position to predict from).
  const keep = Math.max(1, Math.min(split, full.length));
  return { prompt: full.slice(0, keep), continuation: full.slice(keep) };
}
