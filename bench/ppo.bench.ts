// One PPO step on tinystories-656k, rlcd vs the PyTorch peer (bench/peers/torch_ppo.py), side by
// side in one run: 64 rollouts x 48 tokens (EOS never sampled, so both sides do the same work),
// scoring by policy, reference, value and preference model, then 2 epochs x 2 minibatches of
// clipped policy + value updates with one AdamW. Reports the median step and each phase.
//   npm run bench:ppo -- [--steps 5] [--threads N] [--no-peer]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runPpo } from '../src/pipeline/ppo.js';
import { saveTrainedModel } from '../src/train/save-trained.js';
import { Trainer } from '../src/train/trainer.js';
import { median, runPeer } from './lib/peers.js';
import { storyPremises } from './lib/stories.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    'no-peer': { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps), threads = Number(values.threads);
const shared = fileURLToPath(new URL('../../shared', import.meta.url));
const model = path.join(shared, 'models/tinystories-656k');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-bench-ppo-'));

// The reward model: the base model with a freshly drawn scalar head (what it scores does not change the work).
const pmDir = path.join(tmp, 'pm');
const pm = await Trainer.fromModel(model, { head: 'scalar', seed: 1 });
await saveTrainedModel(pmDir, pm, { stage: 'bench', suffix: '' });
pm.dispose();

const premises = storyPremises(path.join(shared, 'data/tinystories/val.txt'), 64);
const promptsFile = path.join(tmp, 'prompts.jsonl');
fs.writeFileSync(promptsFile, premises.map((p) => JSON.stringify({ prompt: p })).join('\n') + '\n');
const idsFile = path.join(tmp, 'prompt-ids.json');
fs.writeFileSync(idsFile, JSON.stringify(premises.map((p) => pm.tokenizer.encode(p, { bos: true }))));

const run = await runPpo({
  policy: model, reward: pmDir, prompts: promptsFile, out: path.join(tmp, 'ppo'), steps: steps + 1, rolloutBatchSize: 64, responseLength: 48,
  numPpoEpochs: 2, numMiniBatches: 2, microBatchSize: 32, ignoreEos: true, saveEvery: 0, threads, quiet: true,
});
void run;
const rows = fs.readFileSync(path.join(tmp, 'ppo', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>).slice(1);
const phase = (k: string) => median(rows.map((r) => r[k]!));
const ours = { rollout: phase('time/rollout'), scoring: phase('time/scoring'), update: phase('time/update'), pack: phase('time/pack_weights') };
const oursStep = median(rows.map((r) => r['time/rollout']! + r['time/scoring']! + r['time/update']!));

const peer = values['no-peer'] ? { error: 'skipped' } : runPeer(fileURLToPath(new URL('./peers/torch_ppo.py', import.meta.url)), [
  '--model', model, '--rollouts', '64', '--response-length', '48', '--epochs', '2', '--minibatches', '2',
  '--steps', String(steps), '--warmup', '1', '--threads', '1', '--prompts-ids', idsFile, '--json',
]);
fs.rmSync(tmp, { recursive: true, force: true });

const p = 'median_step_seconds' in peer ? (peer as { median_step_seconds: number; phases_median_seconds: Record<string, number> }) : undefined;
const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(3));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : (b / a).toFixed(2) + 'x');
console.log(`PPO step on tinystories-656k: 64 rollouts x 48 tokens, 2 epochs x 2 minibatches; rlcd ${threads} threads, PyTorch 1 thread (OpenBLAS 2); median of ${steps} steps after 1 warmup`);
console.table([
  { phase: 'rollout', 'rlcd s': fmt(ours.rollout), 'torch s': fmt(p?.phases_median_seconds.rollout), 'rlcd speed-up': ratio(ours.rollout, p?.phases_median_seconds.rollout) },
  { phase: 'scoring', 'rlcd s': fmt(ours.scoring), 'torch s': fmt(p?.phases_median_seconds.scoring), 'rlcd speed-up': ratio(ours.scoring, p?.phases_median_seconds.scoring) },
  { phase: 'update', 'rlcd s': fmt(ours.update), 'torch s': fmt(p?.phases_median_seconds.update), 'rlcd speed-up': ratio(ours.update, p?.phases_median_seconds.update) },
  { phase: 'whole step', 'rlcd s': fmt(oursStep), 'torch s': fmt(p?.median_step_seconds), 'rlcd speed-up': ratio(oursStep, p?.median_step_seconds) },
]);
console.log(`weight packing for the rollout engine: ${(1000 * ours.pack).toFixed(2)} ms a step (${((100 * ours.pack) / oursStep).toFixed(2)}% of the step)`);
if (!p) console.log(`peer: ${(peer as { error: string }).error}`);
