// The engine's device: 'cpu', or 'cuda' where the addon was built with the CUDA backend and a GPU is
// visible. Where either is missing, every way in (loadModel, createModel, createTrainer, --device)
// refuses with the reason; where both are there, CUDA decodes as the CPU does.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../../src/index.js';
import { addon } from '../../src/native/binding.js';
import { parseRandomSpec, randomWeights } from '../../src/model/random.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const status = addon().cudaStatus();

test('cudaStatus says whether CUDA can be used, and why not', () => {
  expect(typeof status.available).toBe('boolean');
  if (status.available) expect(status.device).toMatch(/^cuda/);
  else expect(status.reason).toMatch(addon().cuda ? /GPU|driver|device/i : /no CUDA backend.*build:native:cuda/);
});

test('a device name that is not cpu, cuda or cuda:N is refused by name', async () => {
  await expect(loadModel('rlcd-story-base', { device: 'gpu' as never })).rejects.toThrow(/options.device must be 'cpu', 'cuda' or 'cuda:N', got "gpu"/);
  const config = parseRandomSpec('random:1x32x64')!;
  // Bad arguments throw at the call, before any work is queued.
  expect(() => addon().createModel(config, randomWeights(config).data, undefined, { device: 'tpu' })).toThrow(TypeError);
});

test('the trainer refuses cuda, saying what runs there', () => {
  const config = parseRandomSpec('random:1x32x64')!;
  expect(() => addon().createTrainer(config, randomWeights(config).data, { device: 'cuda' })).toThrow(/trainer runs on the CPU backend/);
});

(status.available ? test.skip : test)('without CUDA, loadModel and the CLI refuse cuda with the reason', async () => {
  await expect(loadModel('rlcd-story-base', { device: 'cuda' })).rejects.toThrow(new RegExp(`options.device 'cuda': ${status.reason!.slice(0, 30).replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')}`));
  const r = spawnSync(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), 'generate', '--device', 'cuda', '--model', 'rlcd-story-base', '--prompt', 'Once'], { encoding: 'utf8' });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain(`--device 'cuda': ${status.reason}`);
  expect(r.stdout).toBe('');
});

(status.available ? test : test.skip)(`on CUDA, greedy decoding and scoring match the CPU${status.available ? '' : ` (skipped: ${status.reason})`}`, async () => {
  const cpu = await loadModel('rlcd-story-base'), gpu = await loadModel('rlcd-story-base', { device: 'cuda' });
  try {
    const [a] = await cpu.generate('Once upon a time, ', { maxNewTokens: 24, temperature: 0 });
    const [b] = await gpu.generate('Once upon a time, ', { maxNewTokens: 24, temperature: 0 });
    expect(b!.ids.slice(0, 16)).toEqual(a!.ids.slice(0, 16));
    const [x] = await cpu.logProbs([''], ['Once upon a time, there was a little girl.']);
    const [y] = await gpu.logProbs([''], ['Once upon a time, there was a little girl.']);
    y!.logprobs.forEach((lp, i) => expect(Math.abs(lp - x!.logprobs[i]!)).toBeLessThan(1e-3));
  } finally {
    cpu.dispose();
    gpu.dispose();
  }
});
