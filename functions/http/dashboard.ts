/**
 * GET /dashboard and GET /dashboard/owners (docs/metrics.md, Dashboard): the report as server-rendered
 * HTML pages with inline SVG charts; the per-owner chart has its own page because its reads grow
 * with the number of owners. No script and nothing fetched from anywhere: the CSS is one inline `<style>`
 * allowed by its hash in the Content-Security-Policy, and every link is relative, because the same
 * routes are also mounted under `/feeds` for token-holding readers (a `token` in the query is
 * carried into the links). `dashboardPage` and `ownersPage` are pure; `readDashboard` and `readOwnersDashboard` are the routes' reads.
 */
import { createHash } from 'node:crypto';
import type { MetricsConfig } from '#config/metrics';
import { periodsBetween } from '#domain/metrics/periods';
import { type CohortCurve, HORIZONS, type MetricsReport, metricsReport, type ReportQuery, type AggregateReader } from '#domain/metrics/report';
import { type MetricRow, metricRows } from '#domain/metrics/rows';
import { stages as stageOrder } from '#domain/types';
import { columns, dataTable, esc, hbars, intervalStrip, legendHtml, type Reference, stepLines, type StepLine, svgDoc, text } from './charts.ts';

export interface DashboardOptions {
  /** Counters per period and dimension (the report has dimensions as range totals only): touches by channel per period. */
  rows: readonly MetricRow[];
  thresholds: MetricsConfig['reviewThresholds'];
  /** The configured holdout share (0: no holdout, said so instead of an empty comparison). */
  holdoutPercent: number;
  /** A reader's feed token, carried into every link and the form. */
  token?: string;
}

const count = new Intl.NumberFormat('en-US');
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 });
const fmtCount = (v: number) => count.format(v);
const fmtShare = (v: number) => percent.format(v);
const fmtPerThousand = (v: number) => twoDecimals.format(v);
const fmtPoints = (v: number) => `${v > 0 ? '+' : ''}${oneDecimal.format(v * 100)} pp`;
const fmtShareOrDash = (v: number | null | undefined) => (v === null || v === undefined ? '—' : fmtShare(v));
const money = (amount: number, currency: string) => new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: 0 }).format(amount);

/** Chart width in SVG units: about a phone's column, so 12-unit text stays about 12 px there. */
const W = 360;
// The right margin leaves room for half of the last x label ("365 d").
const PLOT = { left: 42, right: 16, top: 10, bottom: 22 } as const;
const SURVIVAL_DAYS = 365;
/** Period labels under a column chart: "2026-W05" is about 50 units wide. */
const MAX_PERIOD_LABELS = 4;
/** Room for the longest short label (stage, provider, requalification outcome) at the left of its bars. */
const LABEL_COLUMN = 112;

/** Cohort colours, oldest (light) to newest (dark). */
const COHORT_RAMP = ['#b5de2b', '#86d549', '#5ec962', '#3fbc73', '#28ae80', '#1fa088', '#21918c', '#26828e', '#2c728e', '#355f8d', '#3e4989', '#472d7b'];

const STYLE = [
  ':root{color-scheme:light;--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb}',
  '*{box-sizing:border-box}',
  'body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#f9fafb}',
  'header,main,footer{max-width:84rem;margin:0 auto;padding:1rem}',
  'h1{font-size:1.4rem;margin:0 0 .25rem}h2{font-size:1.05rem;margin:0}',
  'p{margin:.3rem 0}.muted,figcaption p,footer{color:var(--muted);font-size:.875rem}',
  '.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem;margin:1rem 0}',
  '.headline div{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem}',
  '.headline dt,.headline .sub{font-size:.8rem;color:var(--muted);font-weight:400}.headline dd{margin:0;font-size:1.5rem;font-weight:600}',
  'nav{margin:.5rem 0}nav a{margin-right:1rem}',
  'form{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end;margin:.5rem 0}',
  'label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted)}',
  'input,select,button{font:inherit;padding:.3rem .5rem}',
  '.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,24rem),1fr));gap:1rem}',
  // A page of one chart keeps a chart's width, not the screen's (its text would grow with it).
  '.charts.one{grid-template-columns:minmax(0,36rem)}',
  '.chart{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:.8rem;min-width:0}',
  'svg{display:block;width:100%;height:auto;margin:.5rem 0}',
  'text{fill:var(--fg);font-size:12px}.tick,.val{font-size:11px}.tick{fill:var(--muted)}.panel{font-weight:600}',
  '.gl{stroke:var(--line)}.axis{stroke:#9ca3af}.guide{stroke:#9ca3af;stroke-dasharray:3 3}.zero{stroke:var(--fg)}',
  '.c0{--c:#2563eb}.c1{--c:#f59e0b}.c2{--c:#059669}.c3{--c:#9ca3af}.c4{--c:#dc2626}.c5{--c:#7c3aed}',
  '.alarm{--c:#d97706}.review{--c:#dc2626}.target{--c:#374151}',
  ...COHORT_RAMP.map((color, i) => `.k${i}{--c:${color}}`),
  '.mark{fill:var(--c)}.line{fill:none;stroke:var(--c);stroke-width:2}.dot{stroke:#fff;stroke-width:1}',
  '.ref{stroke:var(--c);stroke-width:1.5;stroke-dasharray:4 3}.reflbl{fill:var(--c);font-size:10px}',
  // A white halo keeps a value readable where it crosses a threshold line.
  '.val,.reflbl{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}',
  '.interval{--c:var(--fg)}.interval line{stroke:var(--fg);stroke-width:3}',
  '.legend{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.2rem .9rem;font-size:.8rem}',
  '.sw{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.3rem;vertical-align:-.1rem;background:var(--c)}',
  '.empty{font-weight:600;color:#92400e}',
  'details{margin-top:.5rem;font-size:.85rem}.scroll{overflow:auto;max-height:20rem}',
  'table{border-collapse:collapse}th,td{padding:.15rem .5rem;text-align:right;border-bottom:1px solid var(--line);white-space:nowrap}th:first-child{text-align:left}',
  '@media (max-width:30rem){body{font-size:14px}header,main,footer{padding:.6rem}.chart{padding:.5rem}}',
].join('\n');

/** The style sheet's hash, computed once: the CSP allows exactly this inline style and nothing else. */
export const DASHBOARD_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'; img-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;

/** What the dashboard answers with besides the cost headers (tokens may be in the URL: no referrer). */
export const DASHBOARD_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

/** A figure: caption, chart, legend, the "no data yet" line when nothing is drawn, the numbers. */
interface Figure {
  id: string;
  heading: string;
  caption: string;
  svg: string;
  marks: number;
  emptyBecause: string;
  legend?: readonly { name: string; cls: string }[];
  notes?: readonly string[];
  table: string;
}

function figure(f: Figure): string {
  return `<figure class="chart" data-chart="${esc(f.id)}" data-points="${f.marks}"><figcaption><h2>${esc(f.heading)}</h2><p>${esc(f.caption)}</p></figcaption>${
    f.marks === 0 ? `<p class="empty">no data yet: ${esc(f.emptyBecause)}</p>` : ''
  }${f.svg}${legendHtml(f.legend ?? [])}${(f.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join('')}${f.table}</figure>`;
}

const plotOf = (top: number, height: number) => ({ x: PLOT.left, y: top + PLOT.top, width: W - PLOT.left - PLOT.right, height: height - PLOT.top - PLOT.bottom });
const nOf = (r: MetricsReport, metric: string) => r.metrics[metric]?.total.n ?? 0;
const periodN = (r: MetricsReport, metric: string, period: string) => r.metrics[metric]?.periods[period]?.n ?? 0;
const dimension = (r: MetricsReport, metric: string, dim: string) => r.metrics[metric]?.dimensions[dim] ?? {};

function enteredChart(r: MetricsReport): string {
  const values = r.periods.map((p) => periodN(r, 'nurture.entered', p));
  const height = 170;
  const chart = columns(plotOf(0, height), r.periods, [{ name: 'entered', cls: 'c0', values }], { format: fmtCount, unit: 'entered nurture', maxLabels: MAX_PERIOD_LABELS });
  return figure({
    id: 'entered',
    heading: 'Entering nurture',
    caption: `Lost deals entering nurture per ${r.groupBy}: ${fmtCount(nOf(r, 'nurture.entered'))} in the range.`,
    svg: svgDoc(W, height, `Lost deals entering nurture per ${r.groupBy}`, chart.svg),
    marks: chart.marks,
    emptyBecause: `no lost deal entered nurture between ${r.range.from} and ${r.range.to}.`,
    table: dataTable([r.groupBy, 'entered', 're-engaged'], r.periods.map((p) => [p, fmtCount(periodN(r, 'nurture.entered', p)), fmtCount(periodN(r, 'nurture.re-engaged', p))])),
  });
}

/** A Kaplan-Meier curve as a step line of the share re-engaged (1 - S), steps only where events happened. */
function curveLine(c: CohortCurve, name: string, cls: string): StepLine {
  return {
    name,
    cls,
    start: 0,
    steps: c.points.filter((p) => p.events > 0).map((p) => ({ x: p.day, y: 1 - p.survival })),
    end: c.maxFollowUp,
    tip: `${name}: ${fmtCount(c.subjects)} entered, ${fmtShareOrDash(c.reengagedBy.d90)} re-engaged by 90 days, median ${c.medianDays === null ? 'not reached' : `${c.medianDays} days`}, followed up to ${fmtCount(c.maxFollowUp)} days`,
  };
}

const rampClass = (i: number, n: number) => `k${n <= 1 ? COHORT_RAMP.length - 1 : Math.round((i * (COHORT_RAMP.length - 1)) / (n - 1))}`;
// Day 0 is the axis itself: a "0" label would crowd "30 d".
const dayTicks = HORIZONS;
const fmtDay = (d: number) => `${d} d`;

function survivalChart(r: MetricsReport): string {
  const cohorts = r.reengagement.cohorts.filter((c) => c.group === 'nurtured');
  const lines = cohorts.map((c, i) => curveLine(c, `${c.cohort} cohort`, rampClass(i, cohorts.length)));
  const dots = cohorts.flatMap((c, i) =>
    HORIZONS.flatMap((h) => {
      const v = c.reengagedBy[`d${h}`];
      return v === null ? [] : [{ x: h, y: v, cls: rampClass(i, cohorts.length), tip: `${c.cohort} cohort: ${fmtShare(v)} re-engaged by day ${h} (${fmtCount(c.subjects)} entered)` }];
    }),
  );
  const height = 230;
  const chart = stepLines(plotOf(0, height), lines, { xMax: SURVIVAL_DAYS, xTicks: dayTicks, xFormat: fmtDay, yFormat: fmtShare, guides: HORIZONS, dots });
  return figure({
    id: 'survival',
    heading: 'Re-engagement by cohort',
    caption: `Share of each month's nurtured cohort re-engaged by a human signal, by days since the loss (Kaplan-Meier: a young cohort stops where its follow-up ends instead of being undercounted). Dots: the 30, 90, 180 and 365-day marks.`,
    svg: svgDoc(W, height, 'Share re-engaged by days since the loss, one step line per cohort month', chart.svg),
    marks: chart.marks,
    emptyBecause: 'no nurtured cohort entered nurture in this range.',
    legend: cohorts.map((c, i) => ({ name: c.cohort, cls: rampClass(i, cohorts.length) })),
    table: dataTable(
      ['cohort', 'entered', 'by 30 d', 'by 90 d', 'by 180 d', 'by 365 d', 'median days'],
      cohorts.map((c) => [c.cohort, fmtCount(c.subjects), ...HORIZONS.map((h) => fmtShareOrDash(c.reengagedBy[`d${h}`])), c.medianDays === null ? '—' : c.medianDays]),
    ),
  });
}

/** "When will it be large enough?", from the report's power figures. */
export function powerSentence(h: MetricsReport['holdout']): string {
  const p = h.power;
  const need = `To detect a lift of ${oneDecimal.format(p.minimumDetectableLift * 100)} percentage points over a baseline of ${fmtShare(p.baselineRate)}, the holdout needs ${fmtCount(p.holdoutNeeded)} episodes (it has ${fmtCount(h.holdout.entered)}) and the nurtured group ${fmtCount(p.nurturedNeeded)} (it has ${fmtCount(h.nurtured.entered)}).`;
  if (!p.underpowered) return `The sample is large enough. ${need}`;
  if (p.expectedBy) return `The sample is too small yet. ${need} At the current rate of holdout entries it will be large enough by ${p.expectedBy}.`;
  if (h.holdout.entered >= p.holdoutNeeded) return `The sample is too small yet: the nurtured group is short. ${need}`;
  return `The sample is too small yet. ${need} No holdout account entered nurture in this range, so no date can be given.`;
}

function liftSentence(h: MetricsReport['holdout']): string {
  if (h.lift === null) return 'Lift: not known until both groups have entries.';
  const rel = h.relativeLift === null ? '' : ` (${h.relativeLift > 0 ? '+' : ''}${percent.format(h.relativeLift)} relative)`;
  const iv = h.interval ? ` ${percent.format(h.interval.confidence)} interval ${fmtPoints(h.interval.lower)} to ${fmtPoints(h.interval.upper)} (${h.interval.method}).` : '';
  return `Lift in CRM outcomes (meeting, new, reopened or won deal): ${fmtPoints(h.lift)}${rel}, nurtured ${fmtShareOrDash(h.nurtured.conversionRate)} vs holdout ${fmtShareOrDash(h.holdout.conversionRate)}.${iv}`;
}

function holdoutChart(r: MetricsReport, o: DashboardOptions): string {
  const h = r.holdout;
  const curves = ['nurtured', 'holdout'].flatMap((g, i) => {
    const c = r.reengagement.overall.find((x) => x.group === g);
    return c ? [{ c, line: curveLine(c, g, `c${i}`) }] : [];
  });
  const hasHoldout = h.holdout.entered > 0 || curves.some((x) => x.c.group === 'holdout');
  const curvesHeight = 210;
  let body = '';
  let marks = 0;
  // Nothing to compare: no empty axes, the sentence says why.
  let height = 1;
  if (hasHoldout) {
    height = curvesHeight;
    const lines = stepLines(plotOf(0, curvesHeight), curves.map((x) => x.line), { xMax: SURVIVAL_DAYS, xTicks: dayTicks, xFormat: fmtDay, yFormat: fmtShare, guides: HORIZONS });
    body += lines.svg;
    marks += lines.marks;
    if (h.interval && h.lift !== null) {
      const strip = intervalStrip({ x: PLOT.left, y: curvesHeight + 28, width: W - PLOT.left - PLOT.right, height: 22 }, {
        estimate: h.lift,
        lower: h.interval.lower,
        upper: h.interval.upper,
        tip: `Lift ${fmtPoints(h.lift)}, ${percent.format(h.interval.confidence)} interval ${fmtPoints(h.interval.lower)} to ${fmtPoints(h.interval.upper)}`,
      }, fmtPoints);
      body += text(PLOT.left, curvesHeight + 8, `Lift in CRM outcomes, ${percent.format(h.interval.confidence)} interval`, 'panel') + strip.svg;
      marks += strip.marks;
      height = curvesHeight + 66;
    }
  }
  const emptyBecause =
    o.holdoutPercent === 0
      ? 'the holdout is 0% of accounts (holdout.percent in config/metrics.yaml), so there is no untouched group to compare with.'
      : `no holdout account entered nurture between ${r.range.from} and ${r.range.to} (holdout: ${o.holdoutPercent}% of accounts).`;
  const notes = hasHoldout
    ? [
        liftSentence(h),
        h.incrementalDeals === null
          ? ''
          : `Incremental deals ${oneDecimal.format(h.incrementalDeals)}, incremental revenue ${h.incrementalRevenue === null ? '—' : money(h.incrementalRevenue, h.cost.currency)}, cost of touches ${money(h.cost.amount, h.cost.currency)}, cost per incremental deal ${h.costPerIncrementalDeal === null ? '— (no positive lift)' : money(h.costPerIncrementalDeal, h.cost.currency)}.`,
        powerSentence(h),
      ].filter((s) => s !== '')
    : [];
  return figure({
    id: 'holdout',
    heading: 'Nurtured vs holdout',
    caption: 'Share re-engaged by days since the loss, all cohorts of the range together, for the nurtured group and the holdout that gets no touches; the lift is measured on CRM outcomes only, the same way for both groups.',
    svg: svgDoc(W, height, 'Share re-engaged by days since the loss: nurtured group and holdout, and the lift with its interval', body),
    marks,
    emptyBecause,
    legend: hasHoldout ? curves.map((x) => ({ name: x.line.name, cls: x.line.cls })) : [],
    notes,
    table: dataTable(
      ['group', 'entered', 'converted', 'conversion', 'won'],
      (['nurtured', 'holdout'] as const).map((g) => [g, fmtCount(h[g].entered), fmtCount(h[g].converted), fmtShareOrDash(h[g].conversionRate), money(h[g].wonAmount, h.cost.currency)]),
    ),
  });
}

/** The report's stages in the lifecycle's order; any stage the code does not know yet goes last. */
function orderedStages(names: Iterable<string>): string[] {
  const known = stageOrder as readonly string[];
  return [...new Set(names)].sort((a, b) => (known.indexOf(a) + 1 || known.length + 1) - (known.indexOf(b) + 1 || known.length + 1) || a.localeCompare(b));
}

function funnelChart(r: MetricsReport): string {
  const groups = ['nurtured', 'holdout'].filter((g) => Object.keys(r.stages[g] ?? {}).length > 0);
  const shown = groups.length > 0 ? groups : r.stages.all ? ['all'] : [];
  const names = orderedStages(shown.flatMap((g) => Object.keys(r.stages[g] ?? {})));
  const series = shown.map((g, i) => ({ name: g, cls: `c${i}`, values: names.map((s) => r.stages[g]?.[s] ?? 0) }));
  const chart = hbars(0, 4, W, names, series, { format: fmtCount, labelWidth: LABEL_COLUMN });
  return figure({
    id: 'funnel',
    heading: 'Relationships by stage',
    caption: 'Relationships in each stage now (a level, not a flow)' + (shown.length > 1 ? ', nurtured group and holdout.' : '.'),
    svg: svgDoc(W, chart.height + 8, 'Relationships by stage now', chart.svg),
    marks: chart.marks,
    emptyBecause: 'no relationship has a stage yet.',
    legend: series.length > 1 ? series.map((s) => ({ name: s.name, cls: s.cls })) : [],
    table: dataTable(['stage', ...shown], names.map((s) => [s, ...shown.map((g) => fmtCount(r.stages[g]?.[s] ?? 0))])),
  });
}

const TOUCH_METRICS = { 'touch.sent': 'sent', 'touch.skipped': 'skipped or pushed', 'touch.unknown': 'outcome unknown' } as const;
type TouchOutcome = (typeof TOUCH_METRICS)[keyof typeof TOUCH_METRICS];
const TOUCH_LAYERS: readonly { name: TouchOutcome; cls: string }[] = [
  { name: 'sent', cls: 'c0' },
  { name: 'skipped or pushed', cls: 'c1' },
  { name: 'outcome unknown', cls: 'c3' },
];

function touchesChart(r: MetricsReport, rows: readonly MetricRow[]): string {
  // channel → period → outcome → n
  const byChannel = new Map<string, Map<string, Record<string, number>>>();
  for (const row of rows) {
    const outcome = TOUCH_METRICS[row.metric as keyof typeof TOUCH_METRICS];
    if (!outcome || row.dimension !== 'channel') continue;
    const periods = byChannel.get(row.value) ?? new Map<string, Record<string, number>>();
    byChannel.set(row.value, periods);
    const cell = periods.get(row.period) ?? {};
    periods.set(row.period, cell);
    cell[outcome] = (cell[outcome] ?? 0) + row.n;
  }
  const channels = [...byChannel.keys()].sort((a, b) => (['email', 'task'].indexOf(a) + 1 || 3) - (['email', 'task'].indexOf(b) + 1 || 3) || a.localeCompare(b));
  const panelHeight = 150;
  let marks = 0;
  const parts: string[] = [];
  channels.forEach((ch, i) => {
    const top = i * panelHeight;
    const layers = TOUCH_LAYERS.map((l) => ({ ...l, values: r.periods.map((p) => byChannel.get(ch)?.get(p)?.[l.name] ?? 0) }));
    const panel = columns(plotOf(top + 14, panelHeight - 14), r.periods, layers, { format: fmtCount, unit: `${ch} touches due`, maxLabels: MAX_PERIOD_LABELS });
    parts.push(text(PLOT.left, top + 14, ch === 'task' ? 'Tasks for owners' : ch === 'email' ? 'E-mails' : `Channel ${ch}`, 'panel'), panel.svg);
    marks += panel.marks;
  });
  const reasons = Object.entries(dimension(r, 'touch.skipped', 'reason')).sort((a, b) => b[1].n - a[1].n || a[0].localeCompare(b[0]));
  const svgHeight = Math.max(1, channels.length * panelHeight);
  return figure({
    id: 'touches',
    heading: 'Touches by channel',
    caption: `Touches that came due per ${r.groupBy}, by channel: sent, skipped or pushed to a later slot (a cap, the send window, consent, a weekend or holiday, the minimum gap, the global daily cap), or with an unknown outcome. The height of a column is what was planned for that ${r.groupBy}.`,
    svg: svgDoc(W, svgHeight, `Touches per ${r.groupBy} by channel: sent, skipped or pushed, unknown`, parts.join('')),
    marks,
    emptyBecause: 'no touch came due in this range.',
    legend: marks > 0 ? TOUCH_LAYERS : [],
    notes: [
      reasons.length > 0 ? `Skipped or pushed over the range, by reason: ${reasons.map(([k, c]) => `${k} ${fmtCount(c.n)}`).join(', ')}.` : '',
      marks > 0 ? 'A touch pushed or moved later (by a holiday, a weekend, the minimum gap, a per-person cap or the global daily cap) and then sent counts in both; its moves count when its outcome is recorded.' : '',
    ].filter((s) => s !== ''),
    table: dataTable(
      [r.groupBy, ...channels.flatMap((ch) => TOUCH_LAYERS.map((l) => `${ch} ${l.name}`))],
      r.periods.map((p) => [p, ...channels.flatMap((ch) => TOUCH_LAYERS.map((l) => fmtCount(byChannel.get(ch)?.get(p)?.[l.name] ?? 0)))]),
    ),
  });
}

const MAX_OWNERS_DRAWN = 20;

function ownersChart(r: MetricsReport): string {
  const assigned = dimension(r, 'task.assigned', 'owner');
  const onTime = dimension(r, 'task.completed.on-time', 'owner');
  const late = dimension(r, 'task.completed.late', 'owner');
  const unknown = dimension(r, 'task.completed.unknown', 'owner');
  const n = (d: Record<string, { n: number }>, k: string) => d[k]?.n ?? 0;
  const owners = [...new Set([...Object.keys(assigned), ...Object.keys(onTime), ...Object.keys(late), ...Object.keys(unknown)])].sort((a, b) => n(assigned, b) - n(assigned, a) || a.localeCompare(b));
  const drawn = owners.slice(0, MAX_OWNERS_DRAWN);
  const chart = hbars(0, 4, W, drawn, [
    { name: 'assigned', cls: 'c0', values: drawn.map((o) => n(assigned, o)) },
    { name: 'completed on time', cls: 'c2', values: drawn.map((o) => n(onTime, o)) },
  ], { format: fmtCount });
  return figure({
    id: 'owners',
    heading: 'Human tasks per owner',
    caption: 'Notes, calls and other tasks handed to each owner in the range, and those completed on time (within the grace period after their due time).',
    svg: svgDoc(W, chart.height + 8, 'Human tasks per owner: assigned and completed on time', chart.svg),
    marks: chart.marks,
    emptyBecause: 'no human task was assigned or completed in this range.',
    legend: chart.marks > 0 ? [{ name: 'assigned', cls: 'c0' }, { name: 'completed on time', cls: 'c2' }] : [],
    notes: owners.length > drawn.length ? [`The ${fmtCount(drawn.length)} owners with the most tasks are drawn; all ${fmtCount(owners.length)} are in the table.`] : [],
    table: dataTable(['owner', 'assigned', 'on time', 'late', 'timing unknown'], owners.map((o) => [o, fmtCount(n(assigned, o)), fmtCount(n(onTime, o)), fmtCount(n(late, o)), fmtCount(n(unknown, o))])),
  });
}

function audienceChart(r: MetricsReport, o: DashboardOptions): string {
  const a = r.audience;
  const providers = Object.keys(a.byProvider);
  const rowsOf = [{ name: 'all providers', rates: a.total }, ...providers.map((p) => ({ name: p, rates: a.byProvider[p] as (typeof a)['total'] }))].filter((x) => x.rates.perThousand !== null);
  const t = o.thresholds;
  // SES's review threshold and the alarm at `alarmAt` of it, per 1,000 e-mails.
  const limits = (rate: number): Reference[] => [
    { value: rate * t.alarmAt * 1000, label: `alarm ${fmtPerThousand(rate * t.alarmAt * 1000)}`, cls: 'alarm' },
    { value: rate * 1000, label: `SES review ${fmtPerThousand(rate * 1000)}`, cls: 'review' },
  ];
  const panels: { key: 'delivered' | 'bounced' | 'complained' | 'unsubscribed'; title: string; cls: string; refs: Reference[]; max?: number }[] = [
    { key: 'delivered', title: 'Delivered per 1,000 e-mails', cls: 'c2', refs: [], max: 1000 },
    { key: 'bounced', title: 'Bounced per 1,000', cls: 'c4', refs: limits(t.bounceRate) },
    { key: 'complained', title: 'Complaints per 1,000', cls: 'c4', refs: limits(t.complaintRate) },
    { key: 'unsubscribed', title: 'Unsubscribed per 1,000', cls: 'c3', refs: [] },
  ];
  let y = 0;
  let marks = 0;
  const parts: string[] = [];
  if (rowsOf.length > 0) {
    for (const p of panels) {
      parts.push(text(0, y + 14, p.title, 'panel'));
      const chart = hbars(0, y + 20, W, rowsOf.map((x) => x.name), [{ name: p.key, cls: p.cls, values: rowsOf.map((x) => x.rates.perThousand?.[p.key] ?? null) }], {
        format: fmtPerThousand,
        refs: p.refs,
        labelWidth: LABEL_COLUMN,
        ...(p.max !== undefined && { max: p.max }),
      });
      parts.push(chart.svg);
      marks += chart.marks;
      y += chart.height + 28;
    }
  }
  const series = Object.entries(a.missedMePerThousandBySeries).filter(([, v]) => v !== null) as [string, number][];
  if (series.length > 0) {
    parts.push(text(0, y + 14, '"Missed me" replies per 1,000 e-mails, by series', 'panel'));
    const chart = hbars(0, y + 20, W, series.map(([s]) => s), [{ name: 'missed me', cls: 'c5', values: series.map(([, v]) => v) }], { format: fmtPerThousand });
    parts.push(chart.svg);
    marks += chart.marks;
    y += chart.height + 28;
  }
  const status = `Review status: bounces ${a.review.bounce}, complaints ${a.review.complaint} (alarm at ${percent.format(t.alarmAt)} of SES's review thresholds of ${percent.format(t.bounceRate)} bounces and ${percent.format(t.complaintRate)} complaints).`;
  return figure({
    id: 'audience',
    heading: 'Audience health',
    caption: 'Delivery, bounces, complaints and unsubscribes per 1,000 e-mails by mailbox provider, with the alarm (dashed amber) and SES review (dashed red) thresholds; "missed me" replies per 1,000 e-mails of each content series, a measure of what the content is worth to readers.',
    svg: svgDoc(W, Math.max(1, y), 'Audience health per 1,000 e-mails by mailbox provider, and missed-me replies by content series', parts.join('')),
    marks,
    emptyBecause: 'no e-mail was sent in this range.',
    notes: a.total.sent > 0 ? [status] : [],
    table: dataTable(
      ['provider', 'sent', 'delivered ‰', 'bounced ‰', 'complaints ‰', 'unsubscribed ‰'],
      rowsOf.map((x) => [x.name, fmtCount(x.rates.sent), ...(['delivered', 'bounced', 'complained', 'unsubscribed'] as const).map((k) => fmtPerThousand(x.rates.perThousand?.[k] ?? 0))]),
    ) + (series.length > 0 ? dataTable(['content series', 'missed me ‰'], series.map(([s, v]) => [s, fmtPerThousand(v)])) : ''),
  });
}

const OUTCOMES = ['no-future', 'future-opportunity', 'next-step'] as const;

function requalificationChart(r: MetricsReport): string {
  const q = r.requalification;
  const total = OUTCOMES.reduce((s, k) => s + (q.outcomes[k] ?? 0), 0);
  const chart = hbars(0, 4, W, [...OUTCOMES], [
    { name: 'share', cls: 'c0', values: OUTCOMES.map((k) => (total > 0 ? (q.outcomes[k] ?? 0) / total : null)), labels: OUTCOMES.map((k) => `${fmtShareOrDash(q.shares[k])} (${fmtCount(q.outcomes[k] ?? 0)})`) },
  ], { format: fmtShare, max: 1, refs: [{ value: 1 / 3, label: 'one third', cls: 'target' }], labelWidth: LABEL_COLUMN });
  return figure({
    id: 'requalification',
    heading: 'Requalification outcomes',
    caption: `Outcomes of requalification tasks completed in the range (${fmtCount(total)}), against the target split: ${q.target}.`,
    svg: svgDoc(W, chart.height + 8, 'Requalification outcomes as shares, against one third each', chart.svg),
    marks: chart.marks,
    emptyBecause: 'no requalification task was completed in this range.',
    table: dataTable(['outcome', 'count', 'share'], OUTCOMES.map((k) => [k, fmtCount(q.outcomes[k] ?? 0), fmtShareOrDash(q.shares[k])])),
  });
}

function headline(r: MetricsReport): string {
  const m = r.reengagement.medianDays;
  const h = r.holdout;
  const items: [string, string, string][] = [
    ['Entered nurture', fmtCount(nOf(r, 'nurture.entered')), 'lost deals in the range'],
    ['Re-engaged', fmtCount(nOf(r, 'nurture.re-engaged')), 'human signals only'],
    ['Median days to re-engage', m === null ? '—' : m.bound === 'at-least' ? `${fmtCount(m.days)}+` : oneDecimal.format(m.days), 'among the re-engaged'],
    ['Lift from nurture', h.lift === null ? '—' : fmtPoints(h.lift), h.lift === null ? 'no holdout to compare with' : h.power.underpowered ? 'sample still too small' : 'in CRM outcomes'],
  ];
  return `<dl class="headline">${items.map(([k, v, note]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd><dd class="sub">${esc(note)}</dd></div>`).join('')}</dl>`;
}

/** A relative link (the page is served at /dashboard and at /feeds/dashboard), with the reader's token. */
function link(path: string, params: Record<string, string>, token: string | undefined): string {
  const q = new URLSearchParams(params);
  if (token) q.set('token', token);
  return esc(`${path}?${q.toString()}`);
}

/** The feed always ends this week: as many weeks as the range spans (1-52). */
const feedWeeks = (r: MetricsReport) => Math.min(52, Math.max(1, periodsBetween('week', r.range.from, r.range.to).length));

interface PageParts {
  title: string;
  /** The links above the range form, relative to the page's own URL. */
  nav: string;
  /** The form's action, relative to the page (it reloads the same page with another range). */
  formAction: string;
  main: string;
  /** One chart only (the owners page). */
  single?: boolean;
  footer: string;
}

/** The frame both dashboard pages share: title, range, links, the range form, the charts, the cost. */
function page(r: MetricsReport, token: string | undefined, parts: PageParts, extraHeader = ''): string {
  const header = `<header><h1>${esc(parts.title)}</h1><p class="muted">${esc(r.range.from)} to ${esc(r.range.to)}, by ${esc(r.groupBy)} · generated ${esc(r.generatedAt.slice(0, 16).replace('T', ' '))} UTC</p>${extraHeader}<nav>${parts.nav}</nav><form method="get" action="${esc(parts.formAction)}"><label>From <input type="date" name="from" value="${esc(r.range.from)}" required></label><label>To <input type="date" name="to" value="${esc(r.range.to)}" required></label><label>Group by <select name="groupBy">${(['week', 'month'] as const).map((g) => `<option value="${g}"${g === r.groupBy ? ' selected' : ''}>${g}</option>`).join('')}</select></label>${token ? `<input type="hidden" name="token" value="${esc(token)}">` : ''}<button type="submit">Show</button></form></header>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${esc(parts.title)} ${esc(r.range.from)} to ${esc(r.range.to)} · Cultivate</title><style>${STYLE}</style></head>
<body>${header}<main class="${parts.single ? 'charts one' : 'charts'}">${parts.main}</main><footer>${parts.footer}</footer></body></html>`;
}

/**
 * Where the per-owner chart went: its reads grow with the number of owners (one per ~300 people),
 * so /dashboard shows only the totals, which cost nothing more, and links to /dashboard/owners.
 */
function ownersLink(r: MetricsReport, token: string | undefined): string {
  const range = { from: r.range.from, to: r.range.to, groupBy: r.groupBy };
  const assigned = nOf(r, 'task.assigned');
  const onTime = nOf(r, 'task.completed.on-time');
  return `<section class="chart" data-section="owners"><h2>Human tasks per owner</h2><p>${esc(`${fmtCount(assigned)} notes, calls and other tasks handed to owners in the range, ${fmtCount(onTime)} completed on time.`)}</p><p class="muted">Per owner on a page of its own: what it reads grows with the number of owners, what this page reads does not.</p><p><a href="${link('dashboard/owners', range, token)}">Human tasks per owner →</a></p></section>`;
}

export function dashboardPage(report: MetricsReport, options: DashboardOptions): string {
  const r = report;
  const range = { from: r.range.from, to: r.range.to, groupBy: r.groupBy };
  const token = options.token;
  const charts = [enteredChart(r), survivalChart(r), holdoutChart(r, options), funnelChart(r), touchesChart(r, options.rows), ownersLink(r, token), audienceChart(r, options), requalificationChart(r)];
  return page(
    r,
    token,
    {
      title: 'Re-engagement dashboard',
      nav: `<a href="${link('metrics.csv', range, token)}">CSV</a><a href="${link('metrics/feed.json', { weeks: String(feedWeeks(r)) }, token)}">JSON Feed</a><a href="${link('metrics', range, token)}">JSON</a>`,
      formAction: 'dashboard',
      main: charts.join('\n'),
      footer: `Schema version ${r.schemaVersion}. This page read ${fmtCount(r.reads.queries)} aggregate partitions (${fmtCount(r.reads.items)} items), whatever the number of people. Definitions: docs/metrics.md.`,
    },
    headline(r),
  );
}

/**
 * GET /dashboard/owners (and /feeds/dashboard/owners): the per-owner chart, from a report read with
 * owners. It sits one level below /dashboard, so its links climb one (`../metrics.csv`).
 */
export function ownersPage(report: MetricsReport, options: Pick<DashboardOptions, 'token'>): string {
  const r = report;
  const range = { from: r.range.from, to: r.range.to, groupBy: r.groupBy };
  const withOwners = { ...range, owners: 'true' };
  const token = options.token;
  return page(r, token, {
    title: 'Human tasks per owner',
    nav: `<a href="${link('../dashboard', range, token)}">← Dashboard</a><a href="${link('../metrics.csv', withOwners, token)}">CSV with owners</a><a href="${link('../metrics', withOwners, token)}">JSON with owners</a>`,
    formAction: 'owners',
    main: ownersChart(r),
    single: true,
    footer: `Schema version ${r.schemaVersion}. This page read ${fmtCount(r.reads.queries)} aggregate partitions (${fmtCount(r.reads.items)} items): the per-owner ones grow with the number of owners. Definitions: docs/metrics.md.`,
  });
}

/** Reads each partition once however often it is asked for: the rows come from the partitions the report already read. */
export function readOnce(reader: AggregateReader): AggregateReader {
  const cache = new Map<string, Promise<Record<string, unknown>[]>>();
  return {
    partition(pk) {
      let items = cache.get(pk);
      if (!items) cache.set(pk, (items = reader.partition(pk)));
      return items;
    },
  };
}

/** The route's work: one read of the aggregates (report, then rows from the same partitions), and the page. No owner partition. */
export async function readDashboard(reader: AggregateReader, config: MetricsConfig, query: ReportQuery, now: Date, token?: string): Promise<string> {
  const once = readOnce(reader);
  const report = await metricsReport(once, config, { ...query, owners: false }, now);
  const rows = await metricRows(once, report.groupBy, report.range.from, report.range.to, { levels: false });
  return dashboardPage(report, { rows, thresholds: config.reviewThresholds, holdoutPercent: config.holdout.percent, ...(token !== undefined && { token }) });
}

/** GET /dashboard/owners: the report with the owner partitions, and the per-owner page. */
export async function readOwnersDashboard(reader: AggregateReader, config: MetricsConfig, query: ReportQuery, now: Date, token?: string): Promise<string> {
  const report = await metricsReport(reader, config, { ...query, owners: true }, now);
  return ownersPage(report, { ...(token !== undefined && { token }) });
}
