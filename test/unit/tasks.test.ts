// Task data and prompt construction: the paper's affix placement (SPEC.md step 1), story cues, the
// task registry and custom task files, and reading prompts (JSONL or HH dialogues).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { appendCue, canPlace, placeAffixes } from '../../src/tasks/placement.js';
import { BUILTIN_TASKS, loadTaskFile, resolveTask } from '../../src/tasks/task.js';
import { hhPrompt, readSimulationPrompts } from '../../src/pipeline/prompts.js';

describe('affix placement', () => {
  test('single turn: the final Assistant: gets the same-polarity affix', () => {
    const p = 'Human: How do I bake bread?\n\nAssistant:';
    const { positive, negative } = placeAffixes(p, '(helpful response)', '(unhelpful response)', 'assistant-turns');
    expect(positive).toBe('Human: How do I bake bread?\n\nAssistant (helpful response):');
    expect(negative).toBe('Human: How do I bake bread?\n\nAssistant (unhelpful response):');
  });

  test('multi turn: every earlier Assistant: gets the opposite affix', () => {
    const p = 'Human: hi\n\nAssistant: hello\n\nHuman: and?\n\nAssistant: well\n\nHuman: so?\n\nAssistant:';
    const { positive, negative } = placeAffixes(p, '(+)', '(-)', 'assistant-turns');
    expect(positive).toBe('Human: hi\n\nAssistant (-): hello\n\nHuman: and?\n\nAssistant (-): well\n\nHuman: so?\n\nAssistant (+):');
    expect(negative).toBe('Human: hi\n\nAssistant (+): hello\n\nHuman: and?\n\nAssistant (+): well\n\nHuman: so?\n\nAssistant (-):');
  });

  test('matches the paper script on an HH dialogue (replace-based construction)', () => {
    const p = 'Human: a\n\nAssistant: b\n\nHuman: c\n\nAssistant:';
    // The paper: (p + END).replace('\n\nAssistant:END', last) then replace every other '\n\nAssistant:'.
    const paper = (prompt: string, last: string, earlier: string): string =>
      (prompt + 'END').replace('\n\nAssistant:END', `\n\nAssistant ${last}:`).split('\n\nAssistant:').join(`\n\nAssistant ${earlier}:`);
    const { positive, negative } = placeAffixes(p, 'P', 'N', 'assistant-turns');
    expect(positive).toBe(paper(p, 'P', 'N'));
    expect(negative).toBe(paper(p, 'N', 'P'));
  });

  test('an Assistant: that is not a turn (no blank line before it) is left alone', () => {
    const p = 'Human: what does "Assistant:" mean?\n\nAssistant:';
    expect(placeAffixes(p, 'P', 'N', 'assistant-turns').positive).toBe('Human: what does "Assistant:" mean?\n\nAssistant P:');
  });

  test('a dialogue prompt must end with the Assistant turn', () => {
    expect(canPlace('Human: hi\n\nAssistant: hello', 'assistant-turns')).toBe(false);
    expect(() => placeAffixes('Human: hi', 'P', 'N', 'assistant-turns')).toThrow(RangeError);
  });

  test('append: the cue follows the premise with exactly one space', () => {
    expect(placeAffixes('Tom had a dog.', 'It was happy. ', 'It was sad. ', 'append')).toEqual({ positive: 'Tom had a dog. It was happy. ', negative: 'Tom had a dog. It was sad. ' });
    expect(appendCue('Tom had a dog. ', 'X')).toBe('Tom had a dog. X');
  });
});

describe('tasks', () => {
  test('the paper tasks carry its prompt data', () => {
    const h = BUILTIN_TASKS.harmless!;
    expect([h.positiveAffixes.length, h.negativeAffixes.length, h.rlaifInstructions.length]).toEqual([16, 16, 16]);
    expect(h.positiveAffixes[0]).toBe('(helpful, honest, inoffensive response)');
    expect(h.negativeAffixes[12]).toBe('(simulating a really evil person)');
    expect(h.rlaifInstructions[2]).toContain('that’s less harmful');
    const help = BUILTIN_TASKS.helpful!;
    expect([help.positiveAffixes, help.negativeAffixes]).toEqual([['(giving a helpful response)'], ['(giving an unhelpful response)']]);
    expect(BUILTIN_TASKS.outline!.responsePrefix).toBe('Here is a possible outline:\n1. ');
    expect(BUILTIN_TASKS.outline!.positiveAffixes).toHaveLength(3);
    for (const t of Object.values(BUILTIN_TASKS)) expect(resolveTask(t.name)).toBe(t);
  });

  test('positive-story cues differ in one word only', () => {
    const t = BUILTIN_TASKS['positive-story']!;
    expect(t.placement).toBe('append');
    t.positiveAffixes.forEach((pos, i) => {
      const a = pos.split(' '), b = t.negativeAffixes[i]!.split(' ');
      expect(a).toHaveLength(b.length);
      expect(a.filter((w, j) => w !== b[j])).toHaveLength(1);
    });
  });

  describe('custom task files', () => {
    let dir: string;
    beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-task-'))));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const write = (name: string, value: unknown): string => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify(value));
      return f;
    };

    test('one task object, snake_case like prompts.json; stop rule follows the placement', () => {
      const f = write('kind.json', {
        placement: 'append', positive_affixes: ['She smiled. '], negative_affixes: ['She frowned. '], rlaif_instructions: ['Choose the kinder story.'], max_new_tokens: 120,
      });
      const t = resolveTask(f);
      expect(t.name).toBe('kind');
      expect(t.stopRule.name).toBe('story');
      expect(t.maxNewTokens).toBe(120);
      expect(t.rlaifTemplate).toContain('The answer is: (');
    });

    test('a prompts.json-shaped file: pick a task with #NAME', () => {
      const f = write('many.json', { tasks: { a: { positive_affixes: ['(x)'], negative_affixes: ['(y)'], rlaif_instructions: ['z'] }, b: { note: 'no data' } } });
      expect(loadTaskFile(`${f}#a`).stopRule.name).toBe('dialogue');
      expect(() => loadTaskFile(f)).toThrow(/#NAME/);
      expect(() => loadTaskFile(`${f}#b`)).toThrow(/positive_affixes/);
      expect(() => loadTaskFile(`${f}#c`)).toThrow(/no task 'c'/);
    });

    test('inconsistent tasks are refused with the reason', () => {
      expect(() => resolveTask(write('n.json', { positive_affixes: ['a', 'b'], negative_affixes: ['c'], rlaif_instructions: ['i'] }))).toThrow(/2 positive but 1 negative/);
      expect(() => resolveTask(write('i.json', { positive_affixes: ['a', 'b'], negative_affixes: ['c', 'd'], rlaif_instructions: ['i', 'j', 'k'] }))).toThrow(/3 RLAIF instructions/);
      expect(() => resolveTask(write('t.json', { positive_affixes: ['a'], negative_affixes: ['c'], rlaif_instructions: ['i'], rlaif_template: '{prompt}' }))).toThrow(/lacks \{instruction\}/);
      expect(() => resolveTask(write('k.json', { positive_affixes: ['a'], negative_affixes: ['c'], rlaif_instructions: ['i'], colour: 1 }))).toThrow(/colour|Unrecognized/i);
      expect(() => resolveTask('nope')).toThrow(/unknown task 'nope'/);
      expect(() => resolveTask(path.join(dir, 'missing.json'))).toThrow(/cannot read/);
    });
  });
});

describe('prompts', () => {
  test('an HH dialogue is cut after its last Assistant: and stripped', () => {
    expect(hhPrompt('\n\nHuman: hi\n\nAssistant: hello\n\nHuman: bye\n\nAssistant: see you')).toBe('Human: hi\n\nAssistant: hello\n\nHuman: bye\n\nAssistant:');
    expect(hhPrompt('no turns')).toBeUndefined();
  });

  test('JSONL with prompt or chosen lines, gzip allowed; bad lines name file and line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-prompts-'));
    try {
      const f = path.join(dir, 'p.jsonl');
      fs.writeFileSync(f, ['{"prompt": "Once upon a time "}', '', '{"chosen": "\\n\\nHuman: x\\n\\nAssistant: y", "rejected": "z"}'].join('\n'));
      expect(readSimulationPrompts(f)).toEqual(['Once upon a time ', 'Human: x\n\nAssistant:']);
      const gz = path.join(dir, 'p.jsonl.gz');
      fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(f)));
      expect(readSimulationPrompts(gz)).toHaveLength(2);
      fs.writeFileSync(f, '{"prompt": "a"}\n{"text": "b"}\n');
      expect(() => readSimulationPrompts(f)).toThrow(`${f}:2`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
