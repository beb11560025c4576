// Where a stage may write, checked before any work: never onto or around its own inputs, never
// onto a file, never into a directory of someone else's files or of another rlcd stage (rlcd
// replaces its output directories whole when it saves, so their files would be lost), and only
// where it can write (a read-only --out must fail now, not after an hour of training).
import fs from 'node:fs';
import path from 'node:path';
import { resolveModelName } from '../model/default-model.js';

/** The kind of rlcd output a directory holds, or undefined when rlcd did not write it. */
export function rlcdOutputKind(dir: string): string | undefined {
  if (fs.existsSync(path.join(dir, 'align-config.json'))) return 'align';
  if (fs.existsSync(path.join(dir, 'eval-config.json'))) return 'evaluate';
  if (fs.existsSync(path.join(dir, 'compare-config.json'))) return 'compare';
  try {
    const ck = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint', 'trainer.json'), 'utf8')) as { meta?: { identity?: { stage?: unknown } } };
    if (typeof ck.meta?.identity?.stage === 'string') return ck.meta.identity.stage;
  } catch {
    // no checkpoint: look at the model's config
  }
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { rlcd?: { stage?: unknown } };
    if (cfg.rlcd) return cfg.rlcd.stage === 'preference-model' ? 'train-pm' : String(cfg.rlcd.stage ?? 'model');
  } catch {
    // not a model directory
  }
  // A run killed before its first checkpoint has only logged steps: ours, of a kind we cannot tell.
  if (fs.existsSync(path.join(dir, 'metrics.jsonl')) || fs.existsSync(path.join(dir, 'reference-logps.json'))) return 'run';
  return undefined;
}

const inside = (child: string, parent: string): boolean => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** The directory itself when it exists, else its nearest existing ancestor (what mkdir -p would write into). */
function nearestExisting(dir: string): string {
  let d = dir;
  while (!fs.existsSync(d)) d = path.dirname(d);
  return d;
}

/**
 * Throws a RangeError when `out` equals or contains one of `inputs` (or sits inside a directory given
 * as input), is a file, is a non-empty directory that rlcd did not write or that another kind of
 * stage wrote, or cannot be written.
 */
export function assertOutputLocation(out: string, inputs: readonly string[], stage: string): void {
  const o = path.resolve(out);
  for (const input of inputs) {
    const i = path.resolve(resolveModelName(input));
    if (inside(i, o)) throw new RangeError(`--out ${out} ${i === o ? 'is' : 'contains'} the input ${input}; choose another output directory`);
    if (fs.existsSync(i) && fs.statSync(i).isDirectory() && inside(o, i)) throw new RangeError(`--out ${out} is inside the input ${input}; choose another output directory`);
  }
  const base = nearestExisting(o);
  if (!fs.statSync(base).isDirectory()) throw new RangeError(`--out ${out}: ${base} exists and is not a directory`);
  if (base === o && fs.readdirSync(o).length > 0) {
    const kind = rlcdOutputKind(o);
    if (kind === undefined) throw new RangeError(`--out ${out} is a non-empty directory that rlcd did not write; ${stage} replaces its output directory: choose a new or empty one (or remove it yourself)`);
    if (kind !== stage && kind !== 'run') throw new RangeError(`--out ${out} holds a ${kind} output; ${stage} would replace it: choose another directory (or remove it yourself)`);
  }
  try {
    fs.accessSync(base, fs.constants.W_OK);
  } catch {
    throw new RangeError(`--out ${out}: ${base} is not writable`);
  }
}
