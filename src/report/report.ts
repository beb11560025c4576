// report.html: one self-contained page (inline SVG, inline CSS, no script, no network) for a
// compare directory (win rates with intervals, training curves per method, label statistics,
// per-policy figures, sample outputs side by side) or an align directory (its stages, curves and
// PPO rollouts). Written by `rlcd compare` and by `rlcd report DIR`.
import fs from 'node:fs';
import path from 'node:path';
import { METHOD_LABELS, type CompareResult } from '../eval/compare.js';
import type { EvalRecord } from '../eval/evaluate.js';
import { SOFT_LABEL_BINS } from '../eval/label-stats.js';
import type { CompareMethod } from '../config/compare.js';
import { atomicWriteFile } from '../util/atomic.js';
import { barChart, CHART_CSS, escapeHtml, lineChart, PALETTE, type Series } from './svg.js';

export const REPORT_FILE = 'report.html';

type Row = Record<string, unknown>;

function readJsonlLoose(file: string): Row[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l) as Row];
    } catch {
      return []; // a torn last line of a run in progress
    }
  });
}

/** The (step, value) points of one metric in a metrics.jsonl. */
function curve(file: string, key: string): Array<[number, number]> {
  return readJsonlLoose(file).flatMap((r) => (typeof r.step === 'number' && typeof r[key] === 'number' ? [[r.step, r[key] as number] as [number, number]] : []));
}

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | undefined, d = 2): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Training curves: for each chart, a series per run directory that logged the metric. */
const CURVES: Array<{ title: string; file: string; key: string }> = [
  { title: 'Preference model: loss', file: 'pm/metrics.jsonl', key: 'loss' },
  { title: 'Preference model: accuracy', file: 'pm/metrics.jsonl', key: 'accuracy' },
  { title: 'PPO: preference-model score', file: 'policy/metrics.jsonl', key: 'objective/scores' },
  { title: 'PPO: KL to the reference (nats)', file: 'policy/metrics.jsonl', key: 'objective/kl' },
  { title: 'PPO: entropy', file: 'policy/metrics.jsonl', key: 'objective/entropy' },
  { title: 'PPO: response length (tokens)', file: 'policy/metrics.jsonl', key: 'response_length' },
  { title: 'PPO: clip fraction', file: 'policy/metrics.jsonl', key: 'policy/clipfrac_avg' },
  { title: 'DPO: reward margin', file: 'policy/metrics.jsonl', key: 'rewards/margins' },
  { title: 'SFT / DPO: loss', file: 'policy/metrics.jsonl', key: 'loss' },
];

function curveCharts(runs: ReadonlyArray<{ name: string; dir: string }>): string {
  return CURVES.map(({ title, file, key }) => {
    // A run keeps its colour in every chart.
    const series: Series[] = runs.map((r, i) => ({ name: r.name, color: PALETTE[i % PALETTE.length]!, points: curve(path.join(r.dir, file), key) })).filter((s) => s.points.length > 0);
    return series.length ? lineChart(title, series, { xLabel: 'step' }) : '';
  }).join('');
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f5f5f5; }
.meta { color: #555; }
.samples td { max-width: 360px; white-space: pre-wrap; }
${CHART_CSS}
</style></head><body>
${body}
<p class="meta">Written by rlcd. No scripts, no network: every chart is inline SVG.</p>
</body></html>
`;
}

function compareReport(dir: string, r: CompareResult): string {
  const first = r.seeds[0]!;
  const dirOf = (m: CompareMethod): string => path.join(dir, m === 'base' ? 'base' : m);
  const parts: string[] = [];
  parts.push(`<h1>RLCD comparison: ${escapeHtml(r.task)}</h1>`);
  parts.push(`<p class="meta">Base model ${escapeHtml(r.model)}; judge <code>${escapeHtml(r.judge)}</code>; seeds ${r.seeds.join(', ')}; methods ${r.methods.map((m) => METHOD_LABELS[m]).join(', ')}; ${(r.seconds / 60).toFixed(1)} min.</p>`);

  parts.push('<h2>Win rates of RLCD-PPO</h2>');
  parts.push(barChart('RLCD-PPO preferred (95% bootstrap interval)', r.comparisons.map((c) => ({ label: `vs ${METHOD_LABELS[c.b]}`, value: c.winRate, lo: c.ci95[0], hi: c.ci95[1] })), { reference: 0.5 }));
  parts.push(table(['Comparison', 'RLCD-PPO preferred', 'Other preferred', '95% interval', 's.e.', 'Length-controlled', 'Mean length (RLCD / other)', 'n'],
    r.comparisons.map((c) => [`RLCD-PPO vs ${METHOD_LABELS[c.b]}`, pct(c.winRate), pct(1 - c.winRate), `${pct(c.ci95[0])}-${pct(c.ci95[1])}`, num(100 * c.stderr, 1), pct(c.lengthControlled), `${num(c.meanLengthA, 1)} / ${num(c.meanLengthB, 1)}`, String(c.n)])));

  parts.push('<h2>Training curves</h2>');
  parts.push(curveCharts(r.methods.filter((m) => m !== 'base').map((m) => ({ name: METHOD_LABELS[m], dir: dirOf(m) }))));

  parts.push('<h2>Simulated preference labels</h2>');
  const bins = SOFT_LABEL_BINS.map((lo, i) => `${lo.toFixed(1)}-${(SOFT_LABEL_BINS[i + 1] ?? 1).toFixed(1)}`);
  parts.push(table(['Labeler', 'Seed', 'Pairs', 'Dropped', 'Mean p_chosen', `p_chosen in ${bins.join(' / ')}`, 'Judge agrees with label'],
    r.labels.map((l) => [l.labeler, String(l.seed), String(l.pairs), `${l.dropped}${Object.keys(l.dropReasons).length ? ` (${Object.entries(l.dropReasons).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`, num(l.meanPChosen, 3), l.softLabels.join(' / '), pct(l.judgeAgreement)])));
  const hist = r.labels.filter((l) => l.seed === first);
  if (hist.length) parts.push(barChart('Share of pairs with p_chosen >= 0.9', hist.map((l) => { const v = l.pairs ? l.softLabels[l.softLabels.length - 1]! / l.pairs : 0; return { label: l.labeler, value: v, lo: v, hi: v }; })));

  parts.push('<h2>Policies</h2>');
  parts.push(table(['Method', 'Seed', 'KL to base (nats/response)', 'Mean length (tokens)', 'Finished', 'PM held-out accuracy', 'Training time'],
    r.policies.map((p) => [METHOD_LABELS[p.method], String(p.seed), num(p.klToBase), num(p.meanLength, 1), pct(p.finished), pct(p.pmAccuracy), p.method === 'base' ? '-' : `${Object.values(p.stageSeconds).reduce((s, v) => s + v, 0).toFixed(0)} s`])));

  // Samples: the same prompts, RLCD-PPO's response (side A of every evaluation) beside the others'.
  parts.push('<h2>Sample outputs</h2>');
  const others = r.comparisons.map((c) => c.b);
  const byOther = new Map(others.map((m) => [m, readJsonlLoose(path.join(dir, 'eval', `rlcd-vs-${m}`, 'records.jsonl')) as unknown as EvalRecord[]]));
  const shownOrder: CompareMethod[] = ['base', 'rlcd', 'rlaif', ...others.filter((m) => m !== 'base' && m !== 'rlaif')];
  const columns = shownOrder.filter((m) => m === 'rlcd' || byOther.has(m));
  const anyRecords = [...byOther.values()].find((rs) => rs.length > 0) ?? [];
  const rows = anyRecords.filter((x) => x.sample === 0).slice(0, 8).map((x) => [
    x.prompt,
    ...columns.map((m) => (m === 'rlcd' ? x.a : byOther.get(m)?.find((y) => y.promptIndex === x.promptIndex && y.sample === 0)?.b ?? '')),
  ]);
  parts.push(`<div class="samples">${table(['Prompt', ...columns.map((m) => METHOD_LABELS[m])], rows)}</div>`);
  return page(`RLCD comparison: ${r.task}`, parts.join('\n'));
}

function alignReport(dir: string): string {
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { config: Row; stages: Record<string, Row>; seconds: number; peakRssMb: number };
  const c = summary.config;
  const parts: string[] = [];
  parts.push(`<h1>rlcd align: ${escapeHtml(String(c.task))} (${escapeHtml(String(c.method))}${c.method === 'context-distillation' ? '' : `, ${escapeHtml(String(c.algorithm))}`})</h1>`);
  parts.push(`<p class="meta">Base model ${escapeHtml(String(c.model))}; prompts ${escapeHtml(String(c.prompts))}; seed ${escapeHtml(String(c.seed))}; peak RSS ${num(summary.peakRssMb, 0)} MB.</p>`);
  parts.push('<h2>Stages</h2>');
  parts.push(table(['Stage', 'Seconds', 'Figures'], Object.entries(summary.stages).map(([name, s]) => {
    const { done: _d, seconds, peakRssMb: _p, ...figures } = s;
    return [name, num(Number(seconds), 1), JSON.stringify(figures)];
  })));
  parts.push('<h2>Training curves</h2>');
  parts.push(curveCharts([{ name: String(c.method), dir }]));
  const rollouts = readJsonlLoose(path.join(dir, 'policy', 'rollouts.jsonl'));
  if (rollouts.length) {
    const last = Math.max(...rollouts.map((r) => Number(r.step)));
    const firstStep = Math.min(...rollouts.map((r) => Number(r.step)));
    parts.push(`<h2>PPO rollouts at steps ${firstStep} and ${last}</h2>`);
    const pick = (s: number) => rollouts.filter((r) => r.step === s).slice(0, 4).map((r) => [String(r.step), String(r.prompt), String(r.response), num(Number(r.score), 3)]);
    parts.push(`<div class="samples">${table(['Step', 'Prompt', 'Response', 'Score'], [...pick(firstStep), ...pick(last)])}</div>`);
  }
  return page(`rlcd align: ${String(c.task)}`, parts.join('\n'));
}

/** The report of a compare or align directory as HTML. */
export function buildReportHtml(dir: string): string {
  if (fs.existsSync(path.join(dir, 'results.json')) && fs.existsSync(path.join(dir, 'compare-config.json'))) {
    return compareReport(dir, JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')) as CompareResult);
  }
  if (fs.existsSync(path.join(dir, 'summary.json')) && fs.existsSync(path.join(dir, 'align-config.json'))) return alignReport(dir);
  throw new RangeError(`${dir}: neither a finished rlcd compare directory (results.json) nor an rlcd align directory (summary.json)`);
}

/** Writes DIR/report.html; returns its path. */
export function writeReport(dir: string): string {
  const file = path.join(dir, REPORT_FILE);
  atomicWriteFile(file, buildReportHtml(dir));
  return file;
}
