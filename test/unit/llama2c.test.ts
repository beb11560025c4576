// The llama2.c .bin loader against the shared stories260K checkpoint and broken copies of it: a
// lying header gives a ModelFormatError naming the file before any allocation, and an unshared
// classifier (negative vocab_size) loads and gives the original logits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, type LanguageModel } from '../../src/index.js';
import { ModelFormatError } from '../../src/errors/model-format-error.js';
import { loadLlama2cCheckpoint } from '../../src/model/llama2c.js';
import { describeWith, LLAMA2C_260K, TOK512 } from '../shared.js';

const HEADER_BYTES = 28;
const FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;
const IDS = [1, 80, 147, 201, 282, 57];

function formatError(fn: () => unknown): ModelFormatError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ModelFormatError);
  return thrown as ModelFormatError;
}

function expectFormatError(fn: () => unknown, file: string, phrase: string): void {
  const e = formatError(fn);
  expect(e.file).toBe(file);
  expect(e.message).toContain(file);
  expect(e.message).toContain(phrase);
}

describeWith([LLAMA2C_260K, TOK512], 'llama2.c: stories260K', () => {
  let tmp: string;
  let original: Buffer;
  let n = 0;
  let rssBefore: number;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-llama2c-'));
    original = fs.readFileSync(LLAMA2C_260K);
    rssBefore = process.resourceUsage().maxRSS;
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const write = (bytes: Uint8Array): string => {
    const file = path.join(tmp, `model-${++n}.bin`);
    fs.writeFileSync(file, bytes);
    return file;
  };
  /** A copy of the real file with header field `field` set to `value`. */
  const withField = (field: (typeof FIELDS)[number], value: number): string => {
    const b = Buffer.from(original);
    b.writeInt32LE(value, FIELDS.indexOf(field) * 4);
    return write(b);
  };

  test('the real header', () => {
    const h = FIELDS.map((_, i) => original.readInt32LE(i * 4));
    expect(h).toEqual([64, 172, 5, 8, 4, 512, 512]);
    const { config, weights } = loadLlama2cCheckpoint(LLAMA2C_260K);
    expect(config).toMatchObject({ dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, headDim: 8, vocabSize: 512, maxSeqLen: 512, tiedEmbeddings: true, ropeStyle: 'interleaved' });
    expect(weights.view('lmHead').length).toBe(0);
  });

  test('a truncated file', () => {
    const file = write(original.subarray(0, original.length - 4));
    expectFormatError(() => loadLlama2cCheckpoint(file), file, `is ${original.length - 4} bytes but its header implies ${original.length}`);
    const half = write(original.subarray(0, original.length >> 1));
    expectFormatError(() => loadLlama2cCheckpoint(half), half, 'truncated or not a llama2.c checkpoint');
  });

  test('a file shorter than the header', () => {
    const file = write(original.subarray(0, 20));
    expectFormatError(() => loadLlama2cCheckpoint(file), file, 'is 20 bytes, too short for a llama2.c header');
  });

  test('a file with one extra byte', () => {
    const file = write(Buffer.concat([original, Buffer.from([0])]));
    expectFormatError(() => loadLlama2cCheckpoint(file), file, `is ${original.length + 1} bytes but its header implies ${original.length}`);
  });

  test('header field dim = 0', () => {
    const file = withField('dim', 0);
    expectFormatError(() => loadLlama2cCheckpoint(file), file, 'header field dim = 0 is out of range [1, 65536]');
  });

  test('negative n_layers', () => {
    const file = withField('n_layers', -5);
    expectFormatError(() => loadLlama2cCheckpoint(file), file, 'header field n_layers = -5 is out of range');
  });

  test('a huge vocab_size (2^30), positive or negative, never allocates', () => {
    for (const v of [2 ** 30, -(2 ** 30)]) {
      const file = withField('vocab_size', v);
      expectFormatError(() => loadLlama2cCheckpoint(file), file, `header field |vocab_size| = ${2 ** 30} is out of range [1, 4194304]`);
    }
  });

  test('INT32_MIN vocab_size (|v| overflows int32) is refused', () => {
    const file = withField('vocab_size', -(2 ** 31));
    expectFormatError(() => loadLlama2cCheckpoint(file), file, '|vocab_size|');
  });

  test('sizes within the limits that the file does not back are refused before allocating', () => {
    // 4M vocab x 64 dim would be a 1 GiB embedding; the size check comes first.
    const file = withField('vocab_size', 1 << 22);
    expectFormatError(() => loadLlama2cCheckpoint(file), file, 'but its header implies');
    const big = withField('dim', 1 << 16);
    expectFormatError(() => loadLlama2cCheckpoint(big), big, 'but its header implies');
  });

  test('n_heads not dividing dim, n_kv_heads not dividing n_heads', () => {
    const a = withField('n_heads', 7);
    expectFormatError(() => loadLlama2cCheckpoint(a), a, 'dim 64 is not a multiple of n_heads 7');
    const b = withField('n_kv_heads', 3);
    expectFormatError(() => loadLlama2cCheckpoint(b), b, 'n_heads 8 is not a multiple of n_kv_heads 3');
  });

  test('every other header field out of range', () => {
    for (const [field, value] of [['hidden_dim', -1], ['n_heads', 0], ['n_kv_heads', 5000], ['seq_len', 0], ['seq_len', 2 ** 21]] as const) {
      const file = withField(field, value);
      expectFormatError(() => loadLlama2cCheckpoint(file), file, `header field ${field} = ${value} is out of range`);
    }
  });

  test('a missing file', async () => {
    const file = path.join(tmp, 'nope.bin');
    expectFormatError(() => loadLlama2cCheckpoint(file), file, 'cannot open (ENOENT)');
    await expect(loadModel(file, { tokenizer: TOK512 })).rejects.toThrow(ModelFormatError);
  });

  test('none of this allocated much', () => {
    const grownMiB = (process.resourceUsage().maxRSS - rssBefore) / 1024;
    expect(grownMiB).toBeLessThan(256);
  });

  describe('an unshared classifier (negative vocab_size)', () => {
    const models: LanguageModel[] = [];
    afterAll(() => {
      for (const m of models) m.dispose();
    });

    test('loads, and with the embedding copied as classifier gives exactly the original logits', async () => {
      const vocab = original.readInt32LE(20), dim = original.readInt32LE(0);
      const emb = original.subarray(HEADER_BYTES, HEADER_BYTES + vocab * dim * 4);
      const untied = Buffer.concat([original, emb]);
      untied.writeInt32LE(-vocab, 20);
      const file = write(untied);

      const { config, weights } = loadLlama2cCheckpoint(file);
      expect(config.tiedEmbeddings).toBe(false);
      expect(config.vocabSize).toBe(vocab);
      expect(Buffer.from(weights.view('lmHead').buffer, weights.view('lmHead').byteOffset, vocab * dim * 4).equals(emb)).toBe(true);

      const a = await loadModel(LLAMA2C_260K, { tokenizer: TOK512 });
      models.push(a);
      const b = await loadModel(file, { tokenizer: TOK512 });
      models.push(b);
      expect(b.config.tiedEmbeddings).toBe(false);
      const ref = await a.backend.logits!(IDS);
      const got = await b.backend.logits!(IDS);
      expect(got.length).toBe(IDS.length * vocab);
      expect(Array.from(got)).toEqual(Array.from(ref));
    });

    test('a negative vocab_size without the classifier is truncated', () => {
      const b = Buffer.from(original);
      b.writeInt32LE(-512, 20);
      const file = write(b);
      expectFormatError(() => loadLlama2cCheckpoint(file), file, `is ${original.length} bytes but its header implies ${original.length + 512 * 64 * 4}`);
    });
  });
});
