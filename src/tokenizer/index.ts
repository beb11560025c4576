/** Loads whichever tokenizer a model ships: tokenizer.json, a SentencePiece .model or a llama2.c .bin. */
import { open, readdir, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { Tokenizer } from './types.js';
import { loadHfTokenizer } from './hf.js';
import { LLAMA2C_BOS, LLAMA2C_EOS, loadLlama2cTokenizer } from './llama2c.js';
import { loadSentencePieceTokenizer } from './sentencepiece.js';

export type { Tokenizer } from './types.js';
export { HfTokenizer, loadHfTokenizer, type HfTokenizerOptions } from './hf.js';
export { Llama2cTokenizer, loadLlama2cTokenizer, parseLlama2cVocab, LLAMA2C_BOS, LLAMA2C_EOS } from './llama2c.js';
export { SentencePieceTokenizer, loadSentencePieceTokenizer } from './sentencepiece.js';

export interface LoadTokenizerOptions {
  /** BOS/EOS ids from the model's config; by default each format's own (tokenizer_config.json, trainer spec, 1/2). */
  bosId?: number;
  eosId?: number;
  /** The model's vocab size: required for a llama2.c .bin (the file does not store it); for the
   *  other kinds it is checked so that no id the tokenizer produces is outside the embedding. */
  vocabSize?: number;
}

type Kind = Tokenizer['kind'];

async function kindOf(file: string): Promise<{ kind: Kind; file: string }> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch (e) {
    throw new Error(`${file}: cannot read tokenizer: ${(e as Error).message}`);
  }
  if (info.isDirectory()) {
    const names = new Set(await readdir(file));
    if (names.has('tokenizer.json')) return { kind: 'hf', file: path.join(file, 'tokenizer.json') };
    if (names.has('tokenizer.model')) return { kind: 'sentencepiece', file: path.join(file, 'tokenizer.model') };
    throw new Error(`${file}: no tokenizer.json or tokenizer.model in this directory`);
  }
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return { kind: 'hf', file };
  if (ext === '.model') return { kind: 'sentencepiece', file };
  if (ext === '.bin') return { kind: 'llama2c', file };
  // Unknown name: a JSON object is a tokenizer.json; anything else is too ambiguous to guess.
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64), 0, 64, 0);
    if (buffer.subarray(0, bytesRead).toString('utf8').trimStart().startsWith('{')) return { kind: 'hf', file };
  } finally {
    await handle.close();
  }
  throw new Error(`${file}: unknown tokenizer format (expected a directory, *.json, *.model or a llama2.c *.bin)`);
}

export async function loadTokenizer(file: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const { kind, file: resolved } = await kindOf(file);
  const ids = {
    ...(options.bosId !== undefined && { bosId: options.bosId }),
    ...(options.eosId !== undefined && { eosId: options.eosId }),
  };
  let tokenizer: Tokenizer;
  if (kind === 'llama2c') {
    if (options.vocabSize === undefined) throw new Error(`${resolved}: a llama2.c tokenizer needs vocabSize (from the model header)`);
    if ((options.bosId ?? LLAMA2C_BOS) !== LLAMA2C_BOS || (options.eosId ?? LLAMA2C_EOS) !== LLAMA2C_EOS) {
      throw new Error(`${resolved}: llama2.c tokenizers have fixed BOS=${LLAMA2C_BOS}/EOS=${LLAMA2C_EOS} (got bosId ${options.bosId}, eosId ${options.eosId})`);
    }
    tokenizer = await loadLlama2cTokenizer(resolved, { vocabSize: options.vocabSize });
  } else if (kind === 'sentencepiece') {
    tokenizer = await loadSentencePieceTokenizer(resolved, ids);
  } else {
    tokenizer = await loadHfTokenizer(resolved, ids);
  }
  if (options.vocabSize !== undefined && tokenizer.vocabSize > options.vocabSize) {
    throw new Error(`${resolved}: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${options.vocabSize}`);
  }
  return tokenizer;
}
