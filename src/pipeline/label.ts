// RLAIF-style scoring (RLAIF and RLCD-Rescore, SPEC.md section 2): fill the scoring template with the
// prompt, an instruction and outputs A and B, run the simulator on it, and read the logits of the
// tokens 'A' and 'B' at the last position. The soft label is P(B preferred) =
// softmax([logit A, logit B])[1].
import type { LanguageModel } from '../model/language-model.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface TemplateFields {
  prompt: string;
  instruction: string;
  outputA: string;
  outputB: string;
}

/**
 * The template with each slot replaced by its text stripped of surrounding whitespace (as the paper's
 * script does), in one pass: text inserted for one slot is never read as another slot.
 */
export function fillTemplate(template: string, f: TemplateFields): string {
  const values: Record<string, string> = {
    prompt: f.prompt.trim(), instruction: f.instruction.trim(), output_a: f.outputA.trim(), output_b: f.outputB.trim(),
  };
  return template.replace(/\{(prompt|instruction|output_a|output_b)\}/g, (_, key: string) => values[key]!);
}

export interface ChoiceIds {
  a: number;
  b: number;
}

/**
 * The ids of the tokens the model would write for 'A' and 'B' right after the template's '(':
 * the token whose text, mid-sequence, is exactly the letter. Encoding the letter on its own is wrong
 * for SentencePiece-style tokenizers (SentencePiece, llama2.c, LLaMA's tokenizer.json): they prefix a
 * space, giving '▁A', a different token (the paper's script took tokenizer.encode('A')[-1]).
 */
export function resolveChoiceIds(tokenizer: Tokenizer, labels: readonly [string, string] = ['A', 'B']): ChoiceIds {
  const ids = labels.map((label) => {
    const id = tokenizer.tokenId(label);
    if (id === undefined) throw new Error(`the ${tokenizer.kind} tokenizer has no single token for '${label}': RLAIF scoring needs one`);
    return id;
  });
  if (ids[0] === ids[1]) throw new Error(`'${labels[0]}' and '${labels[1]}' map to the same token ${ids[0]}`);
  return { a: ids[0]!, b: ids[1]! };
}

/** P(B preferred) = softmax([logitA, logitB])[1], computed without overflow. */
export function softLabel(logitA: number, logitB: number): number {
  const d = logitA - logitB;
  return d >= 0 ? Math.exp(-d) / (1 + Math.exp(-d)) : 1 / (1 + Math.exp(d));
}

export type ChoiceScore = { ok: true; logitA: number; logitB: number; pB: number } | { ok: false; tokens: number };

/**
 * Scores filled templates one by one (each a forward pass over the whole text). A text longer than
 * the model's context is not scored ({ ok: false } with its token count).
 */
export async function scoreChoices(model: LanguageModel, texts: readonly string[], ids: ChoiceIds, options: { threads?: number } = {}): Promise<ChoiceScore[]> {
  const V = model.config.vocabSize;
  const out: ChoiceScore[] = [];
  for (const text of texts) {
    const tokens = model.tokenizer.encode(text);
    if (tokens.length > model.config.maxSeqLen) {
      out.push({ ok: false, tokens: tokens.length });
      continue;
    }
    let logitA: number, logitB: number;
    if (model.backend.logits) {
      const logits = await model.backend.logits(tokens, options);
      const last = (tokens.length - 1) * V;
      [logitA, logitB] = [logits[last + ids.a]!, logits[last + ids.b]!];
    } else {
      // Without whole-vocabulary logits (an HTTP backend), score 'A' and 'B' as continuations: their
      // log-probabilities differ from the logits by the same log-normaliser, so the softmax is the same.
      const [la, lb] = await model.backend.logProbs([tokens, tokens], [[ids.a], [ids.b]], options);
      [logitA, logitB] = [la![0]!, lb![0]!];
    }
    out.push({ ok: true, logitA, logitB, pB: softLabel(logitA, logitB) });
  }
  return out;
}
