// Runs the native gradient checks (native/tests/check_gradients.cpp, built next to the addon by
// cmake-js): every op and loss against finite differences, GEMM against a naive product, and a
// tiny whole model with full fine-tuning and with LoRA.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../build/Release/rlcd_native_tests', import.meta.url));

test('native gradient checks pass', () => {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: build with \`npm run build:native\` (cmake-js)`);
  const r = spawnSync(BIN, [], { encoding: 'utf8', timeout: 120_000 });
  const lines = r.stdout.trim().split('\n');
  const failures = lines.filter((l) => l.startsWith('FAIL'));
  expect(failures).toEqual([]);
  expect(r.status).toBe(0);
  const summary = /^(\d+) passed, (\d+) failed$/.exec(lines.at(-1) ?? '');
  expect(summary).not.toBeNull();
  expect(Number(summary![1])).toBeGreaterThanOrEqual(30);
  // Every op family is covered.
  for (const op of ['gemm', 'rmsnorm', 'rope rotate-half', 'rope interleaved', 'swiglu', 'causal attention', 'embedding', 'cross-entropy', 'entropy', 'bradley-terry', 'ppo policy', 'ppo value', 'kl k3', 'adamw', 'model (full', 'model (LoRA']) {
    expect(lines.some((l) => l.includes(op))).toBe(true);
  }
});
