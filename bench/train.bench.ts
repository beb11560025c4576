// One training step (forward, backward, AdamW; full fine-tuning) at batch 8 x seq 256: rlcd vs
// the PyTorch peer (bench/peers/torch_train.py), side by side, on tinystories-656k, a random 4-layer
// d=256 model and the 25.7M model (8 x 512, vocab 2048). Beside it, the FLOP rates of the training
// forward alone (the trainer's log-probs) and of teacher-forced scoring in the inference engine
// (the packed GEMMs PPO scores rollouts with), on the same tokens.
//   npx tsx bench/train.bench.ts [--iterations 10] [--threads N] [--models A,B]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startBusyLoop } from './lib/busy.js';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { addon } from '../src/native/binding.js';
import { readCheckpoint } from '../src/model/load.js';
import { parseRandomSpec, randomWeights, trainingFlops } from '../src/model/random.js';
import { packBatch } from '../src/train/batch.js';
import { runPeer } from './lib/peers.js';
import { measureSgemmPeak } from './lib/sgemm-peak.js';
import { describePeak, measurePeak } from '../src/perf/roofline.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '10' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    batch: { type: 'string', default: '8' },
    seq: { type: 'string', default: '256' },
    'no-peer': { type: 'boolean', default: false },
    busy: { type: 'boolean', default: false },
    models: { type: 'string' },
  },
});
const busy = startBusyLoop(values.busy);
const iterations = Number(values.iterations), threads = Number(values.threads);
const B = Number(values.batch), T = Number(values.seq);
const models = values.models?.split(',') ?? [fileURLToPath(new URL('../../shared/models/tinystories-656k', import.meta.url)), 'random:4x256x2048', 'random:8x512x2048'];

const peak = await measureSgemmPeak(threads);
// The FMA roofline (a training step at these sizes is compute-bound), measured in the same run.
const fma = await measurePeak(threads);
const rows = [];
for (const model of models) {
  const random = parseRandomSpec(model);
  const { config, weights } = random ? { config: random, weights: randomWeights(random).data } : await (async () => {
    const ck = await readCheckpoint(model);
    return { config: ck.config, weights: ck.weights.data };
  })();
  const trainer = await addon().createTrainer(config, weights, { threads });
  let s = 1;
  const batch = packBatch(Array.from({ length: B }, () => Array.from({ length: T }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % config.vocabSize)));
  const w = new Float32Array(B * T).fill(1);
  const bench = new Bench({ iterations, warmupIterations: 2, time: 0, warmupTime: 0 });
  bench.add(model, async () => {
    await trainer.forwardBackward(batch, { kind: 'sft', weights: w });
    await trainer.step({ lr: 1e-5 });
  });
  // The forward alone, twice: the trainer's (training layout) and the inference engine's scoring.
  const engine = await addon().createModel(config, weights);
  const ids = Array.from({ length: B }, (_, b) => Array.from(batch.tokens.subarray(b * T, (b + 1) * T)));
  bench.add('forward', async () => {
    await trainer.evaluate(batch, 'logprobs', { threads });
  });
  bench.add('scoring', async () => {
    await engine.logProbs(ids.map((r) => r.slice(0, 1)), ids.map((r) => r.slice(1)), { threads });
  });
  await bench.run();
  trainer.dispose();
  engine.dispose();
  const median = (i: number): number => (bench.tasks[i]!.result as { latency?: { p50: number } }).latency!.p50;
  const ms = median(0);
  const forwardGflops = trainingFlops(config, B, T) / 3 / (median(1) / 1000) / 1e9;
  const scoringGflops = trainingFlops(config, B, T) / 3 / (median(2) / 1000) / 1e9;
  const tokS = (B * T) / (ms / 1000);
  const gflops = trainingFlops(config, B, T) / (ms / 1000) / 1e9;
  const peer = values['no-peer'] ? { error: 'skipped' } : runPeer(fileURLToPath(new URL('./peers/torch_train.py', import.meta.url)), [
    '--model', model, '--batch', String(B), '--seq', String(T), '--steps', String(iterations), '--warmup', '2', '--threads', '1', '--json',
  ]);
  const peerTokS = 'tokens_per_s' in peer ? Number(peer.tokens_per_s) : NaN;
  rows.push({
    model: random ? model : 'tinystories-656k',
    'rlcd ms/step': ms.toFixed(1),
    'rlcd tok/s': tokS.toFixed(0),
    'rlcd GFLOP/s': gflops.toFixed(1),
    'MFU vs sgemm peak': `${((100 * gflops) / peak).toFixed(0)}%`,
    'FMA roofline': `${((100 * gflops) / fma.fmaGflops).toFixed(0)}%`,
    'fwd GFLOP/s': forwardGflops.toFixed(1),
    'scoring GFLOP/s': scoringGflops.toFixed(1),
    'scoring / fwd': (scoringGflops / forwardGflops).toFixed(2),
    'torch ms/step': 'median_s' in peer ? (Number(peer.median_s) * 1000).toFixed(1) : String((peer as { error: string }).error),
    'torch tok/s': Number.isNaN(peerTokS) ? '-' : peerTokS.toFixed(0),
    'rlcd / torch': Number.isNaN(peerTokS) ? '-' : (tokS / peerTokS).toFixed(2) + 'x',
  });
}
console.log(`training step (fwd + bwd + AdamW, full fine-tune), batch ${B} x seq ${T}; rlcd ${threads} threads, median of ${iterations}`);
console.log('fwd: the trainer\'s forward alone (log-probs); scoring: the inference engine\'s teacher-forced log-probs (packed GEMMs), both on the step\'s tokens; FLOPs = a third of the step\'s');
console.log(`sgemm peak measured here (PyTorch/OpenBLAS, ${threads} threads, 1024^3): ${peak.toFixed(1)} GFLOP/s; ${describePeak(fma)}`);
console.table(rows);
busy.stop();
console.log(`(${busy.label})`);
