// How training commands show progress: a bar with the loss on a terminal, a line per step in logs.
import type { StepReport } from '../train/loop.js';
import { progressBar } from './progress.js';

export function stepReporter(label: string, quiet: boolean): { onStep: (r: StepReport) => void; stop: () => void } {
  const bar = progressBar(label, 'steps', quiet);
  const tty = process.stderr.isTTY && !quiet;
  return {
    onStep(r) {
      const extra = Object.entries(r.stats)
        .filter(([k]) => k !== 'loss')
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(' ');
      const line = `loss ${fmt(r.stats.loss ?? NaN)} ${extra} | lr ${r.lr.toExponential(2)} | grad ${fmt(r.gradNorm)} | ${r.tokensPerSecond.toFixed(0)} tok/s`;
      if (tty) {
        bar.detail(line);
        bar.update(r.step, r.totalSteps);
      } else if (!quiet) {
        process.stderr.write(`${label} step ${r.step}/${r.totalSteps}: ${line}\n`);
      }
    },
    stop: () => bar.stop(),
  };
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(1) : v.toPrecision(4);
}
