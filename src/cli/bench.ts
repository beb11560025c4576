// rlcd bench: throughput measurements of the engine.
import { Command } from 'commander';
import { z } from 'zod';
import { flag, int, num } from '../config/schema.js';
import { loraFields } from '../config/train-common.js';
import { benchTrain } from '../pipeline/bench-train.js';
import { describePeak, measurePeak } from '../perf/roofline.js';
import { stageCommand } from './command.js';

const benchTrainFields = {
  model: { schema: z.string().min(1), arg: 'M', doc: 'A model path, or random:LxCxV for a random model (layers x width x vocab; heads of 32 dims).' },
  batch: { schema: int(1, 4096).default(8), arg: 'B', doc: 'Sequences per step.' },
  seq: { schema: int(2, 1 << 16).default(256), arg: 'T', doc: 'Tokens per sequence.' },
  steps: { schema: int(1, 100000).default(10), arg: 'N', doc: 'Timed steps (after one warmup step).' },
  threads: { schema: int(1, 1024).optional(), arg: 'N', doc: 'CPU threads (default: all cores).' },
  loraRank: { schema: int(0, 4096).default(0), arg: 'R', doc: 'LoRA of rank R on every projection over a frozen base (0: full fine-tuning).' },
  weightsDtype: loraFields.weightsDtype,
  json: { schema: flag().default(false), doc: 'Print one JSON object.' },
};

const benchPeakFields = {
  threads: { schema: int(1, 1024).optional(), arg: 'N', doc: 'Threads (default: all cores; one thread is always measured too).' },
  seconds: { schema: num(0.01, 60).default(0.3), arg: 'S', doc: 'Seconds per FMA measurement (best of three).' },
  json: { schema: flag().default(false), doc: 'Print JSON.' },
};

export function benchCommand(): Command {
  const bench = new Command('bench').description('Measure engine throughput.');
  bench.addCommand(
    stageCommand('train', 'N training steps (forward, backward, AdamW; full fine-tuning, or LoRA over an f32 / bf16 / f16 / q8_0 base) on random tokens.', benchTrainFields, async (cfg) => {
      const r = await benchTrain(cfg);
      if (cfg.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
      } else {
        process.stdout.write(
          `${r.model}: ${r.parameters} parameters${r.loraRank > 0 ? `, LoRA rank ${r.loraRank} over a ${r.weightsDtype} base (${(r.baseBytes / 2 ** 20).toFixed(1)} MiB)` : ''}, batch ${r.batch} x ${r.seq}, ${r.threads} threads: ` +
            `median ${r.medianMs.toFixed(1)} ms/step, ${r.tokensPerSecond.toFixed(0)} tokens/s, ${r.gflopsPerSecond.toFixed(1)} GFLOP/s\n`,
        );
      }
    }),
  );
  bench.addCommand(
    stageCommand('peak', "The machine's limits: FMA throughput (a register-resident loop on every thread) and memory read bandwidth (a stream over 256 MiB), the roofline every benchmark row is divided by.", benchPeakFields, async (cfg) => {
      const threads = cfg.threads ?? (await import('node:os')).availableParallelism();
      const peaks = [];
      for (const t of threads > 1 ? [1, threads] : [1]) peaks.push(await measurePeak(t, cfg.seconds));
      if (cfg.json) process.stdout.write(JSON.stringify(peaks) + '\n');
      else for (const p of peaks) process.stdout.write(describePeak(p) + '\n');
    }),
  );
  return bench.exitOverride();
}
