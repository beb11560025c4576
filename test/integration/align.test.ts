// PPO, DPO and the whole pipeline on stories260K: short runs change the policy and log finite
// metrics under TRL's names; a killed run resumes to exactly the uninterrupted result (in process
// for PPO, a SIGKILLed CLI process for align); every method produces OUT/policy that
// `rlcd generate` loads; bad configuration gives one clear message naming the field.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alignWithRLCD } from '../../src/pipeline/align.js';
import { runDpo } from '../../src/pipeline/dpo.js';
import { runPpo } from '../../src/pipeline/ppo.js';
import { trainPreferenceModel } from '../../src/pipeline/preference-model.js';
import { simulate } from '../../src/pipeline/simulate.js';
import { loadModel } from '../../src/index.js';
import { describeWith, LLAMA2C_260K, SHARED, spawnAndKillWhen, TOK512 } from '../shared.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const VAL = path.join(SHARED, 'data/tinystories/val.txt');
const PPO_METRICS = ['objective/kl', 'objective/entropy', 'objective/non_score_reward', 'objective/rlhf_reward', 'objective/scores',
  'policy/approxkl_avg', 'policy/clipfrac_avg', 'loss/policy_avg', 'loss/value_avg', 'val/clipfrac_avg', 'val/ratio', 'val/num_eos_tokens',
  'lr', 'episode', 'response_length', 'termination_rate', 'kl_coef', 'tokens_per_second', 'peak_rss_mb', 'time/rollout', 'time/scoring', 'time/update'];

let tmp: string, prompts: string, pairs: string, pm: string;
const tiny = { rolloutBatchSize: 8, responseLength: 16, microBatchSize: 8, task: 'positive-story', tokenizer: TOK512, quiet: true } as const;

/** Story premises as a user writes them: first sentences, no trailing space. */
function premises(n: number): string[] {
  const out = new Set<string>();
  for (const para of fs.readFileSync(VAL, 'utf8').split(/\n\s*\n/)) {
    const first = /^Once upon a time[^.!?\n]{10,100}[.!?]/.exec(para.trim())?.[0];
    if (first) out.add(first);
    if (out.size === n) break;
  }
  return [...out];
}

const readMetrics = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const weightsOf = (dir: string) => fs.readFileSync(path.join(dir, 'model.safetensors'));

describeWith([LLAMA2C_260K, TOK512, VAL], 'PPO, DPO and align (stories260K)', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-align-'));
    prompts = path.join(tmp, 'prompts.jsonl');
    fs.writeFileSync(prompts, premises(16).map((p) => JSON.stringify({ prompt: p })).join('\n') + '\n');
    pairs = path.join(tmp, 'pairs.jsonl');
    // The simulate stage from paths, with its progress events.
    const steps: number[] = [];
    const s = await simulate({ model: LLAMA2C_260K, tokenizer: TOK512, prompts, task: 'positive-story', method: 'rlcd', out: pairs, maxNewTokens: 16 }, { onEvent: (e) => steps.push(e.step) });
    expect(s.pairs).toBeGreaterThan(8);
    expect(steps.at(-1)).toBe(16);
    pm = path.join(tmp, 'pm');
    await trainPreferenceModel({ model: LLAMA2C_260K, tokenizer: TOK512, pairs, out: pm, epochs: 1, suffix: '', evalSize: 2, quiet: true });
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('2 PPO steps change the policy and log finite metrics under TRL names', async () => {
    const out = path.join(tmp, 'ppo2');
    const events: number[] = [];
    const r = await runPpo({ ...tiny, policy: LLAMA2C_260K, reward: pm, prompts, out, steps: 2, lr: 1e-3 }, { onEvent: (e) => events.push(e.step) });
    expect(r.steps).toBe(2);
    expect(events).toEqual([0, 1, 2]);
    const m = readMetrics(out);
    expect(m.map((x) => x.step)).toEqual([1, 2]);
    for (const row of m) for (const k of PPO_METRICS) expect(Number.isFinite(row[k])).toBe(true);
    expect(m[1]!['objective/kl']).toBeGreaterThan(0); // the policy moved away from the reference after step 1
    expect(fs.readFileSync(path.join(out, 'rollouts.jsonl'), 'utf8').trim().split('\n').length).toBe(8); // 4 a step
    // The saved policy loads, and differs from the base.
    const base = await loadModel(LLAMA2C_260K, { tokenizer: TOK512 }), tuned = await loadModel(out);
    const [a] = await base.logProbs(['Once upon a time'], [' there was a girl']);
    const [b] = await tuned.logProbs(['Once upon a time'], [' there was a girl']);
    expect(b!.logprobs).not.toEqual(a!.logprobs);
    base.dispose();
    tuned.dispose();
  }, 60_000);

  test('with lr 0 the update sees ratio 1 exactly: old log-probs come from the same forward pass as training', async () => {
    const out = path.join(tmp, 'ppo-lr0');
    await runPpo({ ...tiny, policy: LLAMA2C_260K, reward: pm, prompts, out, steps: 1, lr: 0 });
    const [m] = readMetrics(out);
    expect(m!['val/ratio']).toBeCloseTo(1, 6);
    expect(m!['policy/approxkl_avg']).toBeCloseTo(0, 9);
    expect(m!['policy/clipfrac_avg']).toBe(0);
    expect(m!['objective/kl']).toBe(0);
  }, 60_000);

  test('PPO with LoRA: the reference is the policy with adapters off, and only adapters change', async () => {
    const out = path.join(tmp, 'ppo-lora');
    await runPpo({ ...tiny, policy: LLAMA2C_260K, reward: pm, prompts, out, steps: 2, lr: 1e-2, loraRank: 4 });
    const m = readMetrics(out);
    expect(m[1]!['objective/kl']).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(out, 'adapter', 'adapter_model.safetensors'))).toBe(true);
  }, 60_000);

  test('PPO with LoRA over a q8_0 base: rollouts and updates from the quantised base, ratio 1 at lr 0', async () => {
    const out = path.join(tmp, 'ppo-qlora'), still = path.join(tmp, 'ppo-qlora-lr0');
    await runPpo({ ...tiny, policy: LLAMA2C_260K, reward: pm, prompts, out, steps: 2, lr: 1e-2, loraRank: 4, weightsDtype: 'q8_0' });
    const m = readMetrics(out);
    for (const row of m) for (const k of PPO_METRICS) expect(Number.isFinite(row[k])).toBe(true);
    expect(m[1]!['objective/kl']).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(out, 'adapter', 'adapter_model.safetensors'))).toBe(true);
    // The old log-probs and the update's come from the same q8_0 forward: nothing moves at lr 0.
    await runPpo({ ...tiny, policy: LLAMA2C_260K, reward: pm, prompts, out: still, steps: 1, lr: 0, loraRank: 4, weightsDtype: 'q8_0' });
    const [z] = readMetrics(still);
    expect(z!['val/ratio']).toBeCloseTo(1, 6);
    expect(z!['objective/kl']).toBe(0);
  }, 60_000);

  test('a PPO run killed after a checkpoint resumes to exactly the uninterrupted policy', async () => {
    const opts = { ...tiny, policy: LLAMA2C_260K, reward: pm, prompts, steps: 4, saveEvery: 2, lr: 1e-3, adaptiveKl: true, seed: 3 };
    const whole = path.join(tmp, 'ppo-whole'), killed = path.join(tmp, 'ppo-killed');
    await runPpo({ ...opts, out: whole });
    await expect(runPpo({ ...opts, out: killed }, { onEvent: (e) => { if (e.step === 3) throw new Error('simulated kill'); } })).rejects.toThrow('simulated kill');
    const r = await runPpo({ ...opts, out: killed });
    expect(r.resumedFrom).toBe(2);
    expect(weightsOf(killed)).toEqual(weightsOf(whole));
    const strip = (rows: Record<string, number>[]) => rows.map((x) => ({ step: x.step, kl: x['objective/kl'], coef: x.kl_coef, score: x['objective/scores'] }));
    expect(strip(readMetrics(killed))).toEqual(strip(readMetrics(whole)));
  }, 60_000);

  test('2 DPO steps change the policy and log TRL metric names', async () => {
    const out = path.join(tmp, 'dpo');
    const r = await runDpo({ model: LLAMA2C_260K, tokenizer: TOK512, pairs, out, epochs: 1, batchSize: 8, lr: 1e-3, quiet: true });
    expect(r.steps).toBe(2);
    const m = readMetrics(out);
    for (const k of ['loss', 'rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected']) {
      for (const row of m) expect(Number.isFinite(row[k])).toBe(true);
    }
    // Step 1 starts at the reference: every implicit reward is 0 and the loss is log 2.
    expect(m[0]!.loss).toBeCloseTo(Math.log(2), 4);
    expect(m[0]!['rewards/margins']).toBeCloseTo(0, 5);
    expect(m[1]!['rewards/margins']).not.toBe(0);
  }, 60_000);

  test.each([
    ['rlcd', 'ppo'], ['rlaif', 'ppo'], ['rlcd-rescore', 'ppo'], ['rlcd', 'dpo'], ['context-distillation', 'ppo'],
  ])('align --method %s --algorithm %s writes OUT/policy that rlcd generate loads', async (method, algorithm) => {
    const out = path.join(tmp, `align-${method}-${algorithm}`);
    const s = await alignWithRLCD({
      task: 'positive-story', model: LLAMA2C_260K, tokenizer: TOK512, prompts, out, method: method as 'rlcd', algorithm: algorithm as 'ppo',
      pairsPerPrompt: 1, simulate: { maxNewTokens: 16, n: 6 }, pm: { epochs: 1, evalSize: 1 }, ppo: { steps: 1, rolloutBatchSize: 4, responseLength: 12 },
      dpo: { epochs: 1 }, sft: { epochs: 1 }, quiet: true,
    });
    expect(fs.existsSync(path.join(out, 'summary.json'))).toBe(true);
    expect(Object.keys(s.stages)).toEqual(method === 'context-distillation' ? ['simulate', 'sft'] : algorithm === 'dpo' ? ['simulate', 'dpo'] : ['simulate', 'pm', 'ppo']);
    const g = spawnSync(process.execPath, [BIN, 'generate', '--model', path.join(out, 'policy'), '--prompt', 'Once upon a time', '--max-new-tokens', '8', '--json'], { encoding: 'utf8' });
    expect(g.stderr).toBe('');
    expect(g.status).toBe(0);
    expect(JSON.parse(g.stdout.trim().split('\n')[0]!).text.length).toBeGreaterThan(0);
  }, 60_000);

  test('align: a SIGKILLed CLI run resumes to the same policy; finished stages are skipped', async () => {
    const args = (out: string) => [BIN, 'align', '--task', 'positive-story', '--model', LLAMA2C_260K, '--tokenizer', TOK512, '--prompts', prompts, '--out', out,
      '--pairs-per-prompt', '1', '--set', 'simulate.maxNewTokens=16', '--set', 'pm.epochs=1', '--set', 'ppo.steps=12', '--set', 'ppo.saveEvery=2',
      '--set', 'ppo.rolloutBatchSize=8', '--set', 'ppo.responseLength=16', '--quiet'];
    const whole = path.join(tmp, 'align-whole'), killed = path.join(tmp, 'align-killed');
    expect(spawnSync(process.execPath, args(whole), { encoding: 'utf8' }).status).toBe(0);
    const marker = path.join(killed, 'policy', 'checkpoint', 'trainer.json');
    const signal = await spawnAndKillWhen(args(killed), () => fs.existsSync(marker));
    expect(signal).toBe('SIGKILL');
    const rerun = spawnSync(process.execPath, args(killed), { encoding: 'utf8' });
    expect(rerun.status).toBe(0);
    expect(weightsOf(path.join(killed, 'policy'))).toEqual(weightsOf(path.join(whole, 'policy')));
    // A third run skips every stage.
    const again = spawnSync(process.execPath, args(killed).filter((a) => a !== '--quiet'), { encoding: 'utf8' });
    expect(again.stderr).toMatch(/simulate: done in an earlier run, skipped/);
    expect(again.stderr).toMatch(/ppo: done in an earlier run, skipped/);
  }, 120_000);

  test('bad configuration: one clear message naming the field', async () => {
    const base = { ...tiny, policy: LLAMA2C_260K, reward: pm, prompts, out: path.join(tmp, 'bad') };
    await expect(runPpo({ ...base, steps: 0 })).rejects.toThrow(/^steps: /);
    await expect(runPpo({ ...base, klEstimator: 'k2' as 'k1' })).rejects.toThrow(/klEstimator/);
    await expect(runPpo({ ...base, bogus: 1 } as never)).rejects.toThrow(/unknown option\(s\): bogus/);
    await expect(runPpo({ ...base, out: pm })).rejects.toThrow(/is the input/);
    await expect(runDpo({ model: LLAMA2C_260K, pairs, out: path.join(tmp, 'bad-dpo'), lossType: 'x' as 'ipo' })).rejects.toThrow(/lossType/);
    const align = { task: 'positive-story', model: LLAMA2C_260K, tokenizer: TOK512, prompts, out: path.join(tmp, 'align-rlcd-ppo') };
    await expect(alignWithRLCD({ ...align, method: 'rlhf' as 'rlcd' })).rejects.toThrow(/^method: /);
    await expect(alignWithRLCD({ ...align, set: ['ppo.steps'] })).rejects.toThrow(/--set ppo.steps: expected STAGE.KEY=VALUE/);
    // A rerun with a different configuration names the field that changed.
    await expect(alignWithRLCD({ ...align, pairsPerPrompt: 1, simulate: { maxNewTokens: 16, n: 5 }, pm: { epochs: 1, evalSize: 1 }, ppo: { steps: 1, rolloutBatchSize: 4, responseLength: 12 }, dpo: { epochs: 1 }, sft: { epochs: 1 } }))
      .rejects.toThrow(/simulate\.n differs/);
    // The CLI prints one line and exits non-zero.
    const r = spawnSync(process.execPath, [BIN, 'ppo', '--policy', LLAMA2C_260K, '--reward', pm, '--prompts', prompts, '--out', path.join(tmp, 'bad2'), '--steps', 'many'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--steps/);
  }, 60_000);
});
