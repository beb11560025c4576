// Stage: PPO of a policy against a preference model (AlpacaFarm's recipe as RLCD used it, SPEC.md
// section 4). Each step: roll out -> score -> shape rewards with the KL to the reference -> GAE ->
// epochs of clipped policy and value updates. Every phase is a function below, named for it.
//
// Determinism and resume: the prompts of step s, the sampling streams of its rollouts and the
// shuffles of its minibatches all derive from (seed, s); a checkpoint holds the policy, the value
// model, both AdamW states and the KL coefficient, so a killed run resumed from step s ends with
// exactly the policy of an uninterrupted run.
import fs from 'node:fs';
import path from 'node:path';
import { ppoDefaultsFor, ppoFields, type PpoConfig, type PpoOptions } from '../config/ppo.js';
import { parseConfig } from '../config/schema.js';
import { checkLoraOptions, identitySettings } from '../config/train-common.js';
import { ModelFormatError } from '../errors/model-format-error.js';
import { addon } from '../native/binding.js';
import { gae, shapeRewards } from '../rl/gae.js';
import { klPerToken } from '../rl/kl.js';
import { adaptiveKlController, fixedKlController, type KlController } from '../rl/kl-controller.js';
import { EOS_ONLY, makeRollout, type Rollout } from '../rl/rollout.js';
import { gather, responseMask, rolloutBatch, scatter } from '../rl/token-grid.js';
import { maskedMoments, whiten } from '../rl/whiten.js';
import { resolveTask, type Task } from '../tasks/task.js';
import { encodeHead } from '../tokenizer/truncated.js';
import { chunks, packBatch, shuffled } from '../train/batch.js';
import { loadTrainerCheckpoint, saveTrainerCheckpoint } from '../train/checkpoint.js';
import { checkIdentity, loadTrainerTensors, trainerTensors } from '../train/resume.js';
import { saveTrainedModel } from '../train/save-trained.js';
import { Trainer } from '../train/trainer.js';
import { assertOutputLocation } from '../util/output-dir.js';
import { encodeForPm, readPmInfo, readScoreHead } from './preference-model.js';
import { pmInput } from './preference-data.js';
import { readSimulationPrompts } from './prompts.js';
import { hashInts, streamBase } from '../util/random.js';
import { checkHooks, peakRssMb, StepLog, type StageHooks } from './stage.js';

export interface PpoResult {
  out: string;
  steps: number;
  resumedFrom: number;
  prompts: number;
  droppedPrompts: number;
  /** The last step's metrics. */
  final: Record<string, number>;
  seconds: number;
}

interface Models {
  /** What the preference-model directory says about itself (its suffix) and its width. */
  pm: { suffix: string | undefined; dim: number };
  policy: Trainer;
  /** The frozen reference; undefined with LoRA (the policy with adapters off). */
  reference: Trainer | undefined;
  reward: Trainer;
  value: Trainer;
}

async function loadModels(cfg: PpoConfig): Promise<Models> {
  const lora = cfg.loraRank > 0 ? { rank: cfg.loraRank, alpha: cfg.loraAlpha ?? 2 * cfg.loraRank, targets: cfg.loraTargets } : undefined;
  const common = { seed: cfg.seed, ...(cfg.threads !== undefined && { threads: cfg.threads }) };
  const tok = cfg.tokenizer ? { tokenizer: cfg.tokenizer } : {};
  const pm = readPmInfo(cfg.reward);
  // Under LoRA the policy's and the value model's frozen bases may be stored narrow (weightsDtype);
  // the reward model has no adapters and stays f32.
  const narrow = lora && cfg.weightsDtype !== 'f32' ? { weightsDtype: cfg.weightsDtype } : {};
  const policy = await Trainer.fromModel(cfg.policy, { ...tok, ...(lora && { lora }), ...narrow, ...common });
  const reference = lora ? undefined : await Trainer.fromModel(cfg.policy, { ...tok, ...common });
  const reward = await Trainer.fromModel(cfg.reward, { head: 'scalar', headWeights: readScoreHead(cfg.reward, pm.dim), ...common });
  // The value model starts from the preference model with its head zeroed (AlpacaFarm).
  const value = await Trainer.fromModel(cfg.reward, { head: 'scalar', headWeights: new Float32Array(pm.dim + 1), ...(lora && { lora }), ...narrow, ...common });
  return { pm, policy, reference, reward, value };
}

// ---- phases ------------------------------------------------------------------------------------

/** The prompts of step s: consecutive slices of per-epoch shuffles of the prompt list. */
function promptsOfStep(n: number, batch: number, seed: number, step: number): number[] {
  const order = new Map<number, number[]>();
  const out: number[] = [];
  for (let i = 0; i < batch; i++) {
    const k = step * batch + i, epoch = Math.floor(k / n);
    if (!order.has(epoch)) order.set(epoch, shuffled(Array.from({ length: n }, (_, j) => j), hashInts(seed, epoch, 0x99)));
    out.push(order.get(epoch)![k % n]!);
  }
  return out;
}

async function rollout(m: Models, cfg: PpoConfig, rule: Task['stopRule'], prompts: string[], promptIds: number[][], picks: number[], step: number, responseLength: number): Promise<{ rollouts: Rollout[]; packSeconds: number }> {
  const gen = await m.policy.generate(picks.map((i) => promptIds[i]!), {
    maxNewTokens: responseLength, temperature: cfg.temperature, topP: cfg.topP, seed: streamBase(cfg.seed, step), stop: [...rule.stop], ignoreEos: cfg.ignoreEos,
  });
  const rollouts = picks.map((i, j) => makeRollout(m.policy.tokenizer, rule, i, prompts[i]!, promptIds[i]!, gen.ids[j]!, gen.finishReasons[j]!));
  return { rollouts, packSeconds: gen.packSeconds };
}

/** Preference-model scores; a response that did not terminate gets the penalty instead. */
async function score(m: Models, cfg: PpoConfig, suffix: string, rollouts: Rollout[]): Promise<Float32Array> {
  const scores = new Float32Array(rollouts.length).fill(cfg.missingEosPenalty);
  const scored = rollouts.map((r, i) => ({ r, i })).filter(({ r }) => r.terminated);
  const maxLen = Math.min(cfg.maxLength, m.reward.config.maxSeqLen);
  for (const group of chunks(scored, cfg.microBatchSize)) {
    const ids = group.map(({ r }) => encodeForPm(m.reward.tokenizer, pmInput(r.prompt, r.text, suffix), maxLen));
    const rewards = await m.reward.evaluate(packBatch(ids), 'rewards');
    group.forEach(({ i }, k) => (scores[i] = rewards[k]!));
  }
  return scores;
}

interface Scored {
  old: Float32Array[];
  ref: Float32Array[];
  values: Float32Array[];
}

/** Log-probs of the sampled tokens under the policy and the reference, and the values, per rollout. */
async function scoreTokens(m: Models, cfg: PpoConfig, rollouts: Rollout[]): Promise<Scored> {
  const out: Scored = { old: [], ref: [], values: [] };
  for (const group of chunks(rollouts, cfg.microBatchSize)) {
    const batch = rolloutBatch(group);
    out.old.push(...gather(await m.policy.evaluate(batch, 'logprobs'), batch, group));
    const ref = m.reference ? await m.reference.evaluate(batch, 'logprobs') : await m.policy.evaluate(batch, 'logprobs', false);
    out.ref.push(...gather(ref, batch, group));
    out.values.push(...gather(await m.value.evaluate(batch, 'head'), batch, group));
  }
  return out;
}

interface Advantaged {
  kl: Float32Array[];
  rewards: Float32Array[];
  advantages: Float32Array[];
  returns: Float32Array[];
}

/** KL-shaped rewards (whitened by scale), GAE, whitened advantages, returns = advantages + values. */
function advantagesOf(cfg: PpoConfig, klCoef: number, s: Scored, scores: Float32Array): Advantaged {
  const kl = s.old.map((lp, i) => klPerToken(lp, s.ref[i]!, cfg.klEstimator, cfg.klClamp));
  let rewards = kl.map((k, i) => shapeRewards(k, klCoef, scores[i]!));
  if (cfg.whitenRewards) rewards = split(whiten(concat(rewards), ones(rewards), false), rewards);
  const g = rewards.map((r, i) => gae(r, s.values[i]!, cfg.gamma, cfg.lam));
  const returns = g.map((x) => x.returns);
  const advantages = split(whiten(concat(g.map((x) => x.advantages)), ones(rewards), true), rewards);
  return { kl, rewards, advantages, returns };
}

/** Epochs of shuffled minibatches; one optimizer step (one clip over policy and value) each. */
async function update(m: Models, cfg: PpoConfig, step: number, lr: number, rollouts: Rollout[], s: Scored, a: Advantaged): Promise<Record<string, number>> {
  const stats: Record<string, number> = {};
  let updates = 0;
  const add = (k: string, v: number, w: number): void => void (stats[k] = (stats[k] ?? 0) + v * w);
  const idx = rollouts.map((_, i) => i);
  const perMini = Math.ceil(rollouts.length / cfg.numMiniBatches);
  for (let epoch = 0; epoch < cfg.numPpoEpochs; epoch++) {
    const order = shuffled(idx, hashInts(cfg.seed, step, epoch, 0x77));
    for (const mini of chunks(order, perMini)) {
      const tokens = mini.reduce((n, i) => n + rollouts[i]!.responseIds.length, 0);
      for (const micro of chunks(mini, cfg.microBatchSize)) {
        const rs = micro.map((i) => rollouts[i]!);
        const batch = rolloutBatch(rs);
        const pick = (xs: Float32Array[]): Float32Array => scatter(micro.map((i) => xs[i]!), batch, rs);
        const mask = responseMask(batch, rs);
        const share = rs.reduce((n, r) => n + r.responseIds.length, 0) / tokens;
        const p = await m.policy.forwardBackward(batch, { kind: 'policy', oldLogprobs: pick(s.old), advantages: pick(a.advantages), mask, cliprange: cfg.cliprange, entropyCoef: cfg.entropyCoef, scale: share });
        const v = await m.value.forwardBackward(batch, { kind: 'value', returns: pick(a.returns), oldValues: pick(s.values), mask, cliprange: cfg.cliprangeValue, coef: cfg.vfCoef, scale: share });
        for (const [k, x] of Object.entries(p)) add(`policy.${k}`, x, share);
        for (const [k, x] of Object.entries(v)) add(`value.${k}`, x, share);
      }
      const norm = Math.hypot(await m.policy.gradNorm(), await m.value.gradNorm());
      if (!Number.isFinite(norm)) throw new Error(`ppo step ${step + 1}: the gradient norm is ${norm}; the run diverged (lower --lr)`);
      const opt = { lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.adamEps, weightDecay: cfg.weightDecay, maxGradNorm: cfg.maxGradNorm, clipNorm: norm };
      await m.policy.step(opt);
      await m.value.step(opt);
      add('gradNorm', norm, 1);
      updates++;
    }
  }
  for (const k of Object.keys(stats)) stats[k] = stats[k]! / updates;
  return stats;
}

// ---- helpers over ragged per-rollout arrays -----------------------------------------------------

function concat(xs: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) { out.set(x, o); o += x.length; }
  return out;
}
function split(flat: Float32Array, like: readonly Float32Array[]): Float32Array[] {
  let o = 0;
  return like.map((x) => flat.slice(o, (o += x.length)));
}
function ones(like: readonly Float32Array[]): Float32Array {
  return new Float32Array(like.reduce((n, x) => n + x.length, 0)).fill(1);
}
function mean(xs: ArrayLike<number>): number {
  let t = 0;
  for (let i = 0; i < xs.length; i++) t += xs[i]!;
  return xs.length ? t / xs.length : 0;
}
const sum = (x: Float32Array): number => x.reduce((a, b) => a + b, 0);

// ---- the stage ----------------------------------------------------------------------------------

/** The settings that change what a run computes: a checkpoint of other settings is not resumed. */
function identity(cfg: PpoConfig, lr: number, klCoef: number): Record<string, unknown> {
  const { quiet: _q, threads: _t, saveEvery: _s, out: _o, logRollouts: _l, ...rest } = cfg;
  return { stage: 'ppo', ...identitySettings(rest), policy: path.resolve(cfg.policy), reward: path.resolve(cfg.reward), prompts: path.resolve(cfg.prompts), lr, klCoef };
}

export async function runPpo(options: PpoOptions, hooks: StageHooks = {}): Promise<PpoResult> {
  checkLoraOptions(options);
  const cfg = parseConfig(ppoFields, options);
  const { onEvent } = checkHooks(hooks);
  assertOutputLocation(cfg.out, [cfg.policy, cfg.reward, cfg.prompts], 'ppo');
  const task = cfg.task !== undefined ? resolveTask(cfg.task) : undefined;
  const rule = task?.stopRule ?? EOS_ONLY;
  const responseLength = cfg.responseLength ?? task?.maxNewTokens ?? 300;
  const started = performance.now();
  const m = await loadModels(cfg);
  try {
    const defaults = ppoDefaultsFor(m.policy.native.info.parameterCount);
    const lr = cfg.lr ?? defaults.lr, klInit = cfg.klCoef ?? defaults.klCoef;
    const suffix = cfg.suffix ?? m.pm.suffix ?? '\n\nHuman:';

    // Prompts: normalised for the task, tokenized once; too long ones dropped and counted.
    const all = readSimulationPrompts(cfg.prompts).map((p) => task?.normalizePrompt?.(p) ?? p);
    const maxQuery = Math.min(cfg.maxQueryLength, m.policy.config.maxSeqLen - 1);
    const prompts: string[] = [], promptIds: number[][] = [];
    for (const p of all) {
      const ids = encodeHead(m.policy.tokenizer, p, maxQuery + 1);  // enough to tell a too-long prompt
      if (ids.length <= maxQuery) { prompts.push(p); promptIds.push(ids); }
    }
    const dropped = all.length - prompts.length;
    if (prompts.length === 0) throw new RangeError(`${cfg.prompts}: every prompt is longer than ${maxQuery} tokens (maxQueryLength)`);

    // Resume.
    const ckDir = path.join(cfg.out, 'checkpoint');
    const id = identity(cfg, lr, klInit);
    let start = 0;
    let kl: KlController = cfg.adaptiveKl ? adaptiveKlController(klInit, cfg.klTarget, cfg.klHorizon) : fixedKlController(klInit);
    const ck = await loadTrainerCheckpoint(ckDir);
    if (ck) {
      checkIdentity(ckDir, ck.meta.identity, id);
      await loadTrainerTensors(m.policy, ck.tensors, Number(ck.meta.policyOptimizerStep), 'policy.');
      await loadTrainerTensors(m.value, ck.tensors, Number(ck.meta.valueOptimizerStep), 'value.');
      const coef = Number(ck.meta.klCoef);
      kl = cfg.adaptiveKl ? adaptiveKlController(coef, cfg.klTarget, cfg.klHorizon) : fixedKlController(coef);
      start = Number(ck.meta.stepsDone);
    }
    const checkpoint = async (stepsDone: number): Promise<void> => {
      const p = await trainerTensors(m.policy, 'policy.'), v = await trainerTensors(m.value, 'value.');
      await saveTrainerCheckpoint(ckDir, {
        tensors: { ...p.tensors, ...v.tensors },
        meta: { identity: id, stepsDone, policyOptimizerStep: p.optimizerStep, valueOptimizerStep: v.optimizerStep, klCoef: kl.state().coef },
      });
    };
    const metricsLog = StepLog.open(path.join(cfg.out, 'metrics.jsonl'), start);
    const rolloutLog = StepLog.open(path.join(cfg.out, 'rollouts.jsonl'), start);
    onEvent?.({ stage: 'ppo', step: start, total: cfg.steps, metrics: {}, ...(start > 0 && { message: `resumed at step ${start}` }) });

    let final: Record<string, number> = metricsLog.read().at(-1) as Record<string, number> ?? {};
    for (let step = start; step < cfg.steps; step++) {
      const t0 = performance.now();
      const picks = promptsOfStep(prompts.length, cfg.rolloutBatchSize, cfg.seed, step);
      const { rollouts, packSeconds } = await rollout(m, cfg, rule, prompts, promptIds, picks, step, responseLength);
      const t1 = performance.now();
      const scores = await score(m, cfg, suffix, rollouts);
      const tokenScores = await scoreTokens(m, cfg, rollouts);
      const coef = kl.coef;
      const adv = advantagesOf(cfg, coef, tokenScores, scores);
      const t2 = performance.now();
      const lrNow = addon().scheduleLr('linear', lr, step, cfg.steps, cfg.warmupSteps);
      const u = await update(m, cfg, step, lrNow, rollouts, tokenScores, adv);
      const t3 = performance.now();

      const klSums = adv.kl.map(sum);
      kl.update(mean(klSums), rollouts.length);
      const nonScore = klSums.map((k) => -coef * k);
      const returns = concat(adv.returns), retMoments = maskedMoments(returns, new Float32Array(returns.length).fill(1));
      const responseTokens = rollouts.reduce((n, r) => n + r.responseIds.length, 0);
      const metrics: Record<string, number> = {
        'objective/kl': mean(klSums),
        'objective/kl_per_token': sum(concat(adv.kl)) / responseTokens,
        'objective/entropy': mean(tokenScores.old.map((lp) => -sum(lp))),
        'objective/non_score_reward': mean(nonScore),
        'objective/rlhf_reward': mean(scores) + mean(nonScore),
        'objective/scores': mean(scores),
        'policy/approxkl_avg': u['policy.approxKl'] ?? 0,
        'policy/clipfrac_avg': u['policy.clipfrac'] ?? 0,
        'loss/policy_avg': u['policy.policyLoss'] ?? 0,
        'loss/value_avg': u['value.valueLoss'] ?? 0,
        'val/clipfrac_avg': u['value.clipfrac'] ?? 0,
        'val/ratio': u['policy.ratioMean'] ?? 0,
        'val/num_eos_tokens': rollouts.filter((r) => r.finishReason === 'eos').length,
        'val/error': u['value.error'] ?? 0,
        'returns/mean': retMoments.mean,
        'returns/var': retMoments.variance,
        'policy/entropy_avg': u['policy.entropy'] ?? 0,
        grad_norm: u.gradNorm ?? 0,
        lr: lrNow,
        kl_coef: coef,
        episode: (step + 1) * cfg.rolloutBatchSize,
        response_length: responseTokens / rollouts.length,
        termination_rate: rollouts.filter((r) => r.terminated).length / rollouts.length,
        tokens_per_second: responseTokens / ((t3 - t0) / 1000),
        peak_rss_mb: peakRssMb(),
        'time/rollout': (t1 - t0) / 1000,
        'time/pack_weights': packSeconds,
        'time/scoring': (t2 - t1) / 1000,
        'time/update': (t3 - t2) / 1000,
      };
      for (const [k, v] of Object.entries(metrics)) {
        if (!Number.isFinite(v)) throw new Error(`ppo step ${step + 1}: ${k} is ${v}; stopping (the last checkpoint is kept)`);
      }
      metricsLog.append({ step: step + 1, ...metrics });
      rollouts.slice(0, cfg.logRollouts).forEach((r, i) =>
        rolloutLog.append({ step: step + 1, prompt: r.prompt, response: r.text || m.policy.tokenizer.decode(r.responseIds), score: scores[i]!, kl: klSums[i]!, terminated: r.terminated, finishReason: r.finishReason }),
      );
      final = metrics;
      onEvent?.({ stage: 'ppo', step: step + 1, total: cfg.steps, metrics });
      if (cfg.saveEvery > 0 && (step + 1) % cfg.saveEvery === 0 && step + 1 < cfg.steps) await checkpoint(step + 1);
    }
    await saveTrainedModel(cfg.out, m.policy, { stage: 'ppo', steps: cfg.steps, reward: path.resolve(cfg.reward), lr, klCoef: klInit, task: task?.name }, ['metrics.jsonl', 'rollouts.jsonl']);
    await checkpoint(cfg.steps);
    return { out: cfg.out, steps: cfg.steps, resumedFrom: start, prompts: prompts.length, droppedPrompts: dropped, final, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const t of [m.policy, m.reference, m.reward, m.value]) t?.dispose();
  }
}
