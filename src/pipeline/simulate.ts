// The simulate stage (SPEC.md sections 1-2): prompts -> p+/p- (or p twice) -> samples from the same
// base model -> filter and retry -> label -> pairs, appended to a resumable JSONL file.
//
// Determinism: every random choice derives from (seed, prompt index): the affix pair, the RLAIF
// instruction, the A/B order of RLCD-Rescore, and the sampling stream of each output
// (streamBase(seed, attempt) + 2 * index + slot). The native engine samples sequence b of a call from
// stream seed + b, so consecutive prompts share one batched call; output does not depend on the batch
// size or on where an earlier run was stopped.
import fs from 'node:fs';
import path from 'node:path';
import { NativeBackend } from '../inference/native.js';
import { parseConfig } from '../config/schema.js';
import { hashInts, mulberry32, streamBase } from '../util/random.js';
import { loadModel } from '../model/load.js';
import { readSimulationPrompts } from './prompts.js';
import { checkHooks, type StageHooks } from './stage.js';
import { simulateFields, type Method, type SimulateConfig, type SimulateOptions } from '../config/simulate.js';
import type { LanguageModel } from '../model/language-model.js';
import type { FinishReason, WeightsDtype } from '../native/binding.js';
import { appendCue, canPlace, placeAffixes } from '../tasks/placement.js';
import type { StopRule } from '../tasks/stop-rules.js';
import { resolveTask, type Task } from '../tasks/task.js';
import { encodeHead } from '../tokenizer/truncated.js';
import { DROP_REASONS, filterOutput, type DropReason } from './filter.js';
import { fillTemplate, resolveChoiceIds, scoreChoices, type ChoiceIds } from './label.js';
import { PairFile, type DropRecord, type PairRecord } from './pair-file.js';

export interface SimulateSummary {
  out: string;
  dropsFile: string;
  method: Method;
  task: string;
  /** Prompts in scope (the first n) and those already finished by earlier runs. */
  prompts: number;
  resumed: number;
  /** Written by this run. */
  pairs: number;
  dropped: Record<DropReason, number>;
  /** Generations beyond the first of each output. */
  retries: number;
  generatedTokens: number;
  seconds: number;
  pairsPerMinute: number;
}

// ---- one prompt in flight ------------------------------------------------------------------

interface Sample {
  /** Filtered output (with the task's response prefix). */
  text: string;
  /** Generated text before the filter. */
  raw: string;
  finish: FinishReason;
}

interface Example {
  index: number;
  prompt: string;
  affixIndex: number | null;
  instructionIndex: number | null;
  /** RLCD-Rescore: output A is the negative one. */
  swap: boolean;
  /** What each of the two outputs is sampled from. */
  sources: [string, string];
  samples: [Sample | undefined, Sample | undefined];
  /** The last rejected generation of each output, for drop records. */
  rejected: [Sample | undefined, Sample | undefined];
  attempts: [number, number];
  drop?: DropReason;
  score?: { logitA: number; logitB: number; pB: number };
}

function setUp(task: Task, method: Method, seed: number, index: number, prompt: string): Example {
  const rng = mulberry32(hashInts(seed, index, 0x51));  // draws for one prompt
  const withPrefix = (p: string): string => (task.responsePrefix === '' ? p : appendCue(p, task.responsePrefix));
  const ex: Example = {
    index, prompt, affixIndex: null, instructionIndex: null, swap: false, sources: [prompt, prompt],
    samples: [undefined, undefined], rejected: [undefined, undefined], attempts: [0, 0],
  };
  if (method === 'rlaif') {
    ex.instructionIndex = Math.floor(rng() * task.rlaifInstructions.length);
    ex.sources = [withPrefix(prompt), withPrefix(prompt)];
    return ex;
  }
  ex.affixIndex = Math.floor(rng() * task.positiveAffixes.length);
  if (method === 'rlcd-rescore') {
    ex.instructionIndex = task.rlaifInstructions.length === 1 ? 0 : ex.affixIndex;
    ex.swap = rng() < 0.5;
  }
  if (!canPlace(prompt, task.placement)) {
    ex.drop = 'prompt-format';
    return ex;
  }
  const p = placeAffixes(prompt, task.positiveAffixes[ex.affixIndex]!, task.negativeAffixes[ex.affixIndex]!, task.placement);
  ex.sources = [withPrefix(p.positive), withPrefix(p.negative)];
  return ex;
}

interface Job {
  ex: Example;
  slot: 0 | 1;
  stream: number;
}

/** Consecutive streams of at most `size` jobs: each run is one batched generate call. */
function runsOf(jobs: readonly Job[], size: number): Job[][] {
  const runs: Job[][] = [];
  for (const job of jobs) {
    const run = runs.at(-1);
    if (run && run.length < size && run.at(-1)!.stream + 1 === job.stream) run.push(job);
    else runs.push([job]);
  }
  return runs;
}

// ---- the stage -----------------------------------------------------------------------------

class Simulation {
  readonly rule: StopRule;
  readonly maxNewTokens: number;
  readonly choiceIds: ChoiceIds | undefined;
  generatedTokens = 0;
  retries = 0;

  constructor(readonly model: LanguageModel, readonly task: Task, readonly o: SimulateConfig) {
    this.rule = task.stopRule;
    this.maxNewTokens = o.maxNewTokens ?? task.maxNewTokens ?? 300;
    this.choiceIds = o.method === 'rlcd' ? undefined : resolveChoiceIds(model.tokenizer);
  }

  /** Samples until every output of every example passed the filter or ran out of retries. */
  async sample(examples: readonly Example[]): Promise<void> {
    const limit = this.model.config.maxSeqLen;
    for (const ex of examples) {
      if (!ex.drop && ex.sources.some((s) => encodeHead(this.model.tokenizer, s, limit).length >= limit)) ex.drop = 'prompt-too-long';
    }
    for (let attempt = 0; attempt <= this.o.maxRetries; attempt++) {
      const base = streamBase(this.o.seed, attempt);
      const jobs: Job[] = [];
      for (const ex of examples) {
        if (ex.drop) continue;
        for (const slot of [0, 1] as const) if (!ex.samples[slot]) jobs.push({ ex, slot, stream: base + 2 * ex.index + slot });
      }
      if (jobs.length === 0) return;
      jobs.sort((a, b) => a.stream - b.stream);
      for (const run of runsOf(jobs, this.o.batchSize)) {
        const completions = await this.model.generate(run.map((j) => j.ex.sources[j.slot]), {
          seed: run[0]!.stream, n: 1, batchSize: run.length, maxNewTokens: this.maxNewTokens,
          temperature: this.o.temperature, topK: this.o.topK, topP: this.o.topP,
          stop: [...this.rule.stop], bannedStrings: this.o.bannedStrings,
          ...(this.o.threads !== undefined && { threads: this.o.threads }),
        });
        completions.forEach((c, i) => {
          const { ex, slot } = run[i]!;
          this.generatedTokens += c.ids.length;
          if (ex.attempts[slot]++ > 0) this.retries++;
          const r = filterOutput(c.text, c.finishReason, this.rule);
          if (r.ok) {
            ex.samples[slot] = { text: this.task.responsePrefix + r.text, raw: c.text, finish: c.finishReason };
          } else {
            ex.rejected[slot] = { text: '', raw: c.text, finish: c.finishReason };
            if (attempt === this.o.maxRetries) ex.drop = r.reason;
          }
        });
      }
    }
  }

  /** RLAIF / RLCD-Rescore: the soft label of each example with both outputs. */
  async label(examples: readonly Example[]): Promise<void> {
    if (!this.choiceIds) return;
    const ready = examples.filter((ex) => !ex.drop);
    const texts = ready.map((ex) => {
      const [a, b] = this.orderAB(ex);
      return fillTemplate(this.task.rlaifTemplate, {
        prompt: ex.prompt, instruction: this.task.rlaifInstructions[ex.instructionIndex!]!, outputA: a.text, outputB: b.text,
      });
    });
    const scores = await scoreChoices(this.model, texts, this.choiceIds, this.o.threads !== undefined ? { threads: this.o.threads } : {});
    scores.forEach((s, i) => {
      if (s.ok) ready[i]!.score = s;
      else ready[i]!.drop = 'score-too-long';
    });
  }

  /** Outputs (A, B) as the scorer sees them. */
  orderAB(ex: Example): [Sample, Sample] {
    const [s0, s1] = ex.samples as [Sample, Sample];
    return ex.swap ? [s1, s0] : [s0, s1];
  }

  record(ex: Example): PairRecord {
    const [s0, s1] = ex.samples as [Sample, Sample];
    const raw: Record<string, unknown> = { prompts: ex.sources, outputs: [s0.raw, s1.raw], finish: [s0.finish, s1.finish], attempts: ex.attempts };
    let chosen = s0.text, rejected = s1.text, pChosen = 1;
    if (this.o.method !== 'rlcd') {
      const [a, b] = this.orderAB(ex);
      const { logitA, logitB, pB } = ex.score!;
      Object.assign(raw, { logit_a: logitA, logit_b: logitB, p_b: pB }, this.o.method === 'rlcd-rescore' && { positive_is: ex.swap ? 'B' : 'A' });
      // chosen is the output the labeler prefers; p_chosen >= 0.5.
      [chosen, rejected, pChosen] = pB > 0.5 ? [b.text, a.text, pB] : [a.text, b.text, 1 - pB];
    }
    return {
      prompt: ex.prompt, chosen, rejected, p_chosen: pChosen, method: this.o.method, task: this.task.name, seed: this.o.seed,
      index: ex.index, affix_index: ex.affixIndex, instruction_index: ex.instructionIndex, raw,
    };
  }

  dropRecord(ex: Example): DropRecord {
    const got = [0, 1].map((s) => ex.samples[s] ?? ex.rejected[s]);
    return {
      prompt: ex.prompt, index: ex.index, reason: ex.drop!, affix_index: ex.affixIndex,
      method: this.o.method, task: this.task.name, seed: this.o.seed,
      raw: { prompts: ex.sources, outputs: got.map((g) => g?.raw ?? null), finish: got.map((g) => g?.finish ?? null), attempts: ex.attempts },
    };
  }
}

/**
 * Simulates preference pairs for `prompts` (their first `n`) and appends them to `options.out`,
 * skipping prompts that an earlier run with the same method, task and seed already finished.
 */
export async function simulatePreferences(model: LanguageModel, userPrompts: readonly string[], options: SimulateOptions): Promise<SimulateSummary> {
  if (model === null || typeof model !== 'object' || typeof (model as { generate?: unknown }).generate !== 'function') throw new TypeError('model must be a LanguageModel (from loadModel)');
  if (!Array.isArray(userPrompts) || userPrompts.some((p) => typeof p !== 'string')) throw new TypeError('prompts must be an array of strings');
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object { task, method, out, ... }');
  const { onProgress, task: taskSpec, ...rest } = options ?? ({} as SimulateOptions);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('onProgress must be a function');
  const o = parseConfig(simulateFields, { ...rest, task: typeof taskSpec === 'object' && taskSpec !== null ? taskSpec.name : taskSpec });
  const task = resolveTask(typeof taskSpec === 'object' && taskSpec !== null ? taskSpec : o.task);
  const prompts = task.normalizePrompt ? userPrompts.map(task.normalizePrompt) : userPrompts;
  const sim = new Simulation(model, task, o);
  const count = Math.min(o.n ?? prompts.length, prompts.length);
  // What decides the records besides (method, task, seed): a resume with another model or sampler would mix two runs.
  const { n: _n, batchSize: _b, threads: _t, out: _o, method: _m, task: _k, seed: _s, ...sampling } = o;
  // The engine's weight storage changes the samples too (a q8_0 simulator is another simulator).
  const weightsDtype = model.backend instanceof NativeBackend ? model.backend.native.weightsDtype : undefined;
  const settings = {
    model: path.resolve(model.source), tokenizerVocab: model.tokenizer.vocabSize, ...sampling, maxNewTokens: sim.maxNewTokens,
    ...(weightsDtype !== undefined && weightsDtype !== 'f32' && { weightsDtype }),
  };
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  const file = new PairFile(o.out, { method: o.method, task: task.name, seed: o.seed }, prompts, settings);
  try {
    return await simulateInto(file, sim, task, o, prompts, count, onProgress);
  } finally {
    file.close();
  }
}

async function simulateInto(
  file: PairFile, sim: Simulation, task: Task, o: SimulateConfig, prompts: readonly string[], count: number, onProgress: SimulateOptions['onProgress'],
): Promise<SimulateSummary> {
  const todo: number[] = [];
  for (let i = 0; i < count; i++) if (!file.finished.has(i)) todo.push(i);

  const dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  let pairs = 0;
  const start = performance.now();
  const elapsed = (): number => (performance.now() - start) / 1000;
  const perChunk = Math.max(1, Math.floor(o.batchSize / 2));
  for (let at = 0; at < todo.length; at += perChunk) {
    const examples = todo.slice(at, at + perChunk).map((i) => setUp(task, o.method, o.seed, i, prompts[i]!));
    await sim.sample(examples);
    await sim.label(examples);
    const records: PairRecord[] = [];
    const drops: DropRecord[] = [];
    for (const ex of examples) {
      if (ex.drop) {
        drops.push(sim.dropRecord(ex));
        dropped[ex.drop]++;
      } else {
        records.push(sim.record(ex));
      }
    }
    file.append(records, drops);
    pairs += records.length;
    onProgress?.({
      done: Math.min(at + perChunk, todo.length), total: todo.length, pairs, dropped: at + examples.length - pairs,
      generatedTokens: sim.generatedTokens, elapsedSeconds: elapsed(),
    });
  }
  const seconds = elapsed();
  return {
    out: o.out, dropsFile: file.dropsFile, method: o.method, task: task.name, prompts: count, resumed: count - todo.length,
    pairs, dropped, retries: sim.retries, generatedTokens: sim.generatedTokens, seconds,
    pairsPerMinute: seconds > 0 ? (pairs / seconds) * 60 : 0,
  };
}

export type SimulateStageOptions = Omit<SimulateOptions, 'onProgress'> & {
  /** The simulator: a Hugging Face directory, a llama2.c .bin, or an ONNX directory. */
  model: string;
  /** A prompts file: JSONL {"prompt"} or HH lines (.gz allowed). */
  prompts: string;
  tokenizer?: string;
  backend?: 'native' | 'onnx' | 'openai';
  /** The native engine's weight storage (loadModel's weightsDtype). */
  weightsDtype?: WeightsDtype;
  /** The server, with backend 'openai' (`model` is then the name it serves). */
  baseUrl?: string;
};

/**
 * The simulate stage in the shape every stage has: paths in (model, prompts), the pair file out,
 * progress as events (step = prompts done, metrics = pairs, dropped, tokens).
 */
export async function simulate(options: SimulateStageOptions, hooks: StageHooks = {}): Promise<SimulateSummary> {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object { model, prompts, task, method, out, ... }');
  const { onEvent } = checkHooks(hooks);
  const { model: modelPath, prompts: promptsFile, tokenizer, backend, baseUrl, weightsDtype, ...rest } = options;
  if (typeof modelPath !== 'string' || modelPath === '') throw new TypeError('model must be a path');
  if (typeof promptsFile !== 'string' || promptsFile === '') throw new TypeError('prompts must be a path');
  const prompts = readSimulationPrompts(promptsFile);
  const model = await loadModel(modelPath, {
    ...(tokenizer !== undefined && { tokenizer }), ...(backend !== undefined && { backend }), ...(baseUrl !== undefined && { openai: { baseUrl } }),
    ...(weightsDtype !== undefined && { weightsDtype }),
  });
  try {
    return await simulatePreferences(model, prompts, {
      ...rest,
      onProgress: (p) => onEvent?.({ stage: 'simulate', step: p.done, total: p.total, metrics: { pairs: p.pairs, dropped: p.dropped, generated_tokens: p.generatedTokens } }),
    });
  } finally {
    model.dispose();
  }
}
