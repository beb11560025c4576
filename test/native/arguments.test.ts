// The addon called directly with bad arguments: every one is a TypeError or RangeError (thrown, or
// a rejected Promise for what only the engine can check), never a crash. Also dispose() semantics
// and that a long generate leaves the event loop free.
import { addon, type EngineConfig, type NativeModel } from '../../src/native/binding.js';
import { loadHfCheckpoint, type LoadedCheckpoint } from '../../src/model/hf.js';
import { describeWith, HF_656K } from '../shared.js';

// Deliberately wrong arguments need to get past the type checker.
type Any = any;

describeWith([HF_656K], 'native addon: argument checks', () => {
  let ck: LoadedCheckpoint;
  let cfg: EngineConfig;
  let weights: Float32Array;
  let pieces: Uint8Array[];
  let model: NativeModel; // with pieces
  let bare: NativeModel; // without pieces
  const V = 2048;

  beforeAll(async () => {
    ck = loadHfCheckpoint(HF_656K);
    cfg = ck.config;
    weights = ck.weights.data;
    // One byte per token is enough for stop strings to be accepted.
    pieces = Array.from({ length: cfg.vocabSize }, (_, i) => new Uint8Array([97 + (i % 26)]));
    model = await addon().createModel(cfg, weights, pieces);
    bare = await addon().createModel(cfg, weights);
  });
  afterAll(() => {
    model?.dispose();
    bare?.dispose();
  });

  test('the checkpoint is what these tests assume', () => {
    expect(cfg.vocabSize).toBe(V);
    expect(cfg.maxSeqLen).toBe(512);
    expect(cfg.nHeads).toBe(8);
    expect(model.parameterCount).toBe(weights.length);
  });

  describe('createModel', () => {
    const create = (...args: Any[]): unknown => (addon().createModel as Any)(...args);

    test('config not an object -> TypeError', () => {
      for (const c of [undefined, null, 42, 'config', [cfg]]) expect(() => create(c, weights)).toThrow(TypeError);
      expect(() => create(42, weights)).toThrow('config must be an object');
      expect(() => create()).toThrow(TypeError);
    });

    test('missing dim -> TypeError', () => {
      const { dim: _, ...noDim } = cfg;
      expect(() => create(noDim, weights)).toThrow(TypeError);
      expect(() => create(noDim, weights)).toThrow('config.dim is required');
    });

    test('a field of the wrong type or value', () => {
      expect(() => create({ ...cfg, dim: '128' }, weights)).toThrow(TypeError);
      expect(() => create({ ...cfg, dim: 128.5 }, weights)).toThrow(TypeError);
      expect(() => create({ ...cfg, dim: NaN }, weights)).toThrow(RangeError);
      expect(() => create({ ...cfg, dim: Infinity }, weights)).toThrow(RangeError);
      expect(() => create({ ...cfg, dim: 0 }, weights)).toThrow(RangeError);
      expect(() => create({ ...cfg, vocabSize: 2 ** 30 }, weights)).toThrow(RangeError);
      expect(() => create({ ...cfg, tiedEmbeddings: 1 }, weights)).toThrow(TypeError);
      expect(() => create({ ...cfg, eosId: V }, weights)).toThrow(RangeError);
      expect(() => create({ ...cfg, rmsEps: 0 }, weights)).toThrow(RangeError);
      expect(() => create({ ...cfg, headDim: 15 }, weights)).toThrow(RangeError);
    });

    test('nKvHeads not dividing nHeads (3 of 8) -> RangeError', () => {
      expect(() => create({ ...cfg, nKvHeads: 3 }, weights)).toThrow(RangeError);
      expect(() => create({ ...cfg, nKvHeads: 3 }, weights)).toThrow(/n_heads \(8\) must be a multiple of n_kv_heads \(3\)/);
    });

    test('weights not a Float32Array -> TypeError', () => {
      expect(() => create(cfg, Array.from(weights.subarray(0, 10)))).toThrow(TypeError);
      expect(() => create(cfg, new Float64Array(weights.length))).toThrow(TypeError);
      expect(() => create(cfg, new Uint8Array(weights.buffer))).toThrow(TypeError);
      expect(() => create(cfg, weights.buffer)).toThrow(TypeError);
      expect(() => create(cfg)).toThrow('weights must be a Float32Array');
    });

    test('weights of the wrong length -> RangeError', () => {
      expect(() => create(cfg, weights.subarray(1))).toThrow(RangeError);
      expect(() => create(cfg, new Float32Array(weights.length + 1))).toThrow(`this config needs ${weights.length}`);
      expect(() => create(cfg, new Float32Array(0))).toThrow(RangeError);
    });

    test('pieces of the wrong length -> RangeError', () => {
      expect(() => create(cfg, weights, pieces.slice(1))).toThrow(RangeError);
      expect(() => create(cfg, weights, [])).toThrow(`the vocabulary has ${V}`);
    });

    test('pieces not an array, or an entry not a Uint8Array -> TypeError', () => {
      expect(() => create(cfg, weights, 'pieces')).toThrow(TypeError);
      const bad: Any[] = pieces.slice();
      bad[5] = 'e';
      expect(() => create(cfg, weights, bad)).toThrow(TypeError);
      expect(() => create(cfg, weights, bad)).toThrow('pieces[5] must be a Uint8Array');
      bad[5] = new Uint16Array(1);
      expect(() => create(cfg, weights, bad)).toThrow(TypeError);
      bad[5] = null;
      expect(() => create(cfg, weights, bad)).toThrow(TypeError);
    });

    test("ropeStyle 'foo' -> TypeError", () => {
      expect(() => create({ ...cfg, ropeStyle: 'foo' }, weights)).toThrow(TypeError);
      expect(() => create({ ...cfg, ropeStyle: 1 }, weights)).toThrow("config.ropeStyle must be 'rotate-half' or 'interleaved'");
    });

    test('NativeModel cannot be constructed directly -> TypeError', () => {
      const Ctor = (addon() as Any).NativeModel;
      expect(typeof Ctor).toBe('function');
      expect(() => new Ctor()).toThrow(TypeError);
      expect(() => new Ctor({})).toThrow('use createModel()');
      expect(() => new Ctor(1, 2)).toThrow(TypeError);
    });

    test('a valid call still works after all that', async () => {
      const m = await addon().createModel(cfg, weights);
      expect(m.parameterCount).toBe(weights.length);
      m.dispose();
    });
  });

  describe('generate', () => {
    const gen = (m: NativeModel, ...args: Any[]): unknown => (m.generate as Any).apply(m, args);
    const ok = [[1, 80, 147]];

    test('prompts not an array -> TypeError', () => {
      for (const p of [undefined, null, 1, 'text', new Int32Array([1, 2]), { 0: [1] }]) expect(() => gen(model, p)).toThrow(TypeError);
      expect(() => gen(model, 'x')).toThrow('prompts must be an array of token-id sequences');
    });

    test('a prompt with a non-integer -> TypeError', () => {
      expect(() => gen(model, [[1, 1.5]])).toThrow(TypeError);
      expect(() => gen(model, [[1, 1.5]])).toThrow('prompts[0][1] must be an integer');
      expect(() => gen(model, [[1, NaN]])).toThrow(TypeError);
      expect(() => gen(model, [[1, '2']])).toThrow(TypeError);
      expect(() => gen(model, [[1], 7])).toThrow(TypeError);
    });

    test('a Float32Array (or other typed array) prompt -> TypeError', () => {
      expect(() => gen(model, [new Float32Array([1, 2])])).toThrow(TypeError);
      expect(() => gen(model, [new Uint32Array([1, 2])])).toThrow('prompts[0] must be an Int32Array or an array of integers');
    });

    test('an id beyond int32 -> RangeError at once', () => {
      expect(() => gen(model, [[1, 2 ** 31]])).toThrow(RangeError);
    });

    test('token id -1 or >= vocab -> rejects with RangeError naming the id', async () => {
      await expect(gen(model, [[1, -1]], { maxNewTokens: 1 })).rejects.toThrow(RangeError);
      await expect(gen(model, [[1, -1]], { maxNewTokens: 1 })).rejects.toThrow('token id -1 outside the vocabulary [0, 2048)');
      await expect(gen(model, [[1], [1, V]], { maxNewTokens: 1 })).rejects.toThrow(RangeError);
      await expect(gen(model, [[1], [1, V]], { maxNewTokens: 1 })).rejects.toThrow(`prompt 1 has token id ${V}`);
      await expect(gen(model, [new Int32Array([1, 99999])], { maxNewTokens: 1 })).rejects.toThrow('token id 99999');
    });

    test('an empty prompt -> rejects with RangeError', async () => {
      await expect(gen(model, [[]], { maxNewTokens: 1 })).rejects.toThrow(RangeError);
      await expect(gen(model, [[1], new Int32Array(0)], { maxNewTokens: 1 })).rejects.toThrow('prompt 1 is empty');
    });

    test('no prompts at all resolves to empty results', async () => {
      await expect(gen(model, [])).resolves.toEqual({ ids: [], logprobs: [], finishReasons: [] });
    });

    test('bad options -> TypeError / RangeError', () => {
      expect(() => gen(model, ok, { temperature: -1 })).toThrow(RangeError);
      expect(() => gen(model, ok, { temperature: -1 })).toThrow('options.temperature must be >= 0');
      expect(() => gen(model, ok, { temperature: NaN })).toThrow(RangeError);
      expect(() => gen(model, ok, { temperature: '1' })).toThrow(TypeError);
      expect(() => gen(model, ok, { topP: 0 })).toThrow(RangeError);
      expect(() => gen(model, ok, { topP: 1.5 })).toThrow(RangeError);
      expect(() => gen(model, ok, { topP: 1.5 })).toThrow('options.topP must be in (0, 1]');
      expect(() => gen(model, ok, { topK: -1 })).toThrow(RangeError);
      expect(() => gen(model, ok, { maxNewTokens: 1.5 })).toThrow(TypeError);
      expect(() => gen(model, ok, { maxNewTokens: 1.5 })).toThrow('options.maxNewTokens must be an integer');
      expect(() => gen(model, ok, { maxNewTokens: -1 })).toThrow(RangeError);
      expect(() => gen(model, ok, { threads: 0 })).toThrow(RangeError);
      expect(() => gen(model, ok, { threads: 1e9 })).toThrow(RangeError);
      expect(() => gen(model, ok, { seed: -1 })).toThrow(RangeError);
      expect(() => gen(model, ok, { ignoreEos: 'yes' })).toThrow(TypeError);
      expect(() => gen(model, ok, 'options')).toThrow(TypeError);
      expect(() => gen(model, ok, [])).toThrow('options must be an object');
    });

    test('stop / bannedStrings not an array of strings -> TypeError', () => {
      expect(() => gen(model, ok, { stop: 'end' })).toThrow(TypeError);
      expect(() => gen(model, ok, { stop: ['end', 3] })).toThrow('options.stop[1] must be a string');
      expect(() => gen(model, ok, { bannedStrings: [null] })).toThrow(TypeError);
    });

    test('stop on a model created without pieces -> TypeError', () => {
      expect(() => gen(bare, ok, { stop: ['end'] })).toThrow(TypeError);
      expect(() => gen(bare, ok, { bannedStrings: ['x'] })).toThrow('need the token pieces given at creation');
      // An empty list is no stop string at all.
      return expect(gen(bare, ok, { stop: [], maxNewTokens: 2 })).resolves.toBeDefined();
    });

    test('onProgress not a function -> TypeError', () => {
      expect(() => gen(model, ok, {}, 'callback')).toThrow(TypeError);
      expect(() => gen(model, ok, {}, {})).toThrow('onProgress must be a function');
    });

    test('a prompt longer than the context (513 tokens, maxSeqLen 512) -> rejects with RangeError', async () => {
      const long = new Int32Array(513).fill(80);
      await expect(gen(model, [long], { maxNewTokens: 1 })).rejects.toThrow(RangeError);
      await expect(gen(model, [Array.from(long)], { maxNewTokens: 1 })).rejects.toThrow("513 tokens; the model's context is 512");
    });

    test('a valid call works, with progress, after all that', async () => {
      const calls: number[] = [];
      const r = await model.generate([[1, 80, 147], new Int32Array([1])], { maxNewTokens: 5, temperature: 0, ignoreEos: true }, (t) => calls.push(t));
      expect(r.ids.map((a) => a.length)).toEqual([5, 5]);
      expect(r.finishReasons).toEqual(['length', 'length']);
      expect(calls.length).toBeGreaterThan(0);
    });
  });

  describe('logProbs and logits', () => {
    const lp = (...args: Any[]): unknown => (model.logProbs as Any).apply(model, args);
    const lg = (...args: Any[]): unknown => (model.logits as Any).apply(model, args);

    test('mismatched lengths -> RangeError', () => {
      expect(() => lp([[1]], [[2], [3]])).toThrow(RangeError);
      expect(() => lp([[1]], [[2], [3]])).toThrow('prompts and continuations must have the same length');
    });

    test('bad types -> TypeError', () => {
      expect(() => lp([[1]])).toThrow(TypeError);
      expect(() => lp([[1]], [[0.5]])).toThrow(TypeError);
      expect(() => lp([[1]], [[2]], { threads: 'many' })).toThrow(TypeError);
      expect(() => lg()).toThrow(TypeError);
      expect(() => lg('1 2 3')).toThrow(TypeError);
      expect(() => lg([1, 2], { threads: -3 })).toThrow(RangeError);
    });

    test('ids out of range -> rejects with RangeError', async () => {
      await expect(lp([[1, 80]], [[V]])).rejects.toThrow(RangeError);
      await expect(lp([[1, 80]], [[5, -7]])).rejects.toThrow('continuation 0 has token id -7');
      await expect(lp([[-2]], [[5]])).rejects.toThrow(RangeError);
      await expect(lp([[]], [[5]])).rejects.toThrow(RangeError);
      await expect(lp([new Int32Array(500).fill(1)], [new Int32Array(13).fill(1)])).rejects.toThrow(RangeError);
      await expect(lg([1, V + 5])).rejects.toThrow(RangeError);
      await expect(lg([1, V + 5])).rejects.toThrow(`token id ${V + 5}`);
    });

    test('logits([]) -> rejects with RangeError', async () => {
      await expect(lg([])).rejects.toThrow(RangeError);
      await expect(lg(new Int32Array(0))).rejects.toThrow('ids must not be empty');
      await expect(lg(new Int32Array(513).fill(1))).rejects.toThrow(RangeError);
    });

    test('valid calls still work', async () => {
      const l = await model.logits([1, 80]);
      expect(l.length).toBe(2 * V);
      const [s] = await model.logProbs([[1]], [[80, 147]]);
      expect(s!.length).toBe(2);
      expect(s!.every((x) => x < 0 && Number.isFinite(x))).toBe(true);
    });
  });

  describe('dispose', () => {
    test('a generate started before dispose() still resolves correctly; later calls throw', async () => {
      const m = await addon().createModel(cfg, weights, pieces);
      const req = [[1, 80, 147], [1, 201]];
      const opts = { maxNewTokens: 40, temperature: 0, ignoreEos: true };
      const expected = await model.generate(req, opts);
      const p = m.generate(req, opts);
      const q = m.logits([1, 80, 147]);
      m.dispose();
      expect(m.disposed).toBe(true);
      const r = await p;
      expect(r.ids.map((a) => Array.from(a))).toEqual(expected.ids.map((a) => Array.from(a)));
      expect(r.finishReasons).toEqual(['length', 'length']);
      expect(Array.from(await q)).toEqual(Array.from(await model.logits([1, 80, 147])));

      expect(() => m.generate(req, opts)).toThrow(Error);
      expect(() => m.generate(req, opts)).toThrow('disposed');
      expect(() => m.logProbs([[1]], [[2]])).toThrow('disposed');
      expect(() => m.logits([1])).toThrow('disposed');
      expect(() => m.parameterCount).toThrow('disposed');
      m.dispose(); // twice is harmless
      expect(m.disposed).toBe(true);
      expect(model.disposed).toBe(false);
    });
  });

  test('a long generate (16 x 256 tokens) does not block the event loop', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const t0 = performance.now();
    try {
      const prompts = Array.from({ length: 16 }, (_, i) => [1, 80 + i]);
      const r = await model.generate(prompts, { maxNewTokens: 256, ignoreEos: true, seed: 7 });
      expect(r.ids.every((a) => a.length === 256)).toBe(true);
    } finally {
      clearInterval(timer);
    }
    const ms = performance.now() - t0;
    // The interval fires about every 5 ms while the engine works on a worker thread; a blocked
    // loop would give 0 ticks. Ask for a third of what the elapsed time allows, and at least 3.
    expect(ms).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThanOrEqual(Math.max(3, Math.floor(ms / 5 / 3)));
  });
});
