// Generation on an idle machine vs with a busy-loop process beside it, with the engine's thread
// tuner (native/common/thread_tuner.h) and without it (RLCD_FIXED_THREADS=1: all threads always).
// The four configurations run interleaved, round after round, so that a change in the machine's
// load hits them alike; each figure is the median over rounds of generate.bench.ts's own medians.
//   npx tsx bench/contention.bench.ts [--rounds 3] [--iterations 5] [--batches 1,16]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    iterations: { type: 'string', default: '5' },
    batches: { type: 'string', default: '1,16' },
  },
});
const script = fileURLToPath(new URL('./generate.bench.ts', import.meta.url));
const configs = [
  { name: 'tuned, idle', fixed: '0', busy: false },
  { name: 'tuned, busy', fixed: '0', busy: true },
  { name: 'fixed, idle', fixed: '1', busy: false },
  { name: 'fixed, busy', fixed: '1', busy: true },
];
const batches = values.batches!.split(',').map(Number);
const samples = new Map<string, number[]>();

for (let round = 0; round < Number(values.rounds); round++) {
  for (const config of configs) {
    const args = ['tsx', script, '--no-peer', '--json', '--iterations', values.iterations!, '--batches', values.batches!];
    if (config.busy) args.push('--busy');
    const out = execFileSync('npx', args, { env: { ...process.env, RLCD_FIXED_THREADS: config.fixed }, encoding: 'utf8' });
    const rows = JSON.parse(out.trim().split('\n').pop()!) as { batch: number; tokensPerSecond: number }[];
    for (const row of rows) {
      const key = `${config.name}/${row.batch}`;
      samples.set(key, [...(samples.get(key) ?? []), row.tokensPerSecond]);
    }
    process.stderr.write(`round ${round + 1}: ${config.name} done\n`);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const get = (name: string, b: number): number => median(samples.get(`${name}/${b}`)!);
const rows = batches.map((b) => ({
  batch: b,
  'tuned idle tok/s': get('tuned, idle', b).toFixed(0),
  'tuned busy tok/s': get('tuned, busy', b).toFixed(0),
  'fixed idle tok/s': get('fixed, idle', b).toFixed(0),
  'fixed busy tok/s': get('fixed, busy', b).toFixed(0),
  'tuned busy / fixed idle': (get('tuned, busy', b) / get('fixed, idle', b)).toFixed(2),
  'fixed busy / fixed idle': (get('fixed, busy', b) / get('fixed, idle', b)).toFixed(2),
  'tuned idle / fixed idle': (get('tuned, idle', b) / get('fixed, idle', b)).toFixed(2),
}));
console.log(`generation under contention, tinystories-656k, 256 new tokens; medians of ${values.rounds} rounds x ${values.iterations} iterations`);
console.table(rows);
