// One place per stage for its options: each field's zod schema (type, range, default) and its
// documentation. The library validates with it, the CLI builds its flags from it, and the docs
// table in the README is generated from it (`describeFields`).
import { Option, type Command } from 'commander';
import { z } from 'zod';

export interface FieldSpec<S extends z.ZodType = z.ZodType> {
  schema: S;
  /** What the option does, for --help and the docs. */
  doc: string;
  /** Placeholder in --help, e.g. 'N'; absent for boolean switches. */
  arg?: string;
  /** Repeatable flag collecting a string array (e.g. --stop). */
  repeatable?: boolean;
  /** Not exposed as a CLI flag (library-only, e.g. callbacks). */
  libraryOnly?: boolean;
}

export type Fields = Record<string, FieldSpec>;
export type ConfigOf<F extends Fields> = { [K in keyof F]: z.output<F[K]['schema']> };
export type ConfigInput<F extends Fields> = { [K in keyof F]?: z.input<F[K]['schema']> };

export function objectSchema<F extends Fields>(fields: F) {
  const shape = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.schema])) as { [K in keyof F]: F[K]['schema'] };
  return z.object(shape).strict();
}

/** camelCase -> --kebab-case */
export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Schemas made by int()/num()/flag(): the library takes them as numbers/booleans, the CLI as strings. */
const NUMERIC = new WeakSet<z.ZodType>();
const BOOLEAN = new WeakSet<z.ZodType>();

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { def?: { innerType?: z.ZodType; in?: z.ZodType } };
  for (let i = 0; i < 8; i++) {
    const inner = s.def?.innerType ?? s.def?.in;
    if (!inner || NUMERIC.has(s) || BOOLEAN.has(s)) break;
    s = inner as typeof s;
  }
  return s;
}

/** Validates `input` against the fields; the error lists every bad field in one line each. */
export function parseConfig<F extends Fields>(fields: F, input: unknown, style: 'library' | 'cli' = 'library'): ConfigOf<F> {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input))) {
    throw new TypeError(`options must be an object, got ${Array.isArray(input) ? 'an array' : typeof input}`);
  }
  if (style === 'library' && input) {
    // Library callers pass numbers and booleans; a string there is a bug in the caller, not input to coerce.
    for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
      const spec = fields[key];
      if (!spec || typeof value !== 'string') continue;
      const inner = unwrap(spec.schema);
      if (NUMERIC.has(inner)) throw new TypeError(`${key} must be a number, got the string ${JSON.stringify(value)}`);
      if (BOOLEAN.has(inner)) throw new TypeError(`${key} must be a boolean, got the string ${JSON.stringify(value)}`);
    }
  }
  const result = objectSchema(fields).safeParse(input ?? {});
  if (result.success) return result.data as ConfigOf<F>;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const name = key === '' ? 'options' : style === 'cli' ? flagName(key) : key;
    if (issue.code === 'unrecognized_keys') return `unknown option(s): ${issue.keys.join(', ')}`;
    if (key !== '' && issue.path.length === 1 && (input as Record<string, unknown> | undefined)?.[key] === undefined) return `${name} is required`;
    return `${name}: ${issue.message}`;
  });
  const err = new RangeError(lines.join('; '));
  throw err;
}

/** The field a flag was made from (addFlags), so tests can walk every flag of every command by type. */
const FIELD_OF_OPTION = new WeakMap<Option, FieldSpec>();
export const fieldOfOption = (option: Option): FieldSpec | undefined => FIELD_OF_OPTION.get(option);

/** What a field takes, for tests that try values of the wrong kind or out of range. */
export type FieldKind =
  | { kind: 'number'; integer: boolean; min: number; max: number }
  | { kind: 'boolean' }
  | { kind: 'enum'; values: string[] }
  | { kind: 'other' };

export function fieldKind(spec: FieldSpec): FieldKind {
  const inner = unwrap(spec.schema);
  const bounds = NUMERIC_BOUNDS.get(inner);
  if (bounds) return { kind: 'number', ...bounds };
  if (BOOLEAN.has(inner)) return { kind: 'boolean' };
  if (inner instanceof z.ZodEnum) return { kind: 'enum', values: inner.options.map(String) };
  return { kind: 'other' };
}

/**
 * Checks the options given for one part of a larger config (alignWithRLCD's per-stage objects)
 * field by field, before any work: a later stage's bad option must not surface after the stages
 * before it have run. `where` names the part in messages (e.g. 'ppo' gives 'ppo.lr: ...').
 */
export function checkPartialConfig(fields: Fields, input: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(input)) {
    const spec = fields[key];
    if (!spec) throw new RangeError(`${where}.${key}: unknown option (the ${where} options are ${Object.keys(fields).join(', ')})`);
    const inner = unwrap(spec.schema);
    if (typeof value === 'string' && NUMERIC.has(inner)) throw new TypeError(`${where}.${key} must be a number, got the string ${JSON.stringify(value)}`);
    if (typeof value === 'string' && BOOLEAN.has(inner)) throw new TypeError(`${where}.${key} must be a boolean, got the string ${JSON.stringify(value)}`);
    const result = spec.schema.safeParse(value);
    if (!result.success) throw new RangeError(`${where}.${key}: ${result.error.issues[0]?.message ?? 'invalid'}`);
  }
}

/** Adds one commander option per field (values arrive as strings; zod coerces and checks them). */
export function addFlags(command: Command, fields: Fields): Command {
  for (const [key, spec] of Object.entries(fields)) {
    if (spec.libraryOnly) continue;
    const flag = flagName(key);
    const option = new Option(spec.arg ? `${flag} <${spec.arg}>` : flag, spec.doc);
    FIELD_OF_OPTION.set(option, spec);
    if (spec.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    command.addOption(option);
    // A switch that defaults to on needs a way off: --no-append-eos.
    if (!spec.arg && spec.schema instanceof z.ZodDefault && (spec.schema as z.ZodDefault).def.defaultValue === true) {
      command.addOption(new Option(`--no-${flag.slice(2)}`, `Turn ${flag} off.`));
    }
  }
  return command;
}

/** Markdown table of the fields: flag, default, description. */
export function describeFields(fields: Fields): string {
  const rows = Object.entries(fields).map(([key, spec]) => {
    const def = spec.schema instanceof z.ZodDefault ? JSON.stringify((spec.schema as z.ZodDefault).def.defaultValue) : '';
    const name = spec.libraryOnly ? `\`${key}\` (library only)` : `\`${flagName(key)}\` / \`${key}\``;
    return `| ${name} | ${def} | ${spec.doc} |`;
  });
  return ['| option | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

// Schemas that accept the strings commander hands over as well as numbers from the library.
// An empty string is not 0 (`--max-new-tokens ''`): it fails as "not a number".
const numberFromString = (v: unknown): unknown => (typeof v === 'string' ? (v.trim() === '' ? NaN : Number(v)) : v);
const marked = <S extends z.ZodType>(set: WeakSet<z.ZodType>, s: S): S => {
  set.add(s);
  return s;
};
const NUMERIC_BOUNDS = new WeakMap<z.ZodType, { integer: boolean; min: number; max: number }>();
const numeric = <S extends z.ZodType>(s: S, integer: boolean, min: number, max: number): S => {
  NUMERIC_BOUNDS.set(s, { integer, min, max });
  return marked(NUMERIC, s);
};
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => numeric(z.preprocess(numberFromString, z.number().int().min(min).max(max)), true, min, max);
export const num = (min: number, max = Number.MAX_VALUE) => numeric(z.preprocess(numberFromString, z.number().min(min).max(max)), false, min, max);
export const flag = () => marked(BOOLEAN, z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]));
