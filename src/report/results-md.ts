// results.md: the comparison in the paper's form (a row per comparison, "% preferred" each way, the
// interval and n), then what each labeler produced and what each policy became.
import { METHOD_LABELS, type CompareResult } from '../eval/compare.js';
import { SOFT_LABEL_BINS } from '../eval/label-stats.js';

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | undefined, digits = 2): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

export function resultsMarkdown(r: CompareResult): string {
  const lines: string[] = [];
  const seeds = r.seeds.length > 1 ? `seeds ${r.seeds.join(', ')} pooled` : `seed ${r.seeds[0]}`;
  lines.push(`# RLCD comparison: ${r.task} on ${r.model}`, '');
  lines.push(`Judge: \`${r.judge}\`; ${seeds}; ${(r.seconds / 60).toFixed(1)} min for this run. Each row: RLCD-PPO against another policy on the held-out prompts; ties and unreadable verdicts count half to each side. The interval is a 95% bootstrap over prompts; "length-controlled" is the win rate at equal response length (AlpacaEval 2's logistic correction).`, '');
  lines.push('| Comparison | RLCD-PPO preferred | Other preferred | 95% interval | s.e. | Length-controlled | n |', '|---|---|---|---|---|---|---|');
  for (const c of r.comparisons) {
    const perSeed = c.perSeed.length > 1 ? ` (per seed: ${c.perSeed.map((s) => pct(s.winRate)).join(', ')})` : '';
    lines.push(`| RLCD-PPO vs ${METHOD_LABELS[c.b]} | ${pct(c.winRate)}${perSeed} | ${pct(1 - c.winRate)} | ${pct(c.ci95[0])}-${pct(c.ci95[1])} | ${num(100 * c.stderr, 1)} | ${pct(c.lengthControlled)} | ${c.n} |`);
  }
  lines.push('', '## Simulated preference labels', '');
  const bins = SOFT_LABEL_BINS.map((lo, i) => `${lo.toFixed(1)}-${(SOFT_LABEL_BINS[i + 1] ?? 1).toFixed(1)}`);
  lines.push(`| Labeler | Seed | Pairs | Dropped (reasons) | Mean p_chosen | p_chosen in ${bins.join(' / ')} | Judge agrees with label |`, '|---|---|---|---|---|---|---|');
  for (const l of r.labels) {
    const reasons = Object.entries(l.dropReasons).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`| ${l.labeler} | ${l.seed} | ${l.pairs} | ${l.dropped}${reasons ? ` (${reasons})` : ''} | ${num(l.meanPChosen, 3)} | ${l.softLabels.join(' / ')} | ${pct(l.judgeAgreement)} |`);
  }
  lines.push('', '## Policies', '');
  lines.push('| Method | Seed | KL to base (nats/response) | Mean length (tokens) | Finished | PM held-out accuracy | Training time |', '|---|---|---|---|---|---|---|');
  for (const p of r.policies) {
    const seconds = Object.values(p.stageSeconds).reduce((s, v) => s + v, 0);
    lines.push(`| ${METHOD_LABELS[p.method]} | ${p.seed} | ${num(p.klToBase)} | ${num(p.meanLength, 1)} | ${pct(p.finished)} | ${pct(p.pmAccuracy)} | ${p.method === 'base' ? '-' : `${seconds.toFixed(0)} s`} |`);
  }
  lines.push('');
  return lines.join('\n');
}
