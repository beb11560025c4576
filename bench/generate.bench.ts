// Sampling throughput with the KV cache: rlcd's native engine vs a PyTorch implementation of the
// same model with a KV cache (bench/peers/torch_generate.py), side by side in one run.
//   npx tsx bench/generate.bench.ts [--model DIR] [--new-tokens 256] [--batches 1,16] [--iterations 10] [--threads N] [--busy] [--json]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { startBusyLoop } from './lib/busy.js';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { loadModel } from '../src/index.js';
import { runPeer } from './lib/peers.js';
import { bestPeak, describePeak, generationWork, measurePeak, rooflineFraction } from '../src/perf/roofline.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: fileURLToPath(new URL('../../shared/models/tinystories-656k', import.meta.url)) },
    'new-tokens': { type: 'string', default: '256' },
    batches: { type: 'string', default: '1,16' },
    iterations: { type: 'string', default: '10' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    'no-peer': { type: 'boolean', default: false },
    busy: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const busy = startBusyLoop(values.busy);
const newTokens = Number(values['new-tokens']);
const batches = values.batches!.split(',').map(Number);
const iterations = Number(values.iterations);
const threads = Number(values.threads);

const model = await loadModel(values.model!);
const c = model.config;
const prompt = 'Once upon a time';
const promptIds = model.tokenizer.encode(prompt);

// The work of a generated token when whole generate() calls are timed: the prompt's prefill
// included, the f32 weights read once a step (shared by the batch), each position's keys and values.
const work = (batch: number) => generationWork(c, { batch, promptTokens: promptIds.length, newTokens, bytesPerWeight: 4 });
const peakBefore = await measurePeak(threads);

const bench = new Bench({ iterations, warmupIterations: 2, time: 0, warmupTime: 0 });
for (const b of batches) {
  bench.add(`rlcd batch ${b}`, async () => {
    await model.generate(Array(b).fill(prompt), { maxNewTokens: newTokens, temperature: 1, ignoreEos: true, batchSize: b, threads });
  });
}
await bench.run();
model.dispose();
// Measured before and after the rows; the better of the two is the roofline (a shared machine).
const peak = bestPeak(peakBefore, await measurePeak(threads));

const rows = [];
for (const b of batches) {
  const task = bench.getTask(`rlcd batch ${b}`)!;
  const result = task.result as { latency?: { p50: number } };
  const ms = result.latency!.p50;
  const tokS = (b * newTokens) / (ms / 1000);
  const peer = values['no-peer']
    ? { error: 'skipped' }
    : runPeer(fileURLToPath(new URL('./peers/torch_generate.py', import.meta.url)), [
        '--model', values.model!, '--batch', String(b), '--new-tokens', String(newTokens),
        '--prompt-ids', promptIds.join(','), '--repeats', String(iterations), '--warmup', '2', '--threads', '1', '--json',
      ]);
  const peerTokS = 'tokens_per_s' in peer ? Number(peer.tokens_per_s) : NaN;
  rows.push({
    batch: b,
    'rlcd median ms': ms.toFixed(1),
    'rlcd tok/s': tokS.toFixed(0),
    'rlcd GFLOP/s': ((tokS * work(b).flops) / 1e9).toFixed(1),
    'rlcd roofline': `${(100 * rooflineFraction(tokS, work(b), peak)).toFixed(0)}%`,
    'torch median ms': 'median_s' in peer ? (Number(peer.median_s) * 1000).toFixed(1) : String((peer as { error: string }).error),
    'torch tok/s': Number.isNaN(peerTokS) ? '-' : peerTokS.toFixed(0),
    'rlcd / torch': Number.isNaN(peerTokS) ? '-' : (tokS / peerTokS).toFixed(2) + 'x',
  });
}
if (values.json) {
  console.log(JSON.stringify(rows.map((r) => ({ batch: r.batch, tokensPerSecond: Number(r['rlcd tok/s']) }))));
  busy.stop();
  process.exit(0);
}
console.log(`generation, ${newTokens} new tokens after "${prompt}" (${promptIds.length} tokens), T=1, ${values.model}`);
console.log(`rlcd: ${threads} threads, median of ${iterations}; torch: torch.set_num_threads(1), OpenBLAS 2 threads, median of ${iterations}`);
console.log(`${describePeak(peak)}; roofline: min(FMA-bound, memory-bound) tokens/s`);
console.table(rows);
busy.stop();
console.log(`(${busy.label})`);
