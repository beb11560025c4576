// The one shape of every pipeline stage: `stage(options, { onEvent })`, paths in, an output
// directory out, progress as events (the library prints nothing; the CLI draws bars from them),
// and a metrics.jsonl in the output directory with one line per step under TRL's metric names.
import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFile } from '../util/atomic.js';

/** Progress of a stage: `step` of `total` done, with the step's figures (empty at start and end). */
export interface StageEvent {
  stage: string;
  step: number;
  total: number;
  metrics: Record<string, number>;
  /** A line of text worth showing (a stage skipped, resumed, finished). */
  message?: string;
}

export interface StageHooks {
  onEvent?: (event: StageEvent) => void;
}

export function checkHooks(hooks: unknown): StageHooks {
  if (hooks === undefined) return {};
  if (typeof hooks !== 'object' || hooks === null) throw new TypeError('hooks must be an object { onEvent? }');
  const { onEvent } = hooks as StageHooks;
  if (onEvent !== undefined && typeof onEvent !== 'function') throw new TypeError('hooks.onEvent must be a function');
  return hooks as StageHooks;
}

/**
 * An append-only JSONL log of per-step records ({step, ...}). Opening it for a run resumed after
 * `stepsDone` steps keeps exactly the records of those steps (a killed run may have logged steps
 * past its last checkpoint, or half a line), so a resumed run's log equals an uninterrupted one's.
 */
export class StepLog {
  private constructor(readonly file: string) {}

  static open(file: string, stepsDone: number): StepLog {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const kept: string[] = [];
    if (fs.existsSync(file)) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let step: unknown;
        try {
          step = (JSON.parse(line) as { step?: unknown }).step;
        } catch {
          continue; // the half line of a killed write
        }
        if (typeof step === 'number' && step <= stepsDone) kept.push(line);
      }
    }
    atomicWriteFile(file, kept.map((l) => l + '\n').join(''));
    return new StepLog(file);
  }

  append(record: { step: number } & Record<string, unknown>): void {
    fs.appendFileSync(this.file, JSON.stringify(record) + '\n');
  }

  read(): Array<{ step: number } & Record<string, unknown>> {
    return fs.readFileSync(this.file, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  }
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
