// The built-in model (models/rlcd-story-base) needs nothing from ../shared: it loads by name, its
// greedy decoding matches the golden written by test/fixtures/make_default_golden.ts, and its
// stories react to the positive-story cues on premises its corpus did not contain.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/model/load.js';
import { DEFAULT_MODEL_DIR } from '../../src/model/default-model.js';
import { simulatePreferences } from '../../src/pipeline/simulate.js';
import { readSimulationPrompts } from '../../src/pipeline/prompts.js';
import { labelStats } from '../../src/eval/label-stats.js';
import { lexiconJudge } from '../../src/eval/lexicon-judge.js';

const GOLDEN = JSON.parse(fs.readFileSync(fileURLToPath(new URL('../fixtures/default-model-golden.json', import.meta.url)), 'utf8')) as {
  cases: Array<{ prompt: string; promptIds: number[]; ids: number[]; text: string; lastLogits: number[] }>;
};

test('loads by its name and by "default", a small LLaMA with its own tokenizer', async () => {
  for (const name of ['rlcd-story-base', 'default']) {
    const m = await loadModel(name);
    expect(m.config.vocabSize).toBe(1024);
    expect(m.tokenizer.decode(m.tokenizer.encode('Once upon a time, Lily was happy.', { bos: false }))).toBe('Once upon a time, Lily was happy.');
    m.dispose();
  }
  expect(fs.statSync(path.join(DEFAULT_MODEL_DIR, 'model.safetensors')).size).toBeLessThan(8 * 2 ** 20);
  for (const f of ['README.md', 'generation_config.json', 'tokenizer.json', 'premises-train.jsonl', 'premises-eval.jsonl']) expect(fs.existsSync(path.join(DEFAULT_MODEL_DIR, f))).toBe(true);
});

test('greedy decoding and logits match the golden', async () => {
  const m = await loadModel('rlcd-story-base');
  const V = m.config.vocabSize;
  for (const g of GOLDEN.cases) {
    expect(m.tokenizer.encode(g.prompt)).toEqual(g.promptIds);
    const [c] = await m.generate(g.prompt, { temperature: 0, maxNewTokens: 48 });
    expect(c!.ids).toEqual(g.ids);
    expect(c!.text).toBe(g.text);
    const logits = await m.backend.logits!(g.promptIds);
    const last = Array.from(logits.subarray((g.promptIds.length - 1) * V, (g.promptIds.length - 1) * V + 8));
    last.forEach((v, i) => expect(v).toBeCloseTo(g.lastLogits[i]!, 4));
  }
  m.dispose();
});

test('its stories follow the cue: RLCD labels agree with the lexicon judge well above chance on unseen premises', async () => {
  const m = await loadModel('default');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-default-'));
  try {
    const premises = readSimulationPrompts(path.join(DEFAULT_MODEL_DIR, 'premises-eval.jsonl')).slice(0, 40);
    const out = path.join(tmp, 'pairs.jsonl');
    await simulatePreferences(m, premises, { task: 'positive-story', method: 'rlcd', out, seed: 7 });
    const s = await labelStats(out, lexiconJudge());
    expect(s.pairs).toBeGreaterThanOrEqual(36);
    // The card reports the figure on 200 premises; 40 keep the test quick (chance is 0.5).
    expect(s.judgeAgreement).toBeGreaterThan(0.7);
  } finally {
    m.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
