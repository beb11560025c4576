// Decoding at the sizes users align (issue 13): random LLaMA models of 25.7M and 88M parameters,
// batch 1 / 16 / 64, on 1 and 2 threads, rlcd (f32, bf16 and q8_0 weights) beside llama.cpp (node-llama-cpp's
// prebuilt CPU binary, on GGUF files that rlcd export-gguf writes from the same weights, in f32,
// f16 and q8_0), each row with its fraction of the roofline measured in the same run
// (min of FMA-bound and memory-bound tokens/s; see src/perf/roofline.ts).
//   npx tsx bench/decode-sizes.bench.ts [--sizes 25m,88m] [--batches 1,16,64] [--threads 1,2] [--dtypes f32,bf16,q8_0] [--new-tokens 32] [--iterations 3] [--no-peer] [--peer-max-batch 16]
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadModel, saveHfCheckpoint } from '../src/index.js';
import { exportGguf } from '../src/gguf/export.js';
import { parseRandomSpec, randomWeights } from '../src/model/random.js';
import type { EngineConfig, WeightsDtype } from '../src/native/binding.js';
import { bestPeak, describePeak, generationWork, measurePeak, rooflineFraction, type Peak } from '../src/perf/roofline.js';
import { DEFAULT_MODEL_DIR } from '../src/model/default-model.js';
import { median } from './lib/peers.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '25m,88m' },
    batches: { type: 'string', default: '1,16,64' },
    threads: { type: 'string', default: '1,2' },
    'new-tokens': { type: 'string', default: '32' },
    iterations: { type: 'string', default: '3' },
    dtypes: { type: 'string', default: 'f32,bf16,q8_0' },
    'no-peer': { type: 'boolean', default: false },
    // node-llama-cpp decodes a batch at about its batch-1 rate here: batch 64 would take many minutes.
    'peer-max-batch': { type: 'string', default: '16' },
  },
});
const dtypes = values.dtypes!.split(',') as WeightsDtype[];
const SIZES: Record<string, string> = { '25m': 'random:8x512x2048', '88m': 'random:12x768x2048' };
const newTokens = Number(values['new-tokens']);
const iterations = Number(values.iterations);
const batches = values.batches!.split(',').map(Number);
const threadCounts = values.threads!.split(',').map(Number);
const OUT = fileURLToPath(new URL('./out/models/', import.meta.url));
const SHARED_TOKENIZER = fileURLToPath(new URL('../../shared/models/tinystories-656k', import.meta.url));
const CHECKER = fileURLToPath(new URL('../test/gguf/node_modules/node-llama-cpp/package.json', import.meta.url));
const PEER = fileURLToPath(new URL('./peers/llama_cpp_generate.mjs', import.meta.url));

/** A random model of `spec` as an HF directory (the tinystories-656k tokenizer: vocab 2048), and its GGUF files. */
async function prepare(size: string): Promise<{ dir: string; config: EngineConfig; gguf: Record<string, string> }> {
  let config = parseRandomSpec(SIZES[size] ?? size)!;
  // Without ../shared, the built-in model's tokenizer (vocab 1024).
  const tokenizerFrom = fs.existsSync(SHARED_TOKENIZER) ? SHARED_TOKENIZER : DEFAULT_MODEL_DIR;
  if (tokenizerFrom === DEFAULT_MODEL_DIR) config = { ...config, vocabSize: 1024 };
  const dir = path.join(OUT, `${size}-v${config.vocabSize}`);
  if (!fs.existsSync(path.join(dir, 'model.safetensors'))) {
    fs.mkdirSync(OUT, { recursive: true });
    await saveHfCheckpoint(dir, { config, weights: randomWeights(config, 1).data, tokenizerFrom });
  }
  const gguf: Record<string, string> = {};
  for (const dtype of ['f32', 'f16', 'q8_0'] as const) {
    gguf[dtype] = `${dir}-${dtype}.gguf`;
    if (!fs.existsSync(gguf[dtype]!)) await exportGguf(dir, gguf[dtype]!, { dtype });
  }
  return { dir, config, gguf };
}

function peer(model: string, batch: number, threads: number, promptIds: number[]): number {
  if (values['no-peer'] || !fs.existsSync(CHECKER)) return NaN;
  const req = { model, batch, newTokens, threads, promptIds, repeats: iterations, warmup: 1 };
  const r = spawnSync(process.execPath, [PEER, JSON.stringify(req)], { encoding: 'utf8', timeout: 900_000 });
  const line = r.stdout?.trim().split('\n').at(-1);
  if (r.status !== 0 || !line?.startsWith('{')) {
    console.error(`llama.cpp peer failed: ${(r.stderr || '').trim().split('\n').at(-1)}`);
    return NaN;
  }
  return (JSON.parse(line) as { tokens_per_s: number }).tokens_per_s;
}

const peaks = new Map<number, Peak>();
for (const t of threadCounts) peaks.set(t, await measurePeak(t));
const VAL = fileURLToPath(new URL('../../shared/data/tinystories/val.txt', import.meta.url));
const distances: Array<Record<string, string | number>> = [];
interface Row {
  size: string; params: string; config: EngineConfig; threads: number; batch: number;
  rlcd: Map<WeightsDtype, number>; f32: number; f16: number; q8: number; gguf: Record<string, string>; promptIds: number[];
}
const measured: Row[] = [];
for (const size of values.sizes!.split(',')) {
  const { dir, config, gguf } = await prepare(size);
  const models = new Map<WeightsDtype, Awaited<ReturnType<typeof loadModel>>>();
  for (const d of dtypes) models.set(d, await loadModel(dir, { weightsDtype: d }));
  const first = models.values().next().value!;
  // How far each narrower type moves the model's log-probs from f32, on a few stories.
  const ref = models.get('f32');
  if (ref) {
    const stories = fs.existsSync(VAL) ? fs.readFileSync(VAL, 'utf8').split(/\n\s*\n/).filter((t) => t.length > 200 && t.length < 900).slice(0, 8) : ['Once upon a time, there was a little girl named Lily. She loved to play outside in the sun with her dog.'];
    const a = await ref.logProbs(stories.map(() => ''), stories);
    for (const [d, m] of models) {
      if (d === 'f32') continue;
      const b = await m.logProbs(stories.map(() => ''), stories);
      let sum = 0, n = 0;
      a.forEach((x, i) => x.logprobs.forEach((lp, j) => ((sum += Math.abs(lp - b[i]!.logprobs[j]!)), n++)));
      distances.push({ model: size, dtype: d, 'mean |log p - log p(f32)|, nats/token': (sum / n).toFixed(4), tokens: n });
    }
  }
  const prompt = 'Once upon a time, there was a little girl named Lily. She';
  const promptIds = Array.from(first.tokenizer.encode(prompt));
  const params = (fs.statSync(path.join(dir, 'model.safetensors')).size / 4 / 1e6).toFixed(1);
  for (const threads of threadCounts) {
    for (const batch of batches) {
      const rlcd = new Map<WeightsDtype, number>();
      for (const [d, model] of models) {
        const times: number[] = [];
        for (let i = 0; i <= iterations; i++) {
          const t0 = performance.now();
          await model.generate(Array(batch).fill(prompt), { maxNewTokens: newTokens, temperature: 0, ignoreEos: true, batchSize: batch, threads });
          if (i > 0) times.push((performance.now() - t0) / 1000); // the first run warms up
        }
        rlcd.set(d, (batch * newTokens) / median(times));
      }
      measured.push({ size, params, config, threads, batch, rlcd, f32: NaN, f16: NaN, q8: NaN, gguf, promptIds });
      console.error(`${size} threads ${threads} batch ${batch}: rlcd ${[...rlcd].map(([d, x]) => `${d} ${x.toFixed(0)}`).join(', ')} tok/s`);
    }
  }
  for (const m of models.values()) m.dispose();
}
// The peer after every rlcd row: a llama.cpp process just before an rlcd row was seen to slow that
// row by up to 30% on this machine, so neither side runs right after the other's rows.
for (const r of measured) {
  if (r.batch > Number(values['peer-max-batch'])) continue;
  r.f32 = peer(r.gguf.f32!, r.batch, r.threads, r.promptIds);
  r.f16 = peer(r.gguf.f16!, r.batch, r.threads, r.promptIds);
  r.q8 = peer(r.gguf.q8_0!, r.batch, r.threads, r.promptIds);
  console.error(`${r.size} threads ${r.threads} batch ${r.batch}: llama.cpp f32 ${r.f32.toFixed(0)}, f16 ${r.f16.toFixed(0)}, q8_0 ${r.q8.toFixed(0)} tok/s`);
}
// The limits again after the rows; the better of the two measurements is the roofline.
for (const t of threadCounts) peaks.set(t, bestPeak(peaks.get(t)!, await measurePeak(t)));
/** Bytes a weight of each type reads (q8_0: 32 int8 and one scale a block; rlcd keeps the scale in f32). */
const BYTES: Record<WeightsDtype, number> = { f32: 4, bf16: 2, f16: 2, q8_0: 36 / 32 };
const num = (x: number): string => (Number.isNaN(x) ? '-' : x.toFixed(0));
const rows = measured.map((r) => {
  const peak = peaks.get(r.threads)!;
  const pct = (x: number, bytes: number): string => (Number.isNaN(x) ? '-' : `${(100 * rooflineFraction(x, generationWork(r.config, { batch: r.batch, promptTokens: r.promptIds.length, newTokens, bytesPerWeight: bytes }), peak)).toFixed(0)}%`);
  return {
    model: `${r.size} (${r.params}M)`, threads: r.threads, batch: r.batch,
    ...Object.fromEntries([...r.rlcd].flatMap(([d, x]) => [[`rlcd ${d}`, num(x)], [`rlcd ${d} roofline`, pct(x, BYTES[d])]])),
    'llama.cpp f32': num(r.f32), 'f32 roofline': pct(r.f32, 4),
    'llama.cpp f16': num(r.f16), 'f16 roofline': pct(r.f16, 2),
    'llama.cpp q8_0': num(r.q8), 'q8_0 roofline': pct(r.q8, 34 / 32),
    'rlcd f32 / llama f32': Number.isNaN(r.f32) || !r.rlcd.has('f32') ? '-' : `${(r.rlcd.get('f32')! / r.f32).toFixed(2)}x`,
    'rlcd bf16 / llama f16': Number.isNaN(r.f16) || !r.rlcd.has('bf16') ? '-' : `${(r.rlcd.get('bf16')! / r.f16).toFixed(2)}x`,
    'rlcd q8_0 / llama q8_0': Number.isNaN(r.q8) || !r.rlcd.has('q8_0') ? '-' : `${(r.rlcd.get('q8_0')! / r.q8).toFixed(2)}x`,
  };
});
console.log(`decoding ${newTokens} new tokens after a ${measured[0]?.promptIds.length ?? '?'}-token story prompt, greedy; each generate() call timed whole (its prefill included); median of ${iterations} (after one warm-up) for both`);
for (const p of peaks.values()) console.log(describePeak(p));
console.log('roofline: min(FMA-bound, memory-bound) tokens/s for the work of the whole call (the prompt\'s prefill, then one decode step a token), the weights each engine reads (f32: 4 bytes, f16: 2, q8_0: 34/32 bytes a weight) and the KV cache; the better of two peak measurements (before and after)');
console.table(rows);
console.log("log-prob distance from f32 (llama.cpp's q8_0: ~0.012 nats/token on the 88M model, issue 13)");
console.table(distances);
