import { addon } from './src/native/binding.ts';
import { loadHfCheckpoint } from './src/model/hf.ts';
const ck = loadHfCheckpoint('/work/shared/models/tinystories-656k');
const m = await addon().createModel(ck.config, ck.weights.data);
const p = [1, 80, 147, 201, 282, 57];
for (const threads of [1, 2]) for (const B of [1, 16]) {
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    await m.generate(Array(B).fill(p), { maxNewTokens: 256, temperature: 1, ignoreEos: true, seed: r, threads });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(`threads ${threads} B ${B}: median ${times[2]!.toFixed(1)} ms, ${(B * 256 / times[2]! * 1000).toFixed(0)} tok/s`);
}
