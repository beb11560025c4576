// rlcd evaluate: pairwise win rate of model A against model B under a judge.
import { evaluateFields } from '../config/evaluate.js';
import { evaluate, type EvaluateResult } from '../eval/evaluate.js';
import { stageCommand } from './command.js';
import { eventReporter } from './train-report.js';
import { flag } from '../config/schema.js';

const pct = (x: number): string => (100 * x).toFixed(1);

/** One paragraph a person reads: the win rate, its uncertainty, and what could bias it. */
export function describeResult(r: EvaluateResult): string {
  return [
    `${r.a} vs ${r.b} (judge ${r.judge}, ${r.n} comparisons on ${r.prompts} prompts):`,
    `  A preferred ${pct(r.winRate)}% (B ${pct(1 - r.winRate)}%), standard error ${pct(r.stderr)}, 95% bootstrap interval ${pct(r.ci95[0])}-${pct(r.ci95[1])}%`,
    `  length-controlled ${pct(r.lengthControlled)}%; mean length A ${r.meanLengthA.toFixed(1)}, B ${r.meanLengthB.toFixed(1)} tokens; ${r.wins} wins, ${r.losses} losses, ${r.ties} ties` +
      (r.unparsed ? `; ${r.unparsed} verdicts unreadable (counted 0.5)` : '') + (r.skippedPrompts ? `; ${r.skippedPrompts} prompts too long, left out` : ''),
    `  records in ${r.out}/records.jsonl`,
  ].join('\n');
}

export const evaluateCommand = () =>
  stageCommand('evaluate', 'Pairwise win rate of --a against --b on held-out prompts under a judge (records, interval, length-controlled win rate).', { ...evaluateFields, json: { schema: flag().default(false), doc: 'Print the result as one JSON object.' } }, async ({ json, ...cfg }) => {
    const report = eventReporter('evaluate', cfg.quiet, ['win_rate']);
    try {
      const r = await evaluate(cfg, { onEvent: report.onEvent });
      report.stop();
      process.stdout.write(json ? JSON.stringify(r) + '\n' : describeResult(r) + '\n');
    } finally {
      report.stop();
    }
  });
