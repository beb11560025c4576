// The one JSONL reader: .gz, a UTF-8 BOM, and invalid UTF-8 named by line instead of replaced.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { readJsonl, readPromptsFile } from '../../src/util/jsonl.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-jsonl-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, data: string | Buffer) => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
};

test('a UTF-8 BOM is dropped', () => {
  expect(readPromptsFile(write('bom.jsonl', '\ufeff{"prompt": "a"}\n{"prompt": "b"}\n'))).toEqual(['a', 'b']);
});

test('.gz files are read everywhere', () => {
  expect(readPromptsFile(write('p.jsonl.gz', zlib.gzipSync('{"prompt": "z"}\n')))).toEqual(['z']);
});

test('invalid UTF-8 is refused with its line number', () => {
  const bad = Buffer.concat([Buffer.from('{"prompt": "ok"}\n{"prompt": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
  expect(() => readJsonl(write('bad.jsonl', bad))).toThrow(/bad\.jsonl:2: not valid UTF-8/);
});

test('a directory, a missing file and a non-object line say so', () => {
  expect(() => readJsonl(dir)).toThrow(/cannot read \(it is a directory\)/);
  expect(() => readJsonl(path.join(dir, 'missing.jsonl'))).toThrow(/cannot read \(ENOENT\)/);
  expect(() => readJsonl(write('arr.jsonl', '[1, 2]\n'))).toThrow(/arr\.jsonl:1: expected a JSON object/);
  expect(() => readJsonl(write('trunc.jsonl', '{"prompt": "a"}\n{"prompt": '))).toThrow(/trunc\.jsonl:2: not valid JSON/);
});
