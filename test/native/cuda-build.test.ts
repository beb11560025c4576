// The CUDA backend compiles wherever nvcc is on PATH (a compile-only check: it catches most breakage
// without a GPU), and its op-by-op test against the CPU runs: on a machine with a GPU it must pass,
// without one it must say why it skipped. Plain CMake, no Node: as on a GPU machine.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
const haveNvcc = nvcc.status === 0;

(haveNvcc ? test : test.skip)(`the CUDA sources and test_backend_ops build with nvcc, and test_backend_ops passes or says why it skips${haveNvcc ? '' : ' (skipped: nvcc is not on PATH)'}`, () => {
  const build = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-cuda-build-'));
  try {
    const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
    const configure = run('cmake', ['-S', '.', '-B', build, '-DRLCD_CUDA=ON', '-DCMAKE_CUDA_ARCHITECTURES=90']);
    expect(configure.stderr + configure.stdout).not.toMatch(/CMake Error/);
    expect(configure.status).toBe(0);
    const compile = run('cmake', ['--build', build, '--target', 'test_backend_ops', '-j', '2']);
    if (compile.status !== 0) throw new Error(`the CUDA build failed:\n${(compile.stdout + compile.stderr).slice(-4000)}`);
    const test = run(path.join(build, 'test_backend_ops'), []);
    const out = test.stdout + test.stderr;
    expect(test.status).toBe(0);
    expect(out).toMatch(/^SKIP test_backend_ops: .+|\d+ passed, 0 failed/m);
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
  }
}, 900_000);
