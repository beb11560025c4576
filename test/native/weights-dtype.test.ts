// Inference with narrower weights (loadModel's weightsDtype): the same model, read in bf16, f16 or
// llama.cpp's q8_0, scores real text within a stated distance of f32 (mean |log-prob difference| per
// token), holds that many fewer bytes, and refuses what it cannot do. (The kernels themselves are
// checked per op against f32 in native/tests: `packed matmul ...`.)
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../../src/index.js';
import { describeWith, HF_656K, LLAMA2C_260K, SHARED, TOK512 } from '../shared.js';

const VAL = path.join(SHARED, 'data/tinystories/val.txt');

/** Mean |log p - log p_f32| per token over a few validation stories, and the f32 mean log p. */
async function distanceFromF32(model: string, tokenizer: string | undefined, dtype: 'bf16' | 'f16' | 'q8_0'): Promise<{ meanAbs: number; tokens: number; bytesRatio: number }> {
  const stories = fs.readFileSync(VAL, 'utf8').split(/\n\s*\n/).filter((s) => s.length > 200 && s.length < 900).slice(0, 6);
  const prompts = stories.map(() => '');
  const ref = await loadModel(model, tokenizer ? { tokenizer } : {});
  const narrow = await loadModel(model, { ...(tokenizer && { tokenizer }), weightsDtype: dtype });
  try {
    const a = await ref.logProbs(prompts, stories), b = await narrow.logProbs(prompts, stories);
    let sum = 0, n = 0;
    a.forEach((s, i) => s.logprobs.forEach((lp, j) => {
      sum += Math.abs(lp - b[i]!.logprobs[j]!);
      n++;
    }));
    const nativeOf = (m: typeof ref) => (m.backend as unknown as { native: { weightBytes: number; weightsDtype: string; parameterCount: number } }).native;
    expect(nativeOf(narrow).weightsDtype).toBe(dtype);
    expect(nativeOf(narrow).parameterCount).toBe(nativeOf(ref).parameterCount);
    return { meanAbs: sum / n, tokens: n, bytesRatio: nativeOf(narrow).weightBytes / nativeOf(ref).weightBytes };
  } finally {
    ref.dispose();
    narrow.dispose();
  }
}

// Measured: stories260K bf16 0.0067, f16 0.0007, q8_0 0.017 nats/token; tinystories-656k q8_0 0.018,
// and bf16/f16 exactly 0 (its f32 weights are bf16 values widened: nothing is lost). Models this
// small (width 64-128) round worst; bench/decode-sizes.bench.ts measures the 25M/88M models.
const TOLERANCE = { bf16: 0.02, f16: 0.003, q8_0: 0.03 };

for (const [name, model, tokenizer] of [['tinystories-656k', HF_656K, undefined], ['stories260K', LLAMA2C_260K, TOK512]] as const) {
  describeWith([model, VAL, ...(tokenizer ? [tokenizer] : [])], `weightsDtype on ${name}`, () => {
    test.each(['bf16', 'f16', 'q8_0'] as const)('%s scores real text close to f32 and holds fewer bytes', async (dtype) => {
      const r = await distanceFromF32(model, tokenizer, dtype);
      expect(r.tokens).toBeGreaterThan(200);
      expect(r.meanAbs).toBeLessThan(TOLERANCE[dtype]);
      // The matrices shrink 2x (bf16/f16) or ~3.5x (q8_0); the f32 embedding and norms stay.
      expect(r.bytesRatio).toBeLessThan(dtype === 'q8_0' ? 0.6 : 0.75);
    });
  });
}

describeWith([HF_656K], 'weightsDtype arguments', () => {
  test('an unknown dtype, or one with a backend that has its own weights, is refused by name', async () => {
    await expect(loadModel(HF_656K, { weightsDtype: 'q4_0' as never })).rejects.toThrow(/weightsDtype must be one of f32, bf16, f16, q8_0/);
    await expect(loadModel(HF_656K, { weightsDtype: 'q8_0', backend: 'onnx' })).rejects.toThrow(/native engine's/);
  });

  test('greedy decoding in bf16 starts as f32 does on the built-in model', async () => {
    const a = await loadModel('rlcd-story-base'), b = await loadModel('rlcd-story-base', { weightsDtype: 'bf16' });
    const prompt = 'Once upon a time, there was a little girl named Lily. She';
    const [x] = await a.generate(prompt, { maxNewTokens: 8, temperature: 0 });
    const [y] = await b.generate(prompt, { maxNewTokens: 8, temperature: 0 });
    expect(y!.ids.slice(0, 4)).toEqual(x!.ids.slice(0, 4));
    a.dispose();
    b.dispose();
  });
});
