// Checkpoint writing: the safetensors writer against the reader, Hugging Face checkpoints of the
// shared models that load back with the original's logits (llama2.c RoPE converted to rotate-half),
// PEFT adapters, trainer checkpoints, and the atomic directory swap under failures and real kills.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/index.js';
import { ModelFormatError } from '../../src/errors/model-format-error.js';
import type { EngineConfig } from '../../src/native/binding.js';
import { loadHfCheckpoint } from '../../src/model/hf.js';
import { loadLlama2cCheckpoint } from '../../src/model/llama2c.js';
import { loadPeftAdapter, savePeftAdapter } from '../../src/model/peft.js';
import { saveHfCheckpoint } from '../../src/model/save.js';
import { SafetensorsFile } from '../../src/model/safetensors.js';
import { writeSafetensors } from '../../src/model/safetensors-writer.js';
import { loadTrainerCheckpoint, saveTrainerCheckpoint } from '../../src/train/checkpoint.js';
import { atomicWriteFile, recoverDir, replaceDirAtomically } from '../../src/util/atomic.js';
import { describeWith, HF_656K, LLAMA2C_260K, TOK512 } from '../shared.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const IDS = [1, 80, 147, 201, 282, 57];
// Far above any pid_max, so never a running process: marks leftovers of a "killed" run.
const DEAD_PID = 999_999_999;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-save-'));
});
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

let dirCount = 0;
const freshPath = (name: string): string => path.join(tmp, `${name}-${++dirCount}`);

/** Deterministic pseudo-random floats (mulberry32). */
function randomFloats(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Every file under `dir`, relative, with its bytes (for "left intact" comparisons). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

/** Hidden temporaries of `target` left in its parent directory. */
const siblings = (target: string): string[] => fs.readdirSync(path.dirname(target)).filter((n) => n.startsWith(`.${path.basename(target)}.`));

function rawHeader(file: string): { length: number; text: string; json: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> } {
  const buf = fs.readFileSync(file);
  const length = Number(buf.readBigUInt64LE(0));
  const text = buf.subarray(8, 8 + length).toString('utf8');
  return { length, text, json: JSON.parse(text) };
}

// ---- safetensors writer ---------------------------------------------------------------------

describe('writeSafetensors', () => {
  test('round trip through SafetensorsFile: order, metadata, empty and scalar tensors, values', () => {
    const file = path.join(freshPath('st'), 'a.safetensors');
    fs.mkdirSync(path.dirname(file));
    const tensors = [
      { name: 'z.first', shape: [2, 3], data: randomFloats(6, 1) },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      { name: 'scalar', shape: [], data: Float32Array.of(-0) },
      { name: 'a.last', shape: [5], data: Float32Array.of(1e-45, -1e38, Infinity, NaN, 3.5) },
    ];
    writeSafetensors(file, tensors, { format: 'pt', note: 'héllo "quoted"' });
    const f = new SafetensorsFile(file);
    expect(f.metadata).toEqual({ format: 'pt', note: 'héllo "quoted"' });
    expect([...f.tensors.keys()]).toEqual(['z.first', 'empty', 'scalar', 'a.last']);
    for (const t of tensors) {
      const info = f.tensors.get(t.name)!;
      expect(info.dtype).toBe('F32');
      expect(info.shape).toEqual(t.shape);
      const back = new Float32Array(t.data.length);
      f.readInto(t.name, back);
      expect(sameBits(back, t.data)).toBe(true);
    }
    // data_offsets follow the given order, back to back, and the file ends with the last tensor.
    const { length, json } = rawHeader(file);
    expect(json['z.first']!.data_offsets).toEqual([0, 24]);
    expect(json.empty!.data_offsets).toEqual([24, 24]);
    expect(json.scalar!.data_offsets).toEqual([24, 28]);
    expect(json['a.last']!.data_offsets).toEqual([28, 48]);
    expect(fs.statSync(file).size).toBe(8 + length + 48);
    expect(siblings(file)).toEqual([]);
  });

  test('the header is padded with spaces to a multiple of 8 bytes, for every remainder', () => {
    const dir = freshPath('align');
    fs.mkdirSync(dir);
    const remainders = new Set<number>();
    for (let extra = 0; extra < 8; extra++) {
      const file = path.join(dir, `f${extra}.safetensors`);
      writeSafetensors(file, [{ name: 'x'.repeat(1 + extra), shape: [3], data: Float32Array.of(1, 2, 3) }]);
      const { length, text } = rawHeader(file);
      expect(length % 8).toBe(0);
      const json = text.trimEnd();
      remainders.add(Buffer.byteLength(json) % 8);
      expect(text.slice(json.length)).toMatch(/^ {0,7}$/);
      expect(new SafetensorsFile(file).tensors.get('x'.repeat(1 + extra))!.begin % 8).toBe(0);
    }
    expect(remainders.size).toBe(8); // every amount of padding, 0..7, was exercised
  });

  test('no tensors, no metadata: an 8-byte "{}" header', () => {
    const file = path.join(freshPath('st0'), 'e.safetensors');
    fs.mkdirSync(path.dirname(file));
    writeSafetensors(file, []);
    expect(rawHeader(file).text).toBe('{}      ');
    expect(new SafetensorsFile(file).tensors.size).toBe(0);
  });

  test('bad tensors are refused, naming the file, and an existing file is left as it was', () => {
    const dir = freshPath('bad');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'm.safetensors');
    writeSafetensors(file, [{ name: 'w', shape: [2], data: Float32Array.of(1, 2) }]);
    const before = fs.readFileSync(file);
    const cases: Array<[unknown[], RegExp]> = [
      [[{ name: 'w', shape: [3], data: Float32Array.of(1, 2) }], /tensor 'w': shape \[3\] holds 3 elements but data has 2/],
      [[{ name: 'w', shape: [1], data: Float32Array.of(1) }, { name: 'w', shape: [1], data: Float32Array.of(1) }], /tensor 'w' appears twice/],
      [[{ name: 'w', shape: [-1], data: Float32Array.of(1) }], /invalid shape \[-1\]/],
      [[{ name: '__metadata__', shape: [1], data: Float32Array.of(1) }], /invalid tensor name/],
      [[{ name: 'w', shape: [1], data: [1] }], /data must be a Float32Array/],
    ];
    for (const [tensors, message] of cases) {
      expect(() => writeSafetensors(file, tensors as never)).toThrow(message);
      expect(() => writeSafetensors(file, tensors as never)).toThrow(file);
    }
    expect(() => writeSafetensors(file, [], { n: 3 as never })).toThrow(/metadata 'n' must be a string/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(siblings(file)).toEqual([]);
  });

  test('atomicWriteFile replaces a file and removes a killed writer\'s temporary', () => {
    const dir = freshPath('aw');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'x.json');
    const stray = path.join(dir, `.x.json.tmp-${DEAD_PID}-0badf00d`);
    fs.writeFileSync(stray, '{"half": ');
    atomicWriteFile(file, 'one');
    atomicWriteFile(file, Buffer.from('two'));
    expect(fs.readFileSync(file, 'utf8')).toBe('two');
    expect(fs.readdirSync(dir)).toEqual(['x.json']);
  });
});

// ---- Hugging Face checkpoints -----------------------------------------------------------------

describeWith([HF_656K], 'saveHfCheckpoint: TinyStories-656K', () => {
  let reference: Float32Array;
  beforeAll(async () => {
    const m = await loadModel(HF_656K);
    reference = await m.backend.logits!(IDS);
    m.dispose();
  });

  test('load -> save -> loadModel gives exactly the original logits; config.json is HF Llama; tied stores the embedding only', async () => {
    const src = loadHfCheckpoint(HF_656K);
    const dir = freshPath('hf656k');
    await saveHfCheckpoint(dir, { config: src.config, weights: src.weights.data, hfConfig: src.hfConfig, tokenizerFrom: HF_656K });

    const m = await loadModel(dir);
    try {
      expect(sameBits(await m.backend.logits!(IDS), reference)).toBe(true);
    } finally {
      m.dispose();
    }
    const back = loadHfCheckpoint(dir);
    expect(back.config).toEqual(src.config);
    expect(sameBits(back.weights.data, src.weights.data)).toBe(true);

    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({
      architectures: ['LlamaForCausalLM'], model_type: 'llama', tie_word_embeddings: true, hidden_size: 128, intermediate_size: 384,
      num_hidden_layers: 2, num_attention_heads: 8, num_key_value_heads: 4, vocab_size: 2048, max_position_embeddings: 512,
      rms_norm_eps: 1e-6, rope_theta: 10000, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', torch_dtype: 'float32',
      attention_bias: false, mlp_bias: false, transformers_version: '4.41.2', // a source key, kept
    });
    expect(cfg).not.toHaveProperty('head_dim'); // 128 / 8 = 16 is implied
    const st = new SafetensorsFile(path.join(dir, 'model.safetensors'));
    expect(st.metadata.format).toBe('pt');
    expect(st.tensors.has('model.embed_tokens.weight')).toBe(true);
    expect(st.tensors.has('lm_head.weight')).toBe(false);
    expect(st.tensors.size).toBe(1 + 2 * 9 + 1);
    expect(st.tensors.get('model.layers.1.self_attn.k_proj.weight')!.shape).toEqual([64, 128]);
    expect(fs.readdirSync(dir).sort()).toEqual(
      ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'],
    );
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
      expect(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(HF_656K, f)))).toBe(true);
    }
  });

  test('untied: stores lm_head.weight too and still gives the same logits; saving over a checkpoint replaces it', async () => {
    const src = loadHfCheckpoint(HF_656K);
    const { config } = src;
    const V = config.vocabSize, C = config.dim;
    // Untied layout = tied layout + lmHead at the end; a copy of the embedding computes the same.
    const weights = new Float32Array(src.weights.data.length + V * C);
    weights.set(src.weights.data);
    weights.set(src.weights.view('tokEmb'), src.weights.data.length);
    const dir = freshPath('hf656k-untied');
    await saveHfCheckpoint(dir, { config: src.config, weights: src.weights.data, hfConfig: src.hfConfig, tokenizerFrom: HF_656K });
    await saveHfCheckpoint(dir, {
      config: { ...config, tiedEmbeddings: false }, weights, hfConfig: src.hfConfig,
      tokenizerFrom: path.join(HF_656K, 'tokenizer.json'), extraConfig: { rlcd: { note: 'untied' }, dropped: undefined },
    });
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg.tie_word_embeddings).toBe(false);
    expect(cfg.rlcd).toEqual({ note: 'untied' });
    expect(cfg).not.toHaveProperty('dropped');
    const st = new SafetensorsFile(path.join(dir, 'model.safetensors'));
    expect(st.tensors.has('lm_head.weight') && st.tensors.has('model.embed_tokens.weight')).toBe(true);
    expect(siblings(dir)).toEqual([]);
    const m = await loadModel(dir);
    try {
      expect(m.config.tiedEmbeddings).toBe(false);
      expect(sameBits(await m.backend.logits!(IDS), reference)).toBe(true);
    } finally {
      m.dispose();
    }
  });

  test('a reward model: LlamaForSequenceClassification with score.* loads as its backbone', async () => {
    const src = loadHfCheckpoint(HF_656K);
    const dir = freshPath('hf656k-rm');
    await saveHfCheckpoint(dir, {
      config: src.config, weights: src.weights.data, hfConfig: src.hfConfig, tokenizerFrom: HF_656K,
      architecture: 'LlamaForSequenceClassification', extraConfig: { num_labels: 1 },
      extraTensors: [{ name: 'score.weight', shape: [1, 128], data: randomFloats(128, 9) }],
    });
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ architectures: ['LlamaForSequenceClassification'], model_type: 'llama', num_labels: 1 });
    const back = loadHfCheckpoint(dir);
    expect(sameBits(back.weights.data, src.weights.data)).toBe(true);
    expect(new SafetensorsFile(path.join(dir, 'model.safetensors')).tensors.get('score.weight')!.shape).toEqual([1, 128]);
  });

  test('arguments that contradict the weights fail before the directory is touched', async () => {
    const src = loadHfCheckpoint(HF_656K);
    const dir = freshPath('hf656k-bad');
    const base = { config: src.config, weights: src.weights.data, hfConfig: src.hfConfig };
    await expect(saveHfCheckpoint(dir, { ...base, weights: src.weights.data.subarray(1) })).rejects.toThrow(/weights have \d+ values but this config's layout needs/);
    await expect(saveHfCheckpoint(dir, { ...base, extraConfig: { hidden_size: 64 } })).rejects.toThrow(/would load as a different model \(dim 64 instead of 128, headDim 8 instead of 16\)/);
    await expect(saveHfCheckpoint(dir, { ...base, architecture: 'Qwen2ForCausalLM' })).rejects.toThrow(/Qwen2ForCausalLM has q\/k\/v biases but the model has none/);
    await expect(saveHfCheckpoint(dir, { ...base, extraTensors: [{ name: 'model.norm.weight', shape: [1], data: Float32Array.of(1) }] })).rejects.toThrow(/collides/);
    await expect(saveHfCheckpoint(dir, { ...base, tokenizerFrom: path.join(tmp, 'nope') })).rejects.toThrow(ModelFormatError);
    expect(fs.existsSync(dir)).toBe(false);
    expect(siblings(dir)).toEqual([]);
  });
});

describeWith([LLAMA2C_260K, TOK512], 'saveHfCheckpoint: llama2.c stories260K -> Hugging Face (rotate-half)', () => {
  test('loads as an HF directory with tokenizer.bin; logits within 1e-5, greedy ids identical; without the permutation it would differ', async () => {
    const orig = await loadModel(LLAMA2C_260K, { tokenizer: TOK512 });
    const refLogits = await orig.backend.logits!(IDS);
    const [refGen] = await orig.generate('Once upon a time', { temperature: 0, maxNewTokens: 30 });
    orig.dispose();

    const src = loadLlama2cCheckpoint(LLAMA2C_260K);
    expect(src.config.ropeStyle).toBe('interleaved');
    const dir = freshPath('l2c');
    await saveHfCheckpoint(dir, { config: src.config, weights: src.weights.data, tokenizerFrom: TOK512 });
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.bin']);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg).toMatchObject({ architectures: ['LlamaForCausalLM'], hidden_size: 64, num_key_value_heads: 4, vocab_size: 512, max_position_embeddings: 512, rms_norm_eps: 1e-5, tie_word_embeddings: true });
    // The q rows really were reordered (row 1 of head 0 is the interleaved row 2).
    const st = new SafetensorsFile(path.join(dir, 'model.safetensors'));
    const q = new Float32Array(64 * 64);
    st.readInto('model.layers.0.self_attn.q_proj.weight', q);
    const wq = src.weights.layer('wq', 0);
    expect(sameBits(q.subarray(64, 128), wq.subarray(128, 192))).toBe(true);
    expect(sameBits(q.subarray(4 * 64, 5 * 64), wq.subarray(64, 128))).toBe(true); // HS = 8: row 4 <- row 1

    const saved = await loadModel(dir);
    try {
      expect(saved.config.ropeStyle).toBe('rotate-half');
      expect(saved.tokenizer.kind).toBe('llama2c');
      expect(maxAbsDiff(await saved.backend.logits!(IDS), refLogits)).toBeLessThan(1e-5);
      const [gen] = await saved.generate('Once upon a time', { temperature: 0, maxNewTokens: 30 });
      expect(gen!.ids).toEqual(refGen!.ids);
      expect(gen!.text).toBe(refGen!.text);
    } finally {
      saved.dispose();
    }

    // Control: the same weights labelled rotate-half (no permutation) compute something else.
    const wrong = freshPath('l2c-unpermuted');
    await saveHfCheckpoint(wrong, { config: { ...src.config, ropeStyle: 'rotate-half' }, weights: src.weights.data, tokenizerFrom: TOK512 });
    const w = await loadModel(wrong);
    try {
      expect(maxAbsDiff(await w.backend.logits!(IDS), refLogits)).toBeGreaterThan(1e-3);
    } finally {
      w.dispose();
    }
  });

  test('a tokenizer.bin that does not fit the model is refused at save time, naming it', async () => {
    const src = loadLlama2cCheckpoint(LLAMA2C_260K);
    const dir = freshPath('l2c-badtok');
    await expect(saveHfCheckpoint(dir, { config: src.config, weights: src.weights.data, tokenizerFrom: LLAMA2C_260K })).rejects.toThrow(LLAMA2C_260K);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

// ---- PEFT adapters ----------------------------------------------------------------------------

describe('PEFT adapters', () => {
  // GQA, head_dim 4, hidden != dim: every (in, out) differs from its neighbours.
  const config: EngineConfig = {
    dim: 16, hiddenDim: 40, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 4, vocabSize: 32, maxSeqLen: 64,
    rmsEps: 1e-5, ropeTheta: 10000, ropeStyle: 'rotate-half', tiedEmbeddings: true, qkvBias: false, bosId: 1, eosId: 2,
  };
  const rank = 3;
  // (in, out) per target, written out from the layout rule rather than taken from the code under test.
  const IN_OUT: Record<string, [number, number]> = {
    q_proj: [16, 16], k_proj: [16, 8], v_proj: [16, 8], o_proj: [16, 16], gate_proj: [16, 40], up_proj: [16, 40], down_proj: [40, 16],
  };
  const ORDER = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

  /** The expected tensors: name -> [shape, offset in the buffer], in buffer order. */
  function expectedLayout(targets: string[]): { entries: Array<[string, number[], number]>; total: number } {
    const entries: Array<[string, number[], number]> = [];
    let off = 0;
    for (let l = 0; l < config.nLayers; l++) {
      for (const t of ORDER.filter((x) => targets.includes(x))) {
        const [inF, outF] = IN_OUT[t]!;
        const p = `base_model.model.model.layers.${l}.${['gate_proj', 'up_proj', 'down_proj'].includes(t) ? 'mlp' : 'self_attn'}.${t}`;
        entries.push([`${p}.lora_A.weight`, [rank, inF], off]);
        off += rank * inF;
        entries.push([`${p}.lora_B.weight`, [outF, rank], off]);
        off += outF * rank;
      }
    }
    return { entries, total: off };
  }

  test('round trip: adapter_config.json, PEFT names and shapes, values, engine order', async () => {
    const targets = ['v_proj', 'q_proj', 'down_proj', 'gate_proj'] as const;
    const { entries, total } = expectedLayout([...targets]);
    expect(total).toBe(2 * (3 * (16 + 16) + 3 * (16 + 8) + 3 * (40 + 16) + 3 * (16 + 40)));
    const lora = randomFloats(total, 42);
    const dir = freshPath('peft');
    await savePeftAdapter(dir, { config, lora, rank, alpha: 6, targets: [...targets], baseModel: '/models/base' });

    const ac = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(ac).toMatchObject({
      peft_type: 'LORA', r: 3, lora_alpha: 6, target_modules: ['q_proj', 'v_proj', 'gate_proj', 'down_proj'],
      task_type: 'CAUSAL_LM', base_model_name_or_path: '/models/base', bias: 'none',
    });
    const st = new SafetensorsFile(path.join(dir, 'adapter_model.safetensors'));
    expect([...st.tensors.keys()]).toEqual(entries.map((e) => e[0]));
    for (const [name, shape, off] of entries) {
      expect(st.tensors.get(name)!.shape).toEqual(shape);
      const got = new Float32Array(shape[0]! * shape[1]!);
      st.readInto(name, got);
      expect(sameBits(got, lora.subarray(off, off + got.length))).toBe(true);
    }
    expect(st.tensors.has('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight')).toBe(true);
    expect(st.tensors.has('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight')).toBe(true);

    const back = loadPeftAdapter(dir, config);
    expect(back.rank).toBe(3);
    expect(back.alpha).toBe(6);
    expect(back.targets).toEqual(['q_proj', 'v_proj', 'gate_proj', 'down_proj']);
    expect(sameBits(back.lora, lora)).toBe(true);
  });

  test('interleaved (llama2.c) models: q/k B rows are written in HF order and restored on load', async () => {
    const l2c: EngineConfig = { ...config, ropeStyle: 'interleaved' };
    const targets: Array<'q_proj' | 'k_proj'> = ['q_proj', 'k_proj'];
    const { entries, total } = expectedLayout(targets);
    const lora = randomFloats(total, 7);
    const dir = freshPath('peft-l2c');
    await savePeftAdapter(dir, { config: l2c, lora, rank, alpha: 8, targets, baseModel: 'b' });
    const st = new SafetensorsFile(path.join(dir, 'adapter_model.safetensors'));
    const [name, , off] = entries.find((e) => e[0].endsWith('layers.0.self_attn.k_proj.lora_B.weight'))!;
    const B = new Float32Array(8 * rank);
    st.readInto(name, B);
    // headDim 4: HF rows [0, 1, 2, 3] of each head are interleaved rows [0, 2, 1, 3].
    const orig = lora.subarray(off, off + 8 * rank);
    const row = (m: Float32Array, r: number): Float32Array => m.subarray(r * rank, (r + 1) * rank);
    [0, 2, 1, 3, 4, 6, 5, 7].forEach((src, r) => expect(sameBits(row(B, r), row(orig, src))).toBe(true));
    expect(sameBits(loadPeftAdapter(dir, l2c).lora, lora)).toBe(true);
  });

  test('bad buffers and files are refused; errors name the file', async () => {
    const { total } = expectedLayout(['o_proj']);
    await expect(savePeftAdapter(freshPath('peft-bad'), { config, lora: new Float32Array(total + 1), rank, alpha: 1, targets: ['o_proj'], baseModel: 'b' }))
      .rejects.toThrow(/needs \d+/);
    const dir = freshPath('peft-ok');
    await savePeftAdapter(dir, { config, lora: randomFloats(total, 3), rank, alpha: 1, targets: ['o_proj'], baseModel: 'b' });
    const weightsFile = path.join(dir, 'adapter_model.safetensors');
    // A model with another width: the shapes do not fit.
    const err = (() => {
      try {
        loadPeftAdapter(dir, { ...config, dim: 8, nHeads: 2, nKvHeads: 1 });
      } catch (e) {
        return e as ModelFormatError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err!.file).toBe(weightsFile);
    expect(err!.message).toMatch(/o_proj\.lora_A\.weight' has shape \[3,16\], expected \[3,8\]/);
    // More layers in the file than in the model.
    expect(() => loadPeftAdapter(dir, { ...config, nLayers: 1 })).toThrow(/tensor\(s\) this model's adapter layout does not use/);
    // Variants the engine does not implement.
    const configFile = path.join(dir, 'adapter_config.json');
    const ac = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    for (const [edit, message] of [
      [{ use_dora: true }, /use_dora/], [{ target_modules: 'all-linear' }, /target_modules must be a list/],
      [{ target_modules: ['lm_head'] }, /the engine adapts only/], [{ peft_type: 'IA3' }, /only LORA/], [{ r: 0 }, /r must be a positive integer/],
    ] as Array<[Record<string, unknown>, RegExp]>) {
      fs.writeFileSync(configFile, JSON.stringify({ ...ac, ...edit }));
      expect(() => loadPeftAdapter(dir, config)).toThrow(message);
      expect(() => loadPeftAdapter(dir, config)).toThrow(configFile);
    }
  });
});

// ---- atomic directories and trainer checkpoints ---------------------------------------------------

describe('replaceDirAtomically', () => {
  function oldDir(): string {
    const dir = freshPath('ckpt');
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a.txt'), 'old a');
    fs.writeFileSync(path.join(dir, 'sub', 'b.txt'), 'old b');
    return dir;
  }

  test('a build() that throws halfway leaves the old directory intact and complete', async () => {
    const dir = oldDir();
    const before = snapshot(dir);
    await expect(replaceDirAtomically(dir, async (t) => {
      fs.writeFileSync(path.join(t, 'a.txt'), 'new a');
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('disk full (simulated)');
    })).rejects.toThrow('disk full (simulated)');
    expect(snapshot(dir)).toEqual(before);
    expect(siblings(dir)).toEqual([]);
  });

  test('replaces the whole directory: files of the old version do not survive', async () => {
    const dir = oldDir();
    await replaceDirAtomically(dir, (t) => fs.writeFileSync(path.join(t, 'c.txt'), 'new c'));
    expect(snapshot(dir)).toEqual({ 'c.txt': Buffer.from('new c').toString('base64') });
    expect(siblings(dir)).toEqual([]);
  });

  test('leftovers of a killed run are cleaned; those of a running process are not', async () => {
    const dir = oldDir();
    const parent = path.dirname(dir), base = path.basename(dir);
    const deadTmp = path.join(parent, `.${base}.tmp-${DEAD_PID}-0000aaaa`);
    const deadOld = path.join(parent, `.${base}.old-${DEAD_PID}-0000bbbb`);
    const liveTmp = path.join(parent, `.${base}.tmp-${process.ppid}-0000cccc`);
    for (const d of [deadTmp, deadOld, liveTmp]) {
      fs.mkdirSync(d);
      fs.writeFileSync(path.join(d, 'partial'), 'x');
    }
    await replaceDirAtomically(dir, (t) => fs.writeFileSync(path.join(t, 'n.txt'), 'n'));
    expect(fs.existsSync(deadTmp) || fs.existsSync(deadOld)).toBe(false);
    expect(fs.existsSync(liveTmp)).toBe(true);
    expect(Object.keys(snapshot(dir))).toEqual(['n.txt']);
    fs.rmSync(liveTmp, { recursive: true });
  });

  test('a kill between the two renames (final missing, old set aside) is undone by recoverDir', () => {
    const dir = oldDir();
    const before = snapshot(dir);
    const aside = path.join(path.dirname(dir), `.${path.basename(dir)}.old-${DEAD_PID}-0000dddd`);
    const tmpNew = path.join(path.dirname(dir), `.${path.basename(dir)}.tmp-${DEAD_PID}-0000eeee`);
    fs.renameSync(dir, aside);
    fs.mkdirSync(tmpNew);
    recoverDir(dir);
    expect(snapshot(dir)).toEqual(before);
    expect(siblings(dir)).toEqual([]);
  });
});

describe('trainer checkpoints', () => {
  const tensors = (seed: number): Record<string, Float32Array> => ({
    lora: randomFloats(1000, seed),
    adamM: randomFloats(1000, seed + 1),
    adamV: Float32Array.of(0, -0, 1e-45, 3.4e38, NaN),
    empty: new Float32Array(0),
  });
  const meta = { identity: { model: 'm', lr: 1e-4, list: [1, 'a', null, { x: true }] }, stepsDone: 7, optimizerStep: 7 };

  test('round trip, bit for bit; absent -> undefined', async () => {
    const dir = freshPath('trainer');
    expect(await loadTrainerCheckpoint(dir)).toBeUndefined();
    fs.mkdirSync(dir);
    expect(await loadTrainerCheckpoint(dir)).toBeUndefined();
    const t = tensors(1);
    await saveTrainerCheckpoint(dir, { tensors: t, meta: { ...meta, skipped: undefined } });
    expect(fs.readdirSync(dir).sort()).toEqual(['state.safetensors', 'trainer.json']);
    const back = (await loadTrainerCheckpoint(dir))!;
    expect(back.meta).toEqual(meta);
    expect(Object.keys(back.tensors)).toEqual(Object.keys(t));
    for (const k of Object.keys(t)) expect(sameBits(back.tensors[k]!, t[k]!)).toBe(true);
  });

  test('meta that JSON would change is refused, and the previous checkpoint stays', async () => {
    const dir = freshPath('trainer-meta');
    await saveTrainerCheckpoint(dir, { tensors: tensors(2), meta });
    const before = snapshot(dir);
    await expect(saveTrainerCheckpoint(dir, { tensors: tensors(3), meta: { loss: NaN } })).rejects.toThrow(/meta\.loss is NaN/);
    await expect(saveTrainerCheckpoint(dir, { tensors: tensors(3), meta: { a: [1, undefined] } })).rejects.toThrow(/meta\.a\[1\] is undefined/);
    await expect(saveTrainerCheckpoint(dir, { tensors: tensors(3), meta: { w: new Float32Array(2) } })).rejects.toThrow(/typed array/);
    await expect(saveTrainerCheckpoint(dir, { tensors: { x: [1] as never }, meta })).rejects.toThrow(/must be a Float32Array/);
    expect(snapshot(dir)).toEqual(before);
  });

  test('corrupt or incomplete checkpoints throw ModelFormatError naming the file', async () => {
    const make = async (): Promise<{ dir: string; state: string; json: string }> => {
      const dir = freshPath('trainer-bad');
      await saveTrainerCheckpoint(dir, { tensors: tensors(4), meta });
      return { dir, state: path.join(dir, 'state.safetensors'), json: path.join(dir, 'trainer.json') };
    };
    const expectNamed = async (dir: string, file: string, message: RegExp): Promise<void> => {
      const e = await loadTrainerCheckpoint(dir).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(ModelFormatError);
      expect((e as ModelFormatError).file).toBe(file);
      expect((e as Error).message).toMatch(message);
    };
    let c = await make();
    fs.truncateSync(c.state, fs.statSync(c.state).size - 4);
    await expectNamed(c.dir, c.state, /truncated file\?/);
    c = await make();
    fs.writeFileSync(c.json, '{"format": ');
    await expectNamed(c.dir, c.json, /not valid JSON/);
    c = await make();
    fs.rmSync(c.state);
    await expectNamed(c.dir, c.state, /missing, although trainer.json is there/);
    c = await make();
    fs.rmSync(c.json);
    await expectNamed(c.dir, c.json, /missing/);
    c = await make();
    const j = JSON.parse(fs.readFileSync(c.json, 'utf8')) as { tensors: Record<string, number> };
    j.tensors.lora = 999;
    fs.writeFileSync(c.json, JSON.stringify(j));
    await expectNamed(c.dir, c.state, /tensor 'lora' is F32 \[1000\], trainer.json says F32 \[999\]/);
  });

  test('SIGKILL at random moments of a save loop always leaves a complete checkpoint', async () => {
    const dir = freshPath('trainer-kill');
    const script = path.join(tmp, 'save-loop.mts');
    fs.writeFileSync(script, [
      `import { saveTrainerCheckpoint } from ${JSON.stringify(path.join(ROOT, 'src/train/checkpoint.ts'))};`,
      'const dir = process.argv[2]!;',
      'const first = Number(process.argv[3]);',
      'for (let i = first; ; i++) {',
      '  await saveTrainerCheckpoint(dir, { tensors: { w: new Float32Array(1 << 18).fill(i) }, meta: { i } });',
      "  if (i === first) process.stdout.write('ready\\n');",
      '}',
    ].join('\n'));
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    let lastSeen = 0;
    for (const delayMs of [40, 170]) {
      // One process (tsx as a loader, not its CLI, which would run the script in a grandchild).
      const child = spawn(process.execPath, ['--import', 'tsx', script, dir, String(lastSeen + 1)], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('exit', () => reject(new Error(`save loop exited early: ${stderr}`)));
      });
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      const ck = await loadTrainerCheckpoint(dir);
      expect(ck).toBeDefined();
      const i = ck!.meta.i as number;
      expect(i).toBeGreaterThan(lastSeen); // at least the save that printed 'ready'
      expect(ck!.tensors.w!.length).toBe(1 << 18);
      expect(ck!.tensors.w!.every((x) => x === i)).toBe(true);
      lastSeen = i;
    }
    await saveTrainerCheckpoint(dir, { tensors: {}, meta: { done: true } });
    expect(siblings(dir)).toEqual([]);
  });
});
