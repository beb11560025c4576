// npm run train:default-model: builds models/rlcd-story-base from nothing but this repository.
//   1. the corpus: stories from story-grammar.ts (training, validation and premise seeds apart);
//   2. a BPE tokenizer with byte fallback trained on it (train-bpe.ts);
//   3. a LLaMA-family model initialised at random and trained on the corpus with rlcd's own engine
//      (runSft: loss on every story token, EOS appended, AdamW, cosine schedule);
//   4. its validation loss, and how its stories react to the positive-story cues (RLCD label
//      accuracy under the lexicon judge on premises the corpus does not contain);
//   5. the directory, with a model card, and the demo's premises (training / held-out split).
// Deterministic for its seed; a rerun resumes (the training stage from its checkpoint, the rest is
// skipped when done). Work files go to --work (default models/.build, ignored by git).
//   npx tsx scripts/default-model/train.ts [--out models/rlcd-story-base] [--work models/.build] [--stories 120000] [--layers 4] [--dim 128]
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { progressBar } from '../../src/cli/progress.js';
import { lexiconJudge } from '../../src/eval/lexicon-judge.js';
import { labelStats } from '../../src/eval/label-stats.js';
import { loadModel } from '../../src/model/load.js';
import { randomWeights } from '../../src/model/random.js';
import { saveHfCheckpoint } from '../../src/model/save.js';
import type { EngineConfig } from '../../src/native/binding.js';
import { runSft } from '../../src/pipeline/sft.js';
import { simulatePreferences } from '../../src/pipeline/simulate.js';
import { atomicWriteFile } from '../../src/util/atomic.js';
import { story } from './story-grammar.js';
import { trainBpe } from './train-bpe.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'models/rlcd-story-base' },
    work: { type: 'string', default: 'models/.build' },
    stories: { type: 'string', default: '120000' },
    layers: { type: 'string', default: '4' },
    dim: { type: 'string', default: '128' },
    vocab: { type: 'string', default: '1024' },
    lr: { type: 'string', default: '3e-3' },
    batch: { type: 'string', default: '32' },
    seed: { type: 'string', default: '0' },
    threads: { type: 'string' },
  },
});
const seed = Number(values.seed), work = values.work!, out = values.out!;
const N = Number(values.stories), VOCAB = Number(values.vocab), DIM = Number(values.dim), LAYERS = Number(values.layers);
const started = performance.now();
fs.mkdirSync(work, { recursive: true });
const log = (s: string): void => void process.stderr.write(s + '\n');

// Corpus seeds: training stories, validation stories, and premises for the demo are drawn apart.
const TRAIN_SEED = 1000 + seed, VAL_SEED = 2000 + seed, PREMISE_SEED = 3000 + seed;
const BOS = '<|start_story|>', EOS = '<|end_story|>';

// 1. Corpus.
const trainFile = path.join(work, `train-${N}.jsonl`);
if (!fs.existsSync(trainFile)) {
  const lines: string[] = [];
  for (let i = 0; i < N; i++) lines.push(JSON.stringify({ prompt: '', completion: story(TRAIN_SEED, i).text }));
  atomicWriteFile(trainFile, lines.join('\n') + '\n');
}
const validation = Array.from({ length: 1000 }, (_, i) => story(VAL_SEED, i).text);
log(`corpus: ${N} training stories in ${trainFile}`);

// 2. Tokenizer (on the first 20,000 stories: enough to see every word many times).
const tokDir = path.join(work, 'tokenizer');
if (!fs.existsSync(path.join(tokDir, 'tokenizer.json'))) {
  const bpe = trainBpe(Array.from({ length: 20000 }, (_, i) => story(TRAIN_SEED, i).text), { vocabSize: VOCAB, unk: '<unk>', bos: BOS, eos: EOS });
  fs.mkdirSync(tokDir, { recursive: true });
  atomicWriteFile(path.join(tokDir, 'tokenizer.json'), JSON.stringify(bpe.json) + '\n');
  const special = (content: string) => ({ content, lstrip: false, normalized: true, rstrip: false, single_word: false });
  atomicWriteFile(path.join(tokDir, 'tokenizer_config.json'), JSON.stringify({
    add_bos_token: true, add_eos_token: false, bos_token: BOS, eos_token: EOS, unk_token: '<unk>', pad_token: '<unk>',
    clean_up_tokenization_spaces: false, legacy: false, model_max_length: 256, tokenizer_class: 'LlamaTokenizer',
  }, null, 2) + '\n');
  atomicWriteFile(path.join(tokDir, 'special_tokens_map.json'), JSON.stringify({ bos_token: special(BOS), eos_token: special(EOS), unk_token: special('<unk>'), pad_token: special('<unk>') }, null, 2) + '\n');
  atomicWriteFile(path.join(tokDir, 'generation_config.json'), JSON.stringify({ bos_token_id: 1, eos_token_id: 2, do_sample: true, temperature: 1.0, top_p: 0.9, max_new_tokens: 96 }, null, 2) + '\n');
}

// 3. Model: random initialisation, then training.
const config: EngineConfig = {
  dim: DIM, hiddenDim: 3 * DIM, nLayers: LAYERS, nHeads: 8, nKvHeads: 4, headDim: DIM / 8, vocabSize: VOCAB, maxSeqLen: 256,
  rmsEps: 1e-5, ropeTheta: 10000, ropeStyle: 'rotate-half', tiedEmbeddings: true, qkvBias: false, bosId: 1, eosId: 2,
};
const initDir = path.join(work, 'init');
if (!fs.existsSync(path.join(initDir, 'model.safetensors'))) {
  await saveHfCheckpoint(initDir, { config, weights: randomWeights(config, seed).data, tokenizerFrom: tokDir });
}
const trainDir = path.join(work, 'trained');
const bar = progressBar('train', 'steps');
const losses: Array<[number, number]> = [];
const sft = await runSft(
  {
    model: initDir, data: trainFile, out: trainDir, epochs: 1, lr: Number(values.lr), batchSize: Number(values.batch), microBatchSize: Number(values.batch),
    maxLength: 256, schedule: 'cosine', warmupRatio: 0.02, weightDecay: 0.01, seed, saveEvery: 100, quiet: true,
    ...(values.threads && { threads: Number(values.threads) }),
  },
  {
    onEvent: (e) => {
      if (e.message) log(`train: ${e.message}`);
      if (e.metrics.loss === undefined) return;
      losses.push([e.step, e.metrics.loss]);
      bar.detail(`loss ${e.metrics.loss.toFixed(3)}`);
      bar.update(e.step, e.total);
      if (!process.stderr.isTTY && e.step % 100 === 0) log(`train step ${e.step}/${e.total}: loss ${e.metrics.loss.toFixed(4)}`);
    },
  },
);
bar.stop();
const trainSeconds = (performance.now() - started) / 1000;

// 4. Validation loss (mean per story token, EOS included) and cue reaction.
const model = await loadModel(trainDir);
const scored = await model.logProbs(validation.map(() => ''), validation.map((t) => t));
let nll = 0, tokens = 0;
for (const s of scored) for (const lp of s.logprobs) (nll -= lp), tokens++;
const valLoss = nll / tokens;
log(`validation: ${valLoss.toFixed(4)} nats per token over ${tokens} tokens (${validation.length} stories)`);

const trainPremises = new Set<string>();
for (let i = 0; i < N; i++) trainPremises.add(story(TRAIN_SEED, i).premise);
const unseen: string[] = [];
for (let i = 0; unseen.length < 600; i++) {
  const p = story(PREMISE_SEED, i).premise;
  if (!trainPremises.has(p) && !unseen.includes(p)) unseen.push(p);
}
const cuePairs = path.join(work, 'cue-check.jsonl');
fs.rmSync(cuePairs, { force: true });
fs.rmSync(`${cuePairs}.run.json`, { force: true });
fs.rmSync(`${cuePairs}.dropped.jsonl`, { force: true });
await simulatePreferences(model, unseen.slice(0, 200), { task: 'positive-story', method: 'rlcd', out: cuePairs, seed });
const cue = await labelStats(cuePairs, lexiconJudge());
log(`cue reaction: lexicon judge agrees with the RLCD label on ${(100 * cue.judgeAgreement!).toFixed(1)}% of ${cue.pairs} pairs (premises not in the corpus)`);
const [sample] = await model.generate('Once upon a time, there was a little girl named Lily. ', { temperature: 0.8, topP: 0.9, maxNewTokens: 96, seed: 1 });
model.dispose();

// 5. The directory: weights, tokenizer, card, the demo's premises.
const params = config.vocabSize * config.dim + config.nLayers * (2 * config.dim * config.dim + 2 * config.dim * (config.nKvHeads * config.headDim) + 3 * config.dim * config.hiddenDim + 2 * config.dim) + config.dim;
fs.mkdirSync(out, { recursive: true });
for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
  fs.copyFileSync(path.join(trainDir, f), path.join(out, f));
}
const premiseLines = (ps: string[]): string => ps.map((p) => JSON.stringify({ prompt: p })).join('\n') + '\n';
atomicWriteFile(path.join(out, 'premises-train.jsonl'), premiseLines(unseen.slice(200, 400)));
atomicWriteFile(path.join(out, 'premises-eval.jsonl'), premiseLines(unseen.slice(400, 600)));
const curve = losses.filter(([s]) => s === 1 || s % Math.max(1, Math.floor(losses.length / 12)) === 0 || s === losses.length).map(([s, l]) => `| ${s} | ${l.toFixed(3)} |`).join('\n');
const minutes = ((performance.now() - started) / 60000).toFixed(1);
atomicWriteFile(path.join(out, 'README.md'), `---
license: mit
language: en
tags: [rlcd, llama, tinystories-style, text-generation]
---

# rlcd-story-base

A ${(params / 1e6).toFixed(2)}M-parameter LLaMA-family base model (${config.nLayers} layers, width ${config.dim}, ${config.nHeads} heads /
${config.nKvHeads} key-value heads, SwiGLU ${config.hiddenDim}, tied embeddings, context ${config.maxSeqLen}, vocabulary
${config.vocabSize}) that writes short children's stories. It is rlcd's default model (\`--model
rlcd-story-base\` or \`default\`) and the base of \`rlcd demo\`: trained from scratch by rlcd's own
engine, on text rlcd generates, so the repository needs nothing from elsewhere to run or rebuild it.

## Data

${N.toLocaleString('en')} stories from a probabilistic story grammar (\`scripts/default-model/story-grammar.ts\`):
premise, setup, events and an ending, with characters whose pronouns, friends, objects and places
recur through a story. Each story has a mood, happy or sad (one half each, turned once in three
stories of ten), that its events, feelings and ending follow, and mood sentences take the
positive-story task's cue forms ("Everyone was happy and ...", "They were sad and ..."). That is what
RLCD needs from a base model: its continuations follow a contrastive cue in the prompt. The grammar is
ours; the corpus, tokenizer and weights are MIT like the rest of rlcd.

The tokenizer is a ${config.vocabSize}-entry BPE with byte fallback trained on 20,000 of the stories
(\`scripts/default-model/train-bpe.ts\`), in the tokenizer.json layout of LLaMA-style tokenizers; a space
belongs to the word before it.

## Training

\`npm run train:default-model\` (deterministic for its seed, resumable): 1 epoch of AdamW (peak lr
${values.lr}, cosine schedule, warmup 2%, weight decay 0.01, batch ${values.batch}, gradient clip 1) over the
corpus, ${sft.steps} steps, ${minutes} min on 2 cores with everything else (corpus, tokenizer, checks).

| step | training loss |
|---|---|
${curve}

Validation loss: **${valLoss.toFixed(3)} nats per token** on ${validation.length.toLocaleString('en')} held-out stories.

## Cue reaction

RLCD simulation with the positive-story task on 200 premises the corpus does not contain
(\`rlcd simulate --task positive-story --method rlcd\`): the lexicon judge (AFINN) agrees with the RLCD
label (the output of the "happy" cue reads more positive than the one of the "sad" cue) on
**${(100 * cue.judgeAgreement!).toFixed(1)}%** of ${cue.pairs} pairs.

## Sample (temperature 0.8, top-p 0.9)

> Once upon a time, there was a little girl named Lily. ${sample!.text.trim().replace(/\n/g, '\n> ')}

## Files

\`premises-train.jsonl\` and \`premises-eval.jsonl\`: 200 + 200 story premises from the grammar, none in the
training corpus and none in both files, for \`rlcd demo\`.
`);
log(`wrote ${out} (${(params / 1e6).toFixed(2)}M parameters, validation loss ${valLoss.toFixed(3)}, cue agreement ${(100 * cue.judgeAgreement!).toFixed(1)}%, ${minutes} min; training ${trainSeconds.toFixed(0)} s)`);
