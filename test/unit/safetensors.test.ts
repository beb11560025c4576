// The safetensors / Hugging Face loader against real and deliberately broken files: every corrupt
// header is refused with a ModelFormatError naming the file, and F16, BF16, sharded and untied
// conversions of the shared TinyStories-656K checkpoint load and give the original's logits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, type LanguageModel } from '../../src/index.js';
import { ModelFormatError } from '../../src/errors/model-format-error.js';
import { loadHfCheckpoint } from '../../src/model/hf.js';
import { engineConfigFromHf } from '../../src/model/hf-config.js';
import { SafetensorsFile } from '../../src/model/safetensors.js';
import { describeWith, HF_656K } from '../shared.js';

// ---- a small safetensors reader/writer, independent of the one under test -----------------------

interface RawTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

interface RawFile {
  metadata: Record<string, string> | undefined;
  tensors: RawTensor[];
}

function readRaw(file: string): RawFile {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const dataStart = 8 + n;
  const tensors: RawTensor[] = [];
  let metadata: Record<string, string> | undefined;
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    tensors.push({
      name,
      dtype: t.dtype,
      shape: t.shape,
      bytes: new Uint8Array(buf.subarray(dataStart + t.data_offsets[0], dataStart + t.data_offsets[1])),
    });
  }
  return { metadata, tensors };
}

/** Header JSON (with its 8-byte little-endian length) followed by `data`, exactly as given. */
function writeWithHeader(file: string, header: unknown, data: Uint8Array = new Uint8Array(0)): void {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
}

/** A well-formed file: tensors packed back to back in the given order, `__metadata__` kept. */
function writeRaw(file: string, raw: RawFile): void {
  const header: Record<string, unknown> = {};
  if (raw.metadata) header.__metadata__ = raw.metadata;
  let offset = 0;
  for (const t of raw.tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  writeWithHeader(file, header, Buffer.concat(raw.tensors.map((t) => t.bytes)));
}

// ---- float conversions (round to nearest even) ------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function f32ToBf16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff; // NaN stays NaN
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

function f32ToF16(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: frac * 2^-24.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // a carry rolls into the exponent, as it should
  return sign | half;
}

function convertTensor(t: RawTensor, dtype: 'F16' | 'BF16'): RawTensor {
  expect(t.dtype).toBe('F32');
  const src = new Float32Array(t.bytes.slice().buffer);
  const out = new Uint16Array(src.length);
  const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
  for (let i = 0; i < src.length; i++) out[i] = conv(src[i]!);
  return { ...t, dtype, bytes: new Uint8Array(out.buffer) };
}

// ---- helpers -----------------------------------------------------------------------------------

const IDS = [1, 80, 147, 201, 282, 57];
const SIDE_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** The ModelFormatError `fn` throws; fails the test when it throws something else or nothing. */
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

function expectFormatError(fn: () => unknown, file: string, phrase: string | RegExp): void {
  const e = formatError(fn);
  expect(e.message).toContain(file);
  expect(e.file).toBe(file);
  if (typeof phrase === 'string') expect(e.message).toContain(phrase);
  else expect(e.message).toMatch(phrase);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describeWith([HF_656K], 'safetensors: TinyStories-656K', () => {
  let tmp: string;
  let original: RawFile;
  let originalBytes: Buffer;
  let dirCount = 0;
  let rssBefore: number;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-safetensors-'));
    originalBytes = fs.readFileSync(path.join(HF_656K, 'model.safetensors'));
    original = readRaw(path.join(HF_656K, 'model.safetensors'));
    rssBefore = process.resourceUsage().maxRSS;
  });
  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A fresh checkpoint directory: the side files (config.json possibly edited) and nothing else. */
  function checkpointDir(editConfig?: (c: Record<string, unknown>) => void): string {
    const dir = path.join(tmp, `ckpt-${++dirCount}`);
    fs.mkdirSync(dir);
    for (const f of SIDE_FILES) fs.copyFileSync(path.join(HF_656K, f), path.join(dir, f));
    if (editConfig) {
      const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      editConfig(cfg);
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg, null, 2));
    }
    return dir;
  }

  /** A checkpoint directory whose model.safetensors is written by `write(file)`. */
  function corruptDir(write: (file: string) => void): { dir: string; file: string } {
    const dir = checkpointDir();
    const file = path.join(dir, 'model.safetensors');
    write(file);
    return { dir, file };
  }

  const originalHeader = (): Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> => {
    const n = Number(originalBytes.readBigUInt64LE(0));
    return JSON.parse(originalBytes.subarray(8, 8 + n).toString('utf8'));
  };
  const originalData = (): Buffer => originalBytes.subarray(8 + Number(originalBytes.readBigUInt64LE(0)));

  describe('corrupt model.safetensors -> ModelFormatError naming the file', () => {
    test('a file shorter than 8 bytes', () => {
      const { dir, file } = corruptDir((f) => fs.writeFileSync(f, Buffer.from([1, 2, 3, 4, 5])));
      expectFormatError(() => loadHfCheckpoint(dir), file, 'file is 5 bytes, too short for a safetensors header');
      expectFormatError(() => new SafetensorsFile(file), file, 'too short');
    });

    test('an empty file', () => {
      const { dir, file } = corruptDir((f) => fs.writeFileSync(f, Buffer.alloc(0)));
      expectFormatError(() => loadHfCheckpoint(dir), file, 'file is 0 bytes');
    });

    test('a header length larger than the file', () => {
      const { dir, file } = corruptDir((f) => {
        const b = Buffer.alloc(100);
        b.writeBigUInt64LE(10_000n);
        fs.writeFileSync(f, b);
      });
      expectFormatError(() => loadHfCheckpoint(dir), file, 'header length 10000 exceeds the file (100 bytes)');
    });

    test('a huge header length (2^60) is refused before any allocation', () => {
      const { dir, file } = corruptDir((f) => {
        const b = Buffer.from(originalBytes);
        b.writeBigUInt64LE(1n << 60n);
        fs.writeFileSync(f, b);
      });
      expectFormatError(() => loadHfCheckpoint(dir), file, `header length ${1n << 60n} exceeds the file`);
    });

    test('a header that is not JSON', () => {
      const { dir, file } = corruptDir((f) => {
        const json = Buffer.from('{"lm_head.weight": {"dtype": "F32", ', 'utf8');
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(json.length));
        fs.writeFileSync(f, Buffer.concat([len, json, Buffer.alloc(64)]));
      });
      expectFormatError(() => loadHfCheckpoint(dir), file, 'header is not valid JSON');
    });

    test('a header that is a JSON array', () => {
      const { dir, file } = corruptDir((f) => writeWithHeader(f, [{ dtype: 'F32', shape: [1], data_offsets: [0, 4] }], new Uint8Array(4)));
      expectFormatError(() => loadHfCheckpoint(dir), file, 'header is not a JSON object');
    });

    test('a header that is a JSON string or null', () => {
      for (const header of ['hello', null, 42]) {
        const { file } = corruptDir((f) => writeWithHeader(f, header));
        expectFormatError(() => new SafetensorsFile(file), file, 'header is not a JSON object');
      }
    });

    test('an unsupported dtype (I8)', () => {
      const { dir, file } = corruptDir((f) => {
        const h = originalHeader();
        h['model.norm.weight']!.dtype = 'I8';
        writeWithHeader(f, h, originalData());
      });
      expectFormatError(() => loadHfCheckpoint(dir), file, `tensor 'model.norm.weight' has dtype "I8"; supported: F32, F16, BF16`);
    });

    test('a negative or non-integer shape', () => {
      for (const shape of [[-128], [128.5], [2048, -128], ['128'], 128]) {
        const { dir, file } = corruptDir((f) => {
          const h = originalHeader() as Record<string, { shape: unknown }>;
          h['model.norm.weight']!.shape = shape;
          writeWithHeader(f, h, originalData());
        });
        expectFormatError(() => loadHfCheckpoint(dir), file, `tensor 'model.norm.weight' has an invalid shape ${JSON.stringify(shape)}`);
      }
    });

    test('invalid data_offsets (negative, reversed, one number, strings)', () => {
      for (const offsets of [[-4, 508], [512, 0], [0], ['0', '512'], null]) {
        const { file } = corruptDir((f) => {
          const h = originalHeader() as Record<string, { data_offsets: unknown }>;
          h['model.norm.weight']!.data_offsets = offsets;
          writeWithHeader(f, h, originalData());
        });
        expectFormatError(() => new SafetensorsFile(file), file, `tensor 'model.norm.weight' has invalid data_offsets`);
      }
    });

    test('data_offsets beyond the data section (the real file cut in half)', () => {
      const { dir, file } = corruptDir((f) => fs.writeFileSync(f, originalBytes.subarray(0, Math.floor(originalBytes.length / 2))));
      expectFormatError(() => loadHfCheckpoint(dir), file, /ends at byte \d+ of the data section, which has only \d+ bytes \(truncated file\?\)/);
    });

    test('a file missing only its last byte', () => {
      const { dir, file } = corruptDir((f) => fs.writeFileSync(f, originalBytes.subarray(0, originalBytes.length - 1)));
      expectFormatError(() => loadHfCheckpoint(dir), file, "tensor 'model.norm.weight' ends at byte 2624000");
    });

    test('a data_offsets span that does not match shape x dtype', () => {
      const { dir, file } = corruptDir((f) => {
        const h = originalHeader();
        h['model.norm.weight']!.shape = [64]; // 256 bytes, but the offsets span 512
        writeWithHeader(f, h, originalData());
      });
      expectFormatError(() => loadHfCheckpoint(dir), file, `tensor 'model.norm.weight': shape [64] of F32 needs 256 bytes but data_offsets span 512`);
    });

    test('two tensors that overlap', () => {
      const { dir, file } = corruptDir((f) => {
        const h = originalHeader();
        // Same size as layer 0's input norm, pointed at the same bytes.
        h['model.layers.1.input_layernorm.weight']!.data_offsets = [...h['model.layers.0.input_layernorm.weight']!.data_offsets];
        writeWithHeader(f, h, originalData());
      });
      expectFormatError(() => loadHfCheckpoint(dir), file, /tensors 'model\.layers\.[01]\.input_layernorm\.weight' and 'model\.layers\.[01]\.input_layernorm\.weight' overlap/);
    });

    test('a partial overlap', () => {
      const { file } = corruptDir((f) => {
        const h = originalHeader();
        const [s, e] = h['model.norm.weight']!.data_offsets;
        h['model.norm.weight']!.data_offsets = [s - 4, e - 4];
        writeWithHeader(f, h, originalData());
      });
      expectFormatError(() => new SafetensorsFile(file), file, "and 'model.norm.weight' overlap");
    });

    test('a missing tensor (dropped from a properly rewritten file)', () => {
      const dir = checkpointDir();
      writeRaw(path.join(dir, 'model.safetensors'), {
        metadata: original.metadata,
        tensors: original.tensors.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight'),
      });
      // The file itself is well-formed; the directory lacks the tensor.
      expect(new SafetensorsFile(path.join(dir, 'model.safetensors')).tensors.size).toBe(original.tensors.length - 1);
      expectFormatError(() => loadHfCheckpoint(dir), dir, "missing tensor 'model.layers.1.mlp.up_proj.weight'");
    });

    test('neither embedding nor lm_head', () => {
      const dir = checkpointDir();
      writeRaw(path.join(dir, 'model.safetensors'), { metadata: original.metadata, tensors: original.tensors.filter((t) => t.name !== 'lm_head.weight') });
      expectFormatError(() => loadHfCheckpoint(dir), dir, 'has neither model.embed_tokens.weight nor lm_head.weight');
    });

    test('a tensor shape that disagrees with config.json (consistent header)', () => {
      const dir = checkpointDir();
      const file = path.join(dir, 'model.safetensors');
      writeRaw(file, {
        metadata: original.metadata,
        tensors: original.tensors.map((t) => (t.name === 'model.norm.weight' ? { ...t, shape: [64], bytes: t.bytes.slice(0, 256) } : t)),
      });
      expectFormatError(() => loadHfCheckpoint(dir), file, "tensor 'model.norm.weight' has shape [64], config.json implies [128]");
    });

    test('a transposed tensor (same element count, wrong shape)', () => {
      const dir = checkpointDir();
      const file = path.join(dir, 'model.safetensors');
      writeRaw(file, {
        metadata: original.metadata,
        tensors: original.tensors.map((t) => (t.name === 'model.layers.0.mlp.down_proj.weight' ? { ...t, shape: [384, 128] } : t)),
      });
      expectFormatError(() => loadHfCheckpoint(dir), file, "tensor 'model.layers.0.mlp.down_proj.weight' has shape [384,128], config.json implies [128,384]");
    });

    test('config.json hidden_size that disagrees with the tensors', () => {
      const dir = checkpointDir((c) => {
        c.hidden_size = 64;
      });
      const file = path.join(dir, 'model.safetensors');
      fs.copyFileSync(path.join(HF_656K, 'model.safetensors'), file);
      expectFormatError(() => loadHfCheckpoint(dir), file, "tensor 'lm_head.weight' has shape [2048,128], config.json implies [2048,64]");
    });

    test('a directory with no weights at all', () => {
      const dir = checkpointDir();
      expectFormatError(() => loadHfCheckpoint(dir), dir, 'has neither model.safetensors nor model.safetensors.index.json');
    });

    test('loadModel rejects the same way (async path)', async () => {
      const { dir, file } = corruptDir((f) => fs.writeFileSync(f, originalBytes.subarray(0, 100_000)));
      const err = await loadModel(dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ModelFormatError);
      expect((err as Error).message).toContain(file);
      expect((err as Error).message).toContain('truncated file?');
    });

    test('none of the corrupt files made the process allocate much', () => {
      // maxRSS is the peak resident set (KiB) since the process started. A 2^60 header or a lying
      // shape that got as far as an allocation would have pushed it far past this.
      const grownMiB = (process.resourceUsage().maxRSS - rssBefore) / 1024;
      expect(grownMiB).toBeLessThan(256);
    });
  });

  describe('config.json problems', () => {
    const withModel = (edit: (c: Record<string, unknown>) => void): string => {
      const dir = checkpointDir(edit);
      fs.copyFileSync(path.join(HF_656K, 'model.safetensors'), path.join(dir, 'model.safetensors'));
      return dir;
    };

    test('an unsupported architecture is named, with the supported list', () => {
      const dir = withModel((c) => {
        c.architectures = ['GPT2LMHeadModel'];
        c.model_type = 'gpt2';
      });
      expectFormatError(() => loadHfCheckpoint(dir), path.join(dir, 'config.json'), 'unsupported architecture ["GPT2LMHeadModel"]; supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM');
    });

    test('a missing architectures list falls back to naming model_type', () => {
      const dir = withModel((c) => {
        delete c.architectures;
        c.model_type = 'gpt_neox';
      });
      expectFormatError(() => loadHfCheckpoint(dir), path.join(dir, 'config.json'), 'unsupported architecture "gpt_neox"');
    });

    test('hidden_act gelu', () => {
      const dir = withModel((c) => {
        c.hidden_act = 'gelu';
      });
      expectFormatError(() => loadHfCheckpoint(dir), path.join(dir, 'config.json'), "hidden_act 'gelu' is not supported (only silu)");
    });

    test('rope_scaling set', () => {
      const dir = withModel((c) => {
        c.rope_scaling = { type: 'linear', factor: 2.0 };
      });
      expectFormatError(() => loadHfCheckpoint(dir), path.join(dir, 'config.json'), 'rope_scaling is not supported');
    });

    test('invalid JSON', async () => {
      const dir = withModel(() => {});
      const cfg = path.join(dir, 'config.json');
      fs.writeFileSync(cfg, '{"architectures": ["LlamaForCausalLM"], "hidden_size": 128,');
      expectFormatError(() => loadHfCheckpoint(dir), cfg, 'is not valid JSON');
      await expect(loadModel(dir)).rejects.toThrow(ModelFormatError);
    });

    test('a config.json that is a JSON array', () => {
      const dir = withModel(() => {});
      const cfg = path.join(dir, 'config.json');
      fs.writeFileSync(cfg, '[]');
      expectFormatError(() => loadHfCheckpoint(dir), cfg, 'is not a JSON object');
    });

    test('a non-integer or missing size', () => {
      let dir = withModel((c) => {
        c.intermediate_size = 383.5;
      });
      expectFormatError(() => loadHfCheckpoint(dir), path.join(dir, 'config.json'), 'intermediate_size must be a positive integer, got 383.5');
      dir = withModel((c) => {
        delete c.vocab_size;
      });
      expectFormatError(() => loadHfCheckpoint(dir), path.join(dir, 'config.json'), 'vocab_size must be a positive integer');
    });
  });

  describe('converted checkpoints give the original logits', () => {
    let reference: Float32Array;
    const models: LanguageModel[] = [];
    const load = async (dir: string): Promise<Float32Array> => {
      const m = await loadModel(dir);
      models.push(m);
      return m.backend.logits!(IDS);
    };

    beforeAll(async () => {
      reference = await load(HF_656K);
      expect(reference.length).toBe(IDS.length * 2048);
    });
    afterAll(() => {
      for (const m of models) m.dispose();
    });

    // The shared 656K checkpoint was trained in bf16 and saved as F32: every weight is exactly
    // representable in bf16, and (checked with numpy) in f16 too, so both conversions are lossless
    // and the measured deviation is 0. The file really holds halves (half the size, dtype F16/BF16),
    // so the half -> float path is what is under test here.
    for (const dtype of ['F16', 'BF16'] as const) {
      test(`a ${dtype} copy: exactly the F32 logits (measured max |diff| = 0)`, async () => {
        const dir = checkpointDir();
        const file = path.join(dir, 'model.safetensors');
        writeRaw(file, { metadata: original.metadata, tensors: original.tensors.map((t) => convertTensor(t, dtype)) });
        const st = new SafetensorsFile(file);
        expect([...st.tensors.values()].every((t) => t.dtype === dtype)).toBe(true);
        expect(st.metadata).toEqual(original.metadata);
        expect(fs.statSync(file).size).toBeLessThan(originalBytes.length / 2 + 4096);
        const logits = await load(dir);
        expect(maxAbsDiff(logits, reference)).toBe(0);
        expect(Array.from(logits)).toEqual(Array.from(reference));
      });
    }

    test('a 2-shard copy with model.safetensors.index.json: exactly equal', async () => {
      const dir = checkpointDir();
      const half = Math.ceil(original.tensors.length / 2);
      const shards = [original.tensors.slice(0, half), original.tensors.slice(half)];
      const weightMap: Record<string, string> = {};
      let total = 0;
      shards.forEach((tensors, i) => {
        const name = `model-0000${i + 1}-of-00002.safetensors`;
        writeRaw(path.join(dir, name), { metadata: { format: 'pt' }, tensors });
        for (const t of tensors) {
          weightMap[t.name] = name;
          total += t.bytes.length;
        }
      });
      fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2));
      expect(fs.existsSync(path.join(dir, 'model.safetensors'))).toBe(false);
      expect(Array.from(await load(dir))).toEqual(Array.from(reference));
    });

    test('an untied copy storing both embed_tokens and lm_head: exactly equal', async () => {
      const dir = checkpointDir((c) => {
        c.tie_word_embeddings = false;
      });
      const head = original.tensors.find((t) => t.name === 'lm_head.weight')!;
      writeRaw(path.join(dir, 'model.safetensors'), {
        metadata: { format: 'pt' },
        tensors: [{ ...head, name: 'model.embed_tokens.weight', bytes: head.bytes.slice() }, ...original.tensors],
      });
      const ck = loadHfCheckpoint(dir);
      expect(ck.config.tiedEmbeddings).toBe(false);
      expect(ck.weights.view('lmHead').length).toBe(2048 * 128);
      expect(Array.from(await load(dir))).toEqual(Array.from(reference));
    });

    test('a sharded index naming a shard without the tensor', () => {
      const dir = checkpointDir();
      const shard = 'model-00001-of-00001.safetensors';
      writeRaw(path.join(dir, shard), { metadata: original.metadata, tensors: original.tensors.slice(1) });
      const index = path.join(dir, 'model.safetensors.index.json');
      fs.writeFileSync(index, JSON.stringify({ weight_map: { 'lm_head.weight': shard } }));
      expectFormatError(() => loadHfCheckpoint(dir), path.join(dir, shard), "has no tensor 'lm_head.weight' although the index says so");
      fs.writeFileSync(index, JSON.stringify({ weight_map: { 'lm_head.weight': '../elsewhere.safetensors' } }));
      expectFormatError(() => loadHfCheckpoint(dir), index, 'must be a file name in the same directory');
      fs.writeFileSync(index, JSON.stringify({ metadata: {} }));
      expectFormatError(() => loadHfCheckpoint(dir), index, 'has no weight_map object');
    });
  });

  test('the header metadata is kept', () => {
    const f = new SafetensorsFile(path.join(HF_656K, 'model.safetensors'));
    expect(f.metadata).toEqual({ format: 'pt', 'model.embed_tokens.weight': 'lm_head.weight' });
    expect(f.tensors.get('lm_head.weight')).toMatchObject({ dtype: 'F32', shape: [2048, 128], size: 2048 * 128 });
  });

  test('F16 and BF16 special values convert to float32 exactly', () => {
    const halves = [0x3c00, 0xc000, 0x7c00, 0xfc00, 0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0x0000, 0x8000, 0x3555, 0x7e00];
    const expected = [1, -2, Infinity, -Infinity, 2 ** -24, -(2 ** -24), 1023 * 2 ** -24, 2 ** -14, 65504, 0, -0, 0.333251953125, NaN];
    const bf = [0x3f80, 0xc000, 0x7f80, 0x0001, 0x8000, 0x4049, 0x7fc0];
    const bfExpected = [1, -2, Infinity, 2 ** -133, -0, 3.140625, NaN];
    const file = path.join(tmp, 'specials.safetensors');
    writeRaw(file, {
      metadata: undefined,
      tensors: [
        { name: 'h', dtype: 'F16', shape: [halves.length], bytes: new Uint8Array(new Uint16Array(halves).buffer) },
        { name: 'b', dtype: 'BF16', shape: [bf.length], bytes: new Uint8Array(new Uint16Array(bf).buffer) },
      ],
    });
    const st = new SafetensorsFile(file);
    const dest = new Float32Array(halves.length);
    st.readInto('h', dest);
    // toEqual distinguishes -0 from 0 and treats NaN as equal to NaN.
    expect(Array.from(dest)).toEqual(expected);
    expect(Object.is(dest[10], -0)).toBe(true);
    expect(Object.is(dest[9], 0)).toBe(true);
    const bdest = new Float32Array(bf.length);
    st.readInto('b', bdest);
    expect(Array.from(bdest)).toEqual(bfExpected);
    // The writer used for the conversions above agrees with the reader on every special value.
    expect(halves.slice(0, 12).map((h, i) => f32ToF16(expected[i]!) === h)).toEqual(halves.slice(0, 12).map(() => true));
    // And readInto checks its destination.
    expectFormatError(() => st.readInto('h', new Float32Array(3)), file, `tensor 'h' has ${halves.length} elements, expected 3`);
    expectFormatError(() => st.readInto('nope', dest), file, "missing tensor 'nope'");
  });

  test('a file that cannot be opened', () => {
    const missing = path.join(tmp, 'does-not-exist.safetensors');
    expectFormatError(() => new SafetensorsFile(missing), missing, 'cannot open (ENOENT)');
  });
});

describe('engineConfigFromHf: Qwen2 and Mistral', () => {
  const base = {
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 1000,
    rms_norm_eps: 1e-6,
  };

  test('Qwen2ForCausalLM has q/k/v biases', () => {
    const c = engineConfigFromHf({ ...base, architectures: ['Qwen2ForCausalLM'], max_position_embeddings: 32768, sliding_window: 4096, use_sliding_window: false }, 'qwen/config.json');
    expect(c.qkvBias).toBe(true);
    expect(c.ropeStyle).toBe('rotate-half');
    // Qwen2 ignores sliding_window unless use_sliding_window is set.
    expect(c.maxSeqLen).toBe(32768);
    expect(engineConfigFromHf({ ...base, architectures: ['Qwen2ForCausalLM'], max_position_embeddings: 32768, sliding_window: 4096, use_sliding_window: true }, 'q').maxSeqLen).toBe(4096);
  });

  test('MistralForCausalLM: sliding_window 4096 caps a 32768 context', () => {
    const c = engineConfigFromHf({ ...base, architectures: ['MistralForCausalLM'], max_position_embeddings: 32768, sliding_window: 4096 }, 'mistral/config.json');
    expect(c.maxSeqLen).toBe(4096);
    expect(c.qkvBias).toBe(false);
    // A null sliding_window (as Mistral v0.2 ships) means full attention.
    expect(engineConfigFromHf({ ...base, architectures: ['MistralForCausalLM'], max_position_embeddings: 32768, sliding_window: null }, 'm').maxSeqLen).toBe(32768);
  });

  test('Llama: no biases; a missing num_key_value_heads defaults to num_attention_heads', () => {
    const { num_key_value_heads: _, ...noKv } = base;
    const c = engineConfigFromHf({ ...noKv, architectures: ['LlamaForCausalLM'] }, 'llama/config.json');
    expect(c.nKvHeads).toBe(4);
    expect(c.nHeads).toBe(4);
    expect(c.headDim).toBe(16);
    expect(c.qkvBias).toBe(false);
    expect(c.maxSeqLen).toBe(2048);
    expect(engineConfigFromHf({ ...base, architectures: ['LlamaForCausalLM'] }, 'l').nKvHeads).toBe(2);
  });

  test('several EOS ids: the first is used', () => {
    expect(engineConfigFromHf({ ...base, architectures: ['LlamaForCausalLM'], eos_token_id: [128001, 128009], vocab_size: 130000 }, 'l').eosId).toBe(128001);
  });

  test('an unknown architecture is refused by name', () => {
    expect(() => engineConfigFromHf({ ...base, architectures: ['GPT2LMHeadModel'] }, 'gpt2/config.json')).toThrow(
      /gpt2\/config\.json: unsupported architecture \["GPT2LMHeadModel"\]; supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM/,
    );
  });
});
