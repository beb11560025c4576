// The default model's corpus and tokenizer builders (scripts/default-model): the grammar is
// deterministic and varied and its moods follow the cues; the BPE trainer's tokenizer.json loads
// in @huggingface/tokenizers, round-trips text, and tokenizes a text whole as word by word.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { story } from '../../scripts/default-model/story-grammar.js';
import { trainBpe, wordsOf } from '../../scripts/default-model/train-bpe.js';
import { loadTokenizer } from '../../src/tokenizer/index.js';

test('the grammar: the same story for the same (seed, index), varied, moods on both sides', () => {
  expect(story(1, 42)).toEqual(story(1, 42));
  expect(story(1, 42).text).not.toBe(story(2, 42).text);
  const stories = Array.from({ length: 4000 }, (_, i) => story(5, i));
  expect(new Set(stories.map((s) => s.text)).size).toBe(4000);
  expect(new Set(stories.map((s) => s.premise)).size).toBeGreaterThan(2000);
  const happy = stories.filter((s) => s.mood === 'happy').length / stories.length;
  expect(happy).toBeGreaterThan(0.45);
  expect(happy).toBeLessThan(0.55);
  // A cue sentence is followed by text of its mood: no story says "Everyone was happy and" and then ends sad without a turn after it.
  for (const s of stories.filter((x) => !x.turned)) {
    if (s.mood === 'happy') expect(s.text).not.toMatch(/(Everyone was|They were|Everyone felt) sad and/);
    else expect(s.text).not.toMatch(/(Everyone was|They were|Everyone felt) happy and/);
  }
});

test('the BPE tokenizer: loads, round-trips, never merges across a word end', async () => {
  const texts = Array.from({ length: 3000 }, (_, i) => story(9, i).text);
  const bpe = trainBpe(texts, { vocabSize: 600, unk: '<unk>', bos: '<s>', eos: '</s>' });
  expect(bpe.vocab.size).toBe(600);
  for (const [a] of bpe.merges) expect(a.endsWith('\u2581')).toBe(false); // never across a word end
  expect(wordsOf('Once upon a time,\nthe end')).toEqual(['\u2581', 'Once\u2581', 'upon\u2581', 'a\u2581', 'time,', '\n', 'the\u2581', 'end']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-bpe-'));
  try {
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(bpe.json));
    const tok = await loadTokenizer(path.join(dir, 'tokenizer.json'), { bosId: 1, eosId: 2, vocabSize: 600 });
    for (const text of [story(10, 1).text, story(10, 2).text, 'Zürich has ünusual chars \u{1F600}!', '  two  spaces \n\nand lines ']) {
      const ids = tok.encode(text, { bos: false });
      expect(tok.decode(ids)).toBe(text);
    }
    // A prompt that ends with a space ends on a whole word token (the task's cues do).
    const cue = tok.encode('Everyone was happy and ', { bos: false });
    expect(tok.decode([cue.at(-1)!])).toBe('and ');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
