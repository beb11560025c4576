// Properties of generation on a real model: batching never changes a result, the KV cache gives
// what a full re-forward gives, and the sampler draws from the distribution it claims.
import { loadModel, type LanguageModel } from '../../src/index.js';
import { describeWith, HF_656K, LLAMA2C_260K, TOK512 } from '../shared.js';

const PROMPTS = [
  'Once upon a time, there was a little girl named ',
  'The dog ',
  'Tom and Sue went to the park. They saw a big ',
  'One day, ',
];

describeWith([HF_656K], 'generation on tinystories-656k', () => {
  let model: LanguageModel;
  beforeAll(async () => {
    model = await loadModel(HF_656K);
  });
  afterAll(() => model?.dispose());

  test('prompts of different lengths in one batch equal the same prompts run one by one', async () => {
    const options = { temperature: 1, topK: 40, topP: 0.95, maxNewTokens: 40, seed: 7 };
    const batched = await model.generate(PROMPTS, options);
    for (let i = 0; i < PROMPTS.length; i++) {
      // Completion i of the batch draws from stream seed + i.
      const [alone] = await model.generate(PROMPTS[i]!, { ...options, seed: 7 + i });
      expect(alone!.ids).toEqual(batched[i]!.ids);
      expect(alone!.logprobs).toEqual(batched[i]!.logprobs);
      expect(alone!.text).toBe(batched[i]!.text);
    }
  });

  test('batch size, n and thread count do not change the samples', async () => {
    const base = await model.generate(PROMPTS, { n: 3, maxNewTokens: 24, seed: 3, batchSize: 64, threads: 1 });
    const small = await model.generate(PROMPTS, { n: 3, maxNewTokens: 24, seed: 3, batchSize: 5, threads: 2 });
    expect(small.map((c) => c.ids)).toEqual(base.map((c) => c.ids));
    expect(base.map((c) => c.promptIndex)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
    // Different streams give different samples (with overwhelming probability over 24 tokens).
    expect(new Set(base.map((c) => c.ids.join(','))).size).toBeGreaterThan(8);
  });

  test('KV-cache decoding gives exactly the log-probs of a full re-forward', async () => {
    const completions = await model.generate(PROMPTS, { maxNewTokens: 60, seed: 11, ignoreEos: true });
    const promptIds = PROMPTS.map((p) => model.tokenizer.encode(p));
    const rescored = await model.logProbsOfIds(promptIds, completions.map((c) => c.ids));
    completions.forEach((c, i) => expect(rescored[i]).toEqual(c.logprobs));
    // And against the full logits of one sequence, computed without any cache reuse.
    const ids = [...promptIds[0]!, ...completions[0]!.ids];
    const V = model.config.vocabSize;
    const logits = await model.backend.logits!(ids);
    const t = ids.length - 2; // position predicting the last generated token
    const row = logits.subarray(t * V, (t + 1) * V);
    let mx = -Infinity;
    for (const v of row) mx = Math.max(mx, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - mx);
    const lp = row[ids[t + 1]!]! - mx - Math.log(sum);
    expect(Math.abs(lp - completions[0]!.logprobs.at(-1)!)).toBeLessThan(1e-4);
  });

  test('calls reuse the model\'s KV cache and activations: scores after a bigger call equal a fresh model\'s', async () => {
    const promptIds = PROMPTS.map((p) => model.tokenizer.encode(p));
    const small = [promptIds[1]!.slice(0, 2)], cont = [promptIds[1]!.slice(2)];
    await model.generate(PROMPTS, { n: 4, maxNewTokens: 50, seed: 5, ignoreEos: true }); // a larger cache, dirty
    const reused = await model.logProbsOfIds(small, cont);
    const fresh = await loadModel(HF_656K);
    try {
      expect(reused).toEqual(await fresh.logProbsOfIds(small, cont));
    } finally {
      fresh.dispose();
    }
  });

  test('greedy equals top-k 1 and a tiny top-p', async () => {
    const greedy = await model.generate(PROMPTS, { temperature: 0, maxNewTokens: 30 });
    const k1 = await model.generate(PROMPTS, { temperature: 1, topK: 1, maxNewTokens: 30, seed: 5 });
    const p0 = await model.generate(PROMPTS, { temperature: 1, topP: 1e-6, maxNewTokens: 30, seed: 9 });
    expect(k1.map((c) => c.ids)).toEqual(greedy.map((c) => c.ids));
    expect(p0.map((c) => c.ids)).toEqual(greedy.map((c) => c.ids));
  });

  test('sampled first tokens follow the model distribution', async () => {
    // 3000 one-token samples from one prompt; compare frequencies with exp(logprob).
    const prompt = 'Once upon a time, there was a ';
    const draws = await model.generate(prompt, { n: 3000, maxNewTokens: 1, seed: 1, batchSize: 512 });
    const counts = new Map<number, { n: number; p: number }>();
    for (const d of draws) {
      const e = counts.get(d.ids[0]!) ?? { n: 0, p: Math.exp(d.logprobs[0]!) };
      e.n++;
      counts.set(d.ids[0]!, e);
    }
    for (const { n, p } of counts.values()) {
      if (p < 0.05) continue;
      const sd = Math.sqrt((p * (1 - p)) / draws.length);
      expect(Math.abs(n / draws.length - p)).toBeLessThan(5 * sd);
    }
    expect(counts.size).toBeGreaterThan(3);
  });

  test('top-k restricts samples to the k most likely tokens', async () => {
    const prompt = 'Once upon a time, there was a ';
    const ids = model.tokenizer.encode(prompt);
    const V = model.config.vocabSize;
    const logits = await model.backend.logits!(ids);
    const last = Array.from(logits.subarray((ids.length - 1) * V));
    const top3 = last.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3).map(([, i]) => i);
    const draws = await model.generate(prompt, { n: 300, maxNewTokens: 1, topK: 3, temperature: 2, seed: 2, batchSize: 300 });
    for (const d of draws) expect(top3).toContain(d.ids[0]);
    expect(new Set(draws.map((d) => d.ids[0])).size).toBe(3);
  });

  test('stop strings end a completion and are cut from its text', async () => {
    const cs = await model.generate(PROMPTS, { maxNewTokens: 200, stop: ['.', '!'], seed: 4 });
    for (const c of cs) {
      expect(c.text).not.toMatch(/[.!]/);
      if (c.finishReason === 'stop') {
        const full = model.tokenizer.decode(c.ids);
        expect(full.includes('.') || full.includes('!')).toBe(true);
      }
    }
    expect(cs.some((c) => c.finishReason === 'stop')).toBe(true);
  });

  test('banned strings never appear; ignoreEos gives exactly maxNewTokens', async () => {
    const cs = await model.generate(PROMPTS, { maxNewTokens: 120, bannedStrings: ['e'], ignoreEos: true, seed: 8 });
    for (const c of cs) {
      expect(c.ids.length).toBe(120);
      expect(c.finishReason).toBe('length');
      expect(model.tokenizer.decode(c.ids)).not.toContain('e');
      expect(c.ids).not.toContain(model.config.eosId);
    }
  });

  test('EOS ends a completion with finishReason eos and is not in the text', async () => {
    const cs = await model.generate('Once upon a time', { maxNewTokens: 500, n: 8, seed: 21 });
    const ended = cs.filter((c) => c.finishReason === 'eos');
    expect(ended.length).toBeGreaterThan(0);
    for (const c of ended) {
      expect(c.ids.at(-1)).toBe(model.config.eosId);
      // EOS itself adds no text. (This model often spells "<|end_story|>" out in ordinary pieces
      // just before sampling EOS; that text is the model's own and stays.)
      const full = model.tokenizer.decode(c.ids);
      expect(model.tokenizer.decode(c.ids.slice(0, -1))).toBe(full);
      expect(c.text.endsWith(full.slice(-10))).toBe(true);
    }
  });

  test('same seed, same samples; progress is reported', async () => {
    const seen: number[] = [];
    const a = await model.generate(PROMPTS, { seed: 99, maxNewTokens: 50, onProgress: (done) => seen.push(done) });
    const b = await model.generate(PROMPTS, { seed: 99, maxNewTokens: 50 });
    expect(a).toEqual(b);
    expect(seen.at(-1)).toBe(a.reduce((n, c) => n + c.ids.length, 0));
  });

  test('logProbs of text agrees with the ids it reports', async () => {
    const [s] = await model.logProbs(['Once upon a time'], [', there was a little girl.']);
    expect(s!.ids.length).toBeGreaterThan(3);
    const promptIds = model.tokenizer.encode('Once upon a time' + ', there was a little girl.').slice(0, -s!.ids.length);
    const [direct] = await model.logProbsOfIds([promptIds], [s!.ids]);
    expect(direct).toEqual(s!.logprobs);
    expect(s!.total).toBeCloseTo(s!.logprobs.reduce((a, b) => a + b, 0), 5);
    // A likely continuation scores higher than an unlikely one.
    const [good, bad] = await model.logProbs(['Once upon a time', 'Once upon a time'], [', there was a girl.', ' purple seventeen wet.']);
    expect(good!.total / good!.ids.length).toBeGreaterThan(bad!.total / bad!.ids.length);
  });
});

describeWith([LLAMA2C_260K, TOK512], 'generation on stories260K (llama2.c)', () => {
  test('batched equals one by one with interleaved RoPE and a llama2.c tokenizer', async () => {
    const model = await loadModel(LLAMA2C_260K, { tokenizer: TOK512 });
    try {
      const batched = await model.generate(PROMPTS, { maxNewTokens: 30, seed: 1 });
      for (let i = 0; i < PROMPTS.length; i++) {
        const [alone] = await model.generate(PROMPTS[i]!, { maxNewTokens: 30, seed: 1 + i });
        expect(alone!.ids).toEqual(batched[i]!.ids);
      }
    } finally {
      model.dispose();
    }
  });
});
