// Judges of pairwise comparisons, behind one interface. A judge sees a prompt and two responses in
// the order shown (the caller randomises it) and returns how much it prefers the second, in [0, 1]:
// 1 or 0 for a clear verdict, 0.5 for a tie or an answer it could not read, a probability where
// the judge gives one (a preference model, or an LM's A/B log-probabilities).
//   lexicon        the AFINN word list (npm `sentiment`): which response reads more positive (story tasks)
//   pm:DIR         a preference model written by `rlcd train-pm`: sigmoid(r_second - r_first)
//   lm:PATH        a local model (native engine or onnxruntime-node) asked the paper's judge prompt
//   openai:MODEL   an OpenAI-compatible chat endpoint asked the paper's judge prompt (openai-judge.ts)
import type { Task } from '../tasks/task.js';

export interface Comparison {
  /** The prompt both responses answer (a story premise, or a dialogue ending in '\n\nAssistant:'). */
  prompt: string;
  /** The responses in the order the judge sees them. */
  first: string;
  second: string;
}

export interface Verdict {
  /** Preference for the second response in [0, 1]. */
  pSecond: number;
  /** False when the judge's answer could not be read (pSecond is then 0.5). */
  parsed: boolean;
  /** What the judge said, when it says something (an LM's answer text, a reward pair). */
  raw?: string;
}

export interface Judge {
  /** The spec it was made from, e.g. 'lexicon' or 'pm:out/pm'. */
  readonly name: string;
  judge(items: readonly Comparison[]): Promise<Verdict[]>;
  dispose(): void;
}

export interface JudgeOptions {
  /** The task of the prompts: picks the LM judge's question and framing. */
  task?: Task;
  /** The LM judge's question: a key of the paper's (harmless, harmless_helpful, helpful, outline) or a text. */
  question?: string;
  /** openai: the endpoint's base URL (default https://api.openai.com/v1; OPENAI_BASE_URL). */
  baseUrl?: string;
  /** openai: the key (default OPENAI_API_KEY). */
  apiKey?: string;
  threads?: number;
}

export const JUDGE_KINDS = ['lexicon', 'pm:DIR', 'lm:PATH', 'openai:MODEL'] as const;

/** Makes the judge a spec names; throws a RangeError naming the spec when it is not one of JUDGE_KINDS. */
export async function createJudge(spec: string, options: JudgeOptions = {}): Promise<Judge> {
  if (typeof spec !== 'string' || spec === '') throw new TypeError('judge must be a non-empty string');
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon), arg = colon < 0 ? '' : spec.slice(colon + 1);
  if (kind === 'lexicon' && arg === '') return (await import('./lexicon-judge.js')).lexiconJudge();
  if (kind === 'pm' && arg) return (await import('./pm-judge.js')).pmJudge(spec, arg, options);
  if (kind === 'lm' && arg) return (await import('./lm-judge.js')).localLmJudge(spec, arg, options);
  if (kind === 'openai' && arg) return (await import('./openai-judge.js')).openAiJudge(spec, arg, options);
  throw new RangeError(`judge '${spec}': expected one of ${JUDGE_KINDS.join(', ')}`);
}
