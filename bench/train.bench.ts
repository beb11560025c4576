// One training step (forward, backward, AdamW; full fine-tuning) at batch 8 x seq 256: rlcd vs
// the PyTorch peer (bench/peers/torch_train.py), side by side, on tinystories-656k and on a random
// 4-layer d=256 model (vocab 2048).
//   npx tsx bench/train.bench.ts [--iterations 10] [--threads N] [--peak GFLOPS]
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
  },
});
const busy = startBusyLoop(values.busy);
const iterations = Number(values.iterations), threads = Number(values.threads);
const B = Number(values.batch), T = Number(values.seq);
const models = [fileURLToPath(new URL('../../shared/models/tinystories-656k', import.meta.url)), 'random:4x256x2048'];

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
  await bench.run();
  trainer.dispose();
  const ms = (bench.tasks[0]!.result as { latency?: { p50: number } }).latency!.p50;
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
    'torch ms/step': 'median_s' in peer ? (Number(peer.median_s) * 1000).toFixed(1) : String((peer as { error: string }).error),
    'torch tok/s': Number.isNaN(peerTokS) ? '-' : peerTokS.toFixed(0),
    'rlcd / torch': Number.isNaN(peerTokS) ? '-' : (tokS / peerTokS).toFixed(2) + 'x',
  });
}
console.log(`training step (fwd + bwd + AdamW, full fine-tune), batch ${B} x seq ${T}; rlcd ${threads} threads, median of ${iterations}`);
console.log(`sgemm peak measured here (PyTorch/OpenBLAS, ${threads} threads, 1024^3): ${peak.toFixed(1)} GFLOP/s; ${describePeak(fma)}`);
console.table(rows);
busy.stop();
console.log(`(${busy.label})`);
