// Preference simulation on a real model (tinystories-656k): record format, labels, determinism,
// resuming, drops. Kept small: short outputs, a handful of prompts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModel, type LanguageModel } from '../../src/index.js';
import { fillTemplate, resolveChoiceIds } from '../../src/pipeline/label.js';
import { simulatePreferences } from '../../src/pipeline/simulate.js';
import { BUILTIN_TASKS } from '../../src/tasks/task.js';
import { describeWith, HF_656K } from '../shared.js';

const PREMISES = [
  'Once upon a time, there was a little girl named Sue. ',
  'Once upon a time, in a big forest, there lived a fox named Red. ',
  'One day, a boy named Tim went to the park. ',
  'Once upon a time, there was a small cat. ',
  'Lily and Ben had a big red ball. ',
  'Once upon a time, there was a kind old man. ',
];
const STORY = { task: 'positive-story', seed: 3 } as const;

type Row = Record<string, any>;
const rows = (file: string): Row[] => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []);

describeWith([HF_656K], 'simulate on tinystories-656k', () => {
  let model: LanguageModel;
  let dir: string;
  const out = (name: string): string => path.join(dir, name);
  beforeAll(async () => {
    model = await loadModel(HF_656K);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-sim-'));
  });
  afterAll(() => {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('rlcd: TRL pairs from p+/p-, hard labels, the original prompt, raw outputs', async () => {
    const s = await simulatePreferences(model, PREMISES, { ...STORY, method: 'rlcd', out: out('rlcd.jsonl'), batchSize: 8 });
    const pairs = rows(out('rlcd.jsonl'));
    expect(s.pairs).toBe(pairs.length);
    expect(s.pairs + Object.values(s.dropped).reduce((a, b) => a + b, 0)).toBe(PREMISES.length);
    const task = BUILTIN_TASKS['positive-story']!;
    for (const p of pairs) {
      expect(Object.keys(p).slice(0, 4)).toEqual(['prompt', 'chosen', 'rejected', 'p_chosen']);
      expect(p).toMatchObject({ prompt: PREMISES[p.index], p_chosen: 1, method: 'rlcd', task: 'positive-story', seed: 3, instruction_index: null });
      expect(p.raw.prompts).toEqual([PREMISES[p.index]! + task.positiveAffixes[p.affix_index]!, PREMISES[p.index]! + task.negativeAffixes[p.affix_index]!]);
      expect(p.chosen.length).toBeGreaterThan(0);
      expect(p.raw.outputs[0]).toContain(p.chosen.slice(0, 20));
    }
  });

  test('the same seed gives the same file whatever the batch size; resuming continues it exactly', async () => {
    await simulatePreferences(model, PREMISES, { ...STORY, method: 'rlcd', out: out('b2.jsonl'), batchSize: 2 });
    await simulatePreferences(model, PREMISES, { ...STORY, method: 'rlcd', out: out('b5.jsonl'), batchSize: 5, n: 2 });
    const resumed = await simulatePreferences(model, PREMISES, { ...STORY, method: 'rlcd', out: out('b5.jsonl'), batchSize: 5 });
    expect(resumed.resumed).toBe(2);
    const key = (f: string): string[] => rows(f).map((r) => JSON.stringify(r)).sort();
    expect(key(out('b2.jsonl'))).toEqual(key(out('rlcd.jsonl')));
    expect(key(out('b5.jsonl'))).toEqual(key(out('rlcd.jsonl')));
    // A finished file: nothing left to do.
    const again = await simulatePreferences(model, PREMISES, { ...STORY, method: 'rlcd', out: out('b5.jsonl') });
    expect([again.pairs, again.resumed]).toEqual([0, PREMISES.length]);
  });

  test('rlaif: p_b is the 2-way softmax of the A/B logits of the filled template', async () => {
    await simulatePreferences(model, PREMISES.slice(0, 3), { ...STORY, method: 'rlaif', out: out('rlaif.jsonl') });
    const pairs = rows(out('rlaif.jsonl'));
    expect(pairs.length).toBeGreaterThan(0);
    const ids = resolveChoiceIds(model.tokenizer);
    const V = model.config.vocabSize;
    const task = BUILTIN_TASKS['positive-story']!;
    for (const p of pairs) {
      expect(p.raw.prompts).toEqual([p.prompt, p.prompt]);
      const bWins = p.raw.p_b > 0.5;
      const [a, b] = bWins ? [p.rejected, p.chosen] : [p.chosen, p.rejected];
      const text = fillTemplate(task.rlaifTemplate, { prompt: p.prompt, instruction: task.rlaifInstructions[p.instruction_index]!, outputA: a, outputB: b });
      const tokens = model.tokenizer.encode(text);
      const logits = await model.backend.logits!(tokens);
      const la = logits[(tokens.length - 1) * V + ids.a]!, lb = logits[(tokens.length - 1) * V + ids.b]!;
      expect([p.raw.logit_a, p.raw.logit_b]).toEqual([la, lb]);
      expect(p.raw.p_b).toBeCloseTo(Math.exp(lb) / (Math.exp(la) + Math.exp(lb)), 10);
      expect(p.p_chosen).toBeCloseTo(Math.max(p.raw.p_b, 1 - p.raw.p_b), 12);
      expect(p.p_chosen).toBeGreaterThanOrEqual(0.5);
    }
  });

  test('rlcd-rescore: RLCD outputs in a drawn A/B order, instruction matching the affix pair', async () => {
    await simulatePreferences(model, PREMISES.slice(0, 4), { ...STORY, method: 'rlcd-rescore', out: out('rescore.jsonl') });
    const rlcd = new Map(rows(out('rlcd.jsonl')).map((r) => [r.index, r]));
    const pairs = rows(out('rescore.jsonl'));
    expect(pairs.length).toBeGreaterThan(0);
    for (const p of pairs) {
      const r = rlcd.get(p.index)!;
      // Same seed, same prompt index: the same affix draw and the same samples as RLCD.
      expect(p.affix_index).toBe(r.affix_index);
      expect(new Set([p.chosen, p.rejected])).toEqual(new Set([r.chosen, r.rejected]));
      expect(['A', 'B']).toContain(p.raw.positive_is);
      expect(p.instruction_index).toBe(0);
    }
    expect(new Set(pairs.map((p) => p.raw.positive_is)).size).toBeGreaterThan(0);
  });

  test('dialogue task on a story model: drops counted by reason and written beside the pairs', async () => {
    const prompts = ['Human: How do I bake bread?\n\nAssistant:', 'Human: hi\n\nAssistant: hello\n\nHuman: tell me a story\n\nAssistant:', 'not a dialogue'];
    const s = await simulatePreferences(model, prompts, { task: 'harmless', method: 'rlcd', out: out('harmless.jsonl'), maxNewTokens: 8, maxRetries: 1 });
    expect(s.dropped['prompt-format']).toBe(1);
    const drops = rows(out('harmless.jsonl') + '.dropped.jsonl');
    expect(drops).toHaveLength(Object.values(s.dropped).reduce((a, b) => a + b, 0));
    expect(s.pairs + drops.length).toBe(3);
    const multi = drops.find((d) => d.index === 1) ?? rows(out('harmless.jsonl')).find((r) => r.index === 1)!;
    const affix = BUILTIN_TASKS.harmless!;
    const [pos, neg] = [affix.positiveAffixes[multi.affix_index]!, affix.negativeAffixes[multi.affix_index]!];
    expect(multi.raw.prompts[0]).toBe(`Human: hi\n\nAssistant ${neg}: hello\n\nHuman: tell me a story\n\nAssistant ${pos}:`);
    // 8 tokens rarely reach the next Human turn: those are 'unfinished' after 1 + 1 attempts.
    for (const d of drops.filter((x) => x.reason === 'unfinished')) expect(Math.max(...d.raw.attempts)).toBe(2);
  });

  test('a rerun with other settings or other prompts is refused', async () => {
    await expect(simulatePreferences(model, PREMISES, { ...STORY, method: 'rlaif', out: out('rlcd.jsonl') })).rejects.toThrow(/written with method "rlcd"/);
    await expect(simulatePreferences(model, PREMISES, { ...STORY, seed: 4, method: 'rlcd', out: out('rlcd.jsonl') })).rejects.toThrow(/seed/);
    await expect(simulatePreferences(model, PREMISES.slice().reverse(), { ...STORY, method: 'rlcd', out: out('rlcd.jsonl') })).rejects.toThrow(/not the same/);
    await expect(simulatePreferences(model, PREMISES, { ...STORY, method: 'rlhf' as never, out: out('x.jsonl') })).rejects.toThrow(/method/);
  });

  test('a half-written last line (a kill mid-write) is cut off and its prompt redone', async () => {
    const f = out('partial.jsonl');
    await simulatePreferences(model, PREMISES.slice(0, 2), { ...STORY, method: 'rlcd', out: f });
    const full = fs.readFileSync(f, 'utf8');
    const lines = full.trimEnd().split('\n');
    fs.writeFileSync(f, lines[0] + '\n' + lines[1]!.slice(0, 30));
    const s = await simulatePreferences(model, PREMISES.slice(0, 2), { ...STORY, method: 'rlcd', out: f });
    expect(s.resumed).toBe(1);
    expect(fs.readFileSync(f, 'utf8')).toBe(full);
  });
});
