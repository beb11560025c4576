// The report's charts as inline SVG strings: a line chart (training curves) and a horizontal bar
// chart with error bars (win rates). No script and no network: the page reads the same in any
// browser, with JavaScript off, and in a mail client.

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About five round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const fmtTick = (v: number): string => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3))));

export interface Series {
  name: string;
  points: Array<[number, number]>;
  /** Default: the palette colour of the series' index (give one to keep a method's colour across charts). */
  color?: string;
}

/** A line per series over a shared x axis; non-finite points are left out. */
export function lineChart(title: string, series: readonly Series[], o: { xLabel?: string; width?: number; height?: number } = {}): string {
  const W = o.width ?? 420, H = o.height ?? 240, left = 56, right = 12, top = 28, bottom = 40;
  const pts = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  if (pts.length === 0) return '';
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const sx = (x: number): number => left + ((x - x0) / (x1 - x0)) * (W - left - right);
  const sy = (y: number): number => H - bottom - ((y - y0) / (y1 - y0)) * (H - top - bottom);
  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" class="title">${escapeHtml(title)}</text>`);
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${left - 4}" y="${(sy(t) + 3).toFixed(1)}" text-anchor="end" class="tick">${fmtTick(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1)) parts.push(`<text x="${sx(t).toFixed(1)}" y="${H - bottom + 14}" text-anchor="middle" class="tick">${fmtTick(t)}</text>`);
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${H - bottom}" y2="${H - bottom}" class="axis"/><line x1="${left}" x2="${left}" y1="${top}" y2="${H - bottom}" class="axis"/>`);
  if (o.xLabel) parts.push(`<text x="${(left + W - right) / 2}" y="${H - 6}" text-anchor="middle" class="tick">${escapeHtml(o.xLabel)}</text>`);
  series.forEach((s, i) => {
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (ok.length === 0) return;
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const d = ok.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    parts.push(ok.length === 1
      ? `<circle cx="${sx(ok[0]![0]).toFixed(1)}" cy="${sy(ok[0]![1]).toFixed(1)}" r="3" fill="${color}" class="series"><title>${escapeHtml(s.name)}</title></circle>`
      : `<polyline points="${d}" fill="none" stroke="${color}" stroke-width="1.6" class="series"><title>${escapeHtml(s.name)}</title></polyline>`);
  });
  const legend = series.length > 1
    ? series.map((s, i) => `<span class="key"><span class="swatch" style="background:${s.color ?? PALETTE[i % PALETTE.length]}"></span>${escapeHtml(s.name)}</span>`).join(' ')
    : '';
  return `<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">${parts.join('')}</svg>${legend ? `<figcaption>${legend}</figcaption>` : ''}</figure>`;
}

export interface Bar {
  label: string;
  /** Value and interval in [0, 1]. */
  value: number;
  lo: number;
  hi: number;
}

/** Horizontal bars in [0, 100]%, with interval whiskers and a dashed line at `reference`. */
export function barChart(title: string, bars: readonly Bar[], o: { reference?: number; width?: number } = {}): string {
  if (bars.length === 0) return '';
  const W = o.width ?? 560, row = 30, left = 190, right = 60, top = 30, bottom = 30;
  const H = top + bottom + row * bars.length;
  const sx = (v: number): number => left + Math.max(0, Math.min(1, v)) * (W - left - right);
  const parts: string[] = [`<text x="${W / 2}" y="16" text-anchor="middle" class="title">${escapeHtml(title)}</text>`];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${top - 4}" y2="${H - bottom}" class="grid"/>`);
    parts.push(`<text x="${sx(t)}" y="${H - bottom + 14}" text-anchor="middle" class="tick">${t * 100}%</text>`);
  }
  bars.forEach((b, i) => {
    const y = top + i * row;
    parts.push(`<text x="${left - 8}" y="${y + row / 2 + 4}" text-anchor="end" class="label">${escapeHtml(b.label)}</text>`);
    parts.push(`<rect x="${left}" y="${y + 6}" width="${(sx(b.value) - left).toFixed(1)}" height="${row - 12}" fill="${PALETTE[0]}" class="bar"><title>${escapeHtml(`${b.label}: ${(100 * b.value).toFixed(1)}% (${(100 * b.lo).toFixed(1)}-${(100 * b.hi).toFixed(1)})`)}</title></rect>`);
    const cy = y + row / 2;
    parts.push(`<line x1="${sx(b.lo).toFixed(1)}" x2="${sx(b.hi).toFixed(1)}" y1="${cy}" y2="${cy}" class="whisker"/>`);
    for (const v of [b.lo, b.hi]) parts.push(`<line x1="${sx(v).toFixed(1)}" x2="${sx(v).toFixed(1)}" y1="${cy - 5}" y2="${cy + 5}" class="whisker"/>`);
    parts.push(`<text x="${W - right + 6}" y="${cy + 4}" class="label">${(100 * b.value).toFixed(1)}%</text>`);
  });
  if (o.reference !== undefined) parts.push(`<line x1="${sx(o.reference)}" x2="${sx(o.reference)}" y1="${top - 4}" y2="${H - bottom}" class="reference"/>`);
  return `<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">${parts.join('')}</svg></figure>`;
}

/** The stylesheet the charts' classes refer to. */
export const CHART_CSS = `
.chart { display: inline-block; margin: 0 12px 16px 0; vertical-align: top; }
.chart svg { font: 11px system-ui, sans-serif; background: #fff; }
.chart .title { font-weight: 600; font-size: 12px; }
.chart .tick { fill: #555; }
.chart .label { fill: #222; }
.chart .grid { stroke: #e5e5e5; }
.chart .axis { stroke: #888; }
.chart .whisker { stroke: #222; stroke-width: 1.4; }
.chart .reference { stroke: #888; stroke-dasharray: 4 3; }
.chart figcaption { font: 11px system-ui, sans-serif; max-width: 420px; }
.chart .key { white-space: nowrap; margin-right: 8px; }
.chart .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 3px; vertical-align: -1px; }
`;
