// Input prompts for simulation: JSONL lines {"prompt": "..."}, or Anthropic HH lines
// {"chosen": dialogue, ...} whose prompt is the dialogue cut after its last 'Assistant:' (and stripped,
// as the paper's script does). A .gz file is decompressed first.
import { readJsonl } from '../util/jsonl.js';

/** An HH dialogue's prompt: everything up to and including its last 'Assistant:', stripped. */
export function hhPrompt(dialogue: string): string | undefined {
  const i = dialogue.lastIndexOf('Assistant:');
  return i < 0 ? undefined : dialogue.slice(0, i + 'Assistant:'.length).trim();
}

export function readSimulationPrompts(file: string): string[] {
  const prompts = readJsonl(file).map(({ line, value: v }) => {
    if (typeof v.prompt === 'string') return v.prompt;
    if (typeof v.chosen === 'string') {
      const p = hhPrompt(v.chosen);
      if (p === undefined) throw new Error(`${file}:${line}: "chosen" has no 'Assistant:' turn`);
      return p;
    }
    throw new Error(`${file}:${line}: expected a string "prompt" or an HH "chosen" dialogue`);
  });
  if (prompts.length === 0) throw new Error(`${file}: no prompts`);
  return prompts;
}
