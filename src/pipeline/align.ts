// The whole pipeline, alignWithRLCD(): simulate -> preference model -> PPO (or -> DPO; or, for
// context distillation, SFT on the RLCD positives). Stages run in a row under one output directory;
// a finished stage (recorded in summary.json) is skipped on rerun, an interrupted one continues
// from its own checkpoint, and a rerun with a different configuration is refused.
import fs from 'node:fs';
import path from 'node:path';
import { alignFields, ALIGN_STAGES, type AlignConfig, type AlignOptions } from '../config/align.js';
import { dpoFields } from '../config/dpo.js';
import { ppoFields } from '../config/ppo.js';
import { trainPmFields } from '../config/preference-model.js';
import { checkPartialConfig, parseConfig, type Fields } from '../config/schema.js';
import { sftFields } from '../config/sft.js';
import { simulateFields } from '../config/simulate.js';
import { loadModel } from '../model/load.js';
import { appendCue } from '../tasks/placement.js';
import { resolveTask, responseSuffix, type Task } from '../tasks/task.js';
import { atomicWriteFile } from '../util/atomic.js';
import { readJsonl } from '../util/jsonl.js';
import { assertOutputLocation } from '../util/output-dir.js';
import { runDpo } from './dpo.js';
import { runPpo } from './ppo.js';
import { trainPreferenceModel } from './preference-model.js';
import { readSimulationPrompts } from './prompts.js';
import { runSft } from './sft.js';
import { dropsFileOf, settingsFileOf } from './pair-file.js';
import { simulatePreferences } from './simulate.js';
import { checkHooks, peakRssMb, type StageEvent, type StageHooks } from './stage.js';

export interface AlignSummary {
  config: Record<string, unknown>;
  /** Per stage: its figures, seconds, and whether this run skipped it as already done. */
  stages: Record<string, Record<string, unknown>>;
  policy: string;
  seconds: number;
  peakRssMb: number;
}

const CONFIG_FILE = 'align-config.json';
const SUMMARY_FILE = 'summary.json';

/** A --set value as the stage's library schema takes it: numbers, booleans and JSON arrays parsed, the rest a string. */
function cliValue(v: string): unknown {
  if (/^(-?\d+(\.\d*)?([eE][-+]?\d+)?|true|false|\[.*\])$/s.test(v.trim())) {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

type StageOptions = Record<(typeof ALIGN_STAGES)[number], Record<string, unknown>> & { set: string[] };

/**
 * --set STAGE.KEY=VALUE entries merged into the nested stage objects, and every stage option checked
 * against its stage's schema now, before any stage runs (compare() calls it too).
 */
export function applySets<C extends StageOptions>(cfg: C): C {
  const out = { ...cfg, simulate: { ...cfg.simulate }, pm: { ...cfg.pm }, ppo: { ...cfg.ppo }, dpo: { ...cfg.dpo }, sft: { ...cfg.sft } };
  for (const entry of cfg.set) {
    const m = /^([a-z]+)\.([A-Za-z0-9]+)=(.*)$/s.exec(entry);
    if (!m || !(ALIGN_STAGES as readonly string[]).includes(m[1]!)) throw new RangeError(`--set ${entry}: expected STAGE.KEY=VALUE with STAGE one of ${ALIGN_STAGES.join(', ')}`);
    out[m[1] as (typeof ALIGN_STAGES)[number]][m[2]!] = cliValue(m[3]!);
  }
  const result = { ...out, set: [] };
  for (const stage of ALIGN_STAGES) checkPartialConfig(STAGE_FIELDS[stage], result[stage], stage);
  return result;
}

/** Each stage's own option fields, against which its nested options are checked up front. */
const STAGE_FIELDS: Record<(typeof ALIGN_STAGES)[number], Fields> = {
  simulate: simulateFields, pm: trainPmFields, ppo: ppoFields, dpo: dpoFields, sft: sftFields,
};

/** The first field (a.b.c) where two configs differ, or undefined. */
function firstDifference(a: unknown, b: unknown, where = ''): string | undefined {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && !Array.isArray(a)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], where ? `${where}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : where || '(config)';
}

/** Pair-file lines for context distillation: source p + ' ', target o+ trimmed + the task's suffix (EOS added by sft). */
function distillationData(pairsFile: string, task: Task, file: string): number {
  const suffix = responseSuffix(task);
  const lines = readJsonl(pairsFile).map(({ value }) => JSON.stringify({ prompt: appendCue(String(value.prompt), ''), completion: String(value.chosen).trim() + suffix }));
  atomicWriteFile(file, lines.join('\n') + '\n');
  return lines.length;
}

export async function alignWithRLCD(options: AlignOptions, hooks: StageHooks = {}): Promise<AlignSummary> {
  const cfg = applySets(parseConfig(alignFields, options));
  const { onEvent } = checkHooks(hooks);
  assertOutputLocation(cfg.out, [cfg.model, cfg.prompts, ...(cfg.tokenizer ? [cfg.tokenizer] : [])], 'align');
  const task = resolveTask(cfg.task);
  // Read the prompts before anything is written: a bad file must not leave a run behind.
  const prompts = readSimulationPrompts(cfg.prompts);
  const started = performance.now();
  const out = cfg.out;
  fs.mkdirSync(out, { recursive: true });

  // The configuration that decides the result; threads and progress do not.
  const { threads: _t, quiet: _q, set: _s, pairsFrom: _p, ...decisive } = cfg;
  const recorded = { ...decisive, model: path.resolve(cfg.model), prompts: path.resolve(cfg.prompts), out: undefined };
  const configFile = path.join(out, CONFIG_FILE);
  if (fs.existsSync(configFile)) {
    const diff = firstDifference(JSON.parse(fs.readFileSync(configFile, 'utf8')), JSON.parse(JSON.stringify(recorded)));
    if (diff) throw new RangeError(`${out} holds a run with a different configuration (${diff} differs); use another --out or the same settings`);
  } else {
    atomicWriteFile(configFile, JSON.stringify(recorded, null, 2) + '\n');
  }
  const summaryFile = path.join(out, SUMMARY_FILE);
  const summary: AlignSummary = fs.existsSync(summaryFile)
    ? { ...(JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as AlignSummary), seconds: 0 }
    : { config: recorded, stages: {}, policy: path.join(out, 'policy'), seconds: 0, peakRssMb: 0 };
  const save = (): void => atomicWriteFile(summaryFile, JSON.stringify({ ...summary, seconds: (performance.now() - started) / 1000, peakRssMb: peakRssMb() }, null, 2) + '\n');
  const common = { seed: cfg.seed, ...(cfg.threads !== undefined && { threads: cfg.threads }) };
  const tok = cfg.tokenizer ? { tokenizer: cfg.tokenizer } : {};
  const forward = (e: StageEvent): void => onEvent?.(e);

  /** Runs a stage unless summary.json says it finished; records its figures and time. */
  const stage = async (name: string, run: () => Promise<Record<string, unknown>>): Promise<void> => {
    if (summary.stages[name]?.done) {
      onEvent?.({ stage: name, step: 0, total: 0, metrics: {}, message: 'done in an earlier run, skipped' });
      return;
    }
    const t0 = performance.now();
    onEvent?.({ stage: name, step: 0, total: 0, metrics: {}, message: 'starting' });
    const figures = await run();
    summary.stages[name] = { done: true, ...figures, seconds: (performance.now() - t0) / 1000, peakRssMb: peakRssMb() };
    save();
  };

  const pairsFile = path.join(out, 'pairs.jsonl');
  const labeler = cfg.method === 'context-distillation' ? 'rlcd' : cfg.method;
  await stage('simulate', async () => {
    if (cfg.pairsFrom !== undefined && !fs.existsSync(pairsFile)) {
      // Another run's pairs (e.g. RLCD's, shared by RLCD-DPO and context distillation): simulate
      // below resumes on them, which checks they were made with this run's settings, model and seed.
      for (const f of [cfg.pairsFrom, dropsFileOf(cfg.pairsFrom), settingsFileOf(cfg.pairsFrom)]) {
        if (fs.existsSync(f)) fs.copyFileSync(f, pairsFile + f.slice(cfg.pairsFrom.length));
      }
    }
    const repeated = Array.from({ length: cfg.pairsPerPrompt }, () => prompts).flat();
    const model = await loadModel(cfg.model, tok);
    try {
      const s = await simulatePreferences(model, repeated, {
        ...common, ...cfg.simulate, task, method: labeler, out: pairsFile,
        onProgress: (p) => forward({ stage: 'simulate', step: p.done, total: p.total, metrics: { pairs: p.pairs, dropped: p.dropped } }),
      });
      return { method: s.method, prompts: s.prompts, pairs: s.pairs + s.resumed, dropped: s.dropped, pairsPerMinute: s.pairsPerMinute };
    } finally {
      model.dispose();
    }
  });

  const policyDir = path.join(out, 'policy');
  if (cfg.method === 'context-distillation') {
    await stage('sft', async () => {
      const data = path.join(out, 'distillation.jsonl');
      const n = distillationData(pairsFile, task, data);
      const r = await runSft({ epochs: 3, ...common, ...tok, ...cfg.sft, model: cfg.model, data, out: policyDir, quiet: true }, { onEvent: forward });
      return { examples: n, steps: r.steps, finalLoss: r.finalLoss };
    });
  } else if (cfg.algorithm === 'dpo') {
    await stage('dpo', async () => {
      const r = await runDpo({ suffix: responseSuffix(task), ...common, ...tok, ...cfg.dpo, model: cfg.model, pairs: pairsFile, out: policyDir, quiet: true }, { onEvent: forward });
      return { pairs: r.pairs, steps: r.steps, final: r.final };
    });
  } else {
    const pmDir = path.join(out, 'pm');
    await stage('pm', async () => {
      const r = await trainPreferenceModel(
        { epochs: 4, lr: 5e-4, suffix: responseSuffix(task), ...common, ...tok, ...cfg.pm, model: cfg.model, pairs: pairsFile, out: pmDir, quiet: true },
        { onEvent: forward },
      );
      return { trainPairs: r.trainPairs, steps: r.steps, heldOut: r.heldOut };
    });
    await stage('ppo', async () => {
      const r = await runPpo({ task: cfg.task, ...common, ...tok, ...cfg.ppo, policy: cfg.model, reward: pmDir, prompts: cfg.prompts, out: policyDir, quiet: true }, { onEvent: forward });
      return { steps: r.steps, prompts: r.prompts, droppedPrompts: r.droppedPrompts, final: r.final };
    });
  }
  save();
  return { ...summary, seconds: (performance.now() - started) / 1000, peakRssMb: peakRssMb() };
}
