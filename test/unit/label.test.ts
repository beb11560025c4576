// RLAIF scoring pieces: template filling, the A/B token ids for every tokenizer kind, and the soft
// label as the 2-way softmax of the A/B logits.
import { fileURLToPath } from 'node:url';
import { fillTemplate, resolveChoiceIds, softLabel } from '../../src/pipeline/label.js';
import { PAPER_RLAIF_TEMPLATE } from '../../src/tasks/rlaif-template.js';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/index.js';
import { describeWith, HF_656K, TOK512 } from '../shared.js';

const SP_MODEL = fileURLToPath(new URL('../fixtures/tiny-sp.model', import.meta.url));

describe('fillTemplate', () => {
  test('fills the paper template with stripped texts', () => {
    const t = fillTemplate(PAPER_RLAIF_TEMPLATE, { prompt: '\nHuman: hi\n\nAssistant:', instruction: ' Pick one. ', outputA: ' a ', outputB: 'b\n' });
    expect(t).toBe('Consider the following conversation between a human and an assistant:\n\n\n\nHuman: hi\n\nAssistant:\n\n\n\nPick one.\n\n\n\nOptions:\n\n\n\n(A) a\n\n\n\n(B) b\n\n\n\nThe answer is: (');
  });

  test('inserted text is never read as a slot or a replacement pattern', () => {
    const t = fillTemplate('{prompt}|{output_a}|{output_b}|{instruction}', { prompt: '{output_b} $& $1', instruction: 'i', outputA: '$$', outputB: 'B' });
    expect(t).toBe('{output_b} $& $1|$$|B|i');
  });
});

describe('softLabel', () => {
  const softmaxB = (a: number, b: number): number => Math.exp(b) / (Math.exp(a) + Math.exp(b));

  test('equals the 2-way softmax of the A/B logits', () => {
    for (const [a, b] of [[0, 0], [1.5, -2], [-3.25, 4], [10, 10.5], [-0.1, -0.2]] as const) {
      expect(softLabel(a, b)).toBeCloseTo(softmaxB(a, b), 12);
    }
    expect(softLabel(2, 1) + softLabel(1, 2)).toBeCloseTo(1, 15);
  });

  test('stays finite for logits far apart', () => {
    expect(softLabel(1000, -1000)).toBe(0);
    expect(softLabel(-1000, 1000)).toBe(1);
    expect(softLabel(800, 799)).toBeCloseTo(softmaxB(1, 0), 12);
  });
});

/** The id the tokenizer gives the letter right after '(' in the template's last line. */
function idAfterParen(tok: Tokenizer, letter: string): number {
  const head = 'The answer is: (';
  const before = tok.encode(head), after = tok.encode(head + letter);
  expect(after.slice(0, before.length)).toEqual(before);
  expect(after).toHaveLength(before.length + 1);
  return after.at(-1)!;
}

function checkKind(load: () => Promise<Tokenizer>, kind: string, spacePrefix: boolean): void {
  test(`${kind}: A and B are the tokens the text after '(' encodes to`, async () => {
    const tok = await load();
    expect(tok.kind).toBe(kind);
    const ids = resolveChoiceIds(tok);
    expect(ids.a).toBe(idAfterParen(tok, 'A'));
    expect(ids.b).toBe(idAfterParen(tok, 'B'));
    expect(tok.decode([ids.a])).toBe('A');
    // Encoding the letter alone (the paper's tokenizer.encode('A')[-1]) starts with the dummy-prefix
    // space in SentencePiece-style tokenizers (the 656K tokenizer.json prepends '▁' too): with a full vocabulary that is the token '▁A', not 'A'.
    const alone = tok.encode('A', { bos: false });
    expect(tok.tokenBytes()[alone[0]!]![0] === 0x20).toBe(spacePrefix);
  });
}

describe('A/B token ids per tokenizer kind', () => {
  checkKind(() => loadTokenizer(SP_MODEL), 'sentencepiece', true);
  describeWith([HF_656K], 'BPE tokenizer.json (tinystories-656k)', () => checkKind(() => loadTokenizer(HF_656K), 'hf', true));
  describeWith([TOK512], 'llama2.c tokenizer.bin (tok512)', () => checkKind(() => loadTokenizer(TOK512, { vocabSize: 512 }), 'llama2c', true));

  test('a tokenizer without a single token for the label is refused by name', async () => {
    const tok = await loadTokenizer(SP_MODEL);
    expect(() => resolveChoiceIds(tok, ['A', 'no such piece at all'])).toThrow(/no single token for 'no such piece at all'/);
    expect(() => resolveChoiceIds(tok, ['A', 'A'])).toThrow(/same token/);
  });
});
