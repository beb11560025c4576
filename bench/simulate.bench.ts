// Preference simulation throughput and label quality on a TinyStories model, native engine vs
// onnxruntime-node on the same model (our ONNX export) in one run:
//  1. generation tokens/s, native vs onnxruntime-node (CPU execution provider), same prompts;
//  2. pairs/min of `positive-story` simulation per backend and method;
//  3. label accuracy of RLCD, RLAIF and RLCD-Rescore pairs under the diagnostic sentiment judge.
//   npx tsx bench/simulate.bench.ts [--model DIR] [--pairs 48] [--judge-pairs 160] [--new-tokens 128] [--batches 1,16] [--iterations 5] [--threads N]
// Both backends get the same number of threads (the native engine per call, onnxruntime per session).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { loadModel, type LanguageModel } from '../src/index.js';
import { exportOnnx } from '../src/model/onnx-export.js';
import { simulatePreferences, type SimulateSummary } from '../src/pipeline/simulate.js';
import { median } from './lib/peers.js';
import { judgeAccuracy, storyPremises } from './lib/stories.js';

const shared = (p: string): string => fileURLToPath(new URL(`../../shared/${p}`, import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: shared('models/tinystories-656k') },
    pairs: { type: 'string', default: '48' },
    'judge-pairs': { type: 'string', default: '160' },
    'new-tokens': { type: 'string', default: '128' },
    batches: { type: 'string', default: '1,16' },
    iterations: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
  },
});
const threads = Number(values.threads);
const newTokens = Number(values['new-tokens']);
const batches = values.batches!.split(',').map(Number);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-bench-sim-'));
await exportOnnx(values.model!, path.join(dir, 'onnx'));
const models: Record<'native' | 'onnx', LanguageModel> = {
  native: await loadModel(values.model!),
  onnx: await loadModel(path.join(dir, 'onnx'), { onnx: { threads } }),
};

// 1. Generation throughput, both backends in one tinybench run.
const prompt = 'Once upon a time';
const bench = new Bench({ iterations: Number(values.iterations), warmupIterations: 1, time: 0, warmupTime: 0 });
for (const b of batches) {
  for (const [name, m] of Object.entries(models)) {
    bench.add(`${name} batch ${b}`, async () => {
      await m.generate(Array(b).fill(prompt), { maxNewTokens: newTokens, temperature: 1, topK: 50, ignoreEos: true, batchSize: b, threads });
    });
  }
}
await bench.run();
const tokS = (name: string, b: number): number => (b * newTokens) / (((bench.getTask(`${name} batch ${b}`)!.result as { latency?: { p50: number } }).latency!.p50) / 1000);
const genRows = batches.map((b) => ({
  batch: b, 'native tok/s': tokS('native', b).toFixed(0), 'onnx tok/s': tokS('onnx', b).toFixed(0),
  'native / onnx': (tokS('native', b) / tokS('onnx', b)).toFixed(2) + 'x',
}));

// 2. Pairs per minute, each backend and method, on the same premises.
const premises = storyPremises(shared('data/tinystories/val.txt'), Number(values.pairs));
const simulate = async (m: LanguageModel, method: 'rlcd' | 'rlaif' | 'rlcd-rescore', prompts: string[], tag: string): Promise<{ s: SimulateSummary; pairs: Array<{ chosen: string; rejected: string }> }> => {
  const out = path.join(dir, `${tag}-${method}.jsonl`);
  const s = await simulatePreferences(m, prompts, { task: 'positive-story', method, out, seed: 1, batchSize: 16, threads });
  const pairs = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { chosen: string; rejected: string }) : [];
  return { s, pairs };
};
// Median of 3 runs per cell (fresh files), backends interleaved, so a burst of other load hits both.
const rateRows = [];
for (const method of ['rlcd', 'rlaif'] as const) {
  const row: Record<string, string> = { method };
  const rates: Record<string, number[]> = { native: [], onnx: [] };
  for (let rep = 0; rep < 3; rep++) {
    for (const [name, m] of Object.entries(models)) {
      const { s } = await simulate(m, method, premises, `rate-${name}-${rep}`);
      rates[name]!.push(s.pairsPerMinute);
      row[`${name} drop %`] = ((100 * (s.prompts - s.pairs)) / s.prompts).toFixed(1);
    }
  }
  for (const name of Object.keys(models)) row[`${name} pairs/min`] = median(rates[name]!).toFixed(0);
  row['native / onnx'] = (Number(row['native pairs/min']) / Number(row['onnx pairs/min'])).toFixed(2) + 'x';
  rateRows.push(row);
}

// 3. Label accuracy under the diagnostic judge (native backend, more premises).
const judgePremises = storyPremises(shared('data/tinystories/val.txt'), Number(values['judge-pairs']), Number(values.pairs));
const judgeRows = [];
for (const method of ['rlcd', 'rlaif', 'rlcd-rescore'] as const) {
  const { s, pairs } = await simulate(models.native, method, judgePremises, 'judge');
  const j = judgeAccuracy(pairs);
  const rec = pairs as unknown as Array<{ p_chosen: number; raw: { p_b?: number } }>;
  const mean = (xs: number[]): string => (xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(3);
  judgeRows.push({
    method, pairs: s.pairs, 'judge accuracy': j.accuracy.toFixed(3), 'ties %': (100 * j.ties).toFixed(1),
    'mean p_chosen': mean(rec.map((p) => p.p_chosen)),
    'B chosen %': method === 'rlcd' ? '-' : (100 * rec.filter((p) => (p.raw.p_b ?? 0) > 0.5).length / Math.max(1, rec.length)).toFixed(1),
  });
}
for (const m of Object.values(models)) m.dispose();
fs.rmSync(dir, { recursive: true, force: true });

console.log(`${values.model}; ${threads} threads for each backend (native engine; onnxruntime-node ${(await import('onnxruntime-node')).env.versions.node ?? ''}, CPU execution provider)`);
console.log(`generation: ${newTokens} new tokens after "${prompt}", T=1, top-k 50, ignore EOS, median of ${values.iterations}`);
console.table(genRows);
console.log(`positive-story simulation: ${premises.length} premises, batch 16, the task's 48-token budget, seed 1, median of 3 runs`);
console.table(rateRows);
console.log(`label accuracy under the sentiment judge (AFINN per word; chosen more positive than rejected, ties 0.5): ${judgePremises.length} other premises, native`);
console.table(judgeRows);
