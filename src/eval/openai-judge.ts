// An OpenAI-compatible chat endpoint as judge (`--judge openai:MODEL --base-url URL`, key from
// OPENAI_API_KEY): the paper's protocol, its system message and temperature 0. The verdict comes
// from the log-probabilities at the answer letter where the endpoint returns them (the weighted
// preference of AlpacaEval 2: P(B) / (P(A) + P(B)) over the top alternatives of the first token
// that reads 'A' or 'B', so "(A)" works as well as "A"), else from the text; an answer with neither
// counts 0.5.
import { PAPER_JUDGE_SYSTEM } from './judge-prompts.js';
import type { Comparison, Judge, JudgeOptions, Verdict } from './judge.js';
import { judgeFraming, judgeMessage } from './lm-judge.js';

interface TopLogprob { token: string; logprob: number }
interface ChatResponse {
  choices?: Array<{ message?: { content?: string | null }; logprobs?: { content?: Array<TopLogprob & { top_logprobs?: TopLogprob[] }> | null } | null }>;
}

const letter = (token: string): string => token.replace(/[\s()[\].:*]/g, '');

/** The verdict in a chat response: from log-probabilities when present, else from the text. */
export function verdictOf(response: ChatResponse): Verdict {
  const choice = response.choices?.[0];
  const text = choice?.message?.content ?? '';
  for (const position of choice?.logprobs?.content ?? []) {
    const l = letter(position.token);
    if (l !== 'A' && l !== 'B') continue;
    let pA = 0, pB = 0;
    for (const alt of position.top_logprobs?.length ? position.top_logprobs : [position]) {
      const k = letter(alt.token);
      if (k === 'A') pA += Math.exp(alt.logprob);
      else if (k === 'B') pB += Math.exp(alt.logprob);
    }
    if (pA + pB > 0) return { pSecond: pB / (pA + pB), parsed: true, raw: text };
    break;
  }
  return verdictFromText(text);
}

/** '(A)', 'A', 'Answer: (B)' ...: the first letter in parentheses, else a leading letter; else 0.5. */
export function verdictFromText(text: string): Verdict {
  const m = /\(([AB])\)/.exec(text) ?? /^\W*([AB])\b/.exec(text);
  if (!m) return { pSecond: 0.5, parsed: false, raw: text };
  return { pSecond: m[1] === 'B' ? 1 : 0, parsed: true, raw: text };
}

const CONCURRENCY = 4;
const ATTEMPTS = 4;

export async function openAiJudge(name: string, model: string, options: JudgeOptions): Promise<Judge> {
  const baseUrl = (options.baseUrl ?? process.env.OPENAI_BASE_URL ?? 'https://api.openai.com/v1').replace(/\/+$/, '');
  const apiKey = options.apiKey ?? process.env.OPENAI_API_KEY;
  const framing = judgeFraming(options.task, options.question);
  const url = `${baseUrl}/chat/completions`;

  const ask = async (c: Comparison): Promise<Verdict> => {
    const body = JSON.stringify({
      model,
      messages: [{ role: 'system', content: PAPER_JUDGE_SYSTEM }, { role: 'user', content: judgeMessage(framing, c) }],
      temperature: 0, max_tokens: 16, logprobs: true, top_logprobs: 20,
    });
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(apiKey && { authorization: `Bearer ${apiKey}` }) }, body });
      } catch (e) {
        if (attempt >= ATTEMPTS) throw new Error(`judge ${name}: cannot reach ${url}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
        continue;
      }
      // Rate limits and server errors are retried with backoff; anything else is the caller's to fix.
      if ((res.status === 429 || res.status >= 500) && attempt < ATTEMPTS) {
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
        continue;
      }
      if (!res.ok) throw new Error(`judge ${name}: ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
      return verdictOf((await res.json()) as ChatResponse);
    }
  };

  return {
    name,
    async judge(items: readonly Comparison[]): Promise<Verdict[]> {
      const out: Verdict[] = new Array(items.length);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < items.length) {
          const i = next++;
          out[i] = await ask(items[i]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
      return out;
    },
    dispose() {},
  };
}
