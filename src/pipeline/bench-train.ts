// Training throughput: N full steps (forward, backward, AdamW; full fine-tuning, or LoRA on every
// projection over an f32 / bf16 / f16 / q8_0 base) on random tokens.
import { LORA_TARGETS } from '../config/train-common.js';
import { addon, type EngineConfig, type WeightsDtype } from '../native/binding.js';
import { readCheckpoint } from '../model/load.js';
import { parseRandomSpec, randomWeights, trainingFlops } from '../model/random.js';
import { packBatch } from '../train/batch.js';

export interface TrainBenchResult {
  model: string;
  batch: number;
  seq: number;
  steps: number;
  threads: number;
  msPerStep: number[];
  medianMs: number;
  tokensPerSecond: number;
  gflopsPerSecond: number;
  parameters: number;
  /** LoRA rank (0: full fine-tuning) and how the base is stored. */
  loraRank: number;
  weightsDtype: WeightsDtype;
  /** Bytes the base model's weights take in the engine. */
  baseBytes: number;
}


export async function benchTrain(o: {
  model: string; batch: number; seq: number; steps: number; warmup?: number; threads?: number; seed?: number; loraRank?: number; weightsDtype?: WeightsDtype;
}): Promise<TrainBenchResult> {
  const loraRank = o.loraRank ?? 0, weightsDtype = o.weightsDtype ?? 'f32';
  if (loraRank === 0 && weightsDtype !== 'f32') throw new RangeError(`--weights-dtype ${weightsDtype} stores a frozen base: it needs --lora-rank > 0`);
  let config: EngineConfig;
  let weights: Float32Array;
  const random = parseRandomSpec(o.model);
  if (random) {
    config = random;
    weights = randomWeights(config, o.seed ?? 0).data;
  } else {
    const ck = await readCheckpoint(o.model);
    config = ck.config;
    weights = ck.weights.data;
  }
  if (o.seq > config.maxSeqLen) throw new RangeError(`--seq ${o.seq} exceeds the model's context of ${config.maxSeqLen}`);
  const threads = o.threads ?? addon().hardwareThreads;
  const trainer = await addon().createTrainer(config, weights, {
    threads,
    ...(loraRank > 0 && { lora: { rank: loraRank, alpha: 2 * loraRank, targets: [...LORA_TARGETS] }, weightsDtype }),
  });
  try {
    let s = (o.seed ?? 0) + 1;
    const rows = Array.from({ length: o.batch }, () =>
      Array.from({ length: o.seq }, () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s % config.vocabSize;
      }),
    );
    const batch = packBatch(rows);
    const weightsMask = new Float32Array(o.batch * o.seq).fill(1);
    for (let b = 0; b < o.batch; b++) weightsMask[b * o.seq + o.seq - 1] = 0;
    const times: number[] = [];
    for (let i = 0; i < (o.warmup ?? 1) + o.steps; i++) {
      const t0 = performance.now();
      await trainer.forwardBackward(batch, { kind: 'sft', weights: weightsMask });
      await trainer.step({ lr: 1e-5 });
      if (i >= (o.warmup ?? 1)) times.push(performance.now() - t0);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const median = sorted.length % 2 ? sorted[sorted.length >> 1]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
    const tokens = o.batch * o.seq;
    return {
      model: o.model, batch: o.batch, seq: o.seq, steps: o.steps, threads, msPerStep: times, medianMs: median,
      tokensPerSecond: tokens / (median / 1000), gflopsPerSecond: trainingFlops(config, o.batch, o.seq, loraRank) / (median / 1000) / 1e9,
      parameters: trainer.info.parameterCount, loraRank, weightsDtype, baseBytes: trainer.info.baseBytes,
    };
  } finally {
    trainer.dispose();
  }
}
