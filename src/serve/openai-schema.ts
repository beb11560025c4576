// The request bodies `rlcd serve` takes: OpenAI's completions and chat completions, with the
// extensions vLLM's server has for models like ours (top_k, ignore_eos, return_token_ids).
import { z } from 'zod';

const stop = z.union([z.string().min(1), z.array(z.string().min(1)).max(8)]).nullish();
const sampling = {
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  top_k: z.number().int().min(-1).nullish(),
  n: z.number().int().min(1).max(16).nullish(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  stop,
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
  ignore_eos: z.boolean().nullish(),
  bad_words: z.array(z.string().min(1)).max(64).nullish(),
  return_token_ids: z.boolean().nullish(),
  user: z.string().nullish(),
};

const ids = z.array(z.number().int().min(0));
export const completionRequest = z.object({
  model: z.string().min(1),
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(64), ids.min(1), z.array(ids.min(1)).min(1).max(64)]),
  max_tokens: z.number().int().min(0).nullish(),
  logprobs: z.number().int().min(0).max(20).nullish(),
  echo: z.boolean().nullish(),
  ...sampling,
}).passthrough();

export const chatRequest = z.object({
  model: z.string().min(1),
  messages: z.array(z.object({
    role: z.enum(['system', 'user', 'assistant', 'developer']),
    content: z.union([z.string(), z.array(z.object({ type: z.literal('text'), text: z.string() }).passthrough())]),
  }).passthrough()).min(1).max(256),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  ...sampling,
}).passthrough();

export type CompletionRequest = z.infer<typeof completionRequest>;
export type ChatRequest = z.infer<typeof chatRequest>;

/** OpenAI's error body. */
export interface ApiError {
  status: number;
  message: string;
  type: 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'server_error';
  param?: string | null;
  code?: string | null;
}

export class HttpError extends Error {
  constructor(readonly error: ApiError) {
    super(error.message);
  }
}

export const badRequest = (message: string, param: string | null = null): HttpError => new HttpError({ status: 400, message, type: 'invalid_request_error', param });

/** The first problem zod found, as OpenAI words it: the parameter and what is wrong. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const param = issue.path.join('.') || null;
  throw badRequest(`${param ? `'${param}': ` : ''}${issue.message}`, param);
}
