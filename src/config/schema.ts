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

/** Validates `input` against the fields; the error lists every bad field in one line each. */
export function parseConfig<F extends Fields>(fields: F, input: unknown, style: 'library' | 'cli' = 'library'): ConfigOf<F> {
  const result = objectSchema(fields).safeParse(input ?? {});
  if (result.success) return result.data as ConfigOf<F>;
  const lines = result.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const name = key === '' ? 'options' : style === 'cli' ? flagName(key) : key;
    if (issue.code === 'unrecognized_keys') return `unknown option(s): ${issue.keys.join(', ')}`;
    if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) return `${name} is required`;
    return `${name}: ${issue.message}`;
  });
  const err = new RangeError(lines.join('; '));
  throw err;
}

/** Adds one commander option per field (values arrive as strings; zod coerces and checks them). */
export function addFlags(command: Command, fields: Fields): Command {
  for (const [key, spec] of Object.entries(fields)) {
    if (spec.libraryOnly) continue;
    const flag = flagName(key);
    const option = new Option(spec.arg ? `${flag} <${spec.arg}>` : flag, spec.doc);
    if (spec.repeatable) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    command.addOption(option);
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
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
export const num = (min: number, max = Number.MAX_VALUE) => z.coerce.number().min(min).max(max);
export const flag = () => z.union([z.boolean(), z.enum(['true', 'false']).transform((s) => s === 'true')]);
