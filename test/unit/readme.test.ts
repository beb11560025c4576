// The README's first screen: exactly two set-up commands, the install + demo and the tests, and
// they are what CI (.ci/run) runs, line for line.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('the README starts with two commands, and .ci/run runs exactly those', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme)!;
  expect(block.index).toBeLessThan(readme.indexOf('\n## '));
  const commands = block[1]!.trim().split('\n');
  expect(commands).toEqual(['ONNXRUNTIME_NODE_INSTALL=skip npm ci && npx rlcd demo', 'npm test']);
  const ci = fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8').split('\n');
  for (const c of commands) expect(ci).toContain(c);
});

// `npx rlcd demo` in a checkout runs the package's bin from node_modules/.bin. npm makes it executable
// only when it links it, and an npx cache left from an earlier checkout at the same path skips the
// link (CI failed so: "rlcd: Permission denied"), so the build marks it executable itself.
test('the build leaves the CLI bin executable, with a node shebang', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const bin = path.join(ROOT, pkg.bin.rlcd);
  expect(fs.readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  expect(() => fs.accessSync(bin, fs.constants.X_OK)).not.toThrow();
});
