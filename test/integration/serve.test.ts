// `rlcd serve` as a real process, driven by the official `openai` client: completions with
// log-probabilities, chat, streaming, n > 1, seeds that reproduce (and equal the library's own
// sampling), 16 concurrent clients answered in shared batches, 4xx errors with a message, and a
// client that disconnects mid-stream freeing its slot. Runs on the built-in model.
import type { ChildProcess } from 'node:child_process';
import { spawnUntil } from '../shared.js';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { loadModel } from '../../src/model/load.js';
import type { LanguageModel } from '../../src/model/language-model.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const KEY = 'test-key';
let server: ChildProcess, base: string, client: OpenAI, model: LanguageModel;

beforeAll(async () => {
  const started = await spawnUntil([BIN, 'serve', '--model', 'rlcd-story-base', '--port', '0', '--api-key', KEY], / at (http:\/\/\S+\/v1)/);
  [server, base] = [started.child, started.match];
  client = new OpenAI({ baseURL: base, apiKey: KEY, maxRetries: 0 });
  model = await loadModel('rlcd-story-base');
}, 60_000);

afterAll(() => {
  server?.kill('SIGTERM');
  model?.dispose();
});

const stats = async () => (await fetch(base.replace(/\/v1$/, '/rlcd/stats'), { headers: { authorization: `Bearer ${KEY}` } })).json() as Promise<{ batches: number; sequences: number; largestBatch: number; aborted: number }>;
const PROMPT = 'Once upon a time, there was a little girl named Lily. ';

test('/v1/models lists the model', async () => {
  const list = await client.models.list();
  expect(list.data.map((m) => m.id)).toEqual(['rlcd-story-base']);
});

test('a seeded completion reproduces and equals the library sampling the same stream; log-probabilities match the model', async () => {
  const ask = () => client.completions.create({ model: 'rlcd-story-base', prompt: PROMPT, max_tokens: 24, seed: 11, logprobs: 3, temperature: 1, top_p: 1 });
  const a = await ask(), b = await ask();
  expect(a.choices[0]!.text).toBe(b.choices[0]!.text);
  const [local] = await model.generate(PROMPT, { seed: 11, maxNewTokens: 24, temperature: 1 });
  expect(a.choices[0]!.text).toBe(local!.text);
  const lp = a.choices[0]!.logprobs!;
  expect(lp.token_logprobs).toHaveLength(local!.ids.length);
  lp.token_logprobs!.forEach((v, i) => expect(v).toBeCloseTo(local!.logprobs[i]!, 4));
  for (const top of lp.top_logprobs!) expect(Object.keys(top!)).toHaveLength(3);
  expect(a.usage!.completion_tokens).toBe(local!.ids.length);
  expect(a.usage!.prompt_tokens).toBe(model.tokenizer.encode(PROMPT).length);
});

test('echo with max_tokens 0 scores the prompt', async () => {
  const r = await client.completions.create({ model: 'rlcd-story-base', prompt: PROMPT, max_tokens: 0, echo: true, logprobs: 0 });
  const ids = model.tokenizer.encode(PROMPT);
  const [scored] = await model.logProbs([''], [PROMPT]);
  expect(r.choices[0]!.text).toBe(PROMPT);
  const lps = r.choices[0]!.logprobs!.token_logprobs!;
  expect(lps).toHaveLength(ids.length - 1); // every token after BOS
  lps.forEach((v, i) => expect(v).toBeCloseTo(scored!.logprobs[i]!, 3));
});

test('n > 1 gives distinct choices; a list of prompts gives n each', async () => {
  const r = await client.completions.create({ model: 'rlcd-story-base', prompt: [PROMPT, 'One day, Tom went to the park. '], n: 3, max_tokens: 16, seed: 1 });
  expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(new Set(r.choices.slice(0, 3).map((c) => c.text)).size).toBe(3);
});

test('chat, and the same chat streamed, give the same answer for a seed', async () => {
  const messages = [{ role: 'user' as const, content: 'Tell me a story about a dog.' }];
  const whole = await client.chat.completions.create({ model: 'rlcd-story-base', messages, max_tokens: 40, seed: 4 });
  expect(whole.choices[0]!.message.role).toBe('assistant');
  expect(whole.choices[0]!.message.content!.length).toBeGreaterThan(0);
  const stream = await client.chat.completions.create({ model: 'rlcd-story-base', messages, max_tokens: 40, seed: 4, stream: true, stream_options: { include_usage: true } });
  let text = '', finish: string | null = null, usage = 0;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage.completion_tokens;
  }
  expect(text).toBe(whole.choices[0]!.message.content);
  expect(finish).toBe(whole.choices[0]!.finish_reason);
  expect(usage).toBe(whole.usage!.completion_tokens);
});

test('chat with top log-probabilities', async () => {
  const r = await client.chat.completions.create({ model: 'rlcd-story-base', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, logprobs: true, top_logprobs: 2 });
  const content = r.choices[0]!.logprobs!.content!;
  expect(content.length).toBeGreaterThan(0);
  for (const t of content) {
    expect(t.top_logprobs).toHaveLength(2);
    expect(t.logprob).toBeLessThanOrEqual(0);
  }
});

test('16 concurrent clients are all answered, in shared batches', async () => {
  const before = await stats();
  const replies = await Promise.all(Array.from({ length: 16 }, (_, i) => client.completions.create({ model: 'rlcd-story-base', prompt: PROMPT, max_tokens: 32, seed: i, ignore_eos: true } as never)));
  for (const r of replies as Array<{ choices: Array<{ text: string }>; usage: { completion_tokens: number } }>) expect(r.usage.completion_tokens).toBe(32);
  const after = await stats();
  expect(after.sequences - before.sequences).toBe(16);
  expect(after.batches - before.batches).toBeLessThan(8);
  expect(after.largestBatch).toBeGreaterThan(1);
});

test('bad requests get a 4xx with a message', async () => {
  await expect(client.completions.create({ model: 'rlcd-story-base', prompt: PROMPT, temperature: 7 })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/temperature/) });
  await expect(client.completions.create({ model: 'gpt-4', prompt: PROMPT })).rejects.toMatchObject({ status: 404 });
  await expect(client.completions.create({ model: 'rlcd-story-base', prompt: PROMPT, max_tokens: 5000 })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/maximum context length is 256/) });
  const wrongKey = new OpenAI({ baseURL: base, apiKey: 'nope', maxRetries: 0 });
  await expect(wrongKey.models.list()).rejects.toMatchObject({ status: 401 });
  const raw = await fetch(`${base}/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: '{not json' });
  expect(raw.status).toBe(400);
  expect(((await raw.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
  const big = await fetch(`${base}/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'rlcd-story-base', prompt: 'x'.repeat(2 << 20) }) });
  expect(big.status).toBe(413);
});

test('a client that disconnects mid-stream frees its slot', async () => {
  const before = await stats();
  const controller = new AbortController();
  const res = await fetch(`${base}/completions`, {
    method: 'POST', signal: controller.signal, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'rlcd-story-base', prompt: PROMPT, max_tokens: 200, ignore_eos: true, stream: true }),
  });
  const reader = res.body!.getReader();
  await reader.read(); // the first chunk
  controller.abort();
  await new Promise((r) => setTimeout(r, 300));
  const after = await stats();
  expect(after.aborted - before.aborted).toBe(1);
  // The server goes on answering.
  const r = await client.completions.create({ model: 'rlcd-story-base', prompt: PROMPT, max_tokens: 4 });
  expect(r.choices).toHaveLength(1);
});
