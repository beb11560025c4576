// rlcd as a user installs it: the package's files (dist, the built addon, the built-in model) in a
// node_modules of their own, with rlcd's production dependencies and nothing else (no dev
// dependencies, no onnxruntime-node, which is an optional peer). The CLI must generate, simulate and
// fine-tune there, and --backend onnx must say what to install. Each command is a real process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADDON = path.join(ROOT, 'build/Release/rlcd.node');
const DIST = path.join(ROOT, 'dist/cli/main.js');

let tmp: string, cli: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-slim-'));
  const modules = path.join(tmp, 'app', 'node_modules');
  const pkg = path.join(modules, 'rlcd');
  fs.mkdirSync(path.join(pkg, 'build', 'Release'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'models'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  fs.cpSync(path.join(ROOT, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.copyFileSync(ADDON, path.join(pkg, 'build', 'Release', 'rlcd.node'));
  fs.cpSync(path.join(ROOT, 'models', 'rlcd-story-base'), path.join(pkg, 'models', 'rlcd-story-base'), { recursive: true });
  // Production dependencies only, as links to the installed copies: their own imports resolve from
  // there, but rlcd's resolve from this node_modules, where onnxruntime-node is absent.
  const deps = Object.keys((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  for (const dep of deps) {
    fs.mkdirSync(path.dirname(path.join(modules, dep)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(modules, dep), 'dir');
  }
  cli = path.join(pkg, 'dist', 'cli', 'main.js');
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function rlcd(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: path.join(tmp, 'app'), encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const built = fs.existsSync(ADDON) && fs.existsSync(DIST);
(built ? describe : describe.skip)(`an install without dev dependencies or onnxruntime-node${built ? '' : ' [skipped: build the addon and dist first]'}`, () => {
  test('onnxruntime-node is an optional peer dependency, not a dependency', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.dependencies['onnxruntime-node']).toBeUndefined();
    expect(pkg.peerDependenciesMeta['onnxruntime-node'].optional).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'app', 'node_modules', 'onnxruntime-node'))).toBe(false);
  });

  test('generate, simulate and sft run', () => {
    const g = rlcd('generate', '--model', 'rlcd-story-base', '--prompt', 'Once upon a time, there was a little girl named Lily. She', '--max-new-tokens', '12', '--temperature', '0', '--json');
    expect(g.stderr).toBe('');
    expect(g.status).toBe(0);
    expect(JSON.parse(g.stdout.trim().split('\n')[0]!).text.length).toBeGreaterThan(0);

    const prompts = path.join(tmp, 'premises.jsonl');
    const premises = fs.readFileSync(path.join(ROOT, 'models/rlcd-story-base/premises-train.jsonl'), 'utf8').trim().split('\n').slice(0, 4);
    fs.writeFileSync(prompts, premises.join('\n') + '\n');
    const pairs = path.join(tmp, 'pairs.jsonl');
    const s = rlcd('simulate', '--task', 'positive-story', '--method', 'rlcd', '--model', 'rlcd-story-base', '--prompts', prompts, '--out', pairs);
    expect(s.status).toBe(0);
    const records = fs.readFileSync(pairs, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { chosen: string; rejected: string });
    expect(records.length).toBeGreaterThanOrEqual(4);

    const data = path.join(tmp, 'sft.jsonl');
    fs.writeFileSync(data, records.map((r, i) => JSON.stringify({ prompt: JSON.parse(premises[i % premises.length]!).prompt, completion: r.chosen })).join('\n') + '\n');
    const t = rlcd('sft', '--model', 'rlcd-story-base', '--data', data, '--out', path.join(tmp, 'sft'), '--epochs', '1', '--batch-size', '4');
    expect(t.status).toBe(0);
    expect(fs.existsSync(path.join(tmp, 'sft', 'model.safetensors'))).toBe(true);
  });

  test('export-onnx writes, and --backend onnx says what to install', () => {
    const dir = path.join(tmp, 'onnx');
    const e = rlcd('export-onnx', '--model', 'rlcd-story-base', '--out', dir);
    expect(e.status).toBe(0);
    expect(e.stderr).toMatch(/onnxruntime-node, which is not installed: npm install onnxruntime-node/);
    const g = rlcd('generate', '--model', dir, '--backend', 'onnx', '--prompt', 'Once upon a time', '--max-new-tokens', '4');
    expect(g.status).not.toBe(0);
    expect(g.stderr).toMatch(/the onnx backend .* needs onnxruntime-node, an optional dependency of rlcd that is not installed: npm install onnxruntime-node/);
    expect(g.stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|at .*\.js:\d+/);
  });
});
