// The onnxruntime-node backend against the native engine on the same real models: our ONNX export
// (Optimum layout) must give the same greedy ids and logits within 1e-4, batched with left padding.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, type LanguageModel } from '../../src/index.js';
import { exportOnnx } from '../../src/model/onnx-export.js';
import { describeWith, HF_656K, LLAMA2C_260K, TOK512 } from '../shared.js';

const PROMPTS = ['Once upon a time', 'The dog ', 'Tom and Sue went to the park. They saw a big ', 'One day, '];

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describeWith([HF_656K], 'onnx backend vs native on tinystories-656k', () => {
  let dir: string;
  let native: LanguageModel, onnx: LanguageModel;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-onnx-'));
    const r = await exportOnnx(HF_656K, dir);
    expect(r.files).toEqual(expect.arrayContaining(['model.onnx', 'config.json', 'tokenizer.json']));
    native = await loadModel(HF_656K);
    onnx = await loadModel(dir);
  });
  afterAll(() => {
    native?.dispose();
    onnx?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a directory with model.onnx loads on the onnx backend; the native one is refused there', async () => {
    expect(onnx.backend.name).toBe('onnx');
    expect(onnx.config).toEqual(native.config);
    await expect(loadModel(dir, { backend: 'native' })).rejects.toThrow(/ONNX model only/);
    await expect(loadModel(HF_656K, { backend: 'onnx' })).rejects.toThrow(/export-onnx/);
  });

  test('greedy: 40 tokens, identical ids, prompts of different lengths in one batch', async () => {
    const a = await native.generate(PROMPTS, { temperature: 0, maxNewTokens: 40 });
    const b = await onnx.generate(PROMPTS, { temperature: 0, maxNewTokens: 40 });
    expect(b.map((c) => c.ids)).toEqual(a.map((c) => c.ids));
    expect(b.map((c) => c.text)).toEqual(a.map((c) => c.text));
    b.forEach((c, i) => c.logprobs.forEach((lp, j) => expect(Math.abs(lp - a[i]!.logprobs[j]!)).toBeLessThan(1e-4)));
  });

  test.each([
    ['top-k alone', { topK: 50 }],
    ['top-k + top-p', { topK: 50, topP: 0.9 }],
    ['whole vocabulary', {}],
  ])('sampling with %s draws the same tokens on both backends for the same seed', async (_name, sampling) => {
    const opts = { temperature: 1, maxNewTokens: 40, seed: 11, n: 4, ...sampling };
    const a = await native.generate(PROMPTS, opts);
    const b = await onnx.generate(PROMPTS, opts);
    expect(b.map((c) => c.ids)).toEqual(a.map((c) => c.ids));
  });

  test('a prefill split into groups of sequences (bounded logits memory) gives the same ids', async () => {
    const { OnnxBackend } = await import('../../src/inference/onnx.js');
    const before = OnnxBackend.prefillLogitBytes;
    OnnxBackend.prefillLogitBytes = 1;
    try {
      const a = await onnx.generate(PROMPTS, { temperature: 0, maxNewTokens: 12 });
      OnnxBackend.prefillLogitBytes = before;
      const b = await onnx.generate(PROMPTS, { temperature: 0, maxNewTokens: 12 });
      expect(a.map((c) => c.ids)).toEqual(b.map((c) => c.ids));
    } finally {
      OnnxBackend.prefillLogitBytes = before;
    }
  });

  test('logits and teacher-forced log-probs agree within 1e-4', async () => {
    const ids = native.tokenizer.encode('Once upon a time, there was a little girl named Lily. She liked to play with her ball.');
    expect(maxAbsDiff(await native.backend.logits!(ids), await onnx.backend.logits!(ids))).toBeLessThan(1e-4);
    const conts = ['She was happy.', ' and a cat'];
    const a = await native.logProbs(PROMPTS.slice(0, 2), conts), b = await onnx.logProbs(PROMPTS.slice(0, 2), conts);
    b.forEach((s, i) => {
      expect(s.ids).toEqual(a[i]!.ids);
      expect(Math.abs(s.total - a[i]!.total)).toBeLessThan(1e-4);
    });
  });

  test('sampling: seeded, independent of batching; stop, banned strings and ignoreEos work', async () => {
    const o = { temperature: 1, topK: 50, maxNewTokens: 24, seed: 9 };
    const batched = await onnx.generate(PROMPTS, o);
    const alone = await onnx.generate(PROMPTS[2]!, { ...o, seed: 11 });
    expect(alone[0]!.ids).toEqual(batched[2]!.ids);
    const stopped = await onnx.generate(PROMPTS, { ...o, maxNewTokens: 80, stop: ['.'] });
    for (const c of stopped) if (c.finishReason === 'stop') expect(c.text).not.toContain('.');
    expect(stopped.some((c) => c.finishReason === 'stop')).toBe(true);
    const banned = await onnx.generate(PROMPTS, { ...o, bannedStrings: ['e'] });
    for (const c of banned) expect(c.text).not.toContain('e');
    const full = await onnx.generate(PROMPTS, { ...o, ignoreEos: true, maxNewTokens: 30 });
    for (const c of full) expect([c.ids.length, c.finishReason]).toEqual([30, 'length']);
  });

  test('large models: weights in model.onnx.data load the same', async () => {
    const ext = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-onnx-ext-'));
    try {
      const r = await exportOnnx(HF_656K, ext, { externalDataThreshold: 0 });
      expect(r.files).toContain('model.onnx.data');
      const m = await loadModel(ext);
      const ids = m.tokenizer.encode('The cat sat');
      expect(maxAbsDiff(await m.backend.logits!(ids), await onnx.backend.logits!(ids))).toBe(0);
      m.dispose();
    } finally {
      fs.rmSync(ext, { recursive: true, force: true });
    }
  });
});

describeWith([LLAMA2C_260K, TOK512], 'onnx backend vs native on stories260K (llama2.c, interleaved RoPE)', () => {
  test('greedy ids and logits agree after the wq/wk row permutation', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-onnx-260k-'));
    const native = await loadModel(LLAMA2C_260K, { tokenizer: TOK512 });
    try {
      if (fs.existsSync(HF_656K)) await exportOnnx(HF_656K, dir); // an earlier export of another model, with tokenizer.json
      await exportOnnx(LLAMA2C_260K, dir, { tokenizer: TOK512 });
      const onnx = await loadModel(dir);
      // The export replaced the directory whole: nothing of an earlier export of another model stays.
      expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.onnx', 'tokenizer.bin']);
      expect(onnx.tokenizer.kind).toBe('llama2c');
      const a = await native.generate(PROMPTS, { temperature: 0, maxNewTokens: 40 });
      const b = await onnx.generate(PROMPTS, { temperature: 0, maxNewTokens: 40 });
      expect(b.map((c) => c.ids)).toEqual(a.map((c) => c.ids));
      const ids = native.tokenizer.encode(PROMPTS[2]! + a[2]!.text);
      expect(maxAbsDiff(await native.backend.logits!(ids), await onnx.backend.logits!(ids))).toBeLessThan(1e-4);
      onnx.dispose();
    } finally {
      native.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
