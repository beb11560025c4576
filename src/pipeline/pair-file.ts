// The append-only output of simulation: pairs in TRL's preference format (one JSON object a line),
// and beside it FILE.dropped.jsonl with the prompts that gave no pair. Both say which prompt index
// they belong to, so a rerun skips every prompt that is done. Records are appended a batch at a time
// with one write; a kill can leave a half line at the end, which the next run cuts off.
import fs from 'node:fs';
import type { Method } from '../config/simulate.js';
import { atomicWriteFile } from '../util/atomic.js';
import { readCompleteJsonl } from '../util/jsonl.js';
import { releaseLock, takeLock } from '../util/lock.js';

/** What every record carries to tie it to a run: a rerun must match. */
export interface RunKey {
  method: Method;
  task: string;
  seed: number;
}

export interface PairRecord extends RunKey {
  prompt: string;
  chosen: string;
  rejected: string;
  /** P(chosen preferred): 1 for RLCD's hard label, the labeler's soft label (>= 0.5) otherwise. */
  p_chosen: number;
  index: number;
  affix_index: number | null;
  instruction_index: number | null;
  /** The prompts sampled from, the outputs before the filter, attempts used, and the scorer's logits. */
  raw: Record<string, unknown>;
}

export interface DropRecord extends RunKey {
  prompt: string;
  index: number;
  reason: string;
  affix_index: number | null;
  raw: Record<string, unknown>;
}

export function dropsFileOf(out: string): string {
  return `${out}.dropped.jsonl`;
}

/** FILE.run.json: the model and sampling settings the records were made with (a resume must match). */
export function settingsFileOf(out: string): string {
  return `${out}.run.json`;
}

/** FILE.lock: held by the run writing FILE (its pid inside), so two runs never append the same records. */
export function lockFileOf(out: string): string {
  return `${out}.lock`;
}

export class PairFile {
  readonly dropsFile: string;
  /** Prompt indices with a pair or a drop record. */
  readonly finished = new Set<number>();
  /** Records found when the file was opened. */
  readonly resumedPairs: number;
  readonly resumedDrops: number;

  /**
   * Opens (or creates) the output for a run and locks it; throws when another run holds it, or when
   * existing records belong to another run, other prompts, another model or other sampling settings.
   * close() releases the lock.
   */
  constructor(readonly file: string, readonly key: RunKey, prompts: readonly string[], settings: Record<string, unknown> = {}) {
    this.dropsFile = dropsFileOf(file);
    takeLock(file, lockFileOf(file), 'rlcd simulate');
    try {
      this.checkSettings(settings);
    } catch (e) {
      this.close();
      throw e;
    }
    const counts = [0, 0];
    [file, this.dropsFile].forEach((f, which) => {
      for (const { line, value } of readCompleteJsonl(f, 'rlcd simulate')) {
        const where = `${f}:${line}`;
        for (const k of ['method', 'task', 'seed'] as const) {
          if (value[k] !== key[k]) {
            throw new Error(`${where}: written with ${k} ${JSON.stringify(value[k])}, this run has ${JSON.stringify(key[k])}; use another --out to start a new file`);
          }
        }
        const index = value.index;
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0) throw new Error(`${where}: no prompt "index"`);
        if (index >= prompts.length || prompts[index] !== value.prompt) {
          throw new Error(`${where}: prompt ${index} is not the same as in the prompts given now; use another --out for other prompts`);
        }
        this.finished.add(index);
        counts[which]!++;
      }
    });
    [this.resumedPairs, this.resumedDrops] = counts as [number, number];
  }

  private checkSettings(settings: Record<string, unknown>): void {
    const file = settingsFileOf(this.file);
    const hasRecords = fs.existsSync(this.file) && fs.statSync(this.file).size > 0;
    if (fs.existsSync(file) && hasRecords) {
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      for (const k of new Set([...Object.keys(saved), ...Object.keys(settings)])) {
        if (JSON.stringify(saved[k]) !== JSON.stringify(settings[k])) {
          throw new Error(`${this.file}: its records were made with ${k} ${JSON.stringify(saved[k])}, this run has ${JSON.stringify(settings[k])}; use another --out to start a new file`);
        }
      }
    }
    atomicWriteFile(file, JSON.stringify(settings, null, 2) + '\n');
  }

  close(): void {
    releaseLock(lockFileOf(this.file));
  }

  /** Appends one batch of records (one write per file). */
  append(pairs: readonly PairRecord[], drops: readonly DropRecord[]): void {
    if (pairs.length > 0) fs.appendFileSync(this.file, pairs.map((p) => JSON.stringify(p) + '\n').join(''));
    if (drops.length > 0) fs.appendFileSync(this.dropsFile, drops.map((d) => JSON.stringify(d) + '\n').join(''));
    for (const r of [...pairs, ...drops]) this.finished.add(r.index);
  }
}
