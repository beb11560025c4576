// Peer: llama.cpp decoding through node-llama-cpp's prebuilt CPU binary (installed in test/gguf:
// `cd test/gguf && npm install --omit=optional`). B sequences of one context decode together (node-llama-cpp
// batches the sequences' next tokens into one llama_decode), greedy, a fixed number of new tokens.
// Usage: node llama_cpp_generate.mjs '{"model": F.gguf, "batch": B, "newTokens": N, "threads": T, "promptIds": [..], "repeats": R, "warmup": W}'
// Prints {"median_s", "tokens_per_s", "runs_s"}.
const { getLlama } = await import(new URL('../../test/gguf/node_modules/node-llama-cpp/dist/index.js', import.meta.url).href);

const req = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error', progressLogs: false });
const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0 });
const perSequence = req.promptIds.length + req.newTokens + 8;
const context = await model.createContext({
  sequences: req.batch, contextSize: perSequence * req.batch, batchSize: Math.max(512, req.batch * req.promptIds.length),
  threads: req.threads, flashAttention: false, batching: { dispatchSchedule: 'nextCycle', itemPrioritizationStrategy: 'maximumParallelism' },
});
const sequences = Array.from({ length: req.batch }, () => context.getSequence());

async function decodeOne(sequence) {
  let n = 0;
  for await (const _ of sequence.evaluate(req.promptIds, { temperature: 0, yieldEogToken: true, repeatPenalty: false })) {
    if (++n >= req.newTokens) break;
  }
}

const runs = [];
for (let i = 0; i < req.warmup + req.repeats; i++) {
  await Promise.all(sequences.map((s) => s.clearHistory()));
  const t0 = process.hrtime.bigint();
  await Promise.all(sequences.map(decodeOne));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (i >= req.warmup) runs.push(s);
}
runs.sort((a, b) => a - b);
const median = runs[Math.floor(runs.length / 2)];
process.stdout.write(JSON.stringify({ median_s: median, tokens_per_s: (req.batch * req.newTokens) / median, runs_s: runs }) + '\n');
await context.dispose();
await model.dispose();
await llama.dispose();
