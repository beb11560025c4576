import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadHfTokenizer, loadLlama2cTokenizer, loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';

const SHARED = fileURLToPath(new URL('../../../shared', import.meta.url));
const HF_DIR = path.join(SHARED, 'models/tinystories-656k');
const TOK512 = path.join(SHARED, 'models/stories260K/tok512.bin');
const GOLDEN = path.join(SHARED, 'reference/golden.json');
const SP_MODEL = fileURLToPath(new URL('../fixtures/tiny-sp.model', import.meta.url));

/** ../shared is optional (see its README): suites that need it skip, and say so in their name. */
function needing(file: string): [typeof describe, string] {
  if (fs.existsSync(file)) return [describe, ''];
  console.warn(`tokenizer tests: skipping what needs ${file}: not found`);
  return [describe.skip, ` [skipped: ${file} not found]`];
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
/** The bytes a sequence of ids stands for according to tokenBytes(). */
const bytesOf = (t: Tokenizer, ids: readonly number[]): Buffer => {
  const table = t.tokenBytes();
  return Buffer.concat(ids.map((id) => table[id] ?? new Uint8Array(0)));
};

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rlcd-tokenizer-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
const tmpFile = (name: string, data: string | Uint8Array): string => {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
};

/** Texts every tokenizer here covers without <unk> (TinyStories characters only). */
const PLAIN = ['Once upon a time', 'Tom said, "Hi!"\nLily smiled.', '\n\nThe end.\n', 'two  spaces and a trailing one '];

describe('bos option, every kind', () => {
  const kinds: [string, string, () => Promise<Tokenizer>][] = [
    ['hf', HF_DIR, () => loadTokenizer(HF_DIR)],
    ['sentencepiece', SP_MODEL, () => loadTokenizer(SP_MODEL)],
    ['llama2c', TOK512, () => loadTokenizer(TOK512, { vocabSize: 512 })],
  ];
  for (const [kind, file, load] of kinds) {
    const [maybe, why] = fs.existsSync(file) ? [test, ''] : [test.skip, ` [skipped: ${file} not found]`];
    maybe(`${kind}: bos:true puts exactly one BOS first, bos:false none${why}`, async () => {
      const t = await load();
      const withBos = t.encode('Once upon a time');
      const without = t.encode('Once upon a time', { bos: false });
      expect(withBos[0]).toBe(t.bosId);
      expect(withBos.filter((id) => id === t.bosId)).toHaveLength(1);
      expect(without).not.toContain(t.bosId);
      expect(withBos.slice(1)).toEqual(without);
      expect(t.encode('', { bos: false })).toEqual([]);
      expect(t.encode('')).toEqual([t.bosId]);
    });
  }
});

describe('hf tokenizer.json', () => {
  const [maybe, why] = needing(HF_DIR);
  maybe(`tinystories-656k${why}`, () => {
    let t: Tokenizer;
    beforeAll(async () => {
      t = await loadTokenizer(HF_DIR);
    });

    test('golden ids for "Once upon a time" and the ids it names', () => {
      expect(t.kind).toBe('hf');
      expect(t.encode('Once upon a time')).toEqual([1, 80, 147, 201, 282, 57]);
      expect([t.vocabSize, t.bosId, t.eosId]).toEqual([2048, 1, 2]);
    });

    test('a tokenizer.json path works as well as its directory', async () => {
      const direct = await loadHfTokenizer(path.join(HF_DIR, 'tokenizer.json'));
      expect(direct.encode('Once upon a time')).toEqual(t.encode('Once upon a time'));
    });

    test.each(PLAIN.map((x) => [x]))('round trip %j', (text) => {
      const ids = t.encode(text);
      expect(ids).not.toContain(0);
      expect(t.decode(ids)).toBe(text);
    });

    test('tokenBytes of the non-BOS ids are the UTF-8 of " " + text (the Prepend ▁ normalizer)', () => {
      for (const text of PLAIN) expect(bytesOf(t, t.encode(text).slice(1))).toEqual(utf8(' ' + text));
      expect(t.tokenBytes()).toHaveLength(t.vocabSize);
      for (const id of [0, 1, 2]) expect(t.tokenBytes()[id]).toHaveLength(0);
    });

    test('characters outside the vocab become <unk> and vanish: byte_fallback is set but the vocab has no <0xXX> pieces', () => {
      const text = 'café 🙂 (ok)\tdone';
      const ids = t.encode(text, { bos: false });
      expect(ids).toContain(0);
      expect(t.decode(ids)).toBe(text.replace(/[é🙂()\t]/gu, ''));
      // tokenBytes agrees with decode: <unk> contributes nothing.
      expect(bytesOf(t, ids).toString('utf8')).toBe(' ' + t.decode(ids));
    });

    test('decode skips BOS/EOS and rejects ids outside the vocab', () => {
      const ids = t.encode('Once upon a time');
      expect(t.decode([...ids, t.eosId, t.bosId])).toBe('Once upon a time');
      expect(t.decode([])).toBe('');
      expect(t.decode([t.bosId, t.eosId])).toBe('');
      expect(() => t.decode([2048])).toThrow(RangeError);
      expect(() => t.decode([1.5])).toThrow(/1\.5/);
    });

    test('tokenId finds tokens by their text and special tokens by content', () => {
      expect(t.tokenId('\n')).toBe(3);
      expect(t.tokenId('<|end_story|>')).toBe(2);
      expect(t.tokenId('<|start_story|>')).toBe(1);
      expect(t.tokenId('no such token')).toBeUndefined();
    });

    test('bosId/eosId options override tokenizer_config.json', async () => {
      const o = await loadHfTokenizer(HF_DIR, { bosId: 2, eosId: 1 });
      expect(o.encode('Once')[0]).toBe(2);
      await expect(loadHfTokenizer(HF_DIR, { bosId: 4096 })).rejects.toThrow(/bosId 4096 is outside/);
    });
  });
});

/** A GPT-2 style (ByteLevel) tokenizer.json small enough to write inline. */
function byteLevelTokenizerJson(): object {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) chars.push(String.fromCodePoint(printable(b) ? b : 256 + shifted++));
  const vocab: Record<string, number> = Object.fromEntries(chars.map((c, i) => [c, i]));
  const merges = ['Ġ t', 'h e', 'Ġt he'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  const eot = Object.keys(vocab).length;
  return {
    version: '1.0',
    added_tokens: [{ id: eot, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

describe('hf ByteLevel (GPT-2 style, synthetic)', () => {
  let t: Tokenizer;
  beforeAll(async () => {
    const dir = path.join(tmp, 'bytelevel');
    tmpFile('bytelevel/tokenizer.json', JSON.stringify(byteLevelTokenizerJson()));
    tmpFile('bytelevel/tokenizer_config.json', JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' }));
    t = await loadTokenizer(dir);
  });

  test('merges apply, tokenBytes inverts bytes_to_unicode, round trips are exact', () => {
    expect(t.vocabSize).toBe(260);
    expect(t.encode('the the', { bos: false })).toEqual([0x74, 257, 258]); // 't' 'he' 'Ġthe'
    for (const text of ['the the', 'héllo 🙂\nworld  two', ' lead\t', '\u0000\u00ff']) {
      const ids = t.encode(text, { bos: false });
      expect(t.decode(ids)).toBe(text);
      expect(bytesOf(t, ids)).toEqual(utf8(text));
    }
    expect(t.tokenBytes()[256]).toEqual(utf8(' t'));
    expect(t.tokenBytes()[259]).toHaveLength(0);
    expect(t.tokenId(' the')).toBe(258);
    expect(t.tokenId('<|endoftext|>')).toBe(259);
  });
});

describe('hf errors name the file and the problem', () => {
  test.each([
    ['invalid JSON', '{"model": ', /invalid JSON/],
    ['no model.vocab', JSON.stringify({ model: { type: 'BPE' } }), /model\.vocab is missing/],
    ['unsupported model type', JSON.stringify({ model: { type: 'Unigram', vocab: [['a', 0]] } }), /unsupported model type "Unigram"/],
    ['bad id', JSON.stringify({ model: { type: 'BPE', vocab: { a: -1 } } }), /model\.vocab\["a"\] is -1/],
    ['unknown decoder', JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 } }, decoder: { type: 'WordPiece' } }), /decoder "WordPiece" is not understood/],
    ['no BOS', JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: [] }, decoder: { type: 'ByteLevel' } }), /no BOS token: pass bosId/],
  ])('%s', async (name, content, problem) => {
    const file = tmpFile(`hf-${name.replace(/ /g, '-')}/tokenizer.json`, content);
    await expect(loadTokenizer(file)).rejects.toThrow(file);
    await expect(loadTokenizer(file)).rejects.toThrow(problem);
  });

  test('a missing path', async () => {
    const missing = path.join(tmp, 'nope', 'tokenizer.json');
    await expect(loadTokenizer(missing)).rejects.toThrow(missing);
  });
});

/** Writes a llama2.c tokenizer.bin from (piece, score) entries. */
function llama2cBin(entries: readonly [Uint8Array | string, number][]): Buffer {
  const pieces = entries.map(([p]) => (typeof p === 'string' ? utf8(p) : Buffer.from(p)));
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeInt32LE(Math.max(...pieces.map((p) => p.length)));
  entries.forEach(([, score], i) => {
    const head = Buffer.alloc(8);
    head.writeFloatLE(score, 0);
    head.writeInt32LE(pieces[i]!.length, 4);
    parts.push(head, pieces[i]!);
  });
  return Buffer.concat(parts);
}

/** <unk>, <s>, </s>, the 256 byte pieces, then a few merges: like a SentencePiece export, in small. */
const SYNTH: [string, number][] = [
  ['<unk>', 0], ['\n<s>\n', 0], ['\n</s>\n', 0],
  ...Array.from({ length: 256 }, (_, b): [string, number] => [`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 0]),
  [' ', -1], ['a', -2], ['b', -3], ['ab', -4], [' ab', -5], ['é', -6], ['aa', -7],
];

describe('llama2c tokenizer.bin (synthetic vocab)', () => {
  let file: string;
  let t: Tokenizer;
  beforeAll(async () => {
    file = tmpFile('synth.bin', llama2cBin(SYNTH));
    t = await loadLlama2cTokenizer(file, { vocabSize: SYNTH.length });
  });

  test('dummy prefix, code-point lookup, byte fallback and best-score merges as in run.c', () => {
    // ' ' 'a' 'b' -> the best pair is ('a','b') -> 'ab' (score -4), then (' ','ab') -> ' ab'.
    expect(t.encode('ab')).toEqual([1, 263]);
    // 'é' is one piece (looked up as a whole code point); 'ü' is not, so its two bytes fall back.
    expect(t.encode('é', { bos: false })).toEqual([259, 264]);
    expect(t.encode('ü', { bos: false })).toEqual([259, 0xc3 + 3, 0xbc + 3]);
    // The best score wins over position: in 'aab', 'ab' (-4) merges before 'aa' (-7).
    expect(t.encode('aab', { bos: false })).toEqual([259, 260, 262]);
    // Ties go to the leftmost pair: 'aaa' -> 'aa' + 'a'.
    expect(t.encode('aaa', { bos: false })).toEqual([259, 265, 260]);
  });

  test('decode strips the space only right after BOS, and turns <0xXX> into bytes', () => {
    expect(t.decode([1, 263])).toBe('ab');
    expect(t.decode([263])).toBe(' ab');
    expect(t.decode([1, 259, 0xc3 + 3, 0xbc + 3, 2])).toBe('ü');
    // A '<0x20>' piece after BOS is a byte, not a leading space to strip.
    expect(t.decode([1, 0x20 + 3, 260])).toBe(' a');
  });

  test.each([['ab ab'], ['ümlaut 🙂\n\ttab'], ['']])('round trip %j and tokenBytes', (text) => {
    const ids = t.encode(text);
    expect(t.decode(ids)).toBe(text);
    expect(bytesOf(t, ids.slice(1))).toEqual(utf8(text === '' ? '' : ' ' + text));
  });
});

describe('llama2c corrupt files throw an Error naming the file', () => {
  const good = llama2cBin(SYNTH);
  const entryOffset = (i: number): number => {
    let off = 4;
    for (let k = 0; k < i; k++) off += 8 + good.readInt32LE(off + 4);
    return off;
  };
  const withLength = (i: number, len: number): Buffer => {
    const b = Buffer.from(good);
    b.writeInt32LE(len, entryOffset(i) + 4);
    return b;
  };
  test.each([
    ['empty', Buffer.alloc(0), SYNTH.length, /too short for the 4-byte header/],
    ['truncated', good.subarray(0, good.length - 3), SYNTH.length, /truncated at entry 265/],
    ['header only', good.subarray(0, 4), SYNTH.length, /too small for 266 entries/],
    ['lying length', withLength(100, 1_000_000_000), SYNTH.length, /entry 100 has length 1000000000/],
    ['negative length', withLength(7, -5), SYNTH.length, /entry 7 has length -5/],
    ['length past the end', withLength(265, 6), SYNTH.length, /entry 265 has length 6|truncated at entry 265/],
    ['fewer entries than the vocab', good, SYNTH.length + 40, /truncated|too small/],
    ['more entries than the vocab', good, SYNTH.length - 1, /bytes left after 265 entries/],
    ['zero max_token_length', Buffer.concat([Buffer.alloc(4), good.subarray(4)]), SYNTH.length, /max_token_length is 0/],
  ])('%s', async (name, data, vocabSize, problem) => {
    const file = tmpFile(`corrupt-${name.replace(/ /g, '-')}.bin`, data);
    await expect(loadTokenizer(file, { vocabSize })).rejects.toThrow(file);
    await expect(loadTokenizer(file, { vocabSize })).rejects.toThrow(problem);
  });

  test('a .bin without vocabSize is refused', async () => {
    const file = tmpFile('novocab.bin', good);
    await expect(loadTokenizer(file)).rejects.toThrow(/needs vocabSize/);
  });
});

describe('llama2c tokenizer.bin', () => {
  const [maybe, why] = needing(TOK512);
  maybe(`stories260K tok512.bin${why}`, () => {
    let t: Tokenizer;
    beforeAll(async () => {
      t = await loadTokenizer(TOK512, { vocabSize: 512 });
    });

    test('golden ids for "Once upon a time"', () => {
      expect(t.kind).toBe('llama2c');
      expect(t.encode('Once upon a time')).toEqual([1, 403, 407, 261, 378]);
    });

    const withGolden = fs.existsSync(GOLDEN) ? test : test.skip;
    withGolden(`decoding the golden greedy continuation gives the golden text${fs.existsSync(GOLDEN) ? '' : ` [skipped: ${GOLDEN} not found]`}`, () => {
      const golden = JSON.parse(fs.readFileSync(GOLDEN, 'utf8')) as { stories260K: { greedy_ids_48: number[]; greedy_text: string } };
      expect(t.decode(golden.stories260K.greedy_ids_48)).toBe(golden.stories260K.greedy_text);
    });

    test.each([...PLAIN, 'ümlaut, café and 🙂 emoji', 'tabs\tand\r\nCRLF'].map((x) => [x]))('round trip %j', (text) => {
      const ids = t.encode(text);
      expect(t.decode(ids)).toBe(text);
      expect(bytesOf(t, ids.slice(1))).toEqual(utf8(' ' + text));
    });

    test('BOS/EOS decode to nothing; ids outside the vocab are refused', () => {
      expect(t.tokenBytes()[1]).toHaveLength(0);
      expect(t.tokenBytes()[2]).toHaveLength(0);
      expect(t.decode([1, 2])).toBe('');
      expect(() => t.decode([512])).toThrow(RangeError);
      expect(t.tokenId(' the')).toBeDefined();
      expect(t.decode([t.tokenId(' the')!])).toBe(' the');
    });
  });
});

describe('sentencepiece .model (test/fixtures/tiny-sp.model)', () => {
  let t: Tokenizer;
  beforeAll(async () => {
    t = await loadTokenizer(SP_MODEL);
  });

  test('ids from the model', () => {
    expect(t.kind).toBe('sentencepiece');
    expect([t.vocabSize, t.bosId, t.eosId]).toEqual([400, 1, 2]);
    expect(t.tokenId('<s>')).toBe(1);
    expect(t.tokenId('\n')).toBe(3 + 0x0a);
  });

  test.each([...PLAIN, 'ümlaut, café and 🙂 emoji', 'tabs\tand\r\nCRLF', '  leading spaces'].map((x) => [x]))(
    'round trip %j, tokenBytes consistent with decode',
    (text) => {
      const ids = t.encode(text);
      expect(t.decode(ids)).toBe(text);
      // SentencePiece adds a dummy-prefix '▁' and removes it again on decode.
      expect(bytesOf(t, ids.slice(1))).toEqual(utf8(' ' + text));
    },
  );

  test('characters outside the vocab use byte fallback', () => {
    const ids = t.encode('🙂', { bos: false });
    expect(ids.filter((id) => id >= 3 && id < 259)).toHaveLength(4);
    expect(t.decode(ids)).toBe('🙂');
  });

  test('decode skips BOS/EOS and refuses ids outside the vocab', () => {
    expect(t.decode([1, ...t.encode('Once', { bos: false }), 2])).toBe('Once');
    expect(t.decode([])).toBe('');
    expect(() => t.decode([400])).toThrow(RangeError);
  });

  test('a file that is not a model is refused, naming it', async () => {
    for (const [name, data] of [['garbage.model', 'this is not a protobuf'], ['empty.model', '']] as const) {
      const file = tmpFile(name, data);
      await expect(loadTokenizer(file)).rejects.toThrow(file);
    }
  });
});

describe('loadTokenizer picks the kind', () => {
  test('by directory contents, extension or a JSON sniff', async () => {
    const dir = path.join(tmp, 'sp-dir');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(SP_MODEL, path.join(dir, 'tokenizer.model'));
    expect((await loadTokenizer(dir)).kind).toBe('sentencepiece');
    const sniffed = tmpFile('bytelevel-sniff/tok', JSON.stringify(byteLevelTokenizerJson()));
    expect((await loadTokenizer(sniffed, { bosId: 259, eosId: 259 })).kind).toBe('hf');
    const unknown = tmpFile('mystery.dat', 'abc');
    await expect(loadTokenizer(unknown)).rejects.toThrow(/unknown tokenizer format/);
    await expect(loadTokenizer(tmp)).rejects.toThrow(/no tokenizer\.json or tokenizer\.model/);
  });

  test('a tokenizer larger than the model is refused', async () => {
    await expect(loadTokenizer(SP_MODEL, { vocabSize: 300 })).rejects.toThrow(/400 tokens but the model only 300/);
  });
});

describe('tokenizing only what a cut keeps (src/tokenizer/truncated.ts) equals cutting the whole text', () => {
  const VAL = path.join(SHARED, 'data/tinystories/val.txt');
  const kinds: [string, string, () => Promise<Tokenizer>][] = [
    ['hf', HF_DIR, () => loadTokenizer(HF_DIR)],
    ['sentencepiece', SP_MODEL, () => loadTokenizer(SP_MODEL)],
    ['llama2c', TOK512, () => loadTokenizer(TOK512, { vocabSize: 512 })],
  ];
  // Long texts: runs of whitespace, newlines and punctuation next to every possible cut.
  const synthetic = Array.from({ length: 200 }, (_, i) => PLAIN[i % PLAIN.length] + (i % 7 === 0 ? '\n\n' : ' ')).join('');
  for (const [kind, file, load] of kinds) {
    const [maybe, why] = fs.existsSync(file) ? [test, ''] : [test.skip, ` [skipped: ${file} not found]`];
    maybe(`${kind}: head and tail of synthetic text and of real stories${why}`, async () => {
      const { encodeHead, encodeTail } = await import('../../src/tokenizer/truncated.js');
      const t = await load();
      const texts = [synthetic, 'short text', ''];
      if (fs.existsSync(VAL)) {
        const val = fs.readFileSync(VAL, 'utf8');
        for (let start = 0; start < 5; start++) texts.push(val.slice(start * 40_000 + start * 13, (start + 1) * 40_000));
      }
      let compared = 0;
      for (const text of texts) {
        const whole = t.encode(text);
        const wholeNoBos = t.encode(text, { bos: false });
        for (const n of [1, 7, 64, 255, 1000]) {
          expect(encodeHead(t, text, n)).toEqual(whole.slice(0, n));
          expect(encodeHead(t, text, n, false)).toEqual(wholeNoBos.slice(0, n));
          expect(encodeTail(t, text, n)).toEqual(wholeNoBos.slice(Math.max(0, wholeNoBos.length - n)));
          compared++;
        }
      }
      expect(compared).toBeGreaterThanOrEqual(15);
    });
  }
  test('a long text is not tokenized whole for a short head or tail', async () => {
    const { encodeHead, encodeTail } = await import('../../src/tokenizer/truncated.js');
    const t = await loadTokenizer(SP_MODEL);
    let longest = 0;
    const counting: Tokenizer = Object.assign(Object.create(t) as Tokenizer, {
      encode: (text: string, o?: { bos?: boolean }) => ((longest = Math.max(longest, text.length)), t.encode(text, o)),
    });
    const text = synthetic.repeat(20);
    expect(encodeHead(counting, text, 64)).toEqual(t.encode(text).slice(0, 64));
    expect(encodeTail(counting, text, 64)).toEqual(t.encode(text, { bos: false }).slice(-64));
    expect(longest).toBeLessThan(text.length / 20);
  });
});
