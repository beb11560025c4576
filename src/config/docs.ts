// The option tables that README.md and docs/*.md embed between `<!-- options:NAME -->` markers.

/** The documents that carry option tables, relative to the package root. */
export const DOC_FILES = ['README.md', 'docs/simulate.md', 'docs/align.md', 'docs/evaluate.md'];
import { alignFields } from './align.js';
import { compareFields } from './compare.js';
import { evaluateFields } from './evaluate.js';
import { dpoFields } from './dpo.js';
import { generateFields } from './generate.js';
import { ppoFields } from './ppo.js';
import { evalPmFields, trainPmFields } from './preference-model.js';
import { sftFields } from './sft.js';
import { simulateFields } from './simulate.js';
import { describeFields, type Fields } from './schema.js';

export const docBlocks: Record<string, Fields> = {
  generate: generateFields,
  sft: sftFields,
  'train-pm': trainPmFields,
  'eval-pm': evalPmFields,
  simulate: simulateFields,
  ppo: ppoFields,
  dpo: dpoFields,
  align: alignFields,
  evaluate: evaluateFields,
  compare: compareFields,
};

/** `text` with every marked block replaced by the current table. */
export function renderDocs(text: string): string {
  let out = text;
  for (const [name, fields] of Object.entries(docBlocks)) {
    const start = `<!-- options:${name} -->`;
    const end = `<!-- /options:${name} -->`;
    const i = out.indexOf(start);
    const j = out.indexOf(end);
    if (i < 0 || j < i) continue;
    out = out.slice(0, i + start.length) + '\n' + describeFields(fields) + '\n' + out.slice(j);
  }
  return out;
}
