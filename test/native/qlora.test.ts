// LoRA over a frozen base stored bf16 or q8_0 (the trainer's weightsDtype, QLoRA-style): the base
// scores like the same model loaded for inference in that type, takes that many fewer bytes, its
// adapters train, and PPO's rollouts decode from exactly the weights inference would use.
// (native/tests checks the adapter gradients against an f32 base holding the same values.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel } from '../../src/index.js';
import type { NativeModel, TrainBatch } from '../../src/native/binding.js';
import { runSft } from '../../src/pipeline/sft.js';
import { Trainer } from '../../src/train/trainer.js';
import { describeWith, HF_656K, SHARED } from '../shared.js';

const VAL = path.join(SHARED, 'data/tinystories/val.txt');
const LORA = { rank: 4, alpha: 8, targets: ['q_proj', 'v_proj', 'down_proj'] as Array<'q_proj' | 'v_proj' | 'down_proj'> };

function stories(n: number): string[] {
  return fs.readFileSync(VAL, 'utf8').split(/\n\s*\n/).filter((s) => s.length > 300 && s.length < 900).slice(0, n);
}

/** Right-padded rows of the first T tokens of each text, with SFT weights on every prediction. */
function batchOf(t: Trainer, texts: string[], T: number): { batch: TrainBatch; weights: Float32Array } {
  const B = texts.length;
  const tokens = new Int32Array(B * T), lengths = new Int32Array(B), weights = new Float32Array(B * T);
  texts.forEach((s, b) => {
    const ids = t.tokenizer.encode(s).slice(0, T);
    tokens.set(ids, b * T);
    lengths[b] = ids.length;
    for (let i = 0; i + 1 < ids.length; i++) weights[b * T + i] = 1;
  });
  return { batch: { B, T, tokens, lengths }, weights };
}

describeWith([HF_656K, VAL], 'LoRA on a bf16 / q8_0 base (tinystories-656k)', () => {
  // tinystories-656k's weights are bf16 values: a bf16 base loses nothing (the packed matmul sums in
  // another order: 1.3e-6 nats/token measured). q8_0 rounds like inference's.
  test.each([['bf16', 1e-5, 0.75], ['q8_0', 0.03, 0.6]] as const)('%s: scores like inference in that type, holds fewer bytes, and its adapters train', async (dtype, tolerance, bytesRatio) => {
    const f32 = await Trainer.fromModel(HF_656K, { lora: LORA, seed: 1 });
    const narrow = await Trainer.fromModel(HF_656K, { lora: LORA, seed: 1, weightsDtype: dtype });
    const inference = await loadModel(HF_656K, { weightsDtype: dtype });
    try {
      expect(narrow.native.info.weightsDtype).toBe(dtype);
      expect(narrow.native.info.parameterCount).toBe(f32.native.info.parameterCount);
      expect(narrow.native.info.trainableCount).toBe(f32.native.info.trainableCount);
      expect(narrow.native.info.baseBytes / f32.native.info.baseBytes).toBeLessThan(bytesRatio);

      const { batch, weights } = batchOf(narrow, stories(4), 64);
      const valid = (i: number) => weights[i] === 1;
      const a = await f32.evaluate(batch, 'logprobs'), b = await narrow.evaluate(batch, 'logprobs');
      let sum = 0, n = 0;
      a.forEach((x, i) => {
        if (!valid(i)) return;
        sum += Math.abs(x - b[i]!);
        n++;
      });
      expect(n).toBeGreaterThan(200);
      expect(sum / n).toBeLessThan(tolerance);

      // The adapters learn the batch: the SFT loss falls.
      const losses: number[] = [];
      for (let s = 0; s < 6; s++) {
        const stats = await narrow.forwardBackward(batch, { kind: 'sft', weights });
        losses.push(stats.loss!);
        await narrow.step({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
      }
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.05);

      // PPO's frozen reference decodes from the very weights inference packs in this type
      // (a q8_0 base widened and quantised again keeps its scales and integers).
      const prompts = [narrow.tokenizer.encode('Once upon a time, there was a'), narrow.tokenizer.encode('Tom had a red ball.')];
      const opts = { maxNewTokens: 16, temperature: 0, ignoreEos: true };
      const ref = await narrow.generate(prompts, { ...opts, adapters: false });
      const inf = await (inference.backend as unknown as { native: NativeModel }).native.generate(prompts, opts);
      expect(ref.ids.map((x) => Array.from(x))).toEqual(inf.ids.map((x) => Array.from(x)));
      expect(ref.logprobs.map((x) => Array.from(x))).toEqual(inf.logprobs.map((x) => Array.from(x)));
      // With the trained adapters merged in, the policy decodes something else.
      const tuned = await narrow.generate(prompts, opts);
      expect(tuned.logprobs.map((x) => Array.from(x))).not.toEqual(inf.logprobs.map((x) => Array.from(x)));
    } finally {
      f32.dispose();
      narrow.dispose();
      inference.dispose();
    }
  });

  test('rlcd sft --weights-dtype q8_0 with LoRA writes a loadable model; without LoRA it is refused', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-qlora-'));
    try {
      const data = path.join(tmp, 'sft.jsonl');
      fs.writeFileSync(data, stories(16).map((s) => JSON.stringify({ prompt: 'Once upon a time, ', completion: s.slice(0, 200) })).join('\n') + '\n');
      const out = path.join(tmp, 'sft');
      const r = await runSft({ model: HF_656K, data, out, epochs: 2, lr: 1e-2, batchSize: 8, loraRank: 4, weightsDtype: 'q8_0', quiet: true });
      expect(r.reports.at(-1)!.stats.loss!).toBeLessThan(r.reports[0]!.stats.loss!);
      expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')).rlcd.baseWeightsDtype).toBe('q8_0');
      const tuned = await loadModel(out);
      const [g] = await tuned.generate('Once upon a time', { maxNewTokens: 8, temperature: 0 });
      expect(g!.ids.length).toBeGreaterThan(0);
      tuned.dispose();
      await expect(runSft({ model: HF_656K, data, out: path.join(tmp, 'full'), weightsDtype: 'q8_0', quiet: true })).rejects.toThrow(/weightsDtype \(--weights-dtype\) q8_0 stores a frozen base: it needs loraRank/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  test('a q8_0-base run killed after a checkpoint resumes to exactly the same model; another dtype is another run', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-qlora-'));
    try {
      const data = path.join(tmp, 'sft.jsonl');
      fs.writeFileSync(data, stories(16).map((s) => JSON.stringify({ prompt: 'Once upon a time, ', completion: s.slice(0, 200) })).join('\n') + '\n');
      const opts = { model: HF_656K, data, epochs: 2, lr: 1e-2, batchSize: 4, loraRank: 4, weightsDtype: 'q8_0' as const, saveEvery: 3, seed: 2, quiet: true };
      const whole = path.join(tmp, 'whole'), killed = path.join(tmp, 'killed');
      await runSft({ ...opts, out: whole });
      await expect(runSft({ ...opts, out: killed }, { onEvent: (e) => { if (e.step === 4) throw new Error('simulated kill'); } })).rejects.toThrow('simulated kill');
      await expect(runSft({ ...opts, weightsDtype: 'bf16', out: killed })).rejects.toThrow(/checkpoint of a different run/);
      const resumed = await runSft({ ...opts, out: killed });
      expect(resumed.resumedFrom).toBe(3);
      expect(fs.readFileSync(path.join(killed, 'model.safetensors'))).toEqual(fs.readFileSync(path.join(whole, 'model.safetensors')));
      expect(fs.readFileSync(path.join(killed, 'adapter', 'adapter_model.safetensors'))).toEqual(fs.readFileSync(path.join(whole, 'adapter', 'adapter_model.safetensors')));
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
