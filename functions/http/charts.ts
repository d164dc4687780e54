/**
 * SVG chart primitives for the dashboard (functions/http/dashboard.ts): scales, axis ticks, and
 * column (stacked), horizontal (grouped) bar, step-line and interval panels, as markup strings.
 * Pure: no Hono, no AWS, no DOM. Colours come from classes in the page's one inline style sheet,
 * never from `style=` attributes, which the page's Content-Security-Policy blocks. Every text that
 * reaches the markup goes through `esc`.
 *
 * Every data mark carries class `mark` and a `<title>` (its tooltip), and each panel returns how
 * many it drew, so a page can say how many points a chart shows (`data-points`). A zero value
 * draws nothing and counts nothing.
 */
import { escapeHtml } from '#shared/html';

export const esc = escapeHtml;

/** Coordinates to one decimal: a smaller page, and no visible difference. */
export const round = (n: number): number => Math.round(n * 10) / 10;

export interface LinearScale {
  (v: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

/** Maps [d0, d1] onto [r0, r1] linearly (an empty domain maps everything to r0). */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const f = (v: number) => (span === 0 ? r0 : r0 + ((v - d0) / span) * (r1 - r0));
  return Object.assign(f, { domain, range });
}

/** A step of 1, 2 or 5 times a power of ten that cuts `span` into about `count` intervals. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const pow = 10 ** Math.floor(Math.log10(raw));
  const e = raw / pow;
  // The thresholds are the geometric midpoints between 1, 2, 5 and 10 (as d3 does).
  return (e >= Math.sqrt(50) ? 10 : e >= Math.sqrt(10) ? 5 : e >= Math.sqrt(2) ? 2 : 1) * pow;
}

/** Ticks from 0 up to the first nice value at or above `max`; [0, 1] when there is nothing above 0. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const step = niceStep(max, count);
  const n = Math.ceil(max / step - 1e-9);
  // toPrecision: 3 × 0.1 is 0.30000000000000004, which would show in a label.
  return Array.from({ length: n + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

export interface Band {
  /** Left edge of the i-th band's bar. */
  x(i: number): number;
  /** Width of a bar (the band minus its padding). */
  readonly width: number;
  /** Distance between the starts of two bands. */
  readonly step: number;
}

/** `n` equal bands over [r0, r1], each bar centred in its band with `padding` (a share of the band) around it. */
export function bandScale(n: number, range: readonly [number, number], padding = 0.2): Band {
  const [r0, r1] = range;
  const step = n > 0 ? (r1 - r0) / n : 0;
  return { x: (i) => r0 + i * step + (step * padding) / 2, width: step * (1 - padding), step };
}

/** Label every n-th category (the first always) so that no more than `max` labels are drawn. */
export function labelEvery(n: number, max: number): number {
  return Math.max(1, Math.ceil(n / Math.max(1, max)));
}

/** The plotting area of a panel, in SVG user units. */
export interface Plot {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A panel's markup and how many data marks it drew. */
export interface Panel {
  svg: string;
  marks: number;
}

/** A panel whose height follows its data (one row per category). */
export interface SizedPanel extends Panel {
  height: number;
}

const title = (text: string) => `<title>${esc(text)}</title>`;
const n1 = (v: number) => String(round(v));

/** A whole chart: scales to its container's width through `viewBox`; `label` is its accessible name. */
export function svgDoc(width: number, height: number, label: string, body: string): string {
  return `<svg viewBox="0 0 ${n1(width)} ${n1(height)}" role="img" preserveAspectRatio="xMinYMin meet">${title(label)}${body}</svg>`;
}

export function text(x: number, y: number, content: string, cls = 'lbl', anchor: 'start' | 'middle' | 'end' = 'start'): string {
  return `<text class="${cls}" x="${n1(x)}" y="${n1(y)}"${anchor === 'start' ? '' : ` text-anchor="${anchor}"`}>${esc(content)}</text>`;
}

/** Horizontal grid lines with their values at the left of the plot. */
export function yAxis(plot: Plot, scale: LinearScale, ticks: readonly number[], format: (v: number) => string): string {
  return ticks
    .map((t) => {
      const y = scale(t);
      return `<line class="gl" x1="${n1(plot.x)}" x2="${n1(plot.x + plot.width)}" y1="${n1(y)}" y2="${n1(y)}"/>${text(plot.x - 4, y + 4, format(t), 'tick', 'end')}`;
    })
    .join('');
}

/** Vertical grid lines with their values under the plot. */
export function xAxis(plot: Plot, scale: LinearScale, ticks: readonly number[], format: (v: number) => string): string {
  return ticks
    .map((t) => {
      const x = scale(t);
      return `<line class="gl" x1="${n1(x)}" x2="${n1(x)}" y1="${n1(plot.y)}" y2="${n1(plot.y + plot.height)}"/>${text(x, plot.y + plot.height + 14, format(t), 'tick', 'middle')}`;
    })
    .join('');
}

export interface Layer {
  name: string;
  /** Colour class (`c0`…`c5`). */
  cls: string;
  /** One value per category. */
  values: readonly number[];
}

export interface ColumnOptions {
  format: (v: number) => string;
  /** What a value counts, for tooltips ("touches"). */
  unit: string;
  /** At most this many category labels under the axis (the rest are in the tooltips and the table). */
  maxLabels?: number;
}

/**
 * Vertical columns per category, layers stacked bottom-up in the order given (one layer: plain
 * bars). The y scale runs from 0 to a nice value above the tallest stack.
 */
export function columns(plot: Plot, categories: readonly string[], layers: readonly Layer[], opts: ColumnOptions): Panel {
  const totals = categories.map((_, i) => layers.reduce((s, l) => s + (l.values[i] ?? 0), 0));
  const ticks = niceTicks(Math.max(0, ...totals));
  const y = linearScale([0, ticks[ticks.length - 1] as number], [plot.y + plot.height, plot.y]);
  const band = bandScale(categories.length, [plot.x, plot.x + plot.width]);
  const every = labelEvery(categories.length, opts.maxLabels ?? 6);
  let marks = 0;
  const parts = [yAxis(plot, y, ticks, opts.format)];
  categories.forEach((cat, i) => {
    let base = 0;
    for (const layer of layers) {
      const v = layer.values[i] ?? 0;
      if (v <= 0) continue;
      const top = y(base + v);
      const tip = layers.length > 1 ? `${cat}: ${opts.format(v)} ${layer.name} (${opts.format(totals[i] as number)} ${opts.unit} in all)` : `${cat}: ${opts.format(v)} ${opts.unit}`;
      parts.push(`<rect class="mark ${layer.cls}" x="${n1(band.x(i))}" y="${n1(top)}" width="${n1(band.width)}" height="${n1(y(base) - top)}">${title(tip)}</rect>`);
      base += v;
      marks++;
    }
    if (i % every === 0) parts.push(text(band.x(i) + band.width / 2, plot.y + plot.height + 14, cat, 'tick', 'middle'));
  });
  parts.push(`<line class="axis" x1="${n1(plot.x)}" x2="${n1(plot.x + plot.width)}" y1="${n1(plot.y + plot.height)}" y2="${n1(plot.y + plot.height)}"/>`);
  return { svg: parts.join(''), marks };
}

export interface BarSeries {
  name: string;
  cls: string;
  /** One value per category; null: not known (nothing drawn, "no data" in the tooltip). */
  values: readonly (number | null)[];
  /** The text at the end of each bar; the formatted value when absent. */
  labels?: readonly string[];
}

export interface Reference {
  value: number;
  label: string;
  /** `alarm`, `review` or `target`. */
  cls: string;
}

export interface BarOptions {
  format: (v: number) => string;
  /** Vertical lines at these values (thresholds, a target share), labelled at the top. */
  refs?: readonly Reference[];
  /** The scale's end; otherwise a nice value above the largest value and reference. */
  max?: number;
  /**
   * Labels in a column this wide at the left of the bars (short names: stages, providers);
   * without it each label sits above its bars, so long names (owners, series) stay whole on a phone.
   */
  labelWidth?: number;
}

/** Row geometry of horizontal bars (SVG units). */
export const BAR = { label: 15, bar: 12, gap: 8, refLabel: 14, valueWidth: 72 } as const;

/**
 * Horizontal bars, one row per category with one bar per series (grouped), the value written after
 * each bar, and reference lines drawn across. Height = what the rows need.
 */
export function hbars(x: number, y: number, width: number, categories: readonly string[], series: readonly BarSeries[], opts: BarOptions): SizedPanel {
  const refs = opts.refs ?? [];
  const top = y + (refs.length > 0 ? BAR.refLabel : 0);
  const labelAbove = opts.labelWidth === undefined ? BAR.label : 0;
  const x0 = x + (opts.labelWidth ?? 0);
  const rowHeight = labelAbove + series.length * BAR.bar + BAR.gap;
  const height = top - y + categories.length * rowHeight;
  const largest = Math.max(0, ...series.flatMap((s) => s.values.map((v) => v ?? 0)), ...refs.map((r) => r.value));
  const end = opts.max ?? (niceTicks(largest).at(-1) as number);
  const scale = linearScale([0, end], [x0, x + width - BAR.valueWidth]);
  let marks = 0;
  const parts: string[] = [];
  categories.forEach((cat, ci) => {
    const rowY = top + ci * rowHeight;
    parts.push(labelAbove ? text(x, rowY + BAR.label - 4, cat, 'lbl') : text(x, rowY + (series.length * BAR.bar) / 2 + 4, cat, 'lbl'));
    series.forEach((s, si) => {
      const v = s.values[ci] ?? null;
      const barY = rowY + labelAbove + si * BAR.bar;
      const label = s.labels?.[ci] ?? (v === null ? 'no data' : opts.format(v));
      const tip = `${cat}${series.length > 1 ? `, ${s.name}` : ''}: ${label}`;
      if (v !== null && v > 0) {
        parts.push(`<rect class="mark ${s.cls}" x="${n1(x0)}" y="${n1(barY + 1)}" width="${n1(Math.max(0.5, scale(v) - x0))}" height="${BAR.bar - 2}">${title(tip)}</rect>`);
        marks++;
      }
      parts.push(text((v !== null && v > 0 ? scale(v) : x0) + 3, barY + BAR.bar - 2, label, 'val'));
    });
  });
  for (const r of refs) {
    const rx = scale(r.value);
    parts.push(`<line class="ref ${r.cls}" x1="${n1(rx)}" x2="${n1(rx)}" y1="${n1(top - 2)}" y2="${n1(y + height)}">${title(r.label)}</line>`);
    parts.push(text(rx, y + 10, r.label, `reflbl ${r.cls}`, 'middle'));
  }
  parts.push(`<line class="axis" x1="${n1(x0)}" x2="${n1(x0)}" y1="${n1(top)}" y2="${n1(y + height)}"/>`);
  return { svg: parts.join(''), marks, height };
}

/** One step of a step function: from `x` on, the value is `y`. */
export interface Step {
  x: number;
  y: number;
}

export interface StepLine {
  name: string;
  cls: string;
  /** Where the line starts (x = 0). */
  start: number;
  /** Changes, ascending x. */
  steps: readonly Step[];
  /** The line stops here (the longest follow-up): the curve says nothing beyond it. */
  end: number;
  tip: string;
}

export interface Dot {
  x: number;
  y: number;
  cls: string;
  tip: string;
}

export interface StepOptions {
  xMax: number;
  xTicks: readonly number[];
  xFormat: (v: number) => string;
  yFormat: (v: number) => string;
  /** Dashed vertical guides (e.g. the 30/90/180/365-day horizons). */
  guides?: readonly number[];
  dots?: readonly Dot[];
}

/** The path of a step function from x = 0 to its end, clipped at `xMax`, as H/V commands. */
export function stepPath(line: StepLine, x: LinearScale, y: LinearScale, xMax: number): string {
  const end = Math.min(line.end, xMax);
  let d = `M${n1(x(0))} ${n1(y(line.start))}`;
  for (const s of line.steps) {
    if (s.x > end) break;
    d += `H${n1(x(s.x))}V${n1(y(s.y))}`;
  }
  return `${d}H${n1(x(end))}`;
}

/** Step lines (Kaplan-Meier curves) over [0, xMax], y from 0 to a nice value above the highest step or dot. */
export function stepLines(plot: Plot, lines: readonly StepLine[], opts: StepOptions): Panel {
  const dots = opts.dots ?? [];
  const largest = Math.max(0, ...lines.flatMap((l) => [l.start, ...l.steps.filter((s) => s.x <= opts.xMax).map((s) => s.y)]), ...dots.map((d) => d.y));
  const yTicks = niceTicks(largest);
  const x = linearScale([0, opts.xMax], [plot.x, plot.x + plot.width]);
  const y = linearScale([0, yTicks[yTicks.length - 1] as number], [plot.y + plot.height, plot.y]);
  const parts = [yAxis(plot, y, yTicks, opts.yFormat), xAxis(plot, x, opts.xTicks, opts.xFormat)];
  for (const g of opts.guides ?? []) parts.push(`<line class="guide" x1="${n1(x(g))}" x2="${n1(x(g))}" y1="${n1(plot.y)}" y2="${n1(plot.y + plot.height)}"/>`);
  for (const l of lines) parts.push(`<path class="mark line ${l.cls}" d="${stepPath(l, x, y, opts.xMax)}">${title(l.tip)}</path>`);
  for (const d of dots) parts.push(`<circle class="mark dot ${d.cls}" cx="${n1(x(d.x))}" cy="${n1(y(d.y))}" r="3">${title(d.tip)}</circle>`);
  return { svg: parts.join(''), marks: lines.length + dots.length };
}

export interface IntervalMark {
  estimate: number;
  lower: number;
  upper: number;
  tip: string;
}

/** Width two centred interval labels ("-21.9 pp") need side by side. */
const INTERVAL_LABEL_ROOM = 60;

/**
 * An estimate with its interval on a horizontal axis that always shows 0, so "does the interval
 * cross zero?" can be seen at a glance.
 */
export function intervalStrip(plot: Plot, mark: IntervalMark, format: (v: number) => string): Panel {
  const lo = Math.min(0, mark.lower);
  const hi = Math.max(0, mark.upper);
  const pad = (hi - lo || 1) * 0.1;
  const x = linearScale([lo - pad, hi + pad], [plot.x, plot.x + plot.width]);
  const mid = plot.y + plot.height / 2;
  const parts = [
    `<line class="axis" x1="${n1(plot.x)}" x2="${n1(plot.x + plot.width)}" y1="${n1(mid)}" y2="${n1(mid)}"/>`,
    `<line class="zero" x1="${n1(x(0))}" x2="${n1(x(0))}" y1="${n1(plot.y)}" y2="${n1(plot.y + plot.height)}"/>`,
    text(x(0), plot.y + plot.height + 12, '0', 'tick', 'middle'),
    `<g class="mark interval">${title(mark.tip)}<line x1="${n1(x(mark.lower))}" x2="${n1(x(mark.upper))}" y1="${n1(mid)}" y2="${n1(mid)}"/><circle cx="${n1(x(mark.estimate))}" cy="${n1(mid)}" r="4"/></g>`,
  ];
  // A narrow interval would put its two labels on top of each other: split them at its middle.
  const [xl, xu] = [x(mark.lower), x(mark.upper)];
  if (xu - xl >= INTERVAL_LABEL_ROOM) parts.push(text(xl, plot.y - 3, format(mark.lower), 'tick', 'middle'), text(xu, plot.y - 3, format(mark.upper), 'tick', 'middle'));
  else parts.push(text((xl + xu) / 2 - 2, plot.y - 3, format(mark.lower), 'tick', 'end'), text((xl + xu) / 2 + 2, plot.y - 3, format(mark.upper), 'tick', 'start'));
  return { svg: parts.join(''), marks: 1 };
}

/** A legend in HTML under the chart (it wraps on a phone where SVG text would not). */
export function legendHtml(items: readonly { name: string; cls: string }[]): string {
  if (items.length === 0) return '';
  return `<ul class="legend">${items.map((i) => `<li><span class="sw ${esc(i.cls)}"></span>${esc(i.name)}</li>`).join('')}</ul>`;
}

/** The numbers behind a chart, for screen readers and copying. */
export function dataTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number, tag: 'td' | 'th') => `<${tag}>${esc(String(v))}</${tag}>`;
  return `<details><summary>Data (${rows.length} ${rows.length === 1 ? 'row' : 'rows'})</summary><div class="scroll"><table><thead><tr>${headers.map((h) => cell(h, 'th')).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((v, i) => cell(v, i === 0 ? 'th' : 'td')).join('')}</tr>`)
    .join('')}</tbody></table></div></details>`;
}
