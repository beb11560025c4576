// The README's option tables and build file lists must match the code.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOC_FILES, docBlocks, renderDocs } from '../../src/config/docs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('option tables in the docs are current (run `npm run docs`)', () => {
  const texts = DOC_FILES.map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8'));
  for (const name of Object.keys(docBlocks)) expect(texts.some((t) => t.includes(`<!-- options:${name} -->`))).toBe(true);
  for (const t of texts) expect(renderDocs(t)).toBe(t);
});

test('binding.gyp builds the same C++ sources as CMakeLists.txt', () => {
  const gyp = JSON.parse(fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')) as { targets: Array<{ sources: string[] }> };
  // The folders CMake globs for the engine and the binding (the CUDA sources are CMake's alone).
  const cmake = fs.readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8');
  const cmakeDirs = [...cmake.matchAll(/(native\/[a-z]+)\/\*\.cpp/g)].map((m) => m[1]!);
  expect(cmakeDirs).toEqual(expect.arrayContaining(['native/backend', 'native/kernels', 'native/model', 'native/binding']));
  const onDisk = cmakeDirs.flatMap((d) => fs.readdirSync(path.join(ROOT, d)).filter((f) => f.endsWith('.cpp')).map((f) => `${d}/${f}`));
  expect([...gyp.targets[0]!.sources].sort()).toEqual(onDisk.sort());
});
