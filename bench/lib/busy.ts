// `--busy`: a busy-loop process beside the benchmark for its whole run, as on a laptop or CI runner
// that is never idle (one of the two cores taken). Measures how the engine degrades under contention.
import { spawn, type ChildProcess } from 'node:child_process';

export function startBusyLoop(enabled: boolean): { stop(): void; label: string } {
  if (!enabled) return { stop() {}, label: 'idle machine' };
  const child: ChildProcess = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  const stop = (): void => void child.kill('SIGKILL');
  process.on('exit', stop);
  return { stop, label: 'one busy-loop process beside it' };
}
