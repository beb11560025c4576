// Stage: the paper's comparison table. Trains every method from one base model with the same seeds
// and settings (alignWithRLCD(), each in its own directory, so a rerun continues where a kill left
// it), evaluates RLCD-PPO against each of the others on held-out prompts, and writes results.json,
// results.md (the table in the paper's form, label statistics, per-policy figures) and report.html.
// RLCD-DPO and context distillation reuse RLCD's simulated pairs (they are the same pairs by
// construction: same labeler, model, prompts and seed).
import fs from 'node:fs';
import path from 'node:path';
import { compareFields, type CompareConfig, type CompareMethod, type CompareOptions } from '../config/compare.js';
import { parseConfig } from '../config/schema.js';
import type { LanguageModel } from '../model/language-model.js';
import { loadModel, readCheckpoint } from '../model/load.js';
import { saveHfCheckpoint } from '../model/save.js';
import { alignWithRLCD, applySets, type AlignSummary } from '../pipeline/align.js';
import { filterOutput } from '../pipeline/filter.js';
import { readSimulationPrompts } from '../pipeline/prompts.js';
import { checkHooks, type StageHooks } from '../pipeline/stage.js';
import { resolveTask, type Task } from '../tasks/task.js';
import { writeReport } from '../report/report.js';
import { resultsMarkdown } from '../report/results-md.js';
import { atomicWriteFile } from '../util/atomic.js';
import { readCompleteJsonl } from '../util/jsonl.js';
import { assertOutputLocation } from '../util/output-dir.js';
import { streamBase } from '../util/random.js';
import { evaluate, RECORDS_FILE, type EvalRecord } from './evaluate.js';
import { createJudge } from './judge.js';
import { labelStats, type LabelStats } from './label-stats.js';
import { winRate, type WinRate } from './stats.js';

export const COMPARE_CONFIG_FILE = 'compare-config.json';

/** How alignWithRLCD() makes each trained method. */
const RECIPES: Record<Exclude<CompareMethod, 'base'>, { method: 'rlcd' | 'rlaif' | 'rlcd-rescore' | 'context-distillation'; algorithm: 'ppo' | 'dpo' }> = {
  rlcd: { method: 'rlcd', algorithm: 'ppo' },
  'rlcd-dpo': { method: 'rlcd', algorithm: 'dpo' },
  'context-distillation': { method: 'context-distillation', algorithm: 'ppo' },
  rlaif: { method: 'rlaif', algorithm: 'ppo' },
  'rlcd-rescore': { method: 'rlcd-rescore', algorithm: 'ppo' },
};

/** Display names, as in the paper's tables. */
export const METHOD_LABELS: Record<CompareMethod, string> = {
  rlcd: 'RLCD-PPO', 'rlcd-dpo': 'RLCD-DPO', 'context-distillation': 'Context distillation', rlaif: 'RLAIF-PPO', 'rlcd-rescore': 'RLCD-Rescore-PPO', base: 'Base model',
};

/** Training order: RLCD first, so that the methods sharing its pairs find them. */
const ORDER: CompareMethod[] = ['rlcd', 'rlcd-dpo', 'context-distillation', 'rlaif', 'rlcd-rescore', 'base'];

export interface PolicyFigures {
  method: CompareMethod;
  seed: number;
  dir: string;
  /** Mean summed log(pi / pi_base) over the policy's own evaluation samples (nats per response). */
  klToBase: number;
  /** Mean response length in tokens, and the fraction that ended as the task wants. */
  meanLength: number;
  finished: number;
  /** The preference model's held-out agreement with its labels (PPO methods). */
  pmAccuracy?: number;
  /** Seconds each training stage took. */
  stageSeconds: Record<string, number>;
}

export interface Comparison extends WinRate {
  a: CompareMethod;
  b: CompareMethod;
  seeds: number[];
  /** The same figures per seed. */
  perSeed: Array<{ seed: number } & WinRate>;
}

export interface CompareResult {
  task: string;
  model: string;
  judge: string;
  seeds: number[];
  methods: CompareMethod[];
  comparisons: Comparison[];
  /** Per labeler (rlcd, rlaif, rlcd-rescore) and seed. */
  labels: Array<{ labeler: string; seed: number } & LabelStats>;
  policies: PolicyFigures[];
  out: string;
  seconds: number;
}

/** Where a method's run lives: OUT/<method> for the first seed, OUT/seed-S/<method> for the others. */
export function methodDir(out: string, method: CompareMethod, seed: number, seeds: readonly number[]): string {
  if (method === 'base') return path.join(out, 'base');
  return seed === seeds[0] ? path.join(out, method) : path.join(out, `seed-${seed}`, method);
}

function evalDir(out: string, other: CompareMethod, seed: number, seeds: readonly number[]): string {
  return seed === seeds[0] ? path.join(out, 'eval', `rlcd-vs-${other}`) : path.join(out, 'eval', `seed-${seed}`, `rlcd-vs-${other}`);
}

/** The base model in Hugging Face layout at OUT/base/policy (written once). */
async function writeBasePolicy(cfg: CompareConfig, dir: string): Promise<void> {
  if (fs.existsSync(path.join(dir, 'config.json'))) return;
  const ck = await readCheckpoint(cfg.model, cfg.tokenizer ? { tokenizer: cfg.tokenizer } : {});
  await saveHfCheckpoint(dir, { config: ck.config, weights: ck.weights.data, ...(ck.hfConfig && { hfConfig: ck.hfConfig }), tokenizerFrom: ck.tokenizerPath, extraConfig: { rlcd: { stage: 'base', source: path.resolve(cfg.model) } } });
}

/** KL to the base and response length of a policy on the evaluation prompts (the evaluation's sampling settings). */
async function policyFigures(policy: LanguageModel, base: LanguageModel, prompts: readonly string[], task: Task, cfg: CompareConfig, seed: number, isBase: boolean) {
  const completions = await policy.generate(prompts, {
    n: cfg.samples, seed: streamBase(seed, 0xf1), temperature: 1, topP: 0.9, maxNewTokens: task.maxNewTokens ?? 300, stop: [...task.stopRule.stop], batchSize: 64,
    ...(cfg.threads !== undefined && { threads: cfg.threads }),
  });
  let kl = 0, length = 0, finished = 0;
  if (!isBase) {
    const promptIds = completions.map((c) => policy.tokenizer.encode(prompts[c.promptIndex]!, { bos: true }));
    const underBase = await base.logProbsOfIds(promptIds, completions.map((c) => c.ids));
    completions.forEach((c, i) => (kl += c.logprobs.reduce((s, v) => s + v, 0) - underBase[i]!.reduce((s, v) => s + v, 0)));
  }
  for (const c of completions) {
    const f = filterOutput(c.text, c.finishReason, task.stopRule);
    const text = f.ok ? f.text : c.text;
    length += policy.tokenizer.encode(text.trim(), { bos: false }).length;
    if (f.ok) finished++;
  }
  const n = completions.length;
  return { klToBase: kl / n, meanLength: length / n, finished: finished / n };
}

export async function compare(options: CompareOptions, hooks: StageHooks = {}): Promise<CompareResult> {
  // Stage options (and --set) checked now: a bad PPO option must not surface after hours of training.
  const cfg = applySets(parseConfig(compareFields, options));
  const { onEvent } = checkHooks(hooks);
  const started = performance.now();
  const task = resolveTask(cfg.task);
  const judgeSpec = cfg.judge ?? (task.placement === 'append' ? 'lexicon' : undefined);
  if (judgeSpec === undefined) throw new RangeError(`judge: give one (lexicon, pm:DIR, lm:MODEL, openai:MODEL); only story tasks default to lexicon, and ${task.name} is not one`);
  const methods = ORDER.filter((m) => m === 'rlcd' || cfg.methods.includes(m));
  const seeds = [...new Set(cfg.seeds)];
  assertOutputLocation(cfg.out, [cfg.model, cfg.prompts, cfg.evalPrompts, ...(cfg.tokenizer ? [cfg.tokenizer] : [])], 'compare');
  const evalPrompts = readSimulationPrompts(cfg.evalPrompts).slice(0, cfg.evalLimit).map((p) => task.normalizePrompt?.(p) ?? p);
  const trainPrompts = new Set(readSimulationPrompts(cfg.prompts).map((p) => task.normalizePrompt?.(p) ?? p));
  const overlap = evalPrompts.filter((p) => trainPrompts.has(p)).length;
  if (overlap > 0) throw new RangeError(`--eval-prompts shares ${overlap} prompt(s) with --prompts; held-out prompts must be disjoint from the training prompts`);

  // The configuration that decides the result: a rerun must match (methods and seeds may grow).
  const { threads: _t, quiet: _q, methods: _m, seeds: _s, ...decisive } = cfg;
  const recorded = { ...decisive, model: path.resolve(cfg.model), prompts: path.resolve(cfg.prompts), evalPrompts: path.resolve(cfg.evalPrompts), out: undefined, judge: judgeSpec };
  fs.mkdirSync(cfg.out, { recursive: true });
  const configFile = path.join(cfg.out, COMPARE_CONFIG_FILE);
  if (fs.existsSync(configFile)) {
    const saved = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    const now = JSON.parse(JSON.stringify(recorded)) as Record<string, unknown>;
    const diff = [...new Set([...Object.keys(saved), ...Object.keys(now)])].find((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]));
    if (diff) throw new RangeError(`${cfg.out} holds a comparison with a different ${diff}; use another --out or the same settings`);
  } else {
    atomicWriteFile(configFile, JSON.stringify(recorded, null, 2) + '\n');
  }

  // 1. Train every method for every seed.
  const summaries = new Map<string, AlignSummary>();
  const runs = seeds.flatMap((seed) => methods.filter((m) => m !== 'base').map((m) => ({ seed, method: m as Exclude<CompareMethod, 'base'> })));
  let runIndex = 0;
  const trainStart = performance.now();
  for (const { seed, method } of runs) {
    runIndex++;
    const dir = methodDir(cfg.out, method, seed, seeds);
    const recipe = RECIPES[method];
    const rlcdPairs = path.join(methodDir(cfg.out, 'rlcd', seed, seeds), 'pairs.jsonl');
    const label = `${METHOD_LABELS[method]}${seeds.length > 1 ? ` (seed ${seed})` : ''}`;
    // Time left: the runs so far, scaled to the runs to come (RLCD-DPO and context distillation are
    // quicker than the PPO methods, so early estimates run high), plus a tenth for the evaluation.
    const done = runIndex - 1, perRun = done > 0 ? (performance.now() - trainStart) / 1000 / done : undefined;
    const eta = perRun !== undefined ? `, about ${Math.max(1, Math.round((perRun * (runs.length - done) * 1.1) / 60))} min left` : '';
    onEvent?.({ stage: 'compare', step: done, total: runs.length, metrics: {}, message: `training ${label} (${runIndex}/${runs.length}${eta})` });
    const summary = await alignWithRLCD(
      {
        task: cfg.task, model: cfg.model, ...(cfg.tokenizer && { tokenizer: cfg.tokenizer }), prompts: cfg.prompts, out: dir, ...recipe, seed,
        pairsPerPrompt: cfg.pairsPerPrompt, simulate: cfg.simulate, pm: cfg.pm, ppo: cfg.ppo, dpo: cfg.dpo, sft: cfg.sft, set: cfg.set, quiet: true,
        ...(recipe.method !== 'rlaif' && recipe.method !== 'rlcd-rescore' && method !== 'rlcd' && { pairsFrom: rlcdPairs }),
        ...(cfg.threads !== undefined && { threads: cfg.threads }),
      },
      { onEvent: (e) => onEvent?.({ ...e, stage: `${label} / ${e.stage}` }) },
    );
    summaries.set(`${method}/${seed}`, summary);
  }
  if (methods.includes('base')) await writeBasePolicy(cfg, path.join(methodDir(cfg.out, 'base', seeds[0]!, seeds), 'policy'));

  // 2. RLCD-PPO against each other method, per seed; records pooled over seeds.
  const comparisons: Comparison[] = [];
  for (const other of methods.filter((m) => m !== 'rlcd')) {
    const perSeed: Comparison['perSeed'] = [];
    const pooled: EvalRecord[] = [];
    for (const seed of seeds) {
      const out = evalDir(cfg.out, other, seed, seeds);
      const r = await evaluate(
        {
          a: path.join(methodDir(cfg.out, 'rlcd', seed, seeds), 'policy'), b: path.join(methodDir(cfg.out, other, seed, seeds), 'policy'),
          prompts: cfg.evalPrompts, ...(cfg.evalLimit !== undefined && { limit: cfg.evalLimit }), judge: judgeSpec, task: cfg.task, out, samples: cfg.samples, seed, quiet: true,
          ...(cfg.question && { question: cfg.question }), ...(cfg.baseUrl && { baseUrl: cfg.baseUrl }), ...(cfg.threads !== undefined && { threads: cfg.threads }),
        },
        { onEvent: (e) => onEvent?.({ ...e, stage: `RLCD-PPO vs ${METHOD_LABELS[other]}${seeds.length > 1 ? ` (seed ${seed})` : ''}` }) },
      );
      perSeed.push({ seed, ...r });
      pooled.push(...readCompleteJsonl(path.join(out, RECORDS_FILE), 'rlcd evaluate').map(({ value }) => value as unknown as EvalRecord));
    }
    const c: Comparison = { a: 'rlcd', b: other, seeds, ...winRate(pooled, seeds[0]!), perSeed };
    comparisons.push(c);
    onEvent?.({ stage: 'compare', step: runs.length, total: runs.length, metrics: {}, message: `RLCD-PPO vs ${METHOD_LABELS[other]}: ${(100 * c.winRate).toFixed(1)}% / ${(100 * (1 - c.winRate)).toFixed(1)}% (95% CI ${(100 * c.ci95[0]).toFixed(1)}-${(100 * c.ci95[1]).toFixed(1)}, n ${c.n})` });
  }

  // 3. Labels per labeler, and figures per policy.
  const cheapJudge = /^(lexicon|pm:)/.test(judgeSpec) ? await createJudge(judgeSpec, { task, ...(cfg.threads !== undefined && { threads: cfg.threads }) }) : undefined;
  const labels: CompareResult['labels'] = [];
  const policies: PolicyFigures[] = [];
  const basePolicy = path.join(methodDir(cfg.out, 'base', seeds[0]!, seeds), 'policy');
  const base = fs.existsSync(path.join(basePolicy, 'config.json')) ? await loadModel(basePolicy) : await loadModel(cfg.model, cfg.tokenizer ? { tokenizer: cfg.tokenizer } : {});
  try {
    for (const seed of seeds) {
      for (const labeler of ['rlcd', 'rlaif', 'rlcd-rescore'] as const) {
        if (!methods.includes(labeler)) continue;
        labels.push({ labeler, seed, ...(await labelStats(path.join(methodDir(cfg.out, labeler, seed, seeds), 'pairs.jsonl'), cheapJudge)) });
      }
      for (const method of methods) {
        if (method === 'base' && seed !== seeds[0]) continue;
        const dir = path.join(methodDir(cfg.out, method, seed, seeds), 'policy');
        const policy = method === 'base' ? base : await loadModel(dir);
        try {
          const s = summaries.get(`${method}/${seed}`);
          const heldOut = (s?.stages.pm?.heldOut as { accuracy?: number } | undefined)?.accuracy;
          const stageSeconds = Object.fromEntries(Object.entries(s?.stages ?? {}).map(([k, v]) => [k, Number(v.seconds ?? 0)]));
          policies.push({ method, seed, dir, ...(await policyFigures(policy, base, evalPrompts, task, cfg, seed, method === 'base')), ...(heldOut !== undefined && { pmAccuracy: heldOut }), stageSeconds });
        } finally {
          if (policy !== base) policy.dispose();
        }
      }
    }
  } finally {
    base.dispose();
    cheapJudge?.dispose();
  }

  const result: CompareResult = {
    task: task.name, model: cfg.model, judge: judgeSpec, seeds, methods, comparisons, labels, policies, out: cfg.out, seconds: (performance.now() - started) / 1000,
  };
  atomicWriteFile(path.join(cfg.out, 'results.json'), JSON.stringify(result, null, 2) + '\n');
  atomicWriteFile(path.join(cfg.out, 'results.md'), resultsMarkdown(result));
  writeReport(cfg.out);
  return result;
}
