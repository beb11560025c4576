// Where a stage may write, checked before any work: never onto or around its own inputs, never
// onto a file, and never into a directory of someone else's files (rlcd replaces its output
// directories whole when it saves, so a foreign directory would be lost).
import fs from 'node:fs';
import path from 'node:path';

/** Files that mark a directory as an earlier rlcd output (a model, a checkpoint, a stage log). */
const RLCD_MARKERS = ['checkpoint', 'metrics.jsonl', 'summary.json', 'align-config.json'];

function isRlcdOutput(dir: string): boolean {
  if (RLCD_MARKERS.some((m) => fs.existsSync(path.join(dir, m)))) return true;
  try {
    return 'rlcd' in (JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as object);
  } catch {
    return false;
  }
}

const inside = (child: string, parent: string): boolean => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/**
 * Throws when `out` equals or contains one of `inputs` (or sits inside a model directory given as
 * input), is a file, or is a non-empty directory that rlcd did not write.
 */
export function assertOutputLocation(out: string, inputs: readonly string[], stage: string): void {
  const o = path.resolve(out);
  for (const input of inputs) {
    const i = path.resolve(input);
    if (inside(i, o)) throw new RangeError(`--out ${out} ${i === o ? 'is' : 'contains'} the input ${input}; choose another output directory`);
    if (fs.existsSync(i) && fs.statSync(i).isDirectory() && inside(o, i)) throw new RangeError(`--out ${out} is inside the input ${input}; choose another output directory`);
  }
  if (!fs.existsSync(o)) return;
  if (!fs.statSync(o).isDirectory()) throw new RangeError(`--out ${out} exists and is not a directory`);
  if (fs.readdirSync(o).length > 0 && !isRlcdOutput(o)) {
    throw new RangeError(`--out ${out} is a non-empty directory that rlcd did not write; ${stage} would replace it: choose a new or empty directory`);
  }
}
