// Which files of a repository a pull takes: by default what loading a model needs (config,
// tokenizer, safetensors weights, every shard an index names) and no other weight format; with
// --include, the files matching the globs instead.
import fs from 'node:fs';
import path from 'node:path';

/** Configuration and tokenizer files, taken when the repository has them. */
export const MODEL_FILES: readonly string[] = [
  'config.json', 'generation_config.json',
  'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json', 'chat_template.jinja',
  'tokenizer.model', 'vocab.json', 'vocab.txt', 'merges.txt',
];
export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX = 'model.safetensors.index.json';

/**
 * A glob as huggingface_hub's allow_patterns reads it (fnmatch): `*` matches any run of characters,
 * '/' included, `?` one character, `[abc]` / `[!abc]` a class; a glob ending in '/' takes the folder.
 */
export function globMatcher(glob: string): (file: string) => boolean {
  const g = glob.endsWith('/') ? `${glob}*` : glob;
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[' && g.indexOf(']', i + 2) > 0) {
      const end = g.indexOf(']', i + 2);
      let body = g.slice(i + 1, end);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const compiled = new RegExp(`^${re}$`, 's');
  return (file) => compiled.test(file);
}

export function checkIncludeGlobs(include: unknown, name = 'include'): string[] {
  if (!Array.isArray(include) || include.length === 0) throw new TypeError(`${name} must be a non-empty array of glob strings`);
  for (const g of include) {
    if (typeof g !== 'string' || g.trim() === '') throw new TypeError(`${name} must hold non-empty glob strings, got ${JSON.stringify(g)}`);
    if (g.startsWith('/') || g.split('/').includes('..')) throw new RangeError(`${name}: ${JSON.stringify(g)} must be relative to the repository (no leading '/' or '..')`);
  }
  return include as string[];
}

export function filesMatching(files: readonly string[], globs: readonly string[]): string[] {
  const matchers = globs.map(globMatcher);
  return files.filter((f) => matchers.some((m) => m(f)));
}

/** The default selection before the index is read: config and tokenizer files, and the weights or their index. */
export function defaultSelection(files: readonly string[]): { files: string[]; index: string | undefined } {
  const listed = new Set(files);
  const chosen = MODEL_FILES.filter((f) => listed.has(f));
  if (listed.has(WEIGHTS_FILE)) return { files: [...chosen, WEIGHTS_FILE], index: undefined };
  if (listed.has(WEIGHTS_INDEX)) return { files: [...chosen, WEIGHTS_INDEX], index: WEIGHTS_INDEX };
  return { files: chosen, index: undefined };
}

/** The shard files a safetensors index names (its weight_map's values), each once, in order. */
export function shardsOfIndex(index: unknown, indexFile: string): string[] {
  const map = (index as { weight_map?: unknown } | null)?.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new Error(`${indexFile}: no weight_map object`);
  const shards = [...new Set(Object.values(map as Record<string, unknown>))];
  if (shards.length === 0 || shards.some((s) => typeof s !== 'string' || s === '')) throw new Error(`${indexFile}: weight_map values must be shard file names`);
  return shards as string[];
}

/** What a snapshot directory lacks to be loaded as a model: config.json and the safetensors weights (every shard). */
export function missingModelFiles(dir: string): string[] {
  const has = (f: string): boolean => fs.existsSync(path.join(dir, f));
  const missing = has('config.json') ? [] : ['config.json'];
  if (has(WEIGHTS_FILE)) return missing;
  if (!has(WEIGHTS_INDEX)) return [...missing, WEIGHTS_FILE];
  try {
    const shards = shardsOfIndex(JSON.parse(fs.readFileSync(path.join(dir, WEIGHTS_INDEX), 'utf8')), WEIGHTS_INDEX);
    return [...missing, ...shards.filter((s) => !has(s))];
  } catch {
    return [...missing, WEIGHTS_INDEX];
  }
}
