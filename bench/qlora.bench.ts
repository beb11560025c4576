// LoRA training steps over a frozen base stored f32, bf16 or q8_0 (the trainer's weightsDtype,
// QLoRA-style): step time and the memory the base's weights take, side by side in one run, with the
// PyTorch peer (bench/peers/torch_train.py --lora: the same adapters over a frozen f32 base, 1
// thread). Rank 16 on every projection, batch 4 x seq 256, random tokens; models as random:LxCxV
// (heads of 32, MLP 3C, vocab V). A LoRA step runs the base forward and backward-to-input but no
// weight gradient: about 4 FLOPs per weight per token instead of full fine-tuning's 6.
//   npx tsx bench/qlora.bench.ts [--iterations 5] [--threads N] [--models random:12x768x2048]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { LORA_TARGETS } from '../src/config/train-common.js';
import { addon, type WeightsDtype } from '../src/native/binding.js';
import { parseRandomSpec, randomWeights, trainingFlops } from '../src/model/random.js';
import { bestPeak, describePeak, measurePeak } from '../src/perf/roofline.js';
import { packBatch } from '../src/train/batch.js';
import { startBusyLoop } from './lib/busy.js';
import { runPeer } from './lib/peers.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    batch: { type: 'string', default: '4' },
    seq: { type: 'string', default: '256' },
    rank: { type: 'string', default: '16' },
    'no-peer': { type: 'boolean', default: false },
    busy: { type: 'boolean', default: false },
    models: { type: 'string', default: 'random:8x512x2048,random:12x768x2048' },
  },
});
const busy = startBusyLoop(values.busy);
const iterations = Number(values.iterations), threads = Number(values.threads);
const B = Number(values.batch), T = Number(values.seq), rank = Number(values.rank);
const DTYPES: WeightsDtype[] = ['f32', 'bf16', 'q8_0'];

// The FMA roofline (a LoRA step at these sizes is compute-bound), before the rows and after; the
// better of the two.
let peak = await measurePeak(threads);
const rows: Array<Record<string, string> & { flops: string }> = [];
for (const model of values.models.split(',')) {
  const config = parseRandomSpec(model);
  if (!config) throw new RangeError(`${model}: this benchmark takes random:LxCxV models`);
  const weights = randomWeights(config).data;
  let s = 1;
  const batch = packBatch(Array.from({ length: B }, () => Array.from({ length: T }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % config.vocabSize)));
  const w = new Float32Array(B * T).fill(1);
  const bench = new Bench({ iterations, warmupIterations: 1, time: 0, warmupTime: 0 });
  const bytes: Record<string, number> = {};
  const trainers = [];
  for (const dtype of DTYPES) {
    const trainer = await addon().createTrainer(config, weights, { threads, lora: { rank, alpha: 2 * rank, targets: [...LORA_TARGETS] }, weightsDtype: dtype });
    trainers.push(trainer);
    bytes[dtype] = trainer.info.baseBytes;
    bench.add(dtype, async () => {
      await trainer.forwardBackward(batch, { kind: 'sft', weights: w });
      await trainer.step({ lr: 1e-4 });
    });
  }
  await bench.run();
  for (const t of trainers) t.dispose();
  const peer = values['no-peer'] ? { error: 'skipped' } : runPeer(fileURLToPath(new URL('./peers/torch_train.py', import.meta.url)), [
    '--model', model, '--batch', String(B), '--seq', String(T), '--steps', String(iterations), '--warmup', '1', '--threads', '1', '--lora', String(rank), '--json',
  ]);
  const peerMs = 'median_s' in peer ? Number(peer.median_s) * 1000 : NaN;
  const f32Ms = (bench.tasks[0]!.result as { latency: { p50: number } }).latency.p50;
  DTYPES.forEach((dtype, i) => {
    const ms = (bench.tasks[i]!.result as { latency: { p50: number } }).latency.p50;
    rows.push({
      model,
      base: dtype,
      'base MB': (bytes[dtype]! / 2 ** 20).toFixed(1),
      'vs f32 base': (bytes[dtype]! / bytes.f32!).toFixed(2),
      'ms/step': ms.toFixed(0),
      'tok/s': ((B * T) / (ms / 1000)).toFixed(0),
      flops: String(trainingFlops(config, B, T, rank) / (ms / 1000) / 1e9),
      'time vs f32 base': (ms / f32Ms).toFixed(2),
      'torch LoRA (f32) ms/step': Number.isNaN(peerMs) ? String((peer as { error: string }).error) : peerMs.toFixed(0),
      'rlcd / torch': Number.isNaN(peerMs) ? '-' : `${(peerMs / ms).toFixed(2)}x`,
    });
  });
}
peak = bestPeak(peak, await measurePeak(threads));
console.log(`LoRA step (rank ${rank} on every projection; fwd + bwd + AdamW on the adapters), batch ${B} x seq ${T}; rlcd ${threads} threads, PyTorch 1 thread; median of ${iterations}`);
console.log(`${describePeak(peak)}; FLOPs: 4 a frozen weight and 6 an adapter weight per token, plus attention`);
console.table(rows.map(({ flops, ...r }) => ({ ...r, 'GFLOP/s': Number(flops).toFixed(1), 'FMA roofline': `${((100 * Number(flops)) / peak.fmaGflops).toFixed(0)}%` })));
busy.stop();
console.log(`(${busy.label})`);
