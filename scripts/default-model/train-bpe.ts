// A small BPE tokenizer trained on a corpus, written as a tokenizer.json in the layout of LLaMA-style
// Hugging Face tokenizers (the one tinystories-656k uses): a normalizer that prepends '▁' and turns
// spaces into '▁', a BPE model with byte fallback ('<0x00>'...'<0xFF>' for any byte the vocabulary
// lacks), and the matching decoder. As in the TinyStories tokenizers, a space belongs to the word
// before it ('happy▁'), so a prompt that ends with a space ('Everyone was happy and ') ends on a
// whole token and the model continues with a word, as in training. Merges never join across a
// word end: '▁' is only ever the last character of a merged piece, so tokenizing a text whole
// equals tokenizing its words one by one.
//
// Training is the classic greedy procedure on word counts: start from single characters, merge the
// most frequent adjacent pair (ties broken by the pair's text, so the result is deterministic),
// repeat until the vocabulary has `vocabSize` entries.

const SPACE = '\u2581';

export interface BpeTokenizerJson {
  vocab: Map<string, number>;
  merges: Array<[string, string]>;
  json: Record<string, unknown>;
}

export interface BpeOptions {
  vocabSize: number;
  /** Special tokens, ids 0..n-1 in this order: unknown, begin, end. */
  unk: string;
  bos: string;
  eos: string;
  /** Characters seen fewer times are left to byte fallback. */
  minCharCount?: number;
}

/** Word counts of the normalized corpus: each word ends after its '▁' (a newline is a word of its own). */
export function wordsOf(text: string): string[] {
  return (SPACE + text.replace(/ /g, SPACE)).split(/(?<=\u2581)|(?=\n)|(?<=\n)/).filter((w) => w);
}

function wordCounts(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) for (const word of wordsOf(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

export function trainBpe(texts: Iterable<string>, o: BpeOptions): BpeTokenizerJson {
  const counts = wordCounts(texts);
  const charCounts = new Map<string, number>();
  for (const [w, n] of counts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  const alphabet = [...charCounts].filter(([, n]) => n >= (o.minCharCount ?? 1)).map(([ch]) => ch).sort();

  const vocab = new Map<string, number>();
  for (const t of [o.unk, o.bos, o.eos]) vocab.set(t, vocab.size);
  for (let b = 0; b < 256; b++) vocab.set(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, vocab.size);
  for (const ch of alphabet) if (!vocab.has(ch)) vocab.set(ch, vocab.size);

  // Words as arrays of current pieces (characters outside the alphabet stay single and never merge).
  const words = [...counts].map(([w, n]) => ({ pieces: [...w], n }));
  const merges: Array<[string, string]> = [];
  while (vocab.size < o.vocabSize) {
    const pairs = new Map<string, number>();
    for (const { pieces, n } of words) {
      for (let i = 0; i + 1 < pieces.length; i++) {
        if (pieces[i]!.endsWith(SPACE) || !vocab.has(pieces[i]!) || !vocab.has(pieces[i + 1]!)) continue;
        const key = pieces[i] + '\u0000' + pieces[i + 1];
        pairs.set(key, (pairs.get(key) ?? 0) + n);
      }
    }
    let best: string | undefined, bestN = 0;
    for (const [k, n] of pairs) if (n > bestN || (n === bestN && best !== undefined && k < best)) [best, bestN] = [k, n];
    if (best === undefined || bestN < 2) break;
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    vocab.set(a + b, vocab.size);
    for (const w of words) {
      const p = w.pieces;
      for (let i = 0; i + 1 < p.length; i++) if (p[i] === a && p[i + 1] === b) p.splice(i, 2, a + b);
    }
  }

  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(o.unk, 0), special(o.bos, 1), special(o.eos, 2)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPACE }, { type: 'Replace', pattern: { String: ' ' }, content: SPACE }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: o.bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: o.bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: o.bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { [o.bos]: { id: o.bos, ids: [1], tokens: [o.bos] } },
    },
    decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: SPACE }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    model: {
      type: 'BPE', dropout: null, unk_token: o.unk, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false,
      vocab: Object.fromEntries(vocab), merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  return { vocab, merges, json };
}
