// Does the aligned policy write more positive stories than the base model? Samples both on
// held-out premises (SPEC section 5 settings: T = 1, top-p 0.9; the task's 48 tokens, cut at the
// last sentence) and asks the diagnostic lexicon judge (AFINN per word, the npm `sentiment`
// package: evaluation only, never a training signal) which of each pair reads more positive.
// Also reports the policy's KL to the base on its own samples (mean summed logp_policy - logp_base).
//
//   npx tsx bench/align-check.ts --base ../shared/models/tinystories-656k --policy OUT/policy --prompts heldout.jsonl [--samples 4] [--seed 1]
import { parseArgs } from 'node:util';
import { loadModel } from '../src/model/load.js';
import { filterOutput } from '../src/pipeline/filter.js';
import { POSITIVE_STORY } from '../src/tasks/positive-story.js';
import { readPromptsFile } from '../src/util/jsonl.js';
import { sentimentOf } from './lib/stories.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string' }, policy: { type: 'string' }, prompts: { type: 'string' },
    samples: { type: 'string', default: '4' }, seed: { type: 'string', default: '1' }, json: { type: 'boolean', default: false },
  },
});
if (!values.base || !values.policy || !values.prompts) throw new Error('--base, --policy and --prompts are required');
const task = POSITIVE_STORY;
const premises = readPromptsFile(values.prompts).map(task.normalizePrompt!);
const n = Number(values.samples), seed = Number(values.seed);
const opts = { temperature: 1, topP: 0.9, maxNewTokens: task.maxNewTokens!, n, seed, stop: [...task.stopRule.stop] };
const base = await loadModel(values.base), policy = await loadModel(values.policy);
const text = (c: { text: string; finishReason: 'eos' | 'stop' | 'length' }): string => {
  const f = filterOutput(c.text, c.finishReason, task.stopRule);
  return f.ok ? f.text : c.text.trim();
};
const a = await base.generate(premises, opts), b = await policy.generate(premises, opts);
let wins = 0, sa = 0, sb = 0, la = 0, lb = 0;
for (let i = 0; i < a.length; i++) {
  const x = sentimentOf(text(b[i]!)), y = sentimentOf(text(a[i]!));
  wins += x > y ? 1 : x === y ? 0.5 : 0;
  sb += x; sa += y; la += b[i]!.ids.length; lb += a[i]!.ids.length;
}
// KL(policy || base) on the policy's samples: the sampled log-probs under each model.
const promptIds = b.map((c) => base.tokenizer.encode(premises[c.promptIndex]!, { bos: true }));
const underBase = await base.logProbsOfIds(promptIds, b.map((c) => c.ids));
const kl = b.reduce((s, c, i) => s + c.logprobs.reduce((t, v) => t + v, 0) - underBase[i]!.reduce((t, v) => t + v, 0), 0) / b.length;
const N = a.length, win = wins / N, se = Math.sqrt((win * (1 - win)) / N);
const result = { pairs: N, winRate: win, stderr: se, sentimentPolicy: sb / N, sentimentBase: sa / N, tokensPolicy: la / N, tokensBase: lb / N, klToBase: kl };
console.log(values.json ? JSON.stringify(result) : `policy vs base on ${N} samples (${premises.length} premises x ${n}): win rate ${win.toFixed(3)} +- ${se.toFixed(3)}; sentiment ${result.sentimentPolicy.toFixed(3)} vs ${result.sentimentBase.toFixed(3)}; length ${result.tokensPolicy.toFixed(1)} vs ${result.tokensBase.toFixed(1)} tokens; KL to base ${kl.toFixed(2)} nats/sample`);
base.dispose();
policy.dispose();
