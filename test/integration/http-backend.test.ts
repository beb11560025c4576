// The openai backend against real server processes: `simulate --backend openai` on a served model
// gives exactly the pairs of the native engine (RLCD's generations, and RLAIF's A/B labels scored by
// echo), 429 answers are retried, and a server without echo scoring gets an error that says so.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { spawnUntil } from '../shared.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labelStats } from '../../src/eval/label-stats.js';
import { lexiconJudge } from '../../src/eval/lexicon-judge.js';
import { loadModel } from '../../src/model/load.js';
import { DEFAULT_MODEL_DIR } from '../../src/model/default-model.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const PROXY = fileURLToPath(new URL('../fixtures/flaky-proxy.ts', import.meta.url));
let tmp: string, server: ChildProcess, base: string;
const children: ChildProcess[] = [];

const outputs = new Map<string, () => string>();
async function start(args: string[], pattern: RegExp, env: Record<string, string> = {}): Promise<string> {
  const s = await spawnUntil(args, pattern, env);
  children.push(s.child);
  outputs.set(s.match, s.output);
  return s.match;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-http-'));
  base = await start([BIN, 'serve', '--model', 'rlcd-story-base', '--port', '0'], / at (http:\/\/\S+\/v1)/);
  server = children[0]!;
}, 60_000);
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

const premises = (): string => {
  const f = path.join(tmp, 'premises.jsonl');
  fs.writeFileSync(f, fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'premises-eval.jsonl'), 'utf8').split('\n').slice(0, 24).join('\n') + '\n');
  return f;
};
const pairs = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { chosen: string; rejected: string; p_chosen: number });

test.each(['rlcd', 'rlaif'])('simulate --method %s through the server gives the native pairs and label accuracy', async (method) => {
  const p = premises();
  const http = path.join(tmp, `${method}-http.jsonl`), local = path.join(tmp, `${method}-native.jsonl`);
  const common = ['simulate', '--task', 'positive-story', '--method', method, '--model', 'rlcd-story-base', '--prompts', p];
  expect(spawnSync(process.execPath, [BIN, ...common, '--out', http, '--backend', 'openai', '--base-url', base], { encoding: 'utf8' }).status).toBe(0);
  expect(spawnSync(process.execPath, [BIN, ...common, '--out', local], { encoding: 'utf8' }).status).toBe(0);
  const a = pairs(http), b = pairs(local);
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    expect([x.chosen, x.rejected]).toEqual([b[i]!.chosen, b[i]!.rejected]);
    expect(x.p_chosen).toBeCloseTo(b[i]!.p_chosen, 6);
  });
  expect((await labelStats(http, lexiconJudge())).judgeAgreement).toBe((await labelStats(local, lexiconJudge())).judgeAgreement);
}, 60_000);

test('429 answers are retried; a server without echo scoring is named as such', async () => {
  const port = await start(['--import', 'tsx', PROXY, base.replace(/\/v1$/, '')], /listening (\d+)/, { FAILURES: '2' });
  const m = await loadModel('rlcd-story-base', { backend: 'openai', openai: { baseUrl: `http://127.0.0.1:${port}/v1` } });
  const [c] = await m.generate('Once upon a time, ', { maxNewTokens: 8, seed: 3 });
  const local = await loadModel('rlcd-story-base');
  const [d] = await local.generate('Once upon a time, ', { maxNewTokens: 8, seed: 3 });
  expect(c!.ids).toEqual(d!.ids);
  expect(outputs.get(port)!()).toMatch(/throttled 2/);
  c!.logprobs.forEach((v, i) => expect(v).toBeCloseTo(d!.logprobs[i]!, 4));
  const [scoredHttp] = await m.logProbs(['Once upon a time, '], ['there was a dog.']);
  const [scoredLocal] = await local.logProbs(['Once upon a time, '], ['there was a dog.']);
  scoredHttp!.logprobs.forEach((v, i) => expect(v).toBeCloseTo(scoredLocal!.logprobs[i]!, 4));
  local.dispose();

  const noEcho = await start(['--import', 'tsx', PROXY, base.replace(/\/v1$/, '')], /listening (\d+)/, { FAILURES: '0', REJECT_ECHO: '1' });
  const n = await loadModel('rlcd-story-base', { backend: 'openai', openai: { baseUrl: `http://127.0.0.1:${noEcho}/v1` } });
  await expect(n.logProbs(['Once'], [' upon'])).rejects.toThrow(/scoring needs a server that echoes prompt log-probabilities .*echo is not supported/);
  void server;
}, 60_000);

test('evaluate with a served side and a served LM judge gives the records of the local run', async () => {
  const { evaluate } = await import('../../src/eval/evaluate.js');
  const p = premises();
  const common = { b: 'rlcd-story-base', prompts: p, task: 'positive-story', limit: 8, seed: 2, quiet: true };
  const local = await evaluate({ ...common, a: 'rlcd-story-base', judge: 'lm:rlcd-story-base', out: path.join(tmp, 'eval-local') });
  const served = await evaluate({ ...common, a: 'rlcd-story-base', aUrl: base, judge: 'lm:rlcd-story-base', baseUrl: base, out: path.join(tmp, 'eval-served') });
  const records = (d: string) => fs.readFileSync(path.join(tmp, d, 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { a: string; b: string; pSecond: number });
  const [x, y] = [records('eval-local'), records('eval-served')];
  expect(y.map((r) => [r.a, r.b])).toEqual(x.map((r) => [r.a, r.b]));
  y.forEach((r, i) => expect(r.pSecond).toBeCloseTo(x[i]!.pSecond, 6));
  expect(served.winRate).toBeCloseTo(local.winRate, 6);
}, 60_000);
