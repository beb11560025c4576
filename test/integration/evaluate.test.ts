// Evaluation on real models: `evaluate` writes one record per comparison with a balanced, seeded A/B
// order and resumes a SIGKILLed run to the same records; the LM judge reads the verdict from the
// model's A/B logits; the OpenAI judge talks to a real server process over HTTP; `compare` on a
// tiny setting writes results.json, results.md and report.html, and the report loads in a real
// browser with every chart holding data.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare } from '../../src/eval/compare.js';
import { evaluate, type EvalRecord } from '../../src/eval/evaluate.js';
import { createJudge } from '../../src/eval/judge.js';
import { LOCAL_ANSWER_PREFIX, PAPER_JUDGE_SYSTEM } from '../../src/eval/judge-prompts.js';
import { judgeFraming, judgeMessage } from '../../src/eval/lm-judge.js';
import { verdictOf } from '../../src/eval/openai-judge.js';
import { softLabel, resolveChoiceIds } from '../../src/pipeline/label.js';
import { loadModel } from '../../src/model/load.js';
import { POSITIVE_STORY } from '../../src/tasks/positive-story.js';
import { describeWith, HF_656K, LLAMA2C_260K, SHARED, spawnAndKillWhen, TOK512 } from '../shared.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const SERVER = fileURLToPath(new URL('../fixtures/openai-server.ts', import.meta.url));
const VAL = path.join(SHARED, 'data/tinystories/val.txt');
let tmp: string;

/** First sentences of TinyStories validation stories, `skip` of them passed over. */
function premises(n: number, skip = 0): string[] {
  const out: string[] = [];
  for (const para of fs.readFileSync(VAL, 'utf8').split(/\n\s*\n/)) {
    const first = /^Once upon a time[^.!?\n]{10,100}[.!?]/.exec(para.trim())?.[0];
    if (first && !out.includes(first)) out.push(first);
    if (out.length === skip + n) break;
  }
  return out.slice(skip);
}
const writePrompts = (name: string, ps: string[]): string => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, ps.map((p) => JSON.stringify({ prompt: p })).join('\n') + '\n');
  return f;
};
const readRecords = (dir: string): EvalRecord[] => fs.readFileSync(path.join(dir, 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EvalRecord);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-eval-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describeWith([HF_656K, VAL], 'evaluate (tinystories-656k)', () => {
  test('records, seeded balanced order, scores that follow the verdict, and a deterministic rerun', async () => {
    const prompts = writePrompts('eval-12.jsonl', premises(12, 100));
    const opts = { a: HF_656K, b: HF_656K, prompts, task: 'positive-story', samples: 2, seed: 3, batchSize: 5, quiet: true };
    const r = await evaluate({ ...opts, out: path.join(tmp, 'ev-a') });
    const records = readRecords(path.join(tmp, 'ev-a'));
    expect(records).toHaveLength(24);
    expect(r.n).toBe(24);
    expect(r.prompts).toBe(12);
    expect(r.judge).toBe('lexicon');
    const swapped = records.filter((x) => x.swapped).length;
    expect(swapped).toBeGreaterThan(4);
    expect(swapped).toBeLessThan(20);
    for (const x of records) {
      expect(x.score).toBeCloseTo(x.swapped ? x.pSecond : 1 - x.pSecond, 12);
      expect(x.a.length + x.b.length).toBeGreaterThan(0);
    }
    // The same model on both sides: a fair comparison sits near one half.
    expect(r.ci95[0]).toBeLessThan(0.5);
    expect(r.ci95[1]).toBeGreaterThan(0.5);
    const again = await evaluate({ ...opts, out: path.join(tmp, 'ev-b'), batchSize: 12 });
    expect(readRecords(path.join(tmp, 'ev-b'))).toEqual(records);
    expect(again.winRate).toBe(r.winRate);
    // A different configuration into the same directory is refused, naming the field.
    await expect(evaluate({ ...opts, out: path.join(tmp, 'ev-a'), samples: 3 })).rejects.toThrow(/different samples/);
  }, 60_000);

  test('a SIGKILLed evaluate resumes to the records of an uninterrupted run', async () => {
    const prompts = writePrompts('eval-16.jsonl', premises(16, 140));
    const args = (out: string) => [BIN, 'evaluate', '--a', HF_656K, '--b', HF_656K, '--prompts', prompts, '--task', 'positive-story', '--batch-size', '2', '--seed', '5', '--out', out, '--quiet'];
    const whole = path.join(tmp, 'kill-whole'), killed = path.join(tmp, 'kill-killed');
    expect(spawnSync(process.execPath, args(whole), { encoding: 'utf8' }).status).toBe(0);
    const file = path.join(killed, 'records.jsonl');
    const signal = await spawnAndKillWhen(args(killed), () => fs.existsSync(file) && fs.statSync(file).size > 0);
    expect(signal).toBe('SIGKILL');
    expect(readRecords(killed).length).toBeLessThan(16);
    const r = spawnSync(process.execPath, args(killed), { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/A preferred \d+\.\d% .*95% bootstrap interval/);
    expect(readRecords(killed)).toEqual(readRecords(whole));
  }, 60_000);

  test('the LM judge reads softmax over the logits of A and B after the answer prefix', async () => {
    const judge = await createJudge(`lm:${HF_656K}`, { task: POSITIVE_STORY });
    const items = [
      { prompt: 'Once upon a time, there was a girl. ', first: 'She was happy.', second: 'She was sad.' },
      { prompt: 'One day, a dog ran. ', first: 'It found a ball.', second: 'It got lost.' },
    ];
    const verdicts = await judge.judge(items);
    judge.dispose();
    const model = await loadModel(HF_656K);
    const ids = resolveChoiceIds(model.tokenizer), V = model.config.vocabSize;
    const framing = judgeFraming(POSITIVE_STORY, undefined);
    for (let i = 0; i < items.length; i++) {
      const tokens = model.tokenizer.encode(judgeMessage(framing, items[i]!) + LOCAL_ANSWER_PREFIX);
      const logits = await model.backend.logits!(tokens);
      const last = (tokens.length - 1) * V;
      expect(verdicts[i]!.parsed).toBe(true);
      expect(verdicts[i]!.pSecond).toBeCloseTo(softLabel(logits[last + ids.a]!, logits[last + ids.b]!), 6);
    }
    model.dispose();
  }, 60_000);

  test('the OpenAI-compatible judge against a real server process', async () => {
    const log = path.join(tmp, 'requests.jsonl');
    const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SERVER, HF_656K], { env: { ...process.env, RLCD_TEST_REQUEST_LOG: log }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        server.stdout!.on('data', (d: Buffer) => {
          const m = /listening (\d+)/.exec(d.toString());
          if (m) resolve(Number(m[1]));
        });
        server.on('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
      const prompts = writePrompts('eval-http.jsonl', premises(4, 60));
      const r = await evaluate({ a: HF_656K, b: HF_656K, prompts, task: 'positive-story', judge: 'openai:tiny-judge', baseUrl: `http://127.0.0.1:${port}/v1`, out: path.join(tmp, 'ev-http'), quiet: true });
      expect(r.n).toBe(4);
      const requests = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { model: string; temperature: number; logprobs: boolean; messages: Array<{ role: string; content: string }> });
      expect(requests).toHaveLength(4);
      const framing = judgeFraming(POSITIVE_STORY, undefined);
      const records = readRecords(path.join(tmp, 'ev-http'));
      const model = await loadModel(HF_656K);
      for (const x of records) {
        // Requests run four at a time, so they are matched to records by their text.
        const first = x.swapped ? x.b : x.a, second = x.swapped ? x.a : x.b;
        const q = requests.find((y) => y.messages[1]?.content === judgeMessage(framing, { prompt: x.prompt, first, second }))!;
        expect(q).toBeDefined();
        expect(q.model).toBe('tiny-judge');
        expect(q.temperature).toBe(0);
        expect(q.logprobs).toBe(true);
        expect(q.messages[0]).toEqual({ role: 'system', content: PAPER_JUDGE_SYSTEM });
        // The verdict is what the served model answers greedily, read as the judge reads it.
        const [c] = await model.generate(`${PAPER_JUDGE_SYSTEM}\n\n${q.messages[1]!.content}${LOCAL_ANSWER_PREFIX}`, { temperature: 0, maxNewTokens: 16 });
        expect(x.verdict).toBe(c!.text);
        // ... and the preference is the one its log-probabilities give for the same request.
        const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(q) });
        expect(x.pSecond).toBe(verdictOf((await res.json()) as Parameters<typeof verdictOf>[0]).pSecond);
      }
      model.dispose();
    } finally {
      server.kill('SIGKILL');
    }
  }, 90_000);
});

describeWith([LLAMA2C_260K, TOK512, VAL], 'compare and the report (stories260K)', () => {
  let out: string;
  beforeAll(async () => {
    out = path.join(tmp, 'compare');
    await compare({
      task: 'positive-story', model: LLAMA2C_260K, tokenizer: TOK512, prompts: writePrompts('train.jsonl', premises(12)), evalPrompts: writePrompts('heldout.jsonl', premises(6, 240)),
      out, pairsPerPrompt: 1, simulate: { maxNewTokens: 16 }, pm: { epochs: 1 }, ppo: { steps: 2, rolloutBatchSize: 8, responseLength: 16 }, dpo: { epochs: 1 }, sft: { epochs: 1 }, quiet: true,
    });
  }, 120_000);

  test('writes results.json, results.md, report.html and every policy in HF layout', () => {
    const r = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(r.comparisons.map((c: { b: string }) => c.b)).toEqual(['rlcd-dpo', 'context-distillation', 'rlaif', 'rlcd-rescore', 'base']);
    for (const c of r.comparisons) {
      expect(c.n).toBe(6);
      expect(c.winRate).toBeGreaterThanOrEqual(c.ci95[0]);
      expect(c.winRate).toBeLessThanOrEqual(c.ci95[1]);
    }
    expect(r.labels.map((l: { labeler: string }) => l.labeler)).toEqual(['rlcd', 'rlaif', 'rlcd-rescore']);
    expect(r.labels[0].softLabels.at(-1)).toBe(r.labels[0].pairs); // RLCD's labels are hard
    for (const m of ['base', 'context-distillation', 'rlaif', 'rlcd-rescore', 'rlcd', 'rlcd-dpo']) {
      expect(fs.existsSync(path.join(out, m, 'policy', 'model.safetensors'))).toBe(true);
    }
    const md = fs.readFileSync(path.join(out, 'results.md'), 'utf8');
    expect(md).toMatch(/\| RLCD-PPO vs Base model \| \d+\.\d% \| \d+\.\d% \|/);
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/);
  });

  test('a rerun reuses every stage and gives the same table; rlcd report rewrites the page', () => {
    const before = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
    const r = spawnSync(process.execPath, [BIN, 'report', out], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(path.join(out, 'report.html'));
    expect(before.comparisons.length).toBe(5);
  });

  test('the report in a real browser: no console errors, every chart has data, a screenshot', async () => {
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
    if (!chromium) {
      console.warn('report browser test: skipped, no chromium (apt-get install chromium)');
      return;
    }
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(String(e)));
      const requests: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      await page.goto(`file://${path.join(out, 'report.html')}`);
      const charts = await page.$$eval('figure.chart svg', (svgs) => svgs.map((s) => s.querySelectorAll('polyline, circle, rect.bar').length));
      expect(charts.length).toBeGreaterThanOrEqual(8);
      for (const marks of charts) expect(marks).toBeGreaterThan(0);
      expect(await page.$$eval('.samples tbody tr', (rows) => rows.length)).toBe(6);
      expect(errors).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
      const shot = path.join(out, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(fs.statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
