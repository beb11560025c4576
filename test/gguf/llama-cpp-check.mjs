// Runs a GGUF file in llama.cpp (through node-llama-cpp's prebuilt CPU binary) and prints JSON:
// the greedy continuation of each prompt (given as token ids, so tokenization cannot hide a
// difference in the weights), the tokenization of each text, and the file's metadata as llama.cpp
// read it. Usage: node llama-cpp-check.mjs '{"model": F, "prompts": [[ids]], "n": 24, "texts": [..], "lora": F?}'
import { getLlama, readGgufFileInfo } from 'node-llama-cpp';

const req = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error', progressLogs: false });
const model = await llama.loadModel({ modelPath: req.model, gpuLayers: 0 });
const context = await model.createContext({
  contextSize: Math.min(512, model.trainContextSize), batchSize: 512, threads: 1, sequences: 1,
  ...(req.lora && { lora: { adapters: [{ filePath: req.lora, scale: 1 }] } }),
});
const greedy = [];
for (const prompt of req.prompts ?? []) {
  const sequence = context.getSequence();
  const out = [];
  // temperature 0 is greedy; ignoring EOG keeps the count fixed, as rlcd generate --ignore-eos does.
  for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true, repeatPenalty: false })) {
    out.push(token);
    if (out.length >= req.n) break;
  }
  greedy.push(out);
  await sequence.clearHistory();
  sequence.dispose();
}
const tokenized = (req.texts ?? []).map((t) => Array.from(model.tokenize(t, false)));
const info = await readGgufFileInfo(req.model, { readTensorInfo: true });
const metadata = {};
const walk = (o, prefix) => {
  for (const [k, v] of Object.entries(o)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, `${prefix}${k}.`);
    else metadata[`${prefix}${k}`] = Array.isArray(v) ? `array(${v.length})` : v;
  }
};
walk(info.metadata, '');
process.stdout.write(JSON.stringify({ greedy, tokenized, metadata, tensors: info.fullTensorInfo?.map((t) => t.name), vocab: model.fileInsights?.vocab ?? null }));
await context.dispose();
await model.dispose();
await llama.dispose();
