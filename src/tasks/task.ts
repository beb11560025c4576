// A task: the affix pairs that make p+ and p-, the RLAIF scoring instructions, the placement rule and
// the stop rule. Built-in tasks are data files beside this one; custom tasks load from JSON of the
// same shape as the paper's prompts.json entries (snake_case keys, see loadTaskFile).
import fs from 'node:fs';
import { z } from 'zod';
import { HARMLESS } from './harmless.js';
import { HELPFUL } from './helpful.js';
import { OUTLINE } from './outline.js';
import type { Placement } from './placement.js';
import { POSITIVE_STORY } from './positive-story.js';
import { PAPER_RLAIF_TEMPLATE, TEMPLATE_SLOTS } from './rlaif-template.js';
import { DIALOGUE_STOP, STOP_RULES, STORY_STOP, type StopRule } from './stop-rules.js';

export interface Task {
  readonly name: string;
  readonly description: string;
  /** Where the texts come from (attribution). */
  readonly source: string;
  readonly placement: Placement;
  /** Pair i is (positiveAffixes[i], negativeAffixes[i]); for 'append' tasks these are narrative cues. */
  readonly positiveAffixes: readonly string[];
  readonly negativeAffixes: readonly string[];
  /** RLAIF scoring instructions: one per affix pair (RLCD-Rescore uses the matching index), or a single shared one. */
  readonly rlaifInstructions: readonly string[];
  /** With {prompt}, {instruction}, {output_a}, {output_b}; must end where the model answers A or B. */
  readonly rlaifTemplate: string;
  /** Text that starts every response (e.g. 'Here is a possible outline:\n1. '); part of the output. */
  readonly responsePrefix: string;
  readonly stopRule: StopRule;
  /** The task's default token budget (SPEC: 300), when the caller gives none. */
  readonly maxNewTokens?: number;
  /** Puts a prompt as a user writes it into the form the model needs (e.g. a story premise gets its trailing space). */
  readonly normalizePrompt?: (prompt: string) => string;
}

export const BUILTIN_TASKS: Readonly<Record<string, Task>> = {
  harmless: HARMLESS,
  helpful: HELPFUL,
  outline: OUTLINE,
  'positive-story': POSITIVE_STORY,
};

/**
 * What follows a response wherever the task's text is read whole (the preference model's input,
 * context distillation's target): the next '\n\nHuman:' turn of a dialogue (SPEC.md section 3),
 * nothing after a story.
 */
export function responseSuffix(task: Task): string {
  return task.placement === 'append' ? '' : '\n\nHuman:';
}

/** Throws a RangeError naming the first inconsistency; returns the task for chaining. */
export function checkTask(task: Task, where = task.name): Task {
  const fail = (problem: string): never => {
    throw new RangeError(`task ${where}: ${problem}`);
  };
  const n = task.positiveAffixes.length;
  if (n === 0) fail('needs at least one affix pair');
  if (task.negativeAffixes.length !== n) fail(`has ${n} positive but ${task.negativeAffixes.length} negative affixes`);
  const k = task.rlaifInstructions.length;
  if (k !== 1 && k !== n) fail(`has ${k} RLAIF instructions; give one per affix pair (${n}) or a single one`);
  for (const slot of TEMPLATE_SLOTS) if (!task.rlaifTemplate.includes(slot)) fail(`the RLAIF template lacks ${slot}`);
  if (task.positiveAffixes.some((a, i) => a === task.negativeAffixes[i])) fail('a positive affix equals its negative one');
  return task;
}

const nonEmpty = z.array(z.string().min(1)).min(1);
const stopRuleJson = z.union([
  z.enum(Object.keys(STOP_RULES) as [string, ...string[]]),
  z.object({
    name: z.string().default('custom'),
    stop: z.array(z.string().min(1)).default([]),
    dialogue: z.boolean().default(false),
    truncated: z.enum(['drop', 'cut-at-sentence']).default('drop'),
  }).strict(),
]);
const taskJson = z.object({
  name: z.string().min(1).optional(),
  description: z.string().default(''),
  source: z.string().default(''),
  note: z.string().optional(),
  placement: z.enum(['assistant-turns', 'append']).default('assistant-turns'),
  positive_affixes: nonEmpty,
  negative_affixes: nonEmpty,
  rlaif_instructions: nonEmpty,
  rlaif_template: z.string().default(PAPER_RLAIF_TEMPLATE),
  response_prefix: z.string().default(''),
  stop_rule: stopRuleJson.optional(),
  max_new_tokens: z.number().int().min(1).optional(),
}).strict();

/** A task from its JSON object (snake_case keys); `where` names it in errors. */
export function taskFromJson(value: unknown, where: string, fallbackName: string): Task {
  const r = taskJson.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new RangeError(`task ${where}: ${issue.path.join('.') || 'task'}: ${issue.message}`);
  }
  const j = r.data;
  const rule = j.stop_rule === undefined ? (j.placement === 'append' ? STORY_STOP : DIALOGUE_STOP) : typeof j.stop_rule === 'string' ? STOP_RULES[j.stop_rule]! : j.stop_rule;
  return checkTask(
    {
      name: j.name ?? fallbackName,
      description: j.description,
      source: j.source,
      placement: j.placement,
      positiveAffixes: j.positive_affixes,
      negativeAffixes: j.negative_affixes,
      rlaifInstructions: j.rlaif_instructions,
      rlaifTemplate: j.rlaif_template,
      responsePrefix: j.response_prefix,
      stopRule: rule,
      ...(j.max_new_tokens !== undefined && { maxNewTokens: j.max_new_tokens }),
    },
    where,
  );
}

/**
 * Loads a custom task: FILE.json holding one task object, or FILE.json#NAME picking NAME from a
 * prompts.json-shaped file ({"tasks": {NAME: {...}}}).
 */
export function loadTaskFile(spec: string): Task {
  const hash = spec.lastIndexOf('#');
  const file = hash > 0 ? spec.slice(0, hash) : spec;
  const pick = hash > 0 ? spec.slice(hash + 1) : undefined;
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`task file ${file}: ${code ? `cannot read (${code})` : `not valid JSON (${(e as Error).message})`}`);
  }
  const base = file.replace(/^.*[\\/]/, '').replace(/\.json$/i, '');
  const tasks = typeof value === 'object' && value !== null && 'tasks' in value ? (value as { tasks: unknown }).tasks : undefined;
  if (tasks !== undefined) {
    if (typeof tasks !== 'object' || tasks === null) throw new RangeError(`task file ${file}: "tasks" must be an object`);
    const names = Object.keys(tasks);
    if (pick === undefined) throw new RangeError(`task file ${file} holds several tasks (${names.join(', ')}): pick one as ${file}#NAME`);
    if (!(pick in tasks)) throw new RangeError(`task file ${file} has no task '${pick}' (it has ${names.join(', ')})`);
    return taskFromJson((tasks as Record<string, unknown>)[pick], `${file}#${pick}`, pick);
  }
  if (pick !== undefined) throw new RangeError(`task file ${file} holds a single task; drop '#${pick}'`);
  return taskFromJson(value, file, base);
}

/** A built-in task by name, or a custom task from a JSON file (a path ending in .json, optionally #NAME). */
export function resolveTask(spec: string | Task): Task {
  if (typeof spec !== 'string') return checkTask(spec);
  const builtin = BUILTIN_TASKS[spec];
  if (builtin) return builtin;
  if (/\.json(#.*)?$/i.test(spec)) return loadTaskFile(spec);
  throw new RangeError(`unknown task '${spec}': use ${Object.keys(BUILTIN_TASKS).join(', ')} or a task JSON file`);
}
