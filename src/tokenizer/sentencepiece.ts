/**
 * SentencePiece `.model` files through sentencepiece-js (SentencePiece compiled to WebAssembly).
 *
 * sentencepiece-js only exposes load/encodeIds/encodePieces/decodeIds, loads asynchronously, ignores a
 * failed load (encoding then yields []), and has no types. So the piece table and special ids come
 * from our own reader of the model file (sentencepiece-model.ts), and the load is checked here.
 */
import { checkEncodeArgs } from './types.js';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Tokenizer } from './types.js';
import { buildTextIndex, bytePieceValue, checkIds, utf8Encode } from './bytes.js';
import { PieceType, parseSentencePieceModel, type SentencePieceModel } from './sentencepiece-model.js';

/** The part of sentencepiece-js we use (the package ships no declarations). */
interface SpjsProcessor {
  load(file: string): Promise<void>;
  encodeIds(text: string): number[];
  decodeIds(ids: number[]): string;
  /** Internal: the embind processor; its status() reports whether Load succeeded. */
  processor?: { status?(): { ToString(): string; delete(): void } };
}
interface SpjsModule {
  SentencePieceProcessor: new () => SpjsProcessor;
}

// Required lazily: the package is a 760 KB CommonJS file with the wasm inlined, and it is typeless.
const requireCjs = createRequire(import.meta.url);

/**
 * Each sentencepiece-js load instantiates a fresh Emscripten module, which adds process-wide
 * 'uncaughtException' and 'unhandledRejection' listeners that rethrow. They change how the whole
 * process reports errors and pile up with every load, so remove the ones that appeared during it.
 */
async function loadProcessor(file: string): Promise<SpjsProcessor> {
  const events = ['uncaughtException', 'unhandledRejection'];
  // Through the plain EventEmitter signature: process's typed overloads do not accept a union of names.
  const emitter: NodeJS.EventEmitter = process;
  const before = events.map((e) => new Set(emitter.listeners(e)));
  const spjs = requireCjs('sentencepiece-js') as SpjsModule;
  const processor = new spjs.SentencePieceProcessor();
  try {
    await processor.load(file);
  } finally {
    events.forEach((e, i) => {
      for (const l of emitter.listeners(e)) if (!before[i]?.has(l)) emitter.removeListener(e, l as (...args: unknown[]) => void);
    });
  }
  const status = processor.processor?.status?.();
  if (status !== undefined) {
    const text = status.ToString();
    status.delete();
    if (text !== 'OK') throw new Error(`SentencePiece model ${file}: sentencepiece-js could not load it: ${text}`);
  }
  return processor;
}

/** What a piece contributes to decoded text mid-sequence; control and unknown pieces decode to nothing. */
function pieceBytes(p: { piece: string; type: PieceType }): Uint8Array {
  switch (p.type) {
    case PieceType.Byte:
      return Uint8Array.of(bytePieceValue(p.piece) ?? 0);
    case PieceType.Normal:
    case PieceType.UserDefined:
      return utf8Encode(p.piece.replaceAll('\u2581', ' '));
    default:
      return new Uint8Array(0);
  }
}

export class SentencePieceTokenizer implements Tokenizer {
  readonly kind = 'sentencepiece' as const;
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  private readonly table: Uint8Array[];
  /** Ids that decode() drops: control pieces (BOS/EOS/pad) and <unk>, as tokenBytes() maps them to nothing. */
  private readonly silent: Set<number>;
  private readonly textIndex: Map<string, number>;

  constructor(
    private readonly sp: SpjsProcessor,
    model: SentencePieceModel,
    ids: { bosId: number; eosId: number },
  ) {
    this.vocabSize = model.pieces.length;
    this.bosId = ids.bosId;
    this.eosId = ids.eosId;
    this.table = model.pieces.map(pieceBytes);
    this.silent = new Set(model.pieces.flatMap((p, id) => (p.type === PieceType.Control || p.type === PieceType.Unknown ? [id] : [])));
    this.silent.add(ids.bosId).add(ids.eosId);
    const specials = model.pieces.flatMap((p, id) => (p.type === PieceType.Control || p.type === PieceType.Unknown ? [[p.piece, id] as const] : []));
    this.textIndex = buildTextIndex(this.table, (id) => model.pieces[id]?.type === PieceType.Byte, specials);
  }

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    checkEncodeArgs(text, options);
    const ids = this.sp.encodeIds(text);
    return options.bos ?? true ? [this.bosId, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    // sentencepiece-js decodes out-of-range ids to '' without a word; say which id was wrong instead.
    checkIds(ids, this.vocabSize, 'sentencepiece');
    return this.sp.decodeIds(ids.filter((id) => !this.silent.has(id)));
  }

  tokenBytes(): Uint8Array[] {
    return this.table.slice();
  }

  tokenId(piece: string): number | undefined {
    return this.textIndex.get(piece);
  }
}

/** Loads a SentencePiece .model; BOS/EOS default to the model's trainer spec (usually 1 and 2). */
export async function loadSentencePieceTokenizer(
  file: string,
  options: { bosId?: number; eosId?: number } = {},
): Promise<SentencePieceTokenizer> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new Error(`SentencePiece model ${file}: cannot read: ${(e as Error).message}`);
  }
  const model = parseSentencePieceModel(buf, file);
  const bosId = options.bosId ?? model.bosId;
  const eosId = options.eosId ?? model.eosId;
  for (const [name, id] of [['BOS', bosId], ['EOS', eosId]] as const) {
    if (!Number.isInteger(id) || id < 0 || id >= model.pieces.length) {
      throw new Error(`SentencePiece model ${file}: ${name} id ${id} is not a piece (the model has ${model.pieces.length}); pass ${name.toLowerCase()}Id`);
    }
  }
  return new SentencePieceTokenizer(await loadProcessor(file), model, { bosId, eosId });
}
