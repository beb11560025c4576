// The tokenizer as GGUF metadata (tokenizer.ggml.*). Every tokenizer rlcd reads is SentencePiece-
// style (▁ for spaces, byte fallback), which llama.cpp runs as its "llama" (SPM) tokenizer: tokens
// with scores, merged highest score first. A SentencePiece .model and a llama2.c tokenizer.bin
// carry those scores; a tokenizer.json BPE carries merges instead, and the score of a token is then
// minus the rank of the merge that makes it, so llama.cpp merges in the same order.
import fs from 'node:fs';
import path from 'node:path';
import { parseLlama2cVocab } from '../tokenizer/llama2c.js';
import { parseSentencePieceModel } from '../tokenizer/sentencepiece-model.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { TokenType } from './format.js';

export interface GgufVocab {
  /** tokenizer.ggml.model */
  model: 'llama';
  tokens: string[];
  scores: Float32Array;
  types: Int32Array;
  /** tokenizer.json's merges, kept for tools that read them. */
  merges?: string[];
  bosId: number;
  eosId: number;
  unkId?: number;
  padId?: number;
  addBos: boolean;
  addEos: boolean;
  addSpacePrefix: boolean;
  chatTemplate?: string;
}

const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;
const SPACE_MARK = '\u2581';

/** An empty vocabulary of `size` entries, every one unused until filled. */
function blank(size: number): { tokens: string[]; scores: Float32Array; types: Int32Array } {
  return {
    tokens: Array.from({ length: size }, (_, i) => `[PAD${i}]`),
    scores: new Float32Array(size),
    types: new Int32Array(size).fill(TokenType.Unused),
  };
}

function readJson(file: string): Record<string, unknown> | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : undefined;
}

/** A special token of tokenizer_config.json ("<pad>" or { content: "<pad>" }). */
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

function chatTemplateOf(config: Record<string, unknown> | undefined): string | undefined {
  const t = config?.chat_template;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return (t as Array<{ name?: string; template?: string }>).find((x) => x.name === 'default')?.template;
  return undefined;
}

interface HfTokenizerJson {
  model: { type: string; vocab: Record<string, number> | Array<[string, number]>; merges?: Array<string | [string, string]>; unk_token?: string; unk_id?: number; byte_fallback?: boolean };
  added_tokens?: Array<{ id: number; content: string; special: boolean }>;
  normalizer?: unknown;
  pre_tokenizer?: unknown;
  decoder?: unknown;
}

function hfVocab(file: string, size: number): Omit<GgufVocab, 'bosId' | 'eosId'> {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as HfTokenizerJson;
  const described = JSON.stringify([json.pre_tokenizer, json.decoder, json.normalizer]);
  if (described.includes('"ByteLevel"')) {
    throw new RangeError(`${file}: a byte-level BPE tokenizer (GPT-2 / Llama 3 style): GGUF export supports SentencePiece-style tokenizers (▁ for spaces, byte fallback) only`);
  }
  if (!described.includes(SPACE_MARK)) throw new RangeError(`${file}: not a SentencePiece-style tokenizer (no ▁ in its normalizer, pre-tokenizer or decoder)`);
  const v = blank(size);
  const set = (id: number, token: string, type: TokenType, score = 0): void => {
    if (id < 0 || id >= size) throw new RangeError(`${file}: token id ${id} (${JSON.stringify(token)}) is outside the model's vocabulary of ${size}`);
    v.tokens[id] = token;
    v.types[id] = type;
    v.scores[id] = score;
  };
  let merges: string[] | undefined;
  if (json.model.type === 'Unigram') {
    (json.model.vocab as Array<[string, number]>).forEach(([t, score], id) => set(id, t, BYTE_TOKEN.test(t) ? TokenType.Byte : TokenType.Normal, score));
  } else if (json.model.type === 'BPE') {
    const vocab = json.model.vocab as Record<string, number>;
    const rank = new Map<number, number>();
    merges = (json.model.merges ?? []).map((m) => (typeof m === 'string' ? m : m.join(' ')));
    merges.forEach((m, r) => {
      const id = vocab[m.replace(' ', '')];
      if (id !== undefined && !rank.has(id)) rank.set(id, r);
    });
    // Multi-character tokens no merge makes come last, so llama.cpp prefers every real merge to them.
    const unmade = -(merges.length + 1);
    for (const [t, id] of Object.entries(vocab)) {
      const score = rank.has(id) ? -rank.get(id)! : [...t].length > 1 ? unmade : 0;
      set(id, t, BYTE_TOKEN.test(t) ? TokenType.Byte : TokenType.Normal, score);
    }
  } else {
    throw new RangeError(`${file}: a ${json.model.type} tokenizer: GGUF export supports BPE and Unigram`);
  }
  const unkText = json.model.unk_token;
  const unkId = json.model.type === 'Unigram' ? json.model.unk_id : unkText !== undefined ? (json.model.vocab as Record<string, number>)[unkText] : undefined;
  for (const a of json.added_tokens ?? []) set(a.id, a.content, a.id === unkId ? TokenType.Unknown : a.special ? TokenType.Control : TokenType.UserDefined);
  if (unkId !== undefined) v.types[unkId] = TokenType.Unknown;

  const config = readJson(path.join(path.dirname(file), 'tokenizer_config.json'));
  const padText = tokenText(config?.pad_token);
  const padId = padText === undefined ? undefined : v.tokens.indexOf(padText);
  const template = chatTemplateOf(config);
  return {
    model: 'llama',
    ...v,
    ...(merges && { merges }),
    ...(unkId !== undefined && { unkId }),
    ...(padId !== undefined && padId >= 0 && { padId }),
    addBos: config?.add_bos_token !== false,
    addEos: config?.add_eos_token === true,
    // The ▁ that SentencePiece puts before the text: a Prepend normalizer or a Metaspace that prepends.
    addSpacePrefix: /"Prepend"|"prepend_scheme":"(always|first)"|"add_prefix_space":true/.test(described),
    ...(template !== undefined && { chatTemplate: template }),
  };
}

function llama2cVocab(file: string, size: number): Omit<GgufVocab, 'bosId' | 'eosId'> {
  const parsed = parseLlama2cVocab(fs.readFileSync(file), size, file);
  const v = blank(size);
  const decoder = new TextDecoder();
  parsed.pieces.forEach((bytes, id) => {
    // llama2.c's export turned ▁ into spaces; GGUF keeps SentencePiece's text.
    const text = decoder.decode(bytes).replaceAll(' ', SPACE_MARK);
    v.tokens[id] = text;
    v.scores[id] = parsed.scores[id]!;
    v.types[id] = id === 0 ? TokenType.Unknown : id <= 2 ? TokenType.Control : BYTE_TOKEN.test(text) ? TokenType.Byte : TokenType.Normal;
  });
  return { model: 'llama', ...v, unkId: 0, addBos: true, addEos: false, addSpacePrefix: true };
}

function sentencePieceVocab(file: string, size: number): Omit<GgufVocab, 'bosId' | 'eosId'> {
  const m = parseSentencePieceModel(fs.readFileSync(file), file);
  if (m.pieces.length > size) throw new RangeError(`${file}: ${m.pieces.length} pieces but the model's vocabulary has ${size}`);
  const v = blank(size);
  m.pieces.forEach((p, id) => {
    v.tokens[id] = p.piece;
    v.scores[id] = p.score;
    v.types[id] = p.type; // SentencePiece's piece types are llama.cpp's token types
  });
  return {
    model: 'llama', ...v, addBos: true, addEos: false, addSpacePrefix: true,
    ...(m.unkId >= 0 && { unkId: m.unkId }),
    ...(m.padId >= 0 && { padId: m.padId }),
  };
}

/** The GGUF vocabulary of `tokenizer` (loaded from `tokenizerPath`) for a model of `size` embedding rows. */
export function ggufVocab(tokenizer: Tokenizer, tokenizerPath: string, size: number, ids: { bosId: number; eosId: number }): GgufVocab {
  const file = fs.statSync(tokenizerPath).isDirectory()
    ? path.join(tokenizerPath, tokenizer.kind === 'hf' ? 'tokenizer.json' : 'tokenizer.model')
    : tokenizerPath;
  const v = tokenizer.kind === 'hf' ? hfVocab(file, size) : tokenizer.kind === 'llama2c' ? llama2cVocab(file, size) : sentencePieceVocab(file, size);
  return { ...v, bosId: ids.bosId, eosId: ids.eosId };
}
