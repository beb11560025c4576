// Input prompts for simulation: JSONL lines {"prompt": "..."}, or Anthropic HH lines
// {"chosen": dialogue, ...} whose prompt is the dialogue cut after its last 'Assistant:' (and stripped,
// as the paper's script does). A .gz file is decompressed first.
import fs from 'node:fs';
import zlib from 'node:zlib';

/** An HH dialogue's prompt: everything up to and including its last 'Assistant:', stripped. */
export function hhPrompt(dialogue: string): string | undefined {
  const i = dialogue.lastIndexOf('Assistant:');
  return i < 0 ? undefined : dialogue.slice(0, i + 'Assistant:'.length).trim();
}

export function readSimulationPrompts(file: string): string[] {
  let text: string;
  try {
    const buf = fs.readFileSync(file);
    text = (file.endsWith('.gz') ? zlib.gunzipSync(buf) : buf).toString('utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const prompts: string[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: expected a JSON object`);
    const v = value as Record<string, unknown>;
    if (typeof v.prompt === 'string') {
      prompts.push(v.prompt);
    } else if (typeof v.chosen === 'string') {
      const p = hhPrompt(v.chosen);
      if (p === undefined) throw new Error(`${where}: "chosen" has no 'Assistant:' turn`);
      prompts.push(p);
    } else {
      throw new Error(`${where}: expected a string "prompt" or an HH "chosen" dialogue`);
    }
  });
  if (prompts.length === 0) throw new Error(`${file}: no prompts`);
  return prompts;
}
