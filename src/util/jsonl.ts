// Reading JSONL input files with errors that name the file and line.
import fs from 'node:fs';

export function readJsonl(file: string): Array<{ line: number; value: Record<string, unknown> }> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const out: Array<{ line: number; value: Record<string, unknown> }> = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file}:${i + 1}: expected a JSON object`);
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  });
  return out;
}

/** The prompts of a `{"prompt": "..."}` JSONL file. */
export function readPromptsFile(file: string): string[] {
  const rows = readJsonl(file);
  if (rows.length === 0) throw new Error(`${file}: no prompts`);
  return rows.map(({ line, value }) => {
    if (typeof value.prompt !== 'string') throw new Error(`${file}:${line}: "prompt" must be a string`);
    return value.prompt;
  });
}
