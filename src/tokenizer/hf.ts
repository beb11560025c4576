/**
 * Hugging Face `tokenizer.json` (BPE) through @huggingface/tokenizers, a pure-JS port of the Rust
 * library. We read the JSON ourselves as well: to validate it with errors that name the file, to find
 * BOS/EOS, and to build the per-token byte table that the library does not offer.
 */
import { checkEncodeArgs } from './types.js';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer as HfJsTokenizer } from '@huggingface/tokenizers';
import type { Tokenizer } from './types.js';
import { buildTextIndex, bytePieceValue, checkIds } from './bytes.js';
import { byteStyleOf, pieceBytes, type ByteStyle } from './hf-token-bytes.js';

/** Ids far beyond any real vocab mean a corrupt file; refuse them before sizing tables by them. */
const MAX_ID = 1 << 24;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What loadHfTokenizer gathers from tokenizer.json (+ tokenizer_config.json) for the class. */
export interface HfTokenizerParts {
  readonly file: string;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Piece string by id (undefined for holes in the id range). */
  readonly pieces: readonly (string | undefined)[];
  /** Ids of added tokens marked special (<unk>, BOS, EOS, pad, ...). */
  readonly specialIds: ReadonlySet<number>;
  readonly byteStyle: ByteStyle;
}

export class HfTokenizer implements Tokenizer {
  readonly kind = 'hf' as const;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  private readonly table: Uint8Array[];
  /** Ids decode() leaves out: special added tokens plus BOS/EOS, whatever the file marks them as. */
  private readonly silent: Set<number>;
  private readonly textIndex: Map<string, number>;

  constructor(
    private readonly tok: HfJsTokenizer,
    parts: HfTokenizerParts,
  ) {
    this.vocabSize = parts.vocabSize;
    this.bosId = parts.bosId;
    this.eosId = parts.eosId;
    this.silent = new Set([...parts.specialIds, parts.bosId, parts.eosId]);
    this.table = Array.from({ length: parts.vocabSize }, (_, id) => {
      const piece = parts.pieces[id];
      return piece === undefined || this.silent.has(id) ? new Uint8Array(0) : pieceBytes(piece, parts.byteStyle);
    });
    const style = parts.byteStyle;
    const isFallbackByte = (id: number): boolean =>
      style.kind === 'sentencepiece' && style.byteFallback && bytePieceValue(parts.pieces[id] ?? '') !== undefined;
    const specials = [...this.silent].flatMap((id) => {
      const piece = parts.pieces[id];
      return piece === undefined ? [] : [[piece, id] as const];
    });
    this.textIndex = buildTextIndex(this.table, isFallbackByte, specials);
  }

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    checkEncodeArgs(text, options);
    // Without the post-processor's special tokens, then BOS ourselves: exactly one, whether or not the
    // file's template adds one. (Special-token text inside `text`, e.g. '<|start_story|>', is still
    // matched as that token, as in the Rust library.)
    const { ids } = this.tok.encode(text, { add_special_tokens: false });
    return options.bos ?? true ? [this.bosId, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    checkIds(ids, this.vocabSize, 'hf');
    const kept = ids.filter((id) => !this.silent.has(id));
    // The library throws on an empty id list.
    if (kept.length === 0) return '';
    // No clean-up of spaces before punctuation: decoded text must be what the tokens say.
    return this.tok.decode(kept, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  tokenBytes(): Uint8Array[] {
    return this.table.slice();
  }

  tokenId(piece: string): number | undefined {
    return this.textIndex.get(piece);
  }
}

async function readJson(file: string): Promise<Json> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(value)) throw new Error(`${file}: expected a JSON object at the top level`);
  return value;
}

/** tokenizer_config.json names special tokens as a string or as {content: string}. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return undefined;
}

function readParts(json: Json, config: Json, file: string, configFile: string, options: HfTokenizerOptions): HfTokenizerParts {
  const fail = (problem: string): never => {
    throw new Error(`${file}: ${problem}`);
  };
  const model = isObject(json.model) ? json.model : fail('"model" is missing or not an object');
  if (model.type !== 'BPE') fail(`unsupported model type ${JSON.stringify(model.type)} (only BPE is supported)`);
  const vocab = isObject(model.vocab) ? model.vocab : fail('model.vocab is missing or not an object');

  const entries: [string, number][] = [];
  for (const [piece, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= MAX_ID) {
      fail(`model.vocab[${JSON.stringify(piece)}] is ${JSON.stringify(id)}, not an id in [0, ${MAX_ID})`);
    }
    entries.push([piece, id as number]);
  }
  const specialIds = new Set<number>();
  const added = json.added_tokens ?? [];
  if (!Array.isArray(added)) fail('"added_tokens" is not an array');
  (added as unknown[]).forEach((t, i) => {
    if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0 || t.id >= MAX_ID) {
      return fail(`added_tokens[${i}] needs a string "content" and an integer "id" in [0, ${MAX_ID})`);
    }
    entries.push([t.content, t.id]);
    if (t.special === true) specialIds.add(t.id);
  });
  if (entries.length === 0) fail('the vocabulary is empty');

  // A loop, not Math.max(...ids): spreading a 150K-entry vocab overflows the argument limit.
  let vocabSize = 0;
  for (const [, id] of entries) vocabSize = Math.max(vocabSize, id + 1);
  const pieces: (string | undefined)[] = new Array<string | undefined>(vocabSize).fill(undefined);
  const idOf = new Map<string, number>();
  // Added tokens come last, so they win over a vocab entry with the same id, as in the Rust library.
  for (const [piece, id] of entries) {
    pieces[id] = piece;
    idOf.set(piece, id);
  }

  const byteStyle = byteStyleOf(json.decoder) ??
    fail(`decoder ${JSON.stringify(isObject(json.decoder) ? json.decoder.type : json.decoder)} is not understood ` +
      `(supported: ByteLevel, Metaspace, or a Sequence with Replace '▁' -> ' ')`);

  const special = (name: 'bos' | 'eos'): number => {
    const given = name === 'bos' ? options.bosId : options.eosId;
    if (given !== undefined) {
      if (!Number.isInteger(given) || given < 0 || given >= vocabSize) fail(`${name}Id ${given} is outside the vocabulary [0, ${vocabSize})`);
      return given;
    }
    const token = tokenName(config[`${name}_token`]);
    const id = token === undefined ? undefined : idOf.get(token);
    if (id !== undefined) return id;
    return fail(token === undefined
      ? `no ${name.toUpperCase()} token: pass ${name}Id or set ${name}_token in ${configFile}`
      : `${name}_token ${JSON.stringify(token)} from ${configFile} is not in the vocabulary`);
  };
  return { file, vocabSize, bosId: special('bos'), eosId: special('eos'), pieces, specialIds, byteStyle };
}

export interface HfTokenizerOptions {
  /** Overrides tokenizer_config.json's bos_token (e.g. from the model's config.json bos_token_id). */
  bosId?: number;
  eosId?: number;
}

/** Loads `<dir>/tokenizer.json` or the given tokenizer.json, with tokenizer_config.json beside it if present. */
export async function loadHfTokenizer(dirOrFile: string, options: HfTokenizerOptions = {}): Promise<HfTokenizer> {
  let file = dirOrFile;
  try {
    if ((await stat(dirOrFile)).isDirectory()) file = path.join(dirOrFile, 'tokenizer.json');
  } catch (e) {
    throw new Error(`${dirOrFile}: cannot read: ${(e as Error).message}`);
  }
  const json = await readJson(file);
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const config = await stat(configFile).then(() => readJson(configFile), () => ({}) as Json);
  const parts = readParts(json, config, file, configFile, options);
  let tok: HfJsTokenizer;
  try {
    tok = new HfJsTokenizer(json, config);
  } catch (e) {
    throw new Error(`${file}: @huggingface/tokenizers rejected it: ${(e as Error).message}`);
  }
  return new HfTokenizer(tok, parts);
}
