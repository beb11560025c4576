// `rlcd serve`: an OpenAI-compatible HTTP server on the native engine (Node's own http module; zod
// checks the bodies). GET /v1/models, POST /v1/completions, POST /v1/chat/completions; streaming as
// server-sent events; `usage` counts; OpenAI's error shape with the right status codes; an optional
// bearer key; limits on the body, the batch and the context. Generation goes through the batcher
// (batcher.ts): requests that arrive together are decoded together. Log-probabilities (the chosen
// token's and the top alternatives, under the model at temperature 1) come from one teacher-forced
// pass over prompt + completion after the sampling; `echo` with `max_tokens: 0` scores a text.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { NativeBackend } from '../inference/native.js';
import { isHubId } from '../hub/repo-id.js';
import type { LanguageModel } from '../model/language-model.js';
import { loadModel } from '../model/load.js';
import { Batcher, type SequenceJob, type SequenceResult } from './batcher.js';
import { chatFormatOf, type ChatFormat, type ChatMessage } from './chat-template.js';
import { badRequest, chatRequest, completionRequest, HttpError, parseBody, type ApiError, type ChatRequest, type CompletionRequest } from './openai-schema.js';

export interface ServeOptions {
  /** A model directory, a llama2.c .bin (with `tokenizer`), or 'rlcd-story-base'. */
  model: string;
  tokenizer?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Bearer key every request must carry; none when absent. */
  apiKey?: string;
  /** The model's id in /v1/models and responses (default: the directory's name). */
  name?: string;
  maxBatch?: number;
  /** How long the batcher waits for more requests before it starts a batch. */
  batchWindowMs?: number;
  maxBodyBytes?: number;
  threads?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  name: string;
  batcher: Batcher;
  close(): Promise<void>;
}

const now = (): number => Math.floor(Date.now() / 1000);

function logSoftmaxRow(logits: Float32Array, offset: number, V: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < V; i++) max = Math.max(max, logits[offset + i]!);
  let sum = 0;
  for (let i = 0; i < V; i++) sum += Math.exp(logits[offset + i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(V);
  for (let i = 0; i < V; i++) out[i] = logits[offset + i]! - lse;
  return out;
}

interface TokenLogprob {
  id: number;
  logprob: number | null;
  top: Array<{ id: number; logprob: number }>;
}

/** Per token of `ids[from..]`: its log-probability given what precedes it, and the top-k alternatives. */
async function tokenLogprobs(model: LanguageModel, ids: number[], from: number, k: number): Promise<TokenLogprob[]> {
  const V = model.config.vocabSize;
  const logits = await model.backend.logits!(ids);
  const out: TokenLogprob[] = [];
  for (let t = from; t < ids.length; t++) {
    if (t === 0) {
      out.push({ id: ids[t]!, logprob: null, top: [] });
      continue;
    }
    const lp = logSoftmaxRow(logits, (t - 1) * V, V);
    const top = k > 0 ? Array.from(lp.keys()).sort((a, b) => lp[b]! - lp[a]!).slice(0, k).map((id) => ({ id, logprob: lp[id]! })) : [];
    out.push({ id: ids[t]!, logprob: lp[ids[t]!]!, top });
  }
  return out;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const model = await loadModel(o.model, o.tokenizer ? { tokenizer: o.tokenizer } : {});
  const modelPath = model.source; // the directory loaded: a hub id's snapshot once it is pulled
  if (!(model.backend instanceof NativeBackend)) {
    model.dispose();
    throw new Error(`${o.model}: rlcd serve runs the native engine; give the Hugging Face checkpoint, not an ONNX export`);
  }
  const native = model.backend.native;
  // A hub id is served under its own name (as vLLM does), not its snapshot's commit sha.
  const hubId = isHubId(o.model) && !fs.existsSync(o.model);
  const name = o.name ?? (o.model === 'default' ? 'rlcd-story-base' : hubId ? o.model : path.basename(path.resolve(modelPath)).replace(/\.bin$/, ''));
  const batcher = new Batcher(native, model.tokenizer, { maxBatch: o.maxBatch ?? 16, windowMs: o.batchWindowMs ?? 2, ...(o.threads !== undefined && { threads: o.threads }) });
  const chat: ChatFormat = chatFormatOf(path.extname(modelPath) === '.bin' ? path.dirname(modelPath) : modelPath);
  const context = model.config.maxSeqLen;
  const maxBody = o.maxBodyBytes ?? 1 << 20;
  const pieces = model.tokenizer.tokenBytes();
  const tokenText = (id: number): string => Buffer.from(pieces[id] ?? new Uint8Array(0)).toString('utf8');

  const encodePrompt = (p: string | number[]): number[] => {
    const ids = typeof p === 'string' ? model.tokenizer.encode(p) : p;
    for (const id of ids) if (id >= model.config.vocabSize) throw badRequest(`token id ${id} is outside the vocabulary (${model.config.vocabSize})`, 'prompt');
    return ids;
  };
  const checkModel = (m: string): void => {
    if (m !== name) throw new HttpError({ status: 404, message: `The model '${m}' does not exist; this server serves '${name}'`, type: 'not_found_error', param: 'model', code: 'model_not_found' });
  };
  const budget = (promptIds: number[], maxTokens: number): number => {
    if (promptIds.length + maxTokens > context) {
      throw badRequest(`This model's maximum context length is ${context} tokens. However, you requested ${promptIds.length + maxTokens} tokens (${promptIds.length} in the prompt, ${maxTokens} for the completion). Please reduce the prompt or max_tokens.`, 'max_tokens');
    }
    return maxTokens;
  };
  const seedOf = (req: { seed?: number | null | undefined }, k: number): number => (req.seed ?? crypto.randomInt(2 ** 47)) + k;
  const stops = (s: string | string[] | null | undefined, extra: string[] = []): string[] => [...(s === undefined || s === null ? [] : typeof s === 'string' ? [s] : s), ...extra];

  // ---- /v1/completions -------------------------------------------------------------------------
  async function completions(req: CompletionRequest, signal: AbortSignal, send: SseSender | undefined): Promise<unknown> {
    checkModel(req.model);
    const list: Array<string | number[]> = typeof req.prompt === 'string' ? [req.prompt] : typeof req.prompt[0] === 'number' ? [req.prompt as number[]] : (req.prompt as Array<string | number[]>);
    const n = req.n ?? 1, maxTokens = req.max_tokens ?? 16, k = req.logprobs ?? undefined;
    if (send && k !== undefined) throw badRequest('logprobs with stream is not supported by rlcd serve; ask without stream', 'logprobs');
    if (send && req.echo) throw badRequest('echo with stream is not supported by rlcd serve', 'echo');
    const prompts = list.map(encodePrompt);
    prompts.forEach((p) => budget(p, maxTokens));
    const id = `cmpl-${crypto.randomUUID()}`, created = now();
    const params = { temperature: req.temperature ?? 1, topP: req.top_p ?? 1, topK: Math.max(0, req.top_k ?? 0), ignoreEos: req.ignore_eos ?? false, bannedStrings: req.bad_words ?? [] };
    const jobs: Array<Promise<SequenceResult>> = [];
    prompts.forEach((p, i) => {
      for (let j = 0; j < n; j++) {
        const index = i * n + j;
        const job: SequenceJob = { promptIds: p, params, maxTokens, seed: seedOf(req, j), stop: stops(req.stop), signal };
        if (send) job.onText = (delta) => send({ id, object: 'text_completion', created, model: name, choices: [{ index, text: delta, logprobs: null, finish_reason: null }] });
        jobs.push(maxTokens === 0 ? Promise.resolve({ ids: [], logprobs: [], text: '', finishReason: 'length', stopReason: null, aborted: false }) : batcher.submit(job));
      }
    });
    const results = await Promise.all(jobs);
    const usage = { prompt_tokens: prompts.reduce((s, p) => s + p.length, 0), completion_tokens: results.reduce((s, r) => s + r.ids.length, 0), total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    if (send) {
      results.forEach((r, index) => send({ id, object: 'text_completion', created, model: name, choices: [{ index, text: '', logprobs: null, finish_reason: r.finishReason }] }));
      if (req.stream_options?.include_usage) send({ id, object: 'text_completion', created, model: name, choices: [], usage });
      return undefined;
    }
    const choices = await Promise.all(results.map(async (r, index) => {
      const p = prompts[Math.floor(index / n)]!;
      const promptText = typeof list[Math.floor(index / n)] === 'string' ? (list[Math.floor(index / n)] as string) : model.tokenizer.decode(p);
      let logprobs: unknown = null;
      if (k !== undefined) {
        // Offsets into the returned text; with echo the prompt's tokens come first (the first has no log-probability).
        const from = req.echo ? (p[0] === model.config.bosId ? 1 : 0) : p.length;
        const lps = await tokenLogprobs(model, [...p, ...r.ids], from, k);
        let offset = 0;
        const text_offset: number[] = [];
        for (const t of lps) {
          text_offset.push(offset);
          offset += tokenText(t.id).length;
        }
        logprobs = {
          tokens: lps.map((t) => tokenText(t.id)),
          token_logprobs: lps.map((t) => t.logprob),
          top_logprobs: lps.map((t) => (t.logprob === null ? null : Object.fromEntries(t.top.map((a) => [tokenText(a.id), a.logprob])))),
          text_offset,
        };
      }
      return {
        index, text: (req.echo ? promptText : '') + r.text, logprobs, finish_reason: r.finishReason, stop_reason: r.stopReason,
        ...(req.return_token_ids && { prompt_token_ids: p, token_ids: r.ids }),
      };
    }));
    return { id, object: 'text_completion', created, model: name, choices, usage };
  }

  // ---- /v1/chat/completions --------------------------------------------------------------------
  async function chatCompletions(req: ChatRequest, signal: AbortSignal, send: SseSender | undefined): Promise<unknown> {
    checkModel(req.model);
    const messages: ChatMessage[] = req.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: typeof m.content === 'string' ? m.content : m.content.map((c) => c.text).join(''),
    }));
    const n = req.n ?? 1, asked = req.max_completion_tokens ?? req.max_tokens;
    const k = req.logprobs ? req.top_logprobs ?? 0 : undefined;
    if (send && k !== undefined) throw badRequest('logprobs with stream is not supported by rlcd serve; ask without stream', 'logprobs');
    const promptIds = encodePrompt(chat.render(messages));
    // Without a budget, answers get up to 256 tokens, as far as the context allows.
    const tokens = asked !== undefined && asked !== null ? budget(promptIds, asked) : Math.min(256, budget(promptIds, 1) && context - promptIds.length);
    const id = `chatcmpl-${crypto.randomUUID()}`, created = now();
    const params = { temperature: req.temperature ?? 1, topP: req.top_p ?? 1, topK: Math.max(0, req.top_k ?? 0), ignoreEos: req.ignore_eos ?? false, bannedStrings: req.bad_words ?? [] };
    // The HH format's answers start after "Assistant:" with a space: content does not.
    const trimStart = chat.kind === 'hh';
    const jobs = Array.from({ length: n }, (_, index) => {
      let started = false;
      const job: SequenceJob = { promptIds, params, maxTokens: tokens, seed: seedOf(req, index), stop: stops(req.stop, chat.stop), signal };
      if (send) {
        send({ id, object: 'chat.completion.chunk', created, model: name, choices: [{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] });
        job.onText = (delta) => {
          const text = started || !trimStart ? delta : delta.trimStart();
          if (text === '') return;
          started = true;
          send({ id, object: 'chat.completion.chunk', created, model: name, choices: [{ index, delta: { content: text }, logprobs: null, finish_reason: null }] });
        };
      }
      return batcher.submit(job);
    });
    const results = await Promise.all(jobs);
    const usage = { prompt_tokens: promptIds.length, completion_tokens: results.reduce((s, r) => s + r.ids.length, 0), total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    if (send) {
      results.forEach((r, index) => send({ id, object: 'chat.completion.chunk', created, model: name, choices: [{ index, delta: {}, logprobs: null, finish_reason: r.finishReason }] }));
      if (req.stream_options?.include_usage) send({ id, object: 'chat.completion.chunk', created, model: name, choices: [], usage });
      return undefined;
    }
    const choices = await Promise.all(results.map(async (r, index) => {
      let logprobs: unknown = null;
      if (k !== undefined) {
        const lps = await tokenLogprobs(model, [...promptIds, ...r.ids], promptIds.length, k);
        const entry = (id: number, logprob: number) => ({ token: tokenText(id), logprob, bytes: Array.from(pieces[id] ?? []) });
        logprobs = { content: lps.map((t) => ({ ...entry(t.id, t.logprob!), top_logprobs: t.top.map((a) => entry(a.id, a.logprob)) })) };
      }
      return { index, message: { role: 'assistant', content: trimStart ? r.text.trimStart() : r.text }, logprobs, finish_reason: r.finishReason, stop_reason: r.stopReason };
    }));
    return { id, object: 'chat.completion', created, model: name, choices, usage };
  }

  // ---- HTTP -------------------------------------------------------------------------------------
  const server = http.createServer((request, response) => {
    void handle(request, response).catch((e: unknown) => {
      const err: ApiError = e instanceof HttpError ? e.error : { status: 500, message: (e as Error).message ?? String(e), type: 'server_error' };
      if (response.headersSent) {
        // Mid-stream: an error event, then the end of the stream.
        response.end(`data: ${JSON.stringify({ error: { message: err.message, type: err.type } })}\n\ndata: [DONE]\n\n`);
        return;
      }
      // A body left unread (too large) makes the connection unusable for another request: close it.
      response.writeHead(err.status, { 'content-type': 'application/json', ...(err.status === 413 && { connection: 'close' }) }).end(JSON.stringify({ error: { message: err.message, type: err.type, param: err.param ?? null, code: err.code ?? null } }));
    });
  });

  async function readBody(request: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > maxBody) throw new HttpError({ status: 413, message: `The request body is larger than ${maxBody} bytes`, type: 'invalid_request_error' });
      chunks.push(chunk as Buffer);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw badRequest('The body is not valid JSON');
    }
  }

  async function handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const url = (request.url ?? '/').split('?')[0];
    if (o.apiKey !== undefined && request.headers.authorization !== `Bearer ${o.apiKey}`) {
      throw new HttpError({ status: 401, message: 'Incorrect or missing API key: send "Authorization: Bearer KEY"', type: 'authentication_error', code: 'invalid_api_key' });
    }
    if (request.method === 'GET' && url === '/v1/models') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: name, object: 'model', created: now(), owned_by: 'rlcd', max_model_len: context }] }));
      return;
    }
    if (request.method === 'GET' && url === '/rlcd/stats') {
      // How the batcher has grouped the requests so far (tests and benchmarks read it).
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...batcher.stats, queued: batcher.queued }));
      return;
    }
    const route = url === '/v1/completions' ? 'completions' : url === '/v1/chat/completions' ? 'chat' : undefined;
    if (!route) throw new HttpError({ status: 404, message: `No route ${request.method} ${url}`, type: 'not_found_error' });
    if (request.method !== 'POST') throw new HttpError({ status: 405, message: `${url} takes POST`, type: 'invalid_request_error' });
    const body = await readBody(request);
    // A client that goes away ends its sequences at the next decoding step.
    const aborter = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) aborter.abort();
    });
    const req = route === 'completions' ? parseBody(completionRequest, body) : parseBody(chatRequest, body);
    let send: SseSender | undefined;
    if (req.stream) {
      send = (chunk) => {
        if (!response.headersSent) response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        if (!response.writableEnded) response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      };
    }
    const out = route === 'completions' ? await completions(req as CompletionRequest, aborter.signal, send) : await chatCompletions(req as ChatRequest, aborter.signal, send);
    if (send) {
      send = undefined;
      if (!response.writableEnded) response.end('data: [DONE]\n\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8000, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}/v1`, port, name, batcher,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        model.dispose();
        resolve();
      });
    }),
  };
}

type SseSender = (chunk: unknown) => void;
