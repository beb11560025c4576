// Which narrative cue and output length give the cleanest RLCD labels for positive-story on a
// TinyStories model? For each cue pair (p+ and p- differ in one word) and token budget, simulate
// RLCD pairs and report how often the diagnostic judge (AFINN sentiment per word) rates o+ above o-.
//   npx tsx bench/story-cues.ts [--model DIR] [--n 160] [--budgets 48,96,192,300] [--seed 1] [--only 'happy and|happy,']
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/index.js';
import { simulatePreferences } from '../src/pipeline/simulate.js';
import { POSITIVE_STORY } from '../src/tasks/positive-story.js';
import { STORY_STOP } from '../src/tasks/stop-rules.js';
import type { Task } from '../src/tasks/task.js';
import { judgeAccuracy, storyPremises } from './lib/stories.js';

const shared = (p: string): string => fileURLToPath(new URL(`../../shared/${p}`, import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string', default: shared('models/tinystories-656k') },
    n: { type: 'string', default: '160' },
    budgets: { type: 'string', default: '48,96,192,300' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
  },
});
const CUES: Array<[string, string]> = [
  ['Everyone was very happy. ', 'Everyone was very sad. '],
  ['They were very happy. ', 'They were very sad. '],
  ['She was very happy. ', 'She was very sad. '],
  ['It was a happy day. ', 'It was a sad day. '],
  ['It was a good day. ', 'It was a bad day. '],
  ['Something good happened. ', 'Something bad happened. '],
  ['Everyone was very kind. ', 'Everyone was very mean. '],
  // Unfinished sentences: the output itself goes on with the polarity.
  ['She felt happy because ', 'She felt sad because '],
  ['Everyone was happy and ', 'Everyone was sad and '],
  ['It was a happy day, and ', 'It was a sad day, and '],
  ['They were happy and ', 'They were sad and '],
  ['Everyone felt happy and ', 'Everyone felt sad and '],
  ['Everyone was happy, so ', 'Everyone was sad, so '],
];
const budgets = values.budgets!.split(',').map(Number);
const premises = storyPremises(shared('data/tinystories/val.txt'), Number(values.n));
const model = await loadModel(values.model!);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-cues-'));
const rows: Record<string, string | number>[] = [];
try {
  for (const [pos, neg] of CUES.filter(([p]) => values.only === undefined || values.only.split('|').some((o) => p.includes(o)))) {
    for (const budget of budgets) {
      // Up to 300 tokens a story ends at EOS (the paper's rule); shorter budgets keep whole sentences.
      const full = budget >= 300;
      const task: Task = {
        ...POSITIVE_STORY, name: 'cue-study', positiveAffixes: [pos], negativeAffixes: [neg],
        stopRule: full ? STORY_STOP : { ...STORY_STOP, truncated: 'cut-at-sentence' }, maxNewTokens: budget,
      };
      const out = path.join(dir, `${rows.length}.jsonl`);
      const s = await simulatePreferences(model, premises, { task, method: 'rlcd', out, seed: Number(values.seed), batchSize: 64 });
      const pairs = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { chosen: string; rejected: string }) : [];
      const j = judgeAccuracy(pairs);
      const words = pairs.reduce((n, p) => n + p.chosen.split(/\s+/).length + p.rejected.split(/\s+/).length, 0) / Math.max(1, 2 * pairs.length);
      rows.push({
        cue: `${pos.trim()} / ${neg.split(' ').find((w, i) => w !== pos.split(' ')[i])}`, budget, pairs: s.pairs,
        'drop %': ((100 * (premises.length - s.pairs)) / premises.length).toFixed(1), 'words/output': words.toFixed(0),
        'judge acc': j.accuracy.toFixed(3), 'ties %': (100 * j.ties).toFixed(1),
      });
      console.error(JSON.stringify(rows.at(-1)));
    }
  }
} finally {
  model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`positive-story cue study: ${premises.length} TinyStories premises, RLCD, T=1, top-k 50, seed ${values.seed}, ${values.model}`);
console.log('judge acc = share of pairs where AFINN sentiment per word of o+ > o- (ties 0.5); budgets < 300 cut at the last sentence, 300 = until EOS');
console.table(rows);
