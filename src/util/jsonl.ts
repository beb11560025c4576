// The one reader of JSONL input (prompts, pairs, SFT data; plain or .gz): errors name the file and
// line, a UTF-8 BOM is dropped, and invalid UTF-8 is refused instead of silently replaced.
import fs from 'node:fs';
import zlib from 'node:zlib';

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of a file, decompressed when it ends in .gz; a BOM is dropped and invalid UTF-8 is an error naming the line. */
export function readTextFile(file: string): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
    if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read (${code === 'EISDIR' ? 'it is a directory' : code ?? (e as Error).message})`);
  }
  try {
    const text = fatalUtf8.decode(buf);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    // Find the first line that does not decode, for a message a user can act on.
    let start = 0, line = 1;
    for (;;) {
      const end = buf.indexOf(0x0a, start);
      const slice = buf.subarray(start, end < 0 ? buf.length : end);
      try {
        fatalUtf8.decode(slice);
      } catch {
        throw new Error(`${file}:${line}: not valid UTF-8 (re-encode the file as UTF-8)`);
      }
      if (end < 0) throw new Error(`${file}: not valid UTF-8`);
      start = end + 1;
      line++;
    }
  }
}

/** Every non-blank line of a JSONL file (.jsonl or .jsonl.gz) as an object, with errors naming the file and line. */
export function readJsonl(file: string): Array<{ line: number; value: Record<string, unknown> }> {
  const text = readTextFile(file);
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

/**
 * The complete lines of an append-only JSONL output, cutting a trailing partial line (a kill in the
 * middle of a write) off the file itself; `who` names the writer in the error for a line that is
 * not JSON.
 */
export function readCompleteJsonl(file: string, who: string): Array<{ line: number; value: Record<string, unknown> }> {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) fs.truncateSync(file, Buffer.byteLength(text.slice(0, end), 'utf8'));
  const rows: Array<{ line: number; value: Record<string, unknown> }> = [];
  text.slice(0, end).split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message}); not a file written by ${who}?`);
    }
    rows.push({ line: i + 1, value: value as Record<string, unknown> });
  });
  return rows;
}
