// Every flag of every command, by the type its schema gives it (src/config/schema.ts): a value of
// the wrong kind or out of range must be refused before any work, with a message that names the
// flag. The table is built from the commands themselves, so a new flag or command is covered the
// day it is added. These run the command line in-process (the values never reach the engine, so a
// process per case would only add Node start-ups); bad-inputs.test.ts runs the real binary for
// the cases that do reach native code.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CommanderError, type Command, type Option } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { fieldKind, fieldOfOption } from '../../src/config/schema.js';
import { describeWith, HF_656K } from '../shared.js';

// Made when the table is built (before any test runs), removed after the last.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-flags-'));
fs.writeFileSync(path.join(tmp, 'prompts.jsonl'), JSON.stringify({ prompt: 'Once upon a time' }) + '\n');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Every runnable command with its path from the root, e.g. ['bench', 'train']. */
function leaves(cmd: Command, prefix: string[] = []): Array<{ path: string[]; cmd: Command }> {
  if (cmd.commands.length === 0) return [{ path: prefix, cmd }];
  return cmd.commands.flatMap((c) => leaves(c, [...prefix, c.name()]));
}

/** Runs argv through a fresh program; returns the error's message, or undefined if it ran. */
async function run(argv: string[]): Promise<string | undefined> {
  const program = buildProgram();
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    c.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync(['node', 'rlcd', ...argv]);
    return undefined;
  } catch (e) {
    return e instanceof CommanderError || e instanceof RangeError || e instanceof TypeError ? e.message : `unexpected ${String(e)}`;
  }
}

/** Values a required option gets so that the case reaches the flag under test. */
function validFor(option: Option): string {
  const name = option.long!;
  if (name === '--prompts' || name === '--prompts-file') return path.join(tmp, 'prompts.jsonl');
  if (name === '--out') return path.join(tmp, 'never-written');
  if (option.argChoices) return option.argChoices[0]!;
  return HF_656K;
}

/** Values the flag must refuse, by its kind. */
function badValues(option: Option): string[] {
  const spec = fieldOfOption(option);
  if (!spec) return option.argChoices ? ['no-such-choice'] : [];
  const k = fieldKind(spec);
  if (k.kind === 'number') {
    const out = ['abc', ''];
    if (Number.isFinite(k.min) && k.min > -Number.MAX_VALUE) out.push(String(k.min - 1));
    if (k.max < 1e15) out.push(String(k.max + 1));
    if (k.integer) out.push(String(Math.max(k.min, 0) + 0.5));
    return out;
  }
  if (k.kind === 'enum') return ['no-such-choice'];
  return [];
}

const cases: Array<[string, string[], string]> = [];
for (const { path: cmdPath, cmd } of leaves(buildProgram())) {
  const base = cmd.options.filter((o) => o.mandatory).flatMap((o) => [o.long!, validFor(o)]);
  cases.push([`${cmdPath.join(' ')} --no-such-flag`, [...cmdPath, ...base, '--no-such-flag', '1'], 'unknown option']);
  for (const option of cmd.options) {
    if (!option.long || option.mandatory || !(option.required || option.optional)) continue;
    for (const value of badValues(option)) {
      cases.push([`${cmdPath.join(' ')} ${option.long} ${JSON.stringify(value)}`, [...cmdPath, ...base, option.long, value], option.long]);
    }
  }
}

// align's --set reaches each stage's own schema: checked before the first stage runs.
const ALIGN = ['align', '--task', 'positive-story', '--model', HF_656K, '--prompts', 'PROMPTS', '--out', 'OUT'];
const setCases: Array<[string, RegExp]> = [
  ['ppo.lr=abc', /ppo\.lr must be a number/],
  ['ppo.steps=0', /ppo\.steps: /],
  ['pm.epochs=-1', /pm\.epochs: /],
  ['simulate.temperature=-1', /simulate\.temperature: /],
  ['dpo.lossType=squared', /dpo\.lossType: /],
  ['sft.appendEos=maybe', /sft\.appendEos must be a boolean/],
  ['ppo.noSuchOption=1', /ppo\.noSuchOption: unknown option/],
  ['nostage.x=1', /expected STAGE\.KEY=VALUE/],
  ['ppo.lr', /expected STAGE\.KEY=VALUE/],
];

describeWith([HF_656K], 'every flag of every command refuses values of the wrong kind, naming the flag', () => {
  test('the table covers every command and most flags', () => {
    const commands = new Set(cases.map(([name]) => name.split(' --')[0]));
    expect([...commands].sort()).toEqual(['align', 'bench peak', 'bench train', 'compare', 'demo', 'dpo', 'eval-pm', 'evaluate', 'export', 'export-gguf', 'export-onnx', 'generate', 'ppo', 'pull', 'report', 'serve', 'serve-reward', 'sft', 'simulate', 'train-pm']);
    expect(cases.length).toBeGreaterThan(250);
  });

  test.each(cases)('%s', async (_name, argv, flag) => {
    const message = await run(argv);
    expect(message).toBeDefined();
    expect(message).not.toMatch(/^unexpected/);
    expect(message).toContain(flag);
    expect(fs.existsSync(path.join(tmp, 'never-written'))).toBe(false);
  });

  test.each(setCases)('align --set %s is refused before any stage runs', async (set, message) => {
    const out = path.join(tmp, `align-${set.replace(/\W+/g, '-')}`);
    const argv = ALIGN.map((a) => (a === 'PROMPTS' ? path.join(tmp, 'prompts.jsonl') : a === 'OUT' ? out : a));
    expect(await run([...argv, '--set', set, '--quiet'])).toMatch(message);
    expect(fs.existsSync(out)).toBe(false);
  });

  test.each(setCases)('compare --set %s is refused before any method trains', async (set, message) => {
    const out = path.join(tmp, `compare-${set.replace(/\W+/g, '-')}`);
    const prompts = path.join(tmp, 'prompts.jsonl');
    expect(await run(['compare', '--task', 'positive-story', '--model', HF_656K, '--prompts', prompts, '--eval-prompts', prompts, '--out', out, '--set', set, '--quiet'])).toMatch(message);
    expect(fs.existsSync(out)).toBe(false);
  });
});
