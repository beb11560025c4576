import { addon } from '/work/main/src/native/binding.ts';
import { loadHfCheckpoint } from '/work/main/src/model/hf.ts';
import { loadLlama2cCheckpoint } from '/work/main/src/model/llama2c.ts';
import fs from 'node:fs';
const golden = JSON.parse(fs.readFileSync('/work/shared/reference/golden.json','utf8'));
for (const [key, load] of [['TinyStories-656K', () => loadHfCheckpoint('/work/shared/models/tinystories-656k')], ['stories260K', () => loadLlama2cCheckpoint('/work/shared/models/stories260K/stories260K.bin')]] as const) {
  const ck = load();
  const m = await addon().createModel(ck.config, ck.weights.data);
  const g = golden[key];
  const lg = await m.logits(g.prompt_ids);
  const V = ck.config.vocabSize; const T = g.prompt_ids.length;
  const last = lg.subarray((T-1)*V, T*V);
  console.log(key, Array.from(last.slice(0,8)).map(x=>x.toFixed(5)).join(' '), 'vs', g.last_logits_first8.join(' '));
  const r = await m.generate([g.prompt_ids], { temperature: 0, maxNewTokens: 48 - T, ignoreEos: false });
  const ids = [...g.prompt_ids, ...r.ids[0]];
  console.log(JSON.stringify(ids) === JSON.stringify(g.greedy_ids_48), r.finishReasons, ids.length);
}
