// Progress bars for long CLI work, on stderr and only when it is a terminal (logs and pipes stay clean).
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * A bar for `done/total unit` with rate and ETA, plus free-form `detail` (e.g. the loss).
 * Off (a no-op) when stderr is not a terminal or `quiet` is set.
 */
export function progressBar(label: string, unit: string, quiet = false): Progress & { detail(text: string): void } {
  let detail = '';
  if (!process.stderr.isTTY || quiet) return { update() {}, stop() {}, detail() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {detail}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const start = Date.now();
  let started = false;
  return {
    update(done, total) {
      const rate = (done / Math.max((Date.now() - start) / 1000, 1e-3)).toFixed(0);
      if (!started) {
        bar.start(total, done, { rate, detail });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, { rate, detail });
      }
    },
    detail(text) {
      detail = text;
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
