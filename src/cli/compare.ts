// rlcd compare: the paper's table (every method trained and judged against RLCD-PPO) and rlcd report.
import { Command } from 'commander';
import { compareFields } from '../config/compare.js';
import { compare } from '../eval/compare.js';
import type { StageEvent } from '../pipeline/stage.js';
import { writeReport } from '../report/report.js';
import { stageCommand } from './command.js';
import { eventReporter } from './train-report.js';

/** A bar per stage of each method's run; messages (a finished comparison row) as lines. */
export function compareReporter(quiet: boolean): { onEvent: (e: StageEvent) => void; stop: () => void } {
  let current: { stage: string; reporter: ReturnType<typeof eventReporter> } | undefined;
  return {
    onEvent(e) {
      if (e.stage === 'compare') {
        current?.reporter.stop();
        current = undefined;
        if (e.message) process.stderr.write(`${e.message}\n`);
        return;
      }
      // In a log (no terminal) the steps of every stage would be thousands of lines: keep its messages.
      if (!process.stderr.isTTY && !e.message) return;
      if (current?.stage !== e.stage) {
        current?.reporter.stop();
        current = { stage: e.stage, reporter: eventReporter(e.stage, quiet, ['loss', 'accuracy', 'objective/scores', 'objective/kl', 'win_rate', 'pairs']) };
      }
      current.reporter.onEvent(e);
    },
    stop: () => current?.reporter.stop(),
  };
}

export const compareCommand = () =>
  stageCommand('compare', "The paper's comparison: base, context distillation, RLAIF, RLCD-Rescore, RLCD (PPO and DPO) trained alike, RLCD-PPO judged against each; results.md and report.html.", compareFields, async (cfg) => {
    const report = compareReporter(cfg.quiet);
    try {
      const r = await compare(cfg, { onEvent: report.onEvent });
      report.stop();
      process.stderr.write(`compare: ${(r.seconds / 60).toFixed(1)} min; table in ${r.out}/results.md, report in ${r.out}/report.html\n`);
    } finally {
      report.stop();
    }
  });

export function reportCommand(): Command {
  return new Command('report')
    .description('Write DIR/report.html for an rlcd compare or align directory (one file, inline SVG, no network).')
    .argument('<DIR>', 'A directory written by rlcd compare or rlcd align.')
    .action((dir: string) => {
      process.stdout.write(writeReport(dir) + '\n');
    })
    .exitOverride();
}
