// Greedy decoding and logits of both shared models against ../shared/reference/golden.json
// (made with independent float64 numpy references).
import fs from 'node:fs';
import { loadModel, type LanguageModel } from '../../src/index.js';
import { describeWith, GOLDEN, HF_656K, LLAMA2C_260K, TOK512 } from '../shared.js';

interface Golden {
  prompt: string;
  prompt_ids: number[];
  last_logits_first8: number[];
  last_logits_argmax: number;
  greedy_ids_48: number[];
  greedy_text: string;
}

const cases: Array<{ key: string; files: string[]; load: () => Promise<LanguageModel> }> = [
  { key: 'TinyStories-656K', files: [HF_656K, GOLDEN], load: () => loadModel(HF_656K) },
  { key: 'stories260K', files: [LLAMA2C_260K, TOK512, GOLDEN], load: () => loadModel(LLAMA2C_260K, { tokenizer: TOK512 }) },
];

for (const { key, files, load } of cases) {
  describeWith(files, `golden: ${key}`, () => {
    let model: LanguageModel;
    let golden: Golden;
    beforeAll(async () => {
      golden = JSON.parse(fs.readFileSync(GOLDEN, 'utf8'))[key];
      model = await load();
    });
    afterAll(() => model?.dispose());

    test('the tokenizer gives the golden prompt ids', () => {
      expect(model.tokenizer.encode(golden.prompt)).toEqual(golden.prompt_ids);
    });

    test('last-position logits within 1e-4 of the reference, same argmax', async () => {
      const V = model.config.vocabSize;
      const T = golden.prompt_ids.length;
      const logits = await model.backend.logits!(golden.prompt_ids);
      expect(logits.length).toBe(T * V);
      const last = logits.subarray((T - 1) * V, T * V);
      golden.last_logits_first8.forEach((v, i) => expect(Math.abs(last[i]! - v)).toBeLessThan(1e-4));
      let argmax = 0;
      for (let i = 1; i < V; i++) if (last[i]! > last[argmax]!) argmax = i;
      expect(argmax).toBe(golden.last_logits_argmax);
    });

    test('greedy decoding equals the golden ids token for token', async () => {
      const n = golden.greedy_ids_48.length - golden.prompt_ids.length;
      const [c] = await model.generate(golden.prompt, { temperature: 0, maxNewTokens: n });
      expect([...golden.prompt_ids, ...c!.ids]).toEqual(golden.greedy_ids_48);
      expect(golden.prompt + c!.text).toBe(golden.greedy_text);
      expect(c!.finishReason).toBe('length');
    });
  });
}
