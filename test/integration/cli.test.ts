// The `rlcd` command as a user runs it: the built bin (dist/, made by `npm ci`), real models.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWith, GOLDEN, HF_656K, LLAMA2C_260K, TOK512 } from '../shared.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function rlcd(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build:ts\` (npm ci does it)`);
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rlcd (no model needed)', () => {
  test('--help lists generate', () => {
    const r = rlcd('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('generate');
  });

  test('generate --help documents the sampling flags', () => {
    const r = rlcd('generate', '--help');
    expect(r.status).toBe(0);
    for (const f of ['--max-new-tokens', '--temperature', '--top-k', '--top-p', '--seed', '--n', '--ignore-eos', '--prompts-file', '--json', '--tokenizer']) {
      expect(r.stdout).toContain(f);
    }
  });

  test('a missing model is one line on stderr and a non-zero exit', () => {
    const r = rlcd('generate', '--model', '/nonexistent/model', '--prompt', 'x');
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('/nonexistent/model');
  });
});

describeWith([HF_656K, LLAMA2C_260K, TOK512, GOLDEN], 'rlcd generate on the shared models', () => {
  test('greedy text equals the golden continuation', () => {
    const golden = JSON.parse(fs.readFileSync(GOLDEN, 'utf8'))['TinyStories-656K'];
    const n = golden.greedy_ids_48.length - golden.prompt_ids.length;
    const r = rlcd('generate', '--model', HF_656K, '--prompt', golden.prompt, '--temperature', '0', '--max-new-tokens', String(n));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(golden.greedy_text + '\n');
  });

  test('--json with --n and --prompts-file: one object per completion', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-cli-'));
    try {
      const file = path.join(dir, 'prompts.jsonl');
      fs.writeFileSync(file, ['{"prompt": "Once upon a time"}', '', '{"prompt": "The cat "}'].join('\n'));
      const r = rlcd('generate', '--model', LLAMA2C_260K, '--tokenizer', TOK512, '--prompts-file', file, '--n', '3', '--max-new-tokens', '16', '--json', '--seed', '5');
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength(6);
      for (const l of lines) {
        expect(typeof l.text).toBe('string');
        expect(Array.isArray(l.ids)).toBe(true);
        expect(l.ids.length).toBeLessThanOrEqual(16);
        expect(['eos', 'stop', 'length']).toContain(l.finishReason);
      }
      expect(lines.map((l) => l.promptIndex)).toEqual([0, 0, 0, 1, 1, 1]);
      // Same command, same output: sampling is seeded.
      const again = rlcd('generate', '--model', LLAMA2C_260K, '--tokenizer', TOK512, '--prompts-file', file, '--n', '3', '--max-new-tokens', '16', '--json', '--seed', '5');
      expect(again.stdout).toBe(r.stdout);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad flag values and bad prompt files fail with one line naming the problem', () => {
    const bad = rlcd('generate', '--model', HF_656K, '--prompt', 'x', '--top-p', '2');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('--top-p');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-cli-'));
    try {
      const file = path.join(dir, 'bad.jsonl');
      fs.writeFileSync(file, '{"prompt": "ok"}\n{"text": "no prompt"}\n');
      const r = rlcd('generate', '--model', HF_656K, '--prompts-file', file);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`${file}:2`);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a llama2.c model without --tokenizer says how to fix it', () => {
    const r = rlcd('generate', '--model', LLAMA2C_260K, '--prompt', 'x');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('--tokenizer');
  });
});
