// A language model as judge, asked the paper's pairwise prompt (judge-prompts.ts). A local model
// (native engine or onnxruntime-node), or one on an OpenAI-compatible server, reads the prompt followed by 'The answer is: (' and its
// verdict is softmax over the logits of the tokens 'A' and 'B' at the last position, the weighted
// preference of AlpacaEval 2 (the RLAIF labeler reads its soft label the same way).
import { loadModel } from '../model/load.js';
import { resolveChoiceIds, scoreChoices } from '../pipeline/label.js';
import type { Task } from '../tasks/task.js';
import { judgePrompt, LOCAL_ANSWER_PREFIX, PAPER_JUDGE_PREFIX, PAPER_JUDGE_QUESTIONS, STORY_JUDGE_PREFIX, STORY_JUDGE_QUESTION } from './judge-prompts.js';
import type { Comparison, Judge, JudgeOptions, Verdict } from './judge.js';

/** The framing and the question for a task (or the one the caller names). */
export function judgeFraming(task: Task | undefined, question: string | undefined): { prefix: string; question: string } {
  const story = task?.placement === 'append';
  const prefix = story ? STORY_JUDGE_PREFIX : PAPER_JUDGE_PREFIX;
  if (question !== undefined) return { prefix, question: (PAPER_JUDGE_QUESTIONS as Record<string, string>)[question] ?? question };
  if (story) return { prefix, question: STORY_JUDGE_QUESTION };
  const byTask = task && (PAPER_JUDGE_QUESTIONS as Record<string, string>)[task.name];
  return { prefix, question: byTask ?? PAPER_JUDGE_QUESTIONS.helpful };
}

/** The judge's text for one comparison, as a chat message (no answer prefix). */
export function judgeMessage(framing: { prefix: string; question: string }, c: Comparison): string {
  return judgePrompt(framing.prefix, framing.question, c.prompt, c.first, c.second);
}

export async function localLmJudge(name: string, modelPath: string, options: JudgeOptions): Promise<Judge> {
  // With a base URL the judge is a model on an OpenAI-compatible server (scored by echo).
  const model = options.baseUrl ? await loadModel(modelPath, { backend: 'openai', openai: { baseUrl: options.baseUrl } }) : await loadModel(modelPath);
  const ids = resolveChoiceIds(model.tokenizer);
  const framing = judgeFraming(options.task, options.question);
  return {
    name,
    async judge(items: readonly Comparison[]): Promise<Verdict[]> {
      const texts = items.map((c) => judgeMessage(framing, c) + LOCAL_ANSWER_PREFIX);
      const scores = await scoreChoices(model, texts, ids, options.threads !== undefined ? { threads: options.threads } : {});
      return scores.map((s) =>
        s.ok ? { pSecond: s.pB, parsed: true, raw: `logit A ${s.logitA.toFixed(3)}, B ${s.logitB.toFixed(3)}` } : { pSecond: 0.5, parsed: false, raw: `prompt of ${s.tokens} tokens exceeds the judge's context` },
      );
    },
    dispose: () => model.dispose(),
  };
}
