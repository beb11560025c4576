// The trainer binding never crashes on bad input: wrong types throw TypeError, bad sizes and
// values RangeError (synchronously, or as a rejected Promise once the engine sees them).
import { addon, type NativeTrainer, type TrainBatch } from '../../src/native/binding.js';
import { loadHfCheckpoint } from '../../src/model/hf.js';
import { describeWith, HF_656K } from '../shared.js';

describeWith([HF_656K], 'trainer binding: argument checks', () => {
  let t: NativeTrainer;
  let ck: ReturnType<typeof loadHfCheckpoint>;
  const batch = (over: Partial<TrainBatch> = {}): TrainBatch => ({ B: 2, T: 4, tokens: new Int32Array([1, 5, 6, 7, 1, 8, 9, 0]), lengths: new Int32Array([4, 3]), ...over });
  const sft = { kind: 'sft' as const, weights: new Float32Array(8).fill(1) };

  beforeAll(async () => {
    ck = loadHfCheckpoint(HF_656K);
    t = await addon().createTrainer(ck.config, ck.weights.data);
  });
  afterAll(() => t?.dispose());

  test('createTrainer checks its options', () => {
    expect(() => addon().createTrainer(ck.config, new Float32Array(3))).toThrow(RangeError);
    expect(() => addon().createTrainer(ck.config, ck.weights.data, { lora: { rank: 4, targets: ['nope' as 'q_proj'] } })).toThrow(RangeError);
    expect(() => addon().createTrainer(ck.config, ck.weights.data, { lora: { rank: 0, targets: ['q_proj'] } })).toThrow(RangeError);
    expect(() => addon().createTrainer(ck.config, ck.weights.data, { head: 'value' as 'scalar' })).toThrow(TypeError);
    expect(() => addon().createTrainer(ck.config, ck.weights.data, { head: 'scalar', headWeights: new Float32Array(5) })).toThrow(RangeError);
    expect(() => new (addon() as unknown as { NativeTrainer: new () => unknown }).NativeTrainer()).toThrow(TypeError);
    // A narrow base is frozen: it needs adapters, and a type the engine stores.
    expect(() => addon().createTrainer(ck.config, ck.weights.data, { weightsDtype: 'q4_0' as 'q8_0' })).toThrow(/options.weightsDtype must be 'f32', 'bf16', 'f16' or 'q8_0'/);
    expect(() => addon().createTrainer(ck.config, ck.weights.data, { weightsDtype: 'bf16' })).toThrow(/needs options.lora/);
    // A checkpoint's bits come as a Uint16Array with their checkpointDtype, and only then.
    const bits = new Uint16Array(ck.weights.data.length);
    expect(() => addon().createTrainer(ck.config, bits)).toThrow(/weights must be a Float32Array for options.checkpointDtype 'f32'/);
    expect(() => addon().createTrainer(ck.config, ck.weights.data, { checkpointDtype: 'bf16' })).toThrow(/weights must be a Uint16Array for options.checkpointDtype 'bf16'/);
    expect(() => addon().createTrainer(ck.config, bits, { checkpointDtype: 'q8_0' as 'bf16' })).toThrow(/options.checkpointDtype must be 'f32', 'bf16' or 'f16'/);
    expect(() => addon().createTrainer(ck.config, new Uint16Array(3), { checkpointDtype: 'bf16' })).toThrow(RangeError);
    expect(() => addon().createTrainer(ck.config, new Int32Array(3) as unknown as Float32Array)).toThrow(TypeError);
  });

  test('a bf16 base loads adapters but refuses base weights', async () => {
    const q = await addon().createTrainer(ck.config, ck.weights.data, { lora: { rank: 2, alpha: 4, targets: ['q_proj'] }, weightsDtype: 'bf16' });
    try {
      await expect(q.loadState({ weights: ck.weights.data })).rejects.toThrow(/stored as bf16 and frozen/);
      const { lora } = await q.state(['lora']);
      await q.loadState({ lora: lora.map((x) => x + 0.5) });
      expect((await q.state(['lora'])).lora[0]).toBeCloseTo(lora[0]! + 0.5, 6);
    } finally {
      q.dispose();
    }
  });

  test('generate, gradNorm, step clipNorm and the dpo loss check their arguments', async () => {
    expect(() => t.generate('x' as never)).toThrow(TypeError);
    expect(() => t.generate([[1, 2]], { topP: 0 })).toThrow(RangeError);
    expect(() => t.generate([[1, 2]], { stop: ['.'] })).toThrow(/token pieces/); // created without pieces
    expect(() => t.generate([[1, 2]], { adapters: 'no' as never })).toThrow(TypeError);
    await expect(t.generate([[1, 99999]], { maxNewTokens: 2 })).rejects.toThrow(RangeError);
    const g = await t.generate([[1, 5, 6]], { maxNewTokens: 3, seed: 1 });
    expect(g.ids[0]!.length).toBeGreaterThan(0);
    expect(g.packSeconds).toBeGreaterThanOrEqual(0);
    expect(typeof (await t.gradNorm())).toBe('number');
    expect(() => t.step({ lr: 1e-3, clipNorm: -1 })).toThrow(RangeError);
    const pairs = { B: 2, T: 4, tokens: new Int32Array([1, 5, 6, 7, 1, 8, 9, 0]), lengths: new Int32Array([4, 3]) };
    const dpo = { kind: 'dpo' as const, weights: new Float32Array(8).fill(1), targets: new Float32Array([1]), refChosen: new Float32Array(1), refRejected: new Float32Array(1) };
    expect(() => t.forwardBackward(pairs, { ...dpo, beta: 0 })).toThrow(RangeError);
    expect(() => t.forwardBackward(pairs, { ...dpo, dpoLoss: 'squared' as 'ipo' })).toThrow(TypeError);
    expect(() => t.forwardBackward(pairs, { ...dpo, refChosen: new Float32Array(2) })).toThrow(RangeError);
    expect(() => t.forwardBackward(pairs, { ...dpo, targets: new Float32Array([2]) })).toThrow(RangeError);
    await t.zeroGrad();
  });

  test('batches and losses are checked before the engine runs', () => {
    expect(() => t.forwardBackward(batch({ tokens: new Int32Array(7) }), sft)).toThrow(RangeError);
    expect(() => t.forwardBackward(batch({ tokens: new Float32Array(8) as unknown as Int32Array }), sft)).toThrow(TypeError);
    expect(() => t.forwardBackward(batch({ lengths: new Int32Array(3) }), sft)).toThrow(RangeError);
    expect(() => t.forwardBackward(batch(), { kind: 'sft', weights: new Float32Array(3) })).toThrow(RangeError);
    expect(() => t.forwardBackward(batch(), { kind: 'nope' } as never)).toThrow(TypeError);
    expect(() => t.forwardBackward(batch(), { kind: 'preference', targets: new Float32Array(1) })).toThrow(TypeError); // no head
    expect(() => t.evaluate(batch(), 'rewards')).toThrow(TypeError);
    expect(() => t.evaluate(batch(), 'bogus' as 'logits')).toThrow(TypeError);
    expect(() => t.step({ lr: -1 })).toThrow(RangeError);
    expect(() => t.step({ lr: 1e-3, beta1: 1 })).toThrow(RangeError);
    expect(() => t.state(['nope' as 'head'])).toThrow(TypeError);
  });

  test('values only the engine can judge reject with RangeError', async () => {
    await expect(t.forwardBackward(batch({ tokens: new Int32Array([1, 5, 6, 99999, 1, 8, 9, 0]) }), sft)).rejects.toThrow(RangeError);
    await expect(t.forwardBackward(batch({ lengths: new Int32Array([5, 3]) }), sft)).rejects.toThrow(RangeError);
    const T = ck.config.maxSeqLen + 1;
    await expect(t.evaluate({ B: 1, T, tokens: new Int32Array(T).fill(1), lengths: new Int32Array([T]) }, 'logprobs')).rejects.toThrow(RangeError);
    await expect(t.loadState({ adamM: new Float32Array(3) })).rejects.toThrow(RangeError);
  });

  test('a preference batch needs pairs and probabilities', async () => {
    const pm = await addon().createTrainer(ck.config, ck.weights.data, { head: 'scalar' });
    try {
      const odd: TrainBatch = { B: 1, T: 4, tokens: new Int32Array([1, 5, 6, 7]), lengths: new Int32Array([4]) };
      expect(() => pm.forwardBackward(odd, { kind: 'preference', targets: new Float32Array(0) })).toThrow(RangeError);
      expect(() => pm.forwardBackward(batch(), { kind: 'preference', targets: new Float32Array([1.5]) })).toThrow(RangeError);
      const s = await pm.forwardBackward(batch(), { kind: 'preference', targets: new Float32Array([1]) });
      expect(Number.isFinite(s.loss)).toBe(true);
    } finally {
      pm.dispose();
    }
  });

  test('after dispose every call throws; a call in flight still completes', async () => {
    const d = await addon().createTrainer(ck.config, ck.weights.data);
    const inFlight = d.forwardBackward(batch(), sft);
    d.dispose();
    expect((await inFlight).loss).toBeGreaterThan(0);
    expect(() => d.forwardBackward(batch(), sft)).toThrow('disposed');
    expect(() => d.info).toThrow('disposed');
  });
});
