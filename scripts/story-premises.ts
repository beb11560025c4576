// Story premises for positive-story runs from TinyStories' validation text: the first sentences of
// its "Once upon a time / One day / There was" stories, split into training premises and disjoint
// held-out evaluation premises (docs/results.md uses the defaults).
//   npx tsx scripts/story-premises.ts [--val ../shared/data/tinystories/val.txt] [--train 200] [--eval 200] --out DIR
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { storyPremises } from '../bench/lib/stories.js';

const { values } = parseArgs({
  options: {
    val: { type: 'string', default: '../shared/data/tinystories/val.txt' },
    train: { type: 'string', default: '200' },
    eval: { type: 'string', default: '200' },
    out: { type: 'string' },
  },
});
if (!values.out) throw new Error('--out DIR is required');
const train = Number(values.train), held = Number(values.eval);
const all = storyPremises(values.val!, train + held).map((p) => p.trim());
fs.mkdirSync(values.out, { recursive: true });
const write = (name: string, ps: string[]): void => fs.writeFileSync(path.join(values.out!, name), ps.map((p) => JSON.stringify({ prompt: p })).join('\n') + '\n');
write('train-premises.jsonl', all.slice(0, train));
write('eval-premises.jsonl', all.slice(train));
console.log(`${values.out}: ${train} training premises, ${held} held-out premises`);
