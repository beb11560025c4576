// rlcd demo: the main job on the built-in model, printing the comparison table as it fills in.
import { Command } from 'commander';
import { demo, demoSettings } from '../eval/demo.js';
import { METHOD_LABELS } from '../eval/compare.js';
import { compareReporter } from './compare.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('RLCD end to end on the built-in model (rlcd-story-base): base, context distillation, RLAIF, RLCD-PPO and RLCD-DPO, judged; writes results.md and report.html.')
    .option('--out <DIR>', 'Output directory (default: rlcd-demo, or rlcd-demo-quick with --quick); a rerun continues it.')
    .option('--quick', 'A one-to-two-minute version: fewer premises and PPO steps, base vs RLAIF vs RLCD-PPO.')
    .option('--threads <N>', 'CPU threads (default: all cores).')
    .action(async (opts: { out?: string; quick?: boolean; threads?: string }) => {
      const quick = opts.quick === true;
      const threads = opts.threads === undefined ? undefined : Number(opts.threads);
      if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`--threads must be a positive integer, got ${opts.threads}`);
      const s = demoSettings(quick);
      process.stderr.write(
        `rlcd demo${quick ? ' --quick' : ''}: align the built-in story model (rlcd-story-base) to write happier stories, without labels.\n` +
          `Methods: ${s.methods.map((m) => METHOD_LABELS[m]).join(', ')}; ${s.trainPremises} training premises, ${s.evalPremises} held-out premises, lexicon judge.\n`,
      );
      const report = compareReporter(false);
      try {
        const r = await demo({ ...(opts.out && { out: opts.out }), quick, ...(threads !== undefined && { threads }) }, { onEvent: report.onEvent });
        report.stop();
        const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
        const lines = [
          '',
          `RLCD-PPO against each method on ${r.comparisons[0]?.prompts ?? 0} held-out premises (${(r.seconds / 60).toFixed(1)} min):`,
          ...r.comparisons.map((c) => `  vs ${METHOD_LABELS[c.b].padEnd(22)} RLCD-PPO preferred ${pct(c.winRate).padStart(6)}  (95% interval ${pct(c.ci95[0])}-${pct(c.ci95[1])})`),
          '',
          `Table: ${r.out}/results.md`,
          `Report: ${r.out}/report.html`,
          '',
        ];
        process.stdout.write(lines.join('\n'));
      } finally {
        report.stop();
      }
    })
    .exitOverride();
}
