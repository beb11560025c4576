// Trainer checkpoints for exact resume: a directory holding state.safetensors (every tensor 1-D
// F32: trainable weights or LoRA, head, AdamW moments) and trainer.json (step counters, run
// identity, anything JSON). Both are written by one replaceDirAtomically, so the pair always
// belongs to the same step: a kill mid-save leaves the previous checkpoint, whole.
import fs from 'node:fs';
import path from 'node:path';
import { ModelFormatError } from '../errors/model-format-error.js';
import { readJsonFile } from '../model/hf.js';
import { SafetensorsFile } from '../model/safetensors.js';
import { writeSafetensors } from '../model/safetensors-writer.js';
import { recoverDir, replaceDirAtomically } from '../util/atomic.js';

export const STATE_FILE = 'state.safetensors';
export const META_FILE = 'trainer.json';
const FORMAT = 'rlcd.trainer-checkpoint';
const VERSION = 1;

export interface TrainerCheckpoint {
  tensors: Record<string, Float32Array>;
  meta: Record<string, unknown>;
}

/**
 * Why `v` would not come back from JSON as it went in, or undefined when it would. Exact resume
 * needs meta to round-trip: NaN and Infinity silently become null, a Date a string, a typed array
 * an object of indices. Object keys whose value is undefined are fine (JSON drops them, and
 * reading a missing key gives undefined again).
 */
function jsonProblem(v: unknown, where: string): string | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : `${where} is ${v}, which JSON cannot store`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      if (v[i] === undefined) return `${where}[${i}] is undefined, which JSON turns into null`;
      const p = jsonProblem(v[i], `${where}[${i}]`);
      if (p) return p;
    }
    return undefined;
  }
  const proto: unknown = typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
  if (proto === Object.prototype || proto === null) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined) continue;
      const p = jsonProblem(x, `${where}.${k}`);
      if (p) return p;
    }
    return undefined;
  }
  const kind = ArrayBuffer.isView(v) ? 'a typed array (put it in tensors)' : typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'non-plain'} object` : `a ${typeof v}`;
  return `${where} is ${kind}, which does not round-trip through JSON`;
}

/** Writes (replaces) the checkpoint directory `dir`. */
export async function saveTrainerCheckpoint(dir: string, ck: TrainerCheckpoint): Promise<void> {
  const entries = Object.entries(ck.tensors);
  for (const [name, data] of entries) {
    if (!(data instanceof Float32Array)) throw new TypeError(`${dir}: trainer checkpoint tensor '${name}' must be a Float32Array`);
  }
  if (typeof ck.meta !== 'object' || ck.meta === null || Array.isArray(ck.meta)) throw new TypeError(`${dir}: trainer checkpoint meta must be an object`);
  const problem = jsonProblem(ck.meta, 'meta');
  if (problem) throw new TypeError(`${dir}: trainer checkpoint ${problem}`);
  const manifest = {
    format: FORMAT,
    version: VERSION,
    // Lengths let the loader tell a tampered or mismatched state file from the one written here.
    tensors: Object.fromEntries(entries.map(([name, data]) => [name, data.length])),
    meta: ck.meta,
  };
  await replaceDirAtomically(dir, (tmp) => {
    writeSafetensors(path.join(tmp, STATE_FILE), entries.map(([name, data]) => ({ name, shape: [data.length], data })));
    fs.writeFileSync(path.join(tmp, META_FILE), JSON.stringify(manifest, null, 2) + '\n');
  });
}

/**
 * Reads the checkpoint in `dir`; undefined when there is none (no directory, or neither file). An
 * incomplete or corrupt one throws a ModelFormatError naming the file: resuming from the start
 * silently would throw away the run's progress.
 */
export async function loadTrainerCheckpoint(dir: string): Promise<TrainerCheckpoint | undefined> {
  // A kill between replaceDirAtomically's two renames leaves the last checkpoint set aside.
  recoverDir(dir);
  const stateFile = path.join(dir, STATE_FILE);
  const metaFile = path.join(dir, META_FILE);
  const hasState = fs.existsSync(stateFile), hasMeta = fs.existsSync(metaFile);
  if (!hasState && !hasMeta) return undefined;
  if (!hasMeta) throw new ModelFormatError(metaFile, `missing, although ${STATE_FILE} is there (incomplete trainer checkpoint)`);
  if (!hasState) throw new ModelFormatError(stateFile, `missing, although ${META_FILE} is there (incomplete trainer checkpoint)`);

  const raw = readJsonFile(metaFile) as Record<string, unknown> | null;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ModelFormatError(metaFile, 'is not a JSON object');
  if (raw.format !== FORMAT) throw new ModelFormatError(metaFile, `format is ${JSON.stringify(raw.format)}, expected "${FORMAT}"`);
  if (raw.version !== VERSION) throw new ModelFormatError(metaFile, `version ${JSON.stringify(raw.version)} is not supported (expected ${VERSION})`);
  const meta = raw.meta, lengths = raw.tensors;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new ModelFormatError(metaFile, 'meta is not an object');
  if (typeof lengths !== 'object' || lengths === null || Array.isArray(lengths)) throw new ModelFormatError(metaFile, 'tensors is not an object');

  const file = new SafetensorsFile(stateFile);
  // Built with fromEntries so that any name, '__proto__' included, becomes a plain own property.
  const read: Array<[string, Float32Array]> = [];
  for (const [name, length] of Object.entries(lengths as Record<string, unknown>)) {
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw new ModelFormatError(metaFile, `tensors['${name}'] is not a length`);
    }
    const info = file.tensors.get(name);
    if (!info) throw new ModelFormatError(stateFile, `missing tensor '${name}' listed in ${META_FILE}`);
    if (info.dtype !== 'F32' || info.shape.length !== 1 || info.size !== length) {
      throw new ModelFormatError(stateFile, `tensor '${name}' is ${info.dtype} ${JSON.stringify(info.shape)}, ${META_FILE} says F32 [${length}]`);
    }
    const data = new Float32Array(length);
    file.readInto(name, data);
    read.push([name, data]);
  }
  const tensors: Record<string, Float32Array> = Object.fromEntries(read);
  const extra = [...file.tensors.keys()].filter((n) => !Object.hasOwn(tensors, n));
  if (extra.length > 0) throw new ModelFormatError(stateFile, `has tensor(s) ${extra.join(', ')} that ${META_FILE} does not list`);
  return { tensors, meta: meta as Record<string, unknown> };
}
