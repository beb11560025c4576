// How stage commands show progress: a bar with the step's key figures on a terminal, a line per
// step in logs. It reads the stage's events (src/pipeline/stage.ts); the library prints nothing.
import type { StageEvent } from '../pipeline/stage.js';
import { progressBar } from './progress.js';

/** `keys`: the metrics to show, in order (default: all of them). */
export function eventReporter(label: string, quiet: boolean, keys?: readonly string[]): { onEvent: (e: StageEvent) => void; stop: () => void } {
  const bar = progressBar(label, 'steps', quiet);
  const tty = process.stderr.isTTY && !quiet;
  return {
    onEvent(e) {
      if (e.message && !quiet) process.stderr.write(`${tty ? '\n' : ''}${e.stage}: ${e.message}\n`);
      if (Object.keys(e.metrics).length === 0) return;
      const shown = (keys ?? Object.keys(e.metrics)).filter((k) => e.metrics[k] !== undefined);
      const line = shown.map((k) => `${k} ${fmt(e.metrics[k]!)}`).join(' | ');
      if (tty) {
        bar.detail(line);
        bar.update(e.step, e.total);
      } else if (!quiet) {
        process.stderr.write(`${e.stage} step ${e.step}/${e.total}: ${line}\n`);
      }
    },
    stop: () => bar.stop(),
  };
}

export function fmt(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(1) : Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(4);
}
