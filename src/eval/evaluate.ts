// Stage: pairwise evaluation of two models on held-out prompts (SPEC.md section 5). Each model
// samples K responses per prompt (T = 1, top-p 0.9, the task's budget and stop rule), a judge sees
// each pair with the A/B order drawn from the seed, and OUT/records.jsonl keeps one line per
// comparison: prompt, both responses, the order shown, the verdict and A's score. OUT/results.json
// holds the win rate with its standard error, a bootstrap interval and the length-controlled win
// rate (stats.ts). Batches of prompts are appended as they finish: a rerun continues a killed run,
// and, as every draw depends on (seed, prompt, sample) alone, ends with the same records.
import fs from 'node:fs';
import path from 'node:path';
import { evaluateFields, type EvaluateConfig, type EvaluateOptions } from '../config/evaluate.js';
import { parseConfig } from '../config/schema.js';
import type { LanguageModel } from '../model/language-model.js';
import { resolveModelName } from '../model/default-model.js';
import { loadModel } from '../model/load.js';
import { filterOutput } from '../pipeline/filter.js';
import { readSimulationPrompts } from '../pipeline/prompts.js';
import { checkHooks, type StageHooks } from '../pipeline/stage.js';
import { resolveTask, type Task } from '../tasks/task.js';
import { encodeHead } from '../tokenizer/truncated.js';
import { atomicWriteFile } from '../util/atomic.js';
import { readCompleteJsonl } from '../util/jsonl.js';
import { releaseLock, takeLock } from '../util/lock.js';
import { assertOutputLocation } from '../util/output-dir.js';
import { hashInts, streamBase } from '../util/random.js';
import { createJudge, type Comparison, type Judge } from './judge.js';
import { winRate, type WinRate } from './stats.js';

export const EVAL_CONFIG_FILE = 'eval-config.json';
export const RECORDS_FILE = 'records.jsonl';
export const RESULTS_FILE = 'results.json';

export interface EvalRecord {
  promptIndex: number;
  sample: number;
  prompt: string;
  /** The responses of side A and side B, as the judge saw them. */
  a: string;
  b: string;
  /** True when B was shown first. */
  swapped: boolean;
  /** The judge's preference for the response shown second, whether it could read a verdict, and what it said. */
  pSecond: number;
  parsed: boolean;
  verdict: string;
  /** Preference for A in [0, 1]. */
  score: number;
  /** Response lengths in tokens (each side's own tokenizer). */
  lengthA: number;
  lengthB: number;
  /** Whether each response ended as the task wants (EOS, a stop string, a complete sentence). */
  finishedA: boolean;
  finishedB: boolean;
}

export interface EvaluateResult extends WinRate {
  a: string;
  b: string;
  judge: string;
  task: string | null;
  out: string;
  /** Comparisons whose verdict could not be read (counted 0.5). */
  unparsed: number;
  /** Prompts left out because they do not fit a model's context. */
  skippedPrompts: number;
  /** Comparisons made by this run (the rest came from an earlier one). */
  made: number;
  seconds: number;
}

/** A model directory, or the policy inside an align or compare-method directory. */
export function resolveModelPath(model: string): string {
  const p = resolveModelName(model);
  const policy = path.join(p, 'policy');
  return fs.existsSync(path.join(policy, 'config.json')) ? policy : p;
}

/** The task an align run recorded beside (or above) a policy directory, if any. */
export function recordedTask(p: string): string | undefined {
  for (const dir of [p, path.dirname(p)]) {
    try {
      const t = (JSON.parse(fs.readFileSync(path.join(dir, 'align-config.json'), 'utf8')) as { task?: unknown }).task;
      if (typeof t === 'string') return t;
    } catch {
      // not an align directory
    }
  }
  return undefined;
}

/** The first field where two recorded configurations differ. */
function firstDifference(a: Record<string, unknown>, b: Record<string, unknown>): string | undefined {
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return k;
  return undefined;
}

/** The response as the judge reads it: cleaned by the task's rule where it ended as the task wants, else trimmed. */
function cleanResponse(text: string, finishReason: 'eos' | 'stop' | 'length', task: Task | undefined): { text: string; finished: boolean } {
  if (!task) return { text: text.trim(), finished: finishReason !== 'length' };
  const f = filterOutput(text, finishReason, task.stopRule);
  return f.ok ? { text: f.text.trim(), finished: true } : { text: text.trim(), finished: false };
}

/** Contiguous runs of the indices not yet done, each at most `size` long (sample streams need contiguity). */
function batchesOf(n: number, done: ReadonlySet<number>, size: number): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  for (let i = 0; i < n; i++) {
    if (done.has(i) || (cur.length > 0 && cur[cur.length - 1] !== i - 1) || cur.length === size) {
      if (cur.length > 0) out.push(cur);
      cur = [];
    }
    if (!done.has(i)) cur.push(i);
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

interface Side {
  model: LanguageModel;
  /** First sampling stream: completion k of prompt i uses stream + i * K + k. */
  stream: number;
}

async function sample(side: Side, cfg: EvaluateConfig, task: Task | undefined, prompts: readonly string[], first: number, maxNewTokens: number) {
  const completions = await side.model.generate(prompts, {
    n: cfg.samples, seed: side.stream + first * cfg.samples, temperature: cfg.temperature, topP: cfg.topP, maxNewTokens,
    stop: task ? [...task.stopRule.stop] : [], batchSize: Math.max(1, Math.min(64, prompts.length * cfg.samples)),
    ...(cfg.threads !== undefined && { threads: cfg.threads }),
  });
  return completions.map((c) => {
    const r = cleanResponse(c.text, c.finishReason, task);
    return { ...r, length: side.model.tokenizer.encode(r.text, { bos: false }).length };
  });
}

export async function evaluate(options: EvaluateOptions, hooks: StageHooks = {}): Promise<EvaluateResult> {
  const cfg = parseConfig(evaluateFields, options);
  const { onEvent } = checkHooks(hooks);
  const started = performance.now();
  const a = cfg.aUrl ? cfg.a : resolveModelPath(cfg.a), b = cfg.bUrl ? cfg.b : resolveModelPath(cfg.b);
  const taskName = cfg.task ?? recordedTask(a) ?? recordedTask(b);
  const task = taskName !== undefined ? resolveTask(taskName) : undefined;
  const judgeSpec = cfg.judge ?? (task?.placement === 'append' ? 'lexicon' : undefined);
  if (judgeSpec === undefined) throw new RangeError(`judge: give one (lexicon, pm:DIR, lm:MODEL, openai:MODEL); only story tasks default to lexicon${task ? `, and ${task.name} is not one` : ''}`);
  const judgeInput = /^(pm|lm):(.+)$/.exec(judgeSpec)?.[2];
  assertOutputLocation(cfg.out, [...(cfg.aUrl ? [] : [cfg.a]), ...(cfg.bUrl ? [] : [cfg.b]), cfg.prompts, ...(judgeInput && !cfg.baseUrl ? [judgeInput] : [])], 'evaluate');
  const prompts = readSimulationPrompts(cfg.prompts).slice(0, cfg.limit).map((p) => task?.normalizePrompt?.(p) ?? p);
  const maxNewTokens = cfg.maxNewTokens ?? task?.maxNewTokens ?? 300;

  // What decides the records; a rerun into the same directory must match it.
  const recorded = {
    a: cfg.aUrl ? `${cfg.aUrl} ${a}` : path.resolve(a), b: cfg.bUrl ? `${cfg.bUrl} ${b}` : path.resolve(b), prompts: path.resolve(cfg.prompts), limit: cfg.limit ?? null, judge: judgeSpec, task: taskName ?? null, question: cfg.question ?? null,
    samples: cfg.samples, seed: cfg.seed, maxNewTokens, temperature: cfg.temperature, topP: cfg.topP,
  };
  fs.mkdirSync(cfg.out, { recursive: true });
  const configFile = path.join(cfg.out, EVAL_CONFIG_FILE);
  if (fs.existsSync(configFile)) {
    const diff = firstDifference(JSON.parse(fs.readFileSync(configFile, 'utf8')), recorded);
    if (diff) throw new RangeError(`${cfg.out} holds an evaluation with a different ${diff}; use another --out or the same settings`);
  } else {
    atomicWriteFile(configFile, JSON.stringify(recorded, null, 2) + '\n');
  }

  const recordsFile = path.join(cfg.out, RECORDS_FILE);
  const lock = `${recordsFile}.lock`;
  takeLock(cfg.out, lock, 'rlcd evaluate');
  const loaded: LanguageModel[] = [];
  let judge: Judge | undefined;
  try {
    const records: EvalRecord[] = [];
    const done = new Set<number>();
    for (const { line, value } of readCompleteJsonl(recordsFile, 'rlcd evaluate')) {
      const r = value as unknown as EvalRecord;
      if (prompts[r.promptIndex] !== r.prompt) throw new Error(`${recordsFile}:${line}: prompt ${r.promptIndex} is not the one given now; use another --out`);
      records.push(r);
      done.add(r.promptIndex);
    }
    const resumed = records.length;

    const load = async (p: string, url: string | undefined): Promise<LanguageModel> => {
      const m = url
        ? await loadModel(p, { backend: 'openai', openai: { baseUrl: url }, ...(cfg.tokenizer && { tokenizer: cfg.tokenizer }) })
        : await loadModel(p, cfg.tokenizer && p.endsWith('.bin') ? { tokenizer: cfg.tokenizer } : {});
      loaded.push(m);
      return m;
    };
    const sideA: Side = { model: await load(a, cfg.aUrl), stream: streamBase(cfg.seed, 0xa) };
    const sideB: Side = { model: await load(b, cfg.bUrl), stream: streamBase(cfg.seed, 0xb) };
    judge = await createJudge(judgeSpec, { ...(task && { task }), ...(cfg.question && { question: cfg.question }), ...(cfg.baseUrl && { baseUrl: cfg.baseUrl }), ...(cfg.threads !== undefined && { threads: cfg.threads }) });

    // A prompt that leaves no room to answer in either model's context is left out, and counted.
    const fits = (m: LanguageModel, p: string): boolean => encodeHead(m.tokenizer, p, m.config.maxSeqLen).length < m.config.maxSeqLen - 1;
    const skipped = new Set(prompts.flatMap((p, i) => (fits(sideA.model, p) && fits(sideB.model, p) ? [] : [i])));

    const total = prompts.length - skipped.size;
    onEvent?.({ stage: 'evaluate', step: done.size, total, metrics: {}, ...(resumed > 0 && { message: `resumed with ${done.size} prompts done` }) });
    for (const batch of batchesOf(prompts.length, new Set([...done, ...skipped]), cfg.batchSize)) {
      const texts = batch.map((i) => prompts[i]!);
      const outA = await sample(sideA, cfg, task, texts, batch[0]!, maxNewTokens);
      const outB = await sample(sideB, cfg, task, texts, batch[0]!, maxNewTokens);
      const shown: Array<{ promptIndex: number; sample: number; swapped: boolean; c: Comparison }> = [];
      batch.forEach((promptIndex, j) => {
        for (let k = 0; k < cfg.samples; k++) {
          const ra = outA[j * cfg.samples + k]!.text, rb = outB[j * cfg.samples + k]!.text;
          const swapped = (hashInts(cfg.seed, promptIndex, k, 0xab) & 1) === 1;
          shown.push({ promptIndex, sample: k, swapped, c: { prompt: prompts[promptIndex]!, first: swapped ? rb : ra, second: swapped ? ra : rb } });
        }
      });
      const verdicts = await judge.judge(shown.map((s) => s.c));
      const fresh = shown.map((s, q): EvalRecord => {
        const v = verdicts[q]!, j = batch.indexOf(s.promptIndex), o = j * cfg.samples + s.sample;
        const score = v.parsed ? (s.swapped ? v.pSecond : 1 - v.pSecond) : 0.5;
        return {
          promptIndex: s.promptIndex, sample: s.sample, prompt: s.c.prompt, a: outA[o]!.text, b: outB[o]!.text, swapped: s.swapped,
          pSecond: v.pSecond, parsed: v.parsed, verdict: v.raw ?? '', score, lengthA: outA[o]!.length, lengthB: outB[o]!.length,
          finishedA: outA[o]!.finished, finishedB: outB[o]!.finished,
        };
      });
      fs.appendFileSync(recordsFile, fresh.map((r) => JSON.stringify(r) + '\n').join(''));
      records.push(...fresh);
      batch.forEach((i) => done.add(i));
      onEvent?.({ stage: 'evaluate', step: done.size, total, metrics: { win_rate: records.reduce((s, r) => s + r.score, 0) / records.length } });
    }

    const result: EvaluateResult = {
      a, b, judge: judgeSpec, task: taskName ?? null, out: cfg.out,
      ...winRate(records, cfg.seed),
      unparsed: records.filter((r) => !r.parsed).length,
      skippedPrompts: skipped.size,
      made: records.length - resumed,
      seconds: (performance.now() - started) / 1000,
    };
    atomicWriteFile(path.join(cfg.out, RESULTS_FILE), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    judge?.dispose();
    for (const m of loaded) m.dispose();
    releaseLock(lock);
  }
}
