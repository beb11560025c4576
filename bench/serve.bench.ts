// Serving throughput of `rlcd serve` (a real server process, real HTTP clients): requests/s and
// generated tokens/s at 1, 4 and 16 concurrent clients, with the batcher (up to 16 sequences a
// batch) and without it (--max-batch 1: one request decoded at a time), side by side in one run.
// Each client sends completion requests of 64 tokens (ignore_eos) back to back; medians of rounds.
//   npx tsx bench/serve.bench.ts [--model rlcd-story-base] [--clients 1,4,16] [--requests 32] [--rounds 3]
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'rlcd-story-base' },
    clients: { type: 'string', default: '1,4,16' },
    requests: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '64' },
  },
});
const BIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const tokens = Number(values.tokens), perRound = Number(values.requests);

async function startServer(maxBatch: number): Promise<{ base: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', BIN, 'serve', '--model', values.model!, '--port', '0', '--max-batch', String(maxBatch)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const base = await new Promise<string>((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = / at (http:\/\/\S+\/v1)/.exec(err);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (c) => reject(new Error(`server exited ${c}: ${err}`)));
  });
  return { base, proc };
}

async function round(base: string, model: string, clients: number): Promise<{ rps: number; tps: number }> {
  let next = 0, generated = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    while (next < perRound) {
      const i = next++;
      const r = await fetch(`${base}/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, prompt: 'Once upon a time, there was a little girl named Lily. ', max_tokens: tokens, ignore_eos: true, seed: c * 1000 + i }),
      });
      const body = (await r.json()) as { usage: { completion_tokens: number } };
      generated += body.usage.completion_tokens;
    }
  }));
  const s = (performance.now() - start) / 1000;
  return { rps: perRound / s, tps: generated / s };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows: Record<string, string>[] = [];
const results = new Map<string, { rps: number; tps: number }>();
for (const maxBatch of [16, 1]) {
  const { base, proc } = await startServer(maxBatch);
  const model = ((await (await fetch(`${base}/models`)).json()) as { data: Array<{ id: string }> }).data[0]!.id;
  await round(base, model, 4); // warm-up
  for (const clients of values.clients!.split(',').map(Number)) {
    const runs = [];
    for (let r = 0; r < Number(values.rounds); r++) runs.push(await round(base, model, clients));
    results.set(`${maxBatch}/${clients}`, { rps: median(runs.map((x) => x.rps)), tps: median(runs.map((x) => x.tps)) });
  }
  proc.kill('SIGTERM');
}
for (const clients of values.clients!.split(',').map(Number)) {
  const b = results.get(`16/${clients}`)!, u = results.get(`1/${clients}`)!;
  rows.push({
    clients: String(clients), 'batched req/s': b.rps.toFixed(1), 'batched tok/s': b.tps.toFixed(0),
    'one at a time req/s': u.rps.toFixed(1), 'one at a time tok/s': u.tps.toFixed(0), 'batched / one at a time': (b.tps / u.tps).toFixed(2) + 'x',
  });
}
console.log(`rlcd serve, ${values.model}, ${tokens}-token completions, ${perRound} requests a round, median of ${values.rounds} rounds`);
console.table(rows);
