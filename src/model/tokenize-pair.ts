// Tokenizing a (prompt, continuation) pair the way the text would be generated: the two strings
// are encoded together, and the continuation is whatever follows the prompt's own tokenization.
import type { Tokenizer } from '../tokenizer/types.js';
import { encodeHead } from '../tokenizer/truncated.js';

export interface TokenizedPair {
  /** Prompt ids (BOS first when asked); never empty. */
  prompt: number[];
  /** Continuation ids; a token that straddles the boundary counts as continuation. */
  continuation: number[];
}

/**
 * With `maxTokens`, only the first maxTokens ids of prompt + continuation are made (and only as
 * much text as that needs is tokenized): a caller that cuts to a length anyway gets the same ids.
 */
export function tokenizePair(tokenizer: Tokenizer, prompt: string, continuation: string, bos = true, maxTokens = Infinity): TokenizedPair {
  const encode = (text: string): number[] => (Number.isFinite(maxTokens) ? encodeHead(tokenizer, text, maxTokens + 1, bos) : tokenizer.encode(text, { bos }));
  const promptIds = encode(prompt);
  const full = encode(prompt + continuation).slice(0, maxTokens);
  let split = 0;
  while (split < promptIds.length && split < full.length && promptIds[split] === full[split]) split++;
  // Keep at least one prompt token (the engine needs a position to predict from).
  const keep = Math.max(1, Math.min(split, full.length));
  return { prompt: full.slice(0, keep), continuation: full.slice(keep) };
}
