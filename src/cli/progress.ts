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
/** A bar on stderr in the given cli-progress format, cleared when it completes. */
function stderrBar(format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar({ stream: process.stderr, format, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
}

export function progressBar(label: string, unit: string, quiet = false): Progress & { detail(text: string): void } {
  let detail = '';
  if (!process.stderr.isTTY || quiet) return { update() {}, stop() {}, detail() {} };
  const bar = stderrBar(`${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted} {detail}`);
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

/** Bytes as people read them: 2.6 MB, 780 kB, 12 B (powers of 1000, as the hub's pages show sizes). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}

/** A bar for bytes (a download): done/total and the rate in kB/MB per second. Off like progressBar. */
export function byteProgressBar(label: string, quiet = false): Progress {
  if (!process.stderr.isTTY || quiet) return { update() {}, stop() {} };
  const bar = stderrBar(`${label} [{bar}] {percentage}% | {done}/{size} | {speed}/s | ETA {eta_formatted}`);
  const start = Date.now();
  let started = false;
  return {
    update(done, total) {
      const payload = { done: formatBytes(done), size: formatBytes(total), speed: formatBytes(done / Math.max((Date.now() - start) / 1000, 1e-3)) };
      if (!started) {
        bar.start(Math.max(total, 1), done, payload);
        started = true;
      } else {
        bar.setTotal(Math.max(total, 1));
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
