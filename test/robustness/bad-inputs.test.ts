// What a careless user or a broken file does to rlcd: every case must end in a clean non-zero exit
// with one line naming the problem (CLI) or a thrown error naming the argument (library), never a
// signal, a crash or a silently wrong result. The regressions of the bad-input probe are here by name
// (the LoRA rank heap crash, --out deleting the working directory, NaN weights, configs that disagree
// with their tensors, examples and pairs that cannot train).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/index.js';
import { runSft } from '../../src/pipeline/sft.js';
import { trainPreferenceModel } from '../../src/pipeline/preference-model.js';
import { simulatePreferences } from '../../src/pipeline/simulate.js';
import { saveHfCheckpoint } from '../../src/model/save.js';
import { Trainer } from '../../src/train/trainer.js';
import { runPpo } from '../../src/pipeline/ppo.js';
import { describeWith, HF_656K, LLAMA2C_260K, TOK512 } from '../shared.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-robust-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function rlcd(args: string[], cwd?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, ...(cwd && { cwd }) });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the 656K model whose config.json and tensors the test may break. */
function modelCopy(name: string, edit?: (cfg: Record<string, unknown>) => void): string {
  const dir = path.join(tmp, name);
  fs.cpSync(HF_656K, dir, { recursive: true });
  if (edit) {
    const file = path.join(dir, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(cfg);
    fs.writeFileSync(file, JSON.stringify(cfg));
  }
  return dir;
}

/** Writes the float32 bit pattern of `value` over the first weight of the first tensor stored. */
function poisonFirstWeight(dir: string, value: number): void {
  const file = path.join(dir, 'model.safetensors');
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  buf.writeFloatLE(value, 8 + n);
  fs.writeFileSync(file, buf);
}

const counts = { inputs: 0, clearErrors: 0, crashes: 0 };
afterAll(() => process.stderr.write(`robustness: ${counts.inputs} bad inputs, ${counts.clearErrors} clear errors, ${counts.crashes} crashes\n`));

/** A CLI case: non-zero exit, no signal, one line on stderr that matches `message`. */
function expectCleanFailure(args: string[], message: RegExp, cwd?: string): void {
  counts.inputs++;
  const r = rlcd(args, cwd);
  if (r.signal) counts.crashes++;
  expect(r.signal).toBeNull();
  expect(r.status).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  counts.clearErrors++;
}

describeWith([HF_656K, LLAMA2C_260K, TOK512], 'bad inputs (real models)', () => {
  const data = () => {
    const f = path.join(tmp, 'sft.jsonl');
    fs.writeFileSync(f, Array.from({ length: 8 }, (_, i) => JSON.stringify({ prompt: 'Once upon a time, ', completion: `there was a girl number ${i}.` })).join('\n') + '\n');
    return f;
  };
  const pairs = () => {
    const f = path.join(tmp, 'pairs.jsonl');
    fs.writeFileSync(f, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: 'Once upon a time', chosen: `they were happy ${i}.`, rejected: `they were sad ${i}.` })).join('\n') + '\n');
    return f;
  };

  test.each([
    ['generate', ['generate', '--model', '/nonexistent', '--prompt', 'x'], /rlcd: .*nonexistent/],
    ['generate, model is a file of garbage', ['generate', '--model', '/etc/hostname', '--prompt', 'x'], /rlcd: /],
    ['generate, bad number', ['generate', '--model', HF_656K, '--prompt', 'x', '--max-new-tokens', 'many'], /--max-new-tokens/],
    ['generate, negative temperature', ['generate', '--model', HF_656K, '--prompt', 'x', '--temperature', '-1'], /--temperature/],
    ['sft, missing data', ['sft', '--model', HF_656K, '--data', '/nonexistent.jsonl', '--out', '/tmp/rlcd-never'], /nonexistent\.jsonl/],
    ['sft, unknown flag', ['sft', '--model', HF_656K, '--bogus', '1'], /unknown option/],
    ['train-pm, pairs file is a directory', ['train-pm', '--model', HF_656K, '--pairs', '/tmp', '--out', '/tmp/rlcd-never'], /rlcd: /],
    ['ppo, reward is not a preference model', ['ppo', '--policy', HF_656K, '--reward', HF_656K, '--prompts', '/nonexistent', '--out', '/tmp/rlcd-never-ppo'], /rlcd: /],
    ['ppo, zero steps', ['ppo', '--policy', HF_656K, '--reward', HF_656K, '--prompts', 'x', '--out', '/tmp/rlcd-never-ppo', '--steps', '0'], /--steps/],
    ['dpo, bad loss type', ['dpo', '--model', HF_656K, '--pairs', 'x', '--out', '/tmp/rlcd-never-dpo', '--loss-type', 'squared'], /--loss-type/],
    ['align, bad method', ['align', '--task', 'positive-story', '--model', HF_656K, '--prompts', 'x', '--out', '/tmp/rlcd-never-align', '--method', 'rlhf'], /--method/],
    ['align, unknown task', ['align', '--task', 'nope', '--model', HF_656K, '--prompts', 'x', '--out', '/tmp/rlcd-never-align2'], /unknown task 'nope'/],
  ])('CLI: %s', (_name, args, message) => {
    expectCleanFailure(args as string[], message as RegExp);
  });

  test('--threads beyond 4 x the cores is refused by either backend (the onnx one once took 1000)', () => {
    expectCleanFailure(['generate', '--model', HF_656K, '--prompt', 'x', '--threads', '1000'], /--threads must be in \[1, \d+\]/);
    const onnx = path.join(tmp, 'onnx-656k');
    expect(rlcd(['export-onnx', '--model', HF_656K, '--out', onnx]).status).toBe(0);
    expectCleanFailure(['generate', '--model', onnx, '--prompt', 'x', '--threads', '1000'], /--threads must be in \[1, \d+\]/);
    expectCleanFailure(['simulate', '--task', 'positive-story', '--method', 'rlcd', '--model', onnx, '--prompts', 'x', '--out', path.join(tmp, 'never.jsonl'), '--threads', '1000'], /--threads must be in/);
  });

  // Every command that reads a JSONL file or a model, given a truncated line, a directory, or a file of garbage.
  const broken = (): { truncated: string; garbage: string } => {
    const truncated = path.join(tmp, 'truncated.jsonl');
    fs.writeFileSync(truncated, JSON.stringify({ prompt: 'a', completion: 'b', chosen: 'c', rejected: 'd' }) + '\n{"prompt": "Once upon');
    const garbage = path.join(tmp, 'garbage.bin');
    fs.writeFileSync(garbage, Buffer.alloc(4096, 7));
    return { truncated, garbage };
  };
  const never = (name: string) => path.join(tmp, `never-${name}`);
  test.each([
    ['generate --prompts-file', (f: string) => ['generate', '--model', HF_656K, '--prompts-file', f]],
    ['simulate --prompts', (f: string) => ['simulate', '--task', 'positive-story', '--method', 'rlcd', '--model', HF_656K, '--prompts', f, '--out', never('sim.jsonl')]],
    ['sft --data', (f: string) => ['sft', '--model', HF_656K, '--data', f, '--out', never('sft')]],
    ['train-pm --pairs', (f: string) => ['train-pm', '--model', HF_656K, '--pairs', f, '--out', never('pm')]],
    ['dpo --pairs', (f: string) => ['dpo', '--model', HF_656K, '--pairs', f, '--out', never('dpo')]],
    ['align --prompts', (f: string) => ['align', '--task', 'positive-story', '--model', HF_656K, '--prompts', f, '--out', never('align'), '--quiet']],
  ])('CLI: %s with a truncated last line, a directory, a missing file', (_name, argsFor) => {
    const { truncated } = broken();
    expectCleanFailure(argsFor(truncated), /truncated\.jsonl:2: /);
    const dir = path.join(tmp, 'a-directory');
    fs.mkdirSync(dir, { recursive: true });
    expectCleanFailure(argsFor(dir), /a-directory.* is a directory|a-directory: is a directory/);
    expectCleanFailure(argsFor(path.join(tmp, 'missing.jsonl')), /missing\.jsonl/);
  });

  test.each([
    ['generate', (m: string) => ['generate', '--model', m, '--prompt', 'x']],
    ['simulate', (m: string) => ['simulate', '--task', 'positive-story', '--method', 'rlcd', '--model', m, '--prompts', data(), '--out', never('sim2.jsonl')]],
    ['export-onnx', (m: string) => ['export-onnx', '--model', m, '--out', never('onnx')]],
    ['sft', (m: string) => ['sft', '--model', m, '--data', data(), '--out', never('sft2')]],
    ['train-pm', (m: string) => ['train-pm', '--model', m, '--pairs', pairs(), '--out', never('pm2')]],
    ['eval-pm', (m: string) => ['eval-pm', '--pm', m, '--pairs', pairs()]],
    ['dpo', (m: string) => ['dpo', '--model', m, '--pairs', pairs(), '--out', never('dpo2')]],
    ['ppo', (m: string) => ['ppo', '--policy', m, '--reward', m, '--prompts', data(), '--out', never('ppo2')]],
  ])('CLI: %s with a model that is a file of garbage, or a directory of garbage', (_name, argsFor) => {
    const { garbage } = broken();
    const dir = path.join(tmp, 'garbage-model');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "llama", "hidden_size": ');
    fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.alloc(64, 1));
    expectCleanFailure(argsFor(garbage), /rlcd: .*garbage\.bin/);
    expectCleanFailure(argsFor(dir), /rlcd: .*garbage-model/);
  });

  test('--out . is refused before any work and deletes nothing (it once deleted the working directory)', () => {
    const cwd = path.join(tmp, 'work');
    fs.mkdirSync(cwd);
    const f = path.join(cwd, 'train.jsonl');
    fs.copyFileSync(data(), f);
    fs.writeFileSync(path.join(cwd, 'notes.txt'), 'mine');
    expectCleanFailure(['sft', '--model', LLAMA2C_260K, '--tokenizer', TOK512, '--data', 'train.jsonl', '--out', '.'], /--out \. contains the input train\.jsonl/, cwd);
    fs.renameSync(f, path.join(tmp, 'moved.jsonl'));
    expectCleanFailure(['sft', '--model', LLAMA2C_260K, '--tokenizer', TOK512, '--data', path.join(tmp, 'moved.jsonl'), '--out', '.'], /non-empty directory that rlcd did not write/, cwd);
    expect(fs.readFileSync(path.join(cwd, 'notes.txt'), 'utf8')).toBe('mine');
  });

  test('--out equal to or inside the base model is refused, the model untouched', () => {
    const model = modelCopy('base-kept');
    const before = fs.readFileSync(path.join(model, 'model.safetensors'));
    expectCleanFailure(['sft', '--model', model, '--data', data(), '--out', model], /is the input/);
    expectCleanFailure(['train-pm', '--model', model, '--pairs', pairs(), '--out', path.join(model, 'pm')], /is inside the input/);
    expect(fs.readFileSync(path.join(model, 'model.safetensors'))).toEqual(before);
  });

  test('an output of another stage is not replaced', async () => {
    const sftOut = path.join(tmp, 'sft-out');
    await runSft({ model: LLAMA2C_260K, tokenizer: TOK512, data: data(), out: sftOut, epochs: 1, quiet: true });
    counts.inputs++;
    await expect(trainPreferenceModel({ model: LLAMA2C_260K, tokenizer: TOK512, pairs: pairs(), out: sftOut, quiet: true })).rejects.toThrow(/holds a sft output; train-pm would replace it/);
    counts.clearErrors++;
  });

  test('--out that is a file fails before training', () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    expectCleanFailure(['sft', '--model', LLAMA2C_260K, '--tokenizer', TOK512, '--data', data(), '--out', file], /exists and is not a directory/);
  });

  test('a LoRA rank above the hidden size trains (it once corrupted the heap)', async () => {
    // stories260K has hidden size 64.
    const r = await runSft({ model: LLAMA2C_260K, tokenizer: TOK512, data: data(), out: path.join(tmp, 'lora-wide'), epochs: 1, loraRank: 80, quiet: true });
    expect(Number.isFinite(r.finalLoss)).toBe(true);
    for (const s of r.reports) expect(s.gradNorm).toBeLessThan(50);
  });

  test('SFT whose prompts fill max-length: a warning per run, and an error when nothing is left to train', async () => {
    const f = path.join(tmp, 'long.jsonl');
    const long = 'Once upon a time there was a very long prompt that goes on and on. '.repeat(4);
    fs.writeFileSync(f, [JSON.stringify({ prompt: long, completion: 'end.' }), JSON.stringify({ prompt: 'Hi ', completion: 'there.' })].join('\n') + '\n');
    const messages: string[] = [];
    await runSft({ model: LLAMA2C_260K, tokenizer: TOK512, data: f, out: path.join(tmp, 'long-sft'), epochs: 1, maxLength: 16, quiet: true }, { onEvent: (e) => e.message && messages.push(e.message) });
    expect(messages.join('\n')).toMatch(/1 example\(s\) have no completion token within --max-length 16 .*example 1\b/);
    const only = path.join(tmp, 'only-long.jsonl');
    fs.writeFileSync(only, JSON.stringify({ prompt: long, completion: 'end.' }) + '\n');
    counts.inputs++;
    await expect(runSft({ model: LLAMA2C_260K, tokenizer: TOK512, data: only, out: path.join(tmp, 'long-sft2'), maxLength: 16, quiet: true })).rejects.toThrow(/no example keeps a completion token/);
    counts.clearErrors++;
  });

  test('train-pm drops pairs whose chosen and rejected are identical', async () => {
    const f = path.join(tmp, 'same.jsonl');
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ prompt: 'Once', chosen: i < 3 ? 'same.' : `good ${i}.`, rejected: i < 3 ? 'same.' : `bad ${i}.` }));
    fs.writeFileSync(f, lines.join('\n') + '\n');
    const messages: string[] = [];
    const r = await trainPreferenceModel({ model: LLAMA2C_260K, tokenizer: TOK512, pairs: f, out: path.join(tmp, 'pm-same'), evalSize: 1, suffix: '', quiet: true }, { onEvent: (e) => e.message && messages.push(e.message) });
    expect(messages.join('\n')).toMatch(/3 pair\(s\) have identical chosen and rejected inputs/);
    expect(r.trainPairs).toBe(6);
  });

  test.each([
    ['a NaN weight', (d: string) => poisonFirstWeight(d, NaN), /non-finite weight: tokEmb, element 0 is NaN/],
    ['an infinite weight', (d: string) => poisonFirstWeight(d, Infinity), /non-finite weight/],
    ['num_hidden_layers 1 on 2-layer weights', (d: string) => editConfig(d, (c) => (c.num_hidden_layers = 1)), /num_hidden_layers = 1 but the checkpoint holds 'model\.layers\.1\./],
    ['tie_word_embeddings false with one matrix', (d: string) => editConfig(d, (c) => (c.tie_word_embeddings = false)), /tie_word_embeddings: false but the checkpoint has only/],
  ])('a checkpoint with %s is refused on load, naming the tensor', async (name, breakIt, message) => {
    const dir = modelCopy(`broken-${name.replace(/\W+/g, '-')}`);
    breakIt(dir);
    counts.inputs++;
    await expect(loadModel(dir)).rejects.toThrow(message);
    counts.clearErrors++;
    expectCleanFailure(['generate', '--model', dir, '--prompt', 'x'], message);
  });
});

describeWith([LLAMA2C_260K, TOK512], 'simulate output safety (stories260K)', () => {
  const premises = () => {
    const f = path.join(tmp, 'premises.jsonl');
    fs.writeFileSync(f, Array.from({ length: 48 }, (_, i) => JSON.stringify({ prompt: `Once upon a time, there was a girl named Sue number ${i}.` })).join('\n') + '\n');
    return f;
  };
  const sim = (out: string, ...extra: string[]) => ['simulate', '--task', 'positive-story', '--method', 'rlcd', '--model', LLAMA2C_260K, '--tokenizer', TOK512, '--prompts', premises(), '--out', out, ...extra];

  test('a second run on the same --out is refused while the first writes; records are never doubled', async () => {
    const out = path.join(tmp, 'locked', 'pairs.jsonl');
    const first = spawn(process.execPath, [BIN, ...sim(out, '--max-new-tokens', '200')], { stdio: 'ignore' });
    const done = new Promise<number | null>((resolve) => first.on('exit', resolve));
    while (!fs.existsSync(`${out}.lock`)) await new Promise((r) => setTimeout(r, 10));
    expectCleanFailure(sim(out, '--max-new-tokens', '200'), /another rlcd simulate \(pid \d+\) is writing it/);
    expect(await done).toBe(0);
    const indices = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).index as number);
    const drops = fs.existsSync(`${out}.dropped.jsonl`) ? fs.readFileSync(`${out}.dropped.jsonl`, 'utf8').trim().split('\n').filter(Boolean).length : 0;
    expect(new Set(indices).size).toBe(indices.length);
    expect(indices.length + drops).toBe(48);
    expect(fs.existsSync(`${out}.lock`)).toBe(false);
  }, 60_000);

  test('resuming with other sampling settings is refused, naming the setting', () => {
    const out = path.join(tmp, 'settings', 'pairs.jsonl'); // a missing folder is created
    const r = rlcd(sim(out, '--n', '4', '--max-new-tokens', '16'));
    expect(r.status).toBe(0);
    expectCleanFailure(sim(out, '--n', '8', '--max-new-tokens', '16', '--temperature', '0.7'), /made with temperature 1, this run has 0\.7/);
  });

  test('a run in which every prompt is dropped fails', () => {
    const f = path.join(tmp, 'dialogues.jsonl');
    fs.writeFileSync(f, JSON.stringify({ prompt: 'no assistant turn here' }) + '\n');
    // The run's summary comes first, then the error as the last line.
    counts.inputs++;
    const r = rlcd(['simulate', '--task', 'harmless', '--method', 'rlcd', '--model', LLAMA2C_260K, '--tokenizer', TOK512, '--prompts', f, '--out', path.join(tmp, 'none.jsonl')]);
    expect(r.signal).toBeNull();
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^rlcd: no pair was produced: every prompt was dropped/);
    counts.clearErrors++;
  });
});

describeWith([HF_656K], 'library arguments (tinystories-656k)', () => {
  test('every public entry point names the bad argument with a TypeError or RangeError', async () => {
    const model = await loadModel(HF_656K);
    const cases: Array<[string, () => unknown, RegExp]> = [
      ['loadModel unknown option', () => loadModel(HF_656K, { bogus: 1 } as never), /unknown option\(s\): bogus/],
      ['loadModel options a string', () => loadModel(HF_656K, 'str' as never), /options must be an object/],
      ['generate options null', () => model.generate('a', null as never), /options must be an object/],
      ['generate number as a string', () => model.generate('a', { maxNewTokens: '5' } as never), /maxNewTokens must be a number/],
      ['generate empty string number (CLI style)', () => model.generate('a', { maxNewTokens: '' } as never), /maxNewTokens/],
      ['tokenizer.encode(42)', () => model.tokenizer.encode(42 as never), /text must be a string/],
      ['new Trainer()', () => new (Trainer as unknown as new () => unknown)(), /Trainer.fromModel/],
      ['simulatePreferences(\'x\')', () => simulatePreferences('x' as never, [], {} as never), /model must be a LanguageModel/],
      ['saveHfCheckpoint()', () => (saveHfCheckpoint as unknown as () => unknown)(), /dir must be a non-empty string/],
      ['runSft(opts, \'str\')', () => runSft({ model: HF_656K, data: 'x', out: path.join(tmp, 'never') }, 'str' as never), /hooks must be an object/],
      ['runSft options an array', () => runSft([] as never), /options must be an object/],
      ['runSft lora alpha without a rank', () => runSft({ model: HF_656K, data: 'x', out: path.join(tmp, 'never'), loraAlpha: 8 }), /loraAlpha .* needs loraRank/],
      ['runSft lora alpha 0', () => runSft({ model: HF_656K, data: 'x', out: path.join(tmp, 'never'), loraRank: 4, loraAlpha: 0 }), /loraAlpha: must be > 0/],
      ['loadModel onnx threads past 4 x cores', () => loadModel(HF_656K, { onnx: { threads: 1000 } }), /options\.onnx\.threads must be in/],
      ['loadModel onnx threads a string', () => loadModel(HF_656K, { onnx: { threads: '2' } } as never), /options\.onnx\.threads must be an integer/],
      ['loadModel onnx unknown option', () => loadModel(HF_656K, { onnx: { thread: 2 } } as never), /unknown option\(s\) in options\.onnx: thread/],
      ['generate threads past 4 x cores', () => model.generate('a', { threads: 1000 }), /threads/],
      ['runPpo lora targets without a rank', () => runPpo({ policy: HF_656K, reward: HF_656K, prompts: 'x', out: path.join(tmp, 'never'), loraTargets: ['o_proj'] }), /loraTargets .* needs loraRank/],
    ];
    for (const [name, call, message] of cases) {
      counts.inputs++;
      let error: unknown;
      try {
        await call();
      } catch (e) {
        error = e;
      }
      expect([name, error instanceof TypeError || error instanceof RangeError]).toEqual([name, true]);
      expect([name, (error as Error).message]).toEqual([name, expect.stringMatching(message)]);
      counts.clearErrors++;
    }
    model.dispose();
  });

  test('a completion cut by the context (not by --max-new-tokens) says so', () => {
    const long = 'Once upon a time, there was a girl. '.repeat(60); // about 480 tokens of a 512-token context
    const r = rlcd(['generate', '--model', HF_656K, '--prompt', long, '--max-new-tokens', '200', '--ignore-eos']);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/stopped at the model's context of \d+ tokens/);
  });

  test('--no-append-eos turns a default-on switch off', () => {
    const r = rlcd(['sft', '--help']);
    expect(r.stdout).toContain('--no-append-eos');
  });
});

function editConfig(dir: string, edit: (cfg: Record<string, unknown>) => void): void {
  const file = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(cfg);
  fs.writeFileSync(file, JSON.stringify(cfg));
}
