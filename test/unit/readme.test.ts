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
