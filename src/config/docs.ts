// The option tables that README.md embeds between `<!-- options:NAME -->` markers.
import { generateFields } from './generate.js';
import { evalPmFields, trainPmFields } from './preference-model.js';
import { sftFields } from './sft.js';
import { describeFields, type Fields } from './schema.js';

export const docBlocks: Record<string, Fields> = {
  generate: generateFields,
  sft: sftFields,
  'train-pm': trainPmFields,
  'eval-pm': evalPmFields,
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
