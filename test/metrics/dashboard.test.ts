/**
 * GET /dashboard and /dashboard/owners: the SVG primitives with exact geometry, the pages from
 * hand-made reports (every chart and its number of marks, empty states, escaping, relative links
 * only, the CSP hash of the one inline style), a year of data in a small page, and the routes
 * against DynamoDB Local.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DynamoMetricsStore } from '#adapters/dynamo-metrics';
import { deltasOf, mergeDeltas } from '#domain/metrics/deltas';
import { lift } from '#domain/metrics/lift';
import { periodsBetween } from '#domain/metrics/periods';
import { mailRates, reviewStatus } from '#domain/metrics/rates';
import { type AggregateReader, type CohortCurve, metricsReport, type MetricsReport } from '#domain/metrics/report';
import { type MetricRow, metricRows } from '#domain/metrics/rows';
import type { Fact } from '#domain/metrics/types';
import { bandScale, columns, dataTable, hbars, intervalStrip, legendHtml, linearScale, niceTicks, stepLines, stepPath, svgDoc } from '#http/charts';
import { DASHBOARD_CSP, type DashboardOptions, dashboardPage, ownersPage, powerSentence, readDashboard, readOnce, readOwnersDashboard } from '#http/dashboard';
import { metricsRoutes } from '#http/metrics';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { context, metricsConfig, silentLogger } from './helpers.ts';

/** Attributes of every element `tag` in `svg`, in order. */
function elements(svg: string, tag: string): Record<string, string>[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\b([^>]*?)/?>`, 'g'))].map((m) => Object.fromEntries([...(m[1] as string).matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1] as string, a[2] as string])));
}
const num = (v: string | undefined) => Number(v);
const marksIn = (html: string) => (html.match(/class="mark[ "]/g) ?? []).length;

describe('scales and ticks', () => {
  it('maps a domain onto a range linearly, inverted for y', () => {
    const y = linearScale([0, 100], [200, 0]);
    expect(y(25)).toBe(150);
    expect(y(100)).toBe(0);
    expect(linearScale([5, 5], [10, 20])(5)).toBe(10);
  });

  it('ticks run from 0 to the first nice value at or above the maximum, in steps of 1, 2 or 5 times a power of ten', () => {
    expect(niceTicks(87)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(50)).toEqual([0, 10, 20, 30, 40, 50]);
    expect(niceTicks(3)).toEqual([0, 1, 2, 3]);
    expect(niceTicks(0.23)).toEqual([0, 0.05, 0.1, 0.15, 0.2, 0.25]);
    expect(niceTicks(1200)).toEqual([0, 200, 400, 600, 800, 1000, 1200]);
    expect(niceTicks(1300)).toEqual([0, 500, 1000, 1500]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it('bands split a range evenly, each bar centred in its band', () => {
    const b = bandScale(4, [0, 100], 0.2);
    expect(b.step).toBe(25);
    expect(b.width).toBe(20);
    expect(b.x(1)).toBe(27.5);
  });
});

describe('chart panels', () => {
  const plot = { x: 0, y: 0, width: 100, height: 100 };

  it('columns: a bar is as tall as its share of the top tick; zeros draw nothing and count nothing', () => {
    const p = columns(plot, ['a', 'b', 'c'], [{ name: 'entered', cls: 'c0', values: [50, 20, 0] }], { format: String, unit: 'entered' });
    const rects = elements(p.svg, 'rect');
    expect(p.marks).toBe(2);
    expect(rects).toHaveLength(2);
    // Ticks 0..50: 50 fills the plot, 20 is 40 % of it, standing on the axis at y = 100.
    expect(rects.map((r) => [num(r.y), num(r.height)])).toEqual([
      [0, 100],
      [60, 40],
    ]);
    expect(p.svg).toContain('<title>a: 50 entered</title>');
  });

  it('columns stack layers bottom-up in the order given', () => {
    const p = columns(plot, ['w1'], [
      { name: 'sent', cls: 'c0', values: [10] },
      { name: 'skipped', cls: 'c1', values: [30] },
    ], { format: String, unit: 'touches' });
    const [sent, skipped] = elements(p.svg, 'rect');
    // Ticks 0..40: sent spans 100..75, skipped 75..0.
    expect([num(sent?.y), num(sent?.height)]).toEqual([75, 25]);
    expect([num(skipped?.y), num(skipped?.height)]).toEqual([0, 75]);
    expect(p.svg).toContain('<title>w1: 30 skipped (40 touches in all)</title>');
  });

  it('columns label at most the number of categories asked for', () => {
    const cats = Array.from({ length: 53 }, (_, i) => `W${i + 1}`);
    const p = columns(plot, cats, [{ name: 'n', cls: 'c0', values: cats.map(() => 1) }], { format: String, unit: 'n', maxLabels: 6 });
    const labels = elements(p.svg, 'text').length - niceTicks(1).length;
    expect(labels).toBe(6);
  });

  it('horizontal bars: length on a scale that leaves room for the value, references across, null is "no data"', () => {
    // 172 wide: 100 for the bars, 72 for the value labels.
    const p = hbars(0, 0, 172, ['gmail', 'outlook'], [{ name: 'bounced', cls: 'c4', values: [25, null] }], { format: String, max: 100, refs: [{ value: 50, label: 'review', cls: 'review' }] });
    const [bar] = elements(p.svg, 'rect');
    expect(p.marks).toBe(1);
    expect(num(bar?.width)).toBe(25);
    const ref = elements(p.svg, 'line').find((l) => l.class === 'ref review');
    expect([num(ref?.x1), num(ref?.x2)]).toEqual([50, 50]);
    expect(p.svg).toContain('>no data</text>');
    // Reference label row, then two rows of label + one bar + gap.
    expect(p.height).toBe(14 + 2 * (15 + 12 + 8));
    // With a label column, the bars start after it and the rows lose the label line.
    const side = hbars(0, 0, 272, ['gmail'], [{ name: 'bounced', cls: 'c4', values: [25] }], { format: String, max: 100, labelWidth: 100 });
    expect(elements(side.svg, 'rect')[0]).toMatchObject({ x: '100', width: '25' });
    expect(side.height).toBe(12 + 8);
  });

  it('step lines: H/V steps from 0, stopping at the longest follow-up, clipped at the x range', () => {
    const x = linearScale([0, 100], [0, 100]);
    const y = linearScale([0, 1], [100, 0]);
    const line = { name: 'c', cls: 'k0', start: 0, steps: [{ x: 10, y: 0.2 }, { x: 50, y: 0.5 }], end: 80, tip: 't' };
    expect(stepPath(line, x, y, 100)).toBe('M0 100H10V80H50V50H80');
    expect(stepPath({ ...line, steps: [...line.steps, { x: 120, y: 0.9 }], end: 150 }, x, y, 100)).toBe('M0 100H10V80H50V50H100');
    const p = stepLines(plot, [line], { xMax: 100, xTicks: [0, 50, 100], xFormat: String, yFormat: String, dots: [{ x: 50, y: 0.5, cls: 'k0', tip: 'half' }] });
    expect(p.marks).toBe(2);
    // y runs to 0.5 (the highest step): the dot at 0.5 sits at the top.
    expect(elements(p.svg, 'circle')[0]).toMatchObject({ cx: '50', cy: '0' });
  });

  it('an interval strip always shows zero', () => {
    const p = intervalStrip({ x: 0, y: 0, width: 120, height: 20 }, { estimate: 0.2, lower: 0.1, upper: 0.5, tip: 'lift' }, String);
    // Domain [0, 0.5] padded by 10 %: [-0.05, 0.55] over 120 units, so 0 is at 10.
    expect(elements(p.svg, 'line').find((l) => l.class === 'zero')).toMatchObject({ x1: '10', x2: '10' });
    expect(p.marks).toBe(1);
    // Limits 0.4 apart on that scale are 87 units apart: centred on them. A narrow interval's labels part at its middle.
    expect(elements(p.svg, 'text').slice(1).map((t) => t['text-anchor'])).toEqual(['middle', 'middle']);
    const narrow = intervalStrip({ x: 0, y: 0, width: 120, height: 20 }, { estimate: 0.5, lower: 0.49, upper: 0.51, tip: 'lift' }, String);
    expect(elements(narrow.svg, 'text').slice(1).map((t) => t['text-anchor'] ?? 'start')).toEqual(['end', 'start']);
  });

  it('escapes every text it writes: titles, labels, legends and tables', () => {
    const hostile = '<script>alert("x")</script>&';
    const out = [
      svgDoc(10, 10, hostile, ''),
      hbars(0, 0, 200, [hostile], [{ name: hostile, cls: 'c0', values: [1] }], { format: String }).svg,
      legendHtml([{ name: hostile, cls: 'c0' }]),
      dataTable([hostile], [[hostile]]),
    ].join('');
    expect(out).not.toContain('<script');
    expect(out).not.toContain('"x"');
    expect(out).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;');
  });
});

// ---------------------------------------------------------------------------------------------
// The page, from a report made by hand.

const GENERATED = '2026-11-23T10:00:00.000Z';
const point = (day: number, events: number, survival: number, atRisk = 10) => ({ day, events, censored: 0, atRisk, survival });
const curve = (cohort: string, group: string, over: Partial<CohortCurve> = {}): CohortCurve => ({
  cohort,
  group,
  subjects: 10,
  reengagedBy: { d30: null, d90: null, d180: null, d365: null },
  medianDays: null,
  maxFollowUp: 20,
  points: [],
  ...over,
});

const thresholds = metricsConfig.reviewThresholds;
const emptyHoldout = lift({
  nurtured: { entered: 0, converted: 0, wonAmount: 0 },
  holdout: { entered: 0, converted: 0, wonAmount: 0 },
  touches: { email: 0, task: 0 },
  costPerTouch: metricsConfig.costPerTouch,
  holdoutPercent: 0,
  power: metricsConfig.power,
  holdoutEntriesPerDay: 0,
  asOf: GENERATED,
});
const noMail = { sent: 0, bounced: 0, complained: 0, unsubscribed: 0 };

function emptyReport(): MetricsReport {
  return {
    schemaVersion: 2,
    generatedAt: GENERATED,
    range: { from: '2026-11-02', to: '2026-11-23' },
    groupBy: 'week',
    owners: false,
    periods: ['2026-W45', '2026-W46', '2026-W47', '2026-W48'],
    reads: { queries: 6, items: 0 },
    metrics: {},
    stages: {},
    reengagement: { cohorts: [], overall: [], histogram: {}, medianDays: null, p90Days: null },
    holdout: emptyHoldout,
    audience: { total: mailRates(noMail), review: reviewStatus(noMail, thresholds), byProvider: {}, missedMePerThousandBySeries: {} },
    requalification: { outcomes: { 'no-future': 0, 'future-opportunity': 0, 'next-step': 0 }, shares: { 'no-future': null, 'future-opportunity': null, 'next-step': null }, target: 'about one third each: no-future, future-opportunity, next-step' },
  };
}

const HOSTILE_OWNER = '<script>alert(1)</script>@seller.example';
const HOSTILE_SERIES = '"><img src=x onerror=alert(2)>';

/**
 * Marks expected per chart:
 *   entered 2 (W45 3, W47 2; W46 and W48 0) · survival 2 nurtured cohort lines + 1 dot (2026-10 by 30 d)
 *   holdout 2 overall curves + the interval · funnel nurtured 2 stages + holdout 1
 *   touches email sent W45, W47, skipped W46, task sent W45 = 4 · owners (its own page) sam 3+2, hostile 1+0 = 3
 *   audience 3 rows (all, gmail, outlook) × delivered 3 + bounced 2 + complained 1 + unsubscribed 1,
 *   missed me 1 (the series with a null rate is left out) = 8 · requalification 2
 */
function fullReport(): { report: MetricsReport; options: DashboardOptions } {
  const r = emptyReport();
  r.metrics = {
    'nurture.entered': { total: { n: 5 }, periods: { '2026-W45': { n: 3 }, '2026-W47': { n: 2 } }, dimensions: {} },
    'nurture.re-engaged': { total: { n: 2 }, periods: { '2026-W47': { n: 2 } }, dimensions: {} },
    'task.assigned': { total: { n: 4 }, periods: {}, dimensions: { owner: { 'sam@seller.example': { n: 3 }, [HOSTILE_OWNER]: { n: 1 } } } },
    'task.completed.on-time': { total: { n: 2 }, periods: {}, dimensions: { owner: { 'sam@seller.example': { n: 2 } } } },
    'touch.skipped': { total: { n: 1 }, periods: {}, dimensions: { reason: { 'owner-capacity': { n: 1 } } } },
  };
  r.stages = { all: { nurturing: 6, 're-engaged': 2 }, nurtured: { nurturing: 5, 're-engaged': 2 }, holdout: { nurturing: 1 } };
  r.reengagement.cohorts = [
    curve('2026-10', 'nurtured', { points: [point(3, 2, 0.8), point(12, 1, 0.7, 8)], reengagedBy: { d30: 0.3, d90: null, d180: null, d365: null }, maxFollowUp: 50 }),
    curve('2026-10', 'holdout', { points: [point(5, 1, 0.5, 2)], subjects: 2 }),
    curve('2026-11', 'nurtured', { subjects: 4, maxFollowUp: 20 }),
  ];
  r.reengagement.overall = [curve('2026-10..2026-11', 'holdout', { subjects: 2, points: [point(5, 1, 0.5, 2)] }), curve('2026-10..2026-11', 'nurtured', { subjects: 14, points: [point(3, 2, 0.857, 14)] })];
  r.reengagement.medianDays = { days: 9.5, bound: 'interpolated' };
  r.holdout = lift({
    nurtured: { entered: 40, converted: 8, wonAmount: 24000 },
    holdout: { entered: 10, converted: 1, wonAmount: 0 },
    touches: { email: 100, task: 10 },
    costPerTouch: metricsConfig.costPerTouch,
    holdoutPercent: 10,
    power: metricsConfig.power,
    holdoutEntriesPerDay: 0.5,
    asOf: GENERATED,
  });
  const total = { sent: 1000, bounced: 30, complained: 1, unsubscribed: 4 };
  r.audience = {
    total: mailRates(total),
    review: reviewStatus(total, thresholds),
    byProvider: { gmail: mailRates({ sent: 600, bounced: 30, complained: 0, unsubscribed: 0 }), outlook: mailRates({ sent: 400, bounced: 0, complained: 0, unsubscribed: 0 }) },
    missedMePerThousandBySeries: { [HOSTILE_SERIES]: 5, none: null },
  };
  r.requalification.outcomes = { 'no-future': 2, 'future-opportunity': 1, 'next-step': 0 };
  r.requalification.shares = { 'no-future': 2 / 3, 'future-opportunity': 1 / 3, 'next-step': 0 };
  const row = (metric: string, period: string, value: string, n: number): MetricRow => ({ metric, period, dimension: 'channel', value, n });
  const rows = [
    row('touch.sent', '2026-W45', 'email', 4),
    row('touch.sent', '2026-W47', 'email', 2),
    row('touch.skipped', '2026-W46', 'email', 1),
    row('touch.sent', '2026-W45', 'task', 1),
    // Not touches, or not by channel: not drawn.
    { metric: 'touch.sent', period: '2026-W45', dimension: 'owner', value: 'sam@seller.example', n: 5 },
    row('email.sent', '2026-W45', 'email', 9),
  ];
  return { report: r, options: { rows, thresholds, holdoutPercent: 10 } };
}

/** The charts of /dashboard; the per-owner chart is on /dashboard/owners. */
const CHARTS = ['entered', 'survival', 'holdout', 'funnel', 'touches', 'audience', 'requalification'] as const;

/** Each chart's figure: its data-points and its markup. */
function figures(html: string): Map<string, { points: number; html: string }> {
  const out = new Map<string, { points: number; html: string }>();
  for (const m of html.matchAll(/<figure class="chart" data-chart="([^"]+)" data-points="(\d+)">([\s\S]*?)<\/figure>/g)) out.set(m[1] as string, { points: Number(m[2]), html: m[3] as string });
  return out;
}

describe('dashboardPage', () => {
  it('draws every chart, each saying how many marks it drew', () => {
    const { report, options } = fullReport();
    const f = figures(dashboardPage(report, options));
    expect([...f.keys()]).toEqual([...CHARTS]);
    expect(Object.fromEntries([...f].map(([k, v]) => [k, v.points]))).toEqual({ entered: 2, survival: 3, holdout: 3, funnel: 3, touches: 4, audience: 8, requalification: 2 });
    const owners = figures(ownersPage({ ...report, owners: true }, {}));
    expect(Object.fromEntries([...owners].map(([k, v]) => [k, v.points]))).toEqual({ owners: 3 });
    for (const [id, fig] of [...f, ...owners]) {
      expect(marksIn(fig.html), id).toBe(fig.points);
      expect(fig.html, id).toMatch(/<figcaption>[\s\S]+<svg viewBox="[^"]+" role="img"[^>]*><title>[^<]+<\/title>/);
      expect(fig.html, id).toContain('<details><summary>Data');
      expect(fig.html, id).not.toContain('no data yet');
    }
  });

  it('gives each mark a tooltip, and the numbers a table', () => {
    const { report, options } = fullReport();
    const f = figures(dashboardPage(report, options));
    expect(f.get('entered')?.html).toContain('<title>2026-W45: 3 entered nurture</title>');
    expect(f.get('survival')?.html).toContain('<title>2026-10 cohort: 30% re-engaged by day 30 (10 entered)</title>');
    expect(f.get('touches')?.html).toContain('<title>2026-W46: 1 skipped or pushed (1 email touches due in all)</title>');
    expect(f.get('requalification')?.html).toContain('<title>no-future: 66.7% (2)</title>');
    expect(f.get('entered')?.html).toContain('<tr><th>2026-W47</th><td>2</td><td>2</td></tr>');
    expect(f.get('touches')?.html).toContain('Skipped or pushed over the range, by reason: owner-capacity 1.');
  });

  it('names the interval method and says when the holdout will be large enough', () => {
    const { report, options } = fullReport();
    const holdout = figures(dashboardPage(report, options)).get('holdout')?.html ?? '';
    expect(holdout).toContain("Newcombe&#39;s hybrid score interval");
    expect(report.holdout.power.underpowered).toBe(true);
    expect(report.holdout.power.expectedBy).not.toBeNull();
    expect(holdout).toContain(`it will be large enough by ${report.holdout.power.expectedBy}.`);
    expect(powerSentence({ ...report.holdout, power: { ...report.holdout.power, expectedBy: null } })).toContain('no date can be given');
  });

  it('draws the review thresholds (half of SES\'s as the alarm) per 1,000 e-mails', () => {
    const { report, options } = fullReport();
    const audience = figures(dashboardPage(report, options)).get('audience')?.html ?? '';
    for (const label of ['alarm 25', 'SES review 50', 'alarm 0.5', 'SES review 1']) expect(audience).toContain(`<title>${label}</title>`);
  });

  it('renders the headline numbers, the range and the form', () => {
    const { report, options } = fullReport();
    const html = dashboardPage(report, options);
    expect(html).toContain('<dt>Entered nurture</dt><dd>5</dd>');
    expect(html).toContain('<dt>Re-engaged</dt><dd>2</dd>');
    expect(html).toContain('<dt>Median days to re-engage</dt><dd>9.5</dd>');
    expect(html).toContain(`<dt>Lift from nurture</dt><dd>+${(report.holdout.lift as number) * 100} pp</dd>`);
    expect(html).toContain('<input type="date" name="from" value="2026-11-02" required>');
    expect(html).toContain('<option value="week" selected>week</option>');
  });

  it('still renders every chart without data, with data-points 0 and why', () => {
    const html = dashboardPage(emptyReport(), { rows: [], thresholds, holdoutPercent: 0 });
    const f = figures(html);
    expect([...f.keys()]).toEqual([...CHARTS]);
    const owners = figures(ownersPage(emptyReport(), {}));
    expect([...owners.keys()]).toEqual(['owners']);
    for (const [id, fig] of [...f, ...owners]) {
      expect(fig.points, id).toBe(0);
      expect(marksIn(fig.html), id).toBe(0);
      expect(fig.html, id).toMatch(/<p class="empty">no data yet: [^<]+<\/p>/);
      expect(fig.html, id).toMatch(/<svg [^>]*role="img"[^>]*><title>/);
    }
    expect(f.get('holdout')?.html).toContain('no data yet: the holdout is 0% of accounts');
    expect(html).toContain('<dt>Lift from nurture</dt><dd>—</dd>');
    // A holdout configured but without entries in the range says that instead.
    expect(figures(dashboardPage(emptyReport(), { rows: [], thresholds, holdoutPercent: 10 })).get('holdout')?.html).toContain('no data yet: no holdout account entered nurture between 2026-11-02 and 2026-11-23');
  });

  it('escapes a hostile owner and series name', () => {
    const { report, options } = fullReport();
    const html = dashboardPage(report, options);
    const owners = ownersPage(report, {});
    for (const page of [html, owners]) {
      expect(page).not.toContain('<script');
      expect(page).not.toContain('<img');
    }
    expect(owners).toContain('&#60;script&#62;alert(1)&#60;/script&#62;@seller.example');
    expect(html).toContain('&#34;&#62;&#60;img src=x onerror=alert(2)&#62;');
  });

  it('/dashboard shows no owner, only the task totals and a link to the per-owner page', () => {
    const { report, options } = fullReport();
    const html = dashboardPage(report, options);
    expect(html).not.toContain('sam@seller.example');
    expect(html).toContain('<section class="chart" data-section="owners"><h2>Human tasks per owner</h2><p>4 notes, calls and other tasks handed to owners in the range, 2 completed on time.</p>');
    expect(html).toContain('<a href="dashboard/owners?from=2026-11-02&#38;to=2026-11-23&#38;groupBy=week">Human tasks per owner →</a>');
    const owners = ownersPage(report, {});
    expect(owners).toContain('<h1>Human tasks per owner</h1>');
    expect(owners).toContain('<title>Human tasks per owner 2026-11-02 to 2026-11-23 · Cultivate</title>');
    expect(owners).toContain('<input type="date" name="from" value="2026-11-02" required>');
  });

  it('references nothing outside itself: relative links only, no script, no style attribute', () => {
    const { report, options } = fullReport();
    const html = dashboardPage(report, { ...options, token: 'tok en&"<' });
    // Tags only: the hostile series name is text (escaped), not markup.
    const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
    const refs = tags.flatMap((t) => [...t.matchAll(/\s(?:src|href|action|xlink:href)\s*=\s*"([^"]*)"/gi)].map((m) => m[1] as string));
    expect(refs.length).toBe(5);
    for (const ref of refs) expect(ref).not.toMatch(/^(?:[a-z][a-z0-9+.-]*:|\/)/i);
    expect(tags.filter((t) => /^<(?:script|link|img|iframe|object|embed|image|use)\b|\s(?:src|style|on\w+)\s*=/i.test(t))).toEqual([]);
    expect(html).not.toMatch(/url\(|@import/i);
    // The token rides along in every link and the form, encoded and escaped.
    expect(refs).toEqual([
      'metrics.csv?from=2026-11-02&#38;to=2026-11-23&#38;groupBy=week&#38;token=tok+en%26%22%3C',
      'metrics/feed.json?weeks=4&#38;token=tok+en%26%22%3C',
      'metrics?from=2026-11-02&#38;to=2026-11-23&#38;groupBy=week&#38;token=tok+en%26%22%3C',
      'dashboard',
      'dashboard/owners?from=2026-11-02&#38;to=2026-11-23&#38;groupBy=week&#38;token=tok+en%26%22%3C',
    ]);
    expect(html).toContain('<input type="hidden" name="token" value="tok en&#38;&#34;&#60;">');
    expect(dashboardPage(report, options)).not.toContain('token');

    // The owners page is one level down (/dashboard/owners, /feeds/dashboard/owners): its links climb one.
    const owners = ownersPage(report, { token: 'tok en&"<' });
    const ownerTags = owners.match(/<[a-z][^>]*>/gi) ?? [];
    expect(ownerTags.filter((t) => /^<(?:script|link|img|iframe|object|embed|image|use)\b|\s(?:src|style|on\w+)\s*=/i.test(t))).toEqual([]);
    expect(ownerTags.flatMap((t) => [...t.matchAll(/\s(?:src|href|action|xlink:href)\s*=\s*"([^"]*)"/gi)].map((m) => m[1] as string))).toEqual([
      '../dashboard?from=2026-11-02&#38;to=2026-11-23&#38;groupBy=week&#38;token=tok+en%26%22%3C',
      '../metrics.csv?from=2026-11-02&#38;to=2026-11-23&#38;groupBy=week&#38;owners=true&#38;token=tok+en%26%22%3C',
      '../metrics?from=2026-11-02&#38;to=2026-11-23&#38;groupBy=week&#38;owners=true&#38;token=tok+en%26%22%3C',
      'owners',
    ]);
    expect(owners).toContain('<input type="hidden" name="token" value="tok en&#38;&#34;&#60;">');
    expect(ownersPage(report, {})).not.toContain('token');
  });

  it('has exactly one inline style, and the CSP allows exactly it', () => {
    const { report, options } = fullReport();
    const html = dashboardPage(report, options);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] as string);
    expect(styles).toHaveLength(1);
    expect([...ownersPage(report, {}).matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1])).toEqual(styles);
    const hash = createHash('sha256').update(styles[0] as string, 'utf8').digest('base64');
    expect(DASHBOARD_CSP).toBe(`default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`);
  });
});

// ---------------------------------------------------------------------------------------------
// A year of data: synthetic facts through the real deltas and report.

/** A small deterministic generator (mulberry32), so the year is the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();

/** `perWeek` lost deals a week for the year before `now`, with touches, replies, outcomes and e-mail feedback. */
function yearOfFacts(perWeek: number, now: Date, weeks = 53): Fact[] {
  const rnd = random(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const facts: Fact[] = [];
  const start = now.getTime() - weeks * 7 * DAY;
  const push = (f: Fact) => {
    if (Date.parse(f.at) <= now.getTime()) facts.push(f);
  };
  for (let i = 0; i < perWeek * weeks; i++) {
    const lost = start + rnd() * weeks * 7 * DAY;
    const lostAt = iso(lost);
    const group = rnd() < 0.1 ? 'holdout' : 'nurtured';
    const owner = `owner${Math.floor(rnd() * 8)}@seller.example`;
    const reason = pick(['timing', 'budget', 'competitor', 'no-decision']);
    const provider = pick(['gmail', 'outlook', 'yahoo', 'other', 'unknown']);
    push({ metric: 'nurture.entered', at: lostAt, dims: { reason, track: 'standard', role: 'champion', horizon: 'quarter', owner, group }, survival: { lostAt, group, event: 'entered' } });
    push({ metric: 'relationships', at: lostAt, dims: { stage: 'nurturing', group }, gauge: 1 });
    if (group === 'nurtured') {
      push({ metric: 'task.assigned', at: iso(lost + DAY), dims: { owner, kind: 'thank-you-note' } });
      push({ metric: 'touch.sent', at: iso(lost + DAY), dims: { channel: 'task', owner, group } });
      push({ metric: `task.completed.${rnd() < 0.7 ? 'on-time' : 'late'}`, at: iso(lost + 2 * DAY), dims: { owner } });
      for (let k = 1; k <= 6; k++) {
        const at = iso(lost + k * 7 * DAY);
        if (rnd() < 0.1) {
          push({ metric: 'touch.skipped', at, dims: { channel: 'email', reason: pick(['owner-capacity', 'send-window']) } });
          continue;
        }
        push({ metric: 'touch.sent', at, dims: { channel: 'email', owner, group } });
        const series = pick(['pipeline-hygiene', 'forecasting', 'onboarding', 'pricing', 'security', 'other']);
        push({ metric: 'email.sent', at, dims: { provider, series } });
        if (rnd() < 0.01) push({ metric: 'email.bounced', at, dims: { provider } });
        if (rnd() < 0.001) push({ metric: 'email.complained', at, dims: { provider } });
        if (rnd() < 0.01) push({ metric: 'email.unsubscribed', at, dims: { provider, scope: 'all' } });
        if (rnd() < 0.005) push({ metric: 'reply.missed-me', at, dims: { series } });
      }
    }
    if (rnd() < 0.35) {
      const day = Math.floor(rnd() * 365);
      push({ metric: 'nurture.re-engaged', at: iso(lost + day * DAY), dims: { signal: 'reply', reason, owner, group }, days: day, survival: { lostAt, group, event: 'event', day } });
      if (rnd() < 0.4) push({ metric: 'holdout.converted', at: lostAt, dims: { group, signal: 'meeting', reason } });
    }
    if (rnd() < 0.05) push({ metric: 'requalification', at: iso(lost + 90 * DAY), dims: { outcome: pick(['no-future', 'future-opportunity', 'next-step']) } });
  }
  return facts;
}

/** The aggregates of `facts` in memory, read through the report's own port. */
function memoryReader(facts: readonly Fact[]): AggregateReader & { reads: string[] } {
  const partitions = new Map<string, Map<string, Record<string, number | string>>>();
  for (const fact of facts) {
    for (const d of deltasOf(fact)) {
      const items = partitions.get(d.key.pk) ?? new Map<string, Record<string, number | string>>();
      partitions.set(d.key.pk, items);
      const cur = items.get(d.key.sk) ?? { pk: d.key.pk, sk: d.key.sk };
      items.set(d.key.sk, cur);
      for (const [k, v] of Object.entries(d.add)) cur[k] = ((cur[k] as number | undefined) ?? 0) + v;
    }
  }
  const reads: string[] = [];
  return {
    reads,
    async partition(pk) {
      reads.push(pk);
      return [...(partitions.get(pk)?.values() ?? [])];
    },
  };
}

describe('a year of data', () => {
  const NOW = new Date('2026-11-23T10:00:00.000Z');
  const query = { from: '2025-11-18', to: '2026-11-23', groupBy: 'week' as const };

  it('reads each partition once for the report and the rows together', async () => {
    const reader = memoryReader(yearOfFacts(5, NOW));
    await readDashboard(reader, metricsConfig, query, NOW);
    expect(reader.reads.length).toBe(new Set(reader.reads).size);
    // One per week, the gauges, one per cohort month; no owner partition.
    expect(reader.reads.length).toBe(periodsBetween('week', query.from, query.to).length + 1 + periodsBetween('month', query.from, query.to).length);
    expect(reader.reads.filter((pk) => pk.endsWith('#O'))).toEqual([]);
    const once = readOnce(reader);
    await Promise.all([once.partition('AGG#G'), once.partition('AGG#G')]);
    expect(reader.reads.filter((pk) => pk === 'AGG#G')).toHaveLength(2);
  });

  it('draws every chart with data, in a page well under 200 KB', async () => {
    const facts = yearOfFacts(20, NOW);
    const html = await readDashboard(memoryReader(facts), { ...metricsConfig, holdout: { ...metricsConfig.holdout, percent: 10 } }, query, NOW);
    const f = figures(html);
    for (const id of CHARTS) expect(f.get(id)?.points, id).toBeGreaterThan(0);
    expect(f.get('entered')?.points).toBe(54);
    expect(Buffer.byteLength(html)).toBeLessThan(200_000);
    const reader = memoryReader(facts);
    const owners = await readOwnersDashboard(reader, metricsConfig, query, NOW);
    // The eight owners, assigned and on time each.
    expect(figures(owners).get('owners')?.points).toBe(16);
    expect(reader.reads.filter((pk) => pk.endsWith('#O'))).toHaveLength(periodsBetween('week', query.from, query.to).length);
  });
});

// ---------------------------------------------------------------------------------------------
// The route, against DynamoDB Local.

describe('GET /dashboard', () => {
  const db = withDynamoDbLocal('cultivate-dashboard-test');
  const NOW = new Date('2026-11-23T10:00:00.000Z');
  const routes = () =>
    metricsRoutes({ store: () => new DynamoMetricsStore(db.doc, db.table), config: metricsConfig, context, clock: { now: () => NOW }, logger: silentLogger });
  /** What every dashboard page answers with: its security and cost headers. */
  const expectPageHeaders = (res: Response) => {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('private, max-age=60');
    expect(Number(res.headers.get('cultivate-read-units'))).toBeGreaterThan(0);
  };

  it('serves the page from one read, with its security and cost headers', async () => {
    const facts = yearOfFacts(1, NOW, 6);
    // The rebuild's write path (batched puts): transactions on DynamoDB Local would cost seconds here.
    await new DynamoMetricsStore(db.doc, db.table).replaceAll(mergeDeltas(facts.flatMap(deltasOf)), []);
    const query = { from: '2026-10-01', to: '2026-11-23', groupBy: 'week' as const };
    const res = await routes().request('/dashboard?from=2026-10-01&to=2026-11-23&token=reader-token-1');
    expectPageHeaders(res);
    // The rows for the touches came from the partitions the report read: its weeks, the gauges, its months.
    const report = await metricsReport(new DynamoMetricsStore(db.doc, db.table), metricsConfig, query, NOW);
    expect(report.reads.queries).toBe(periodsBetween('week', query.from, query.to).length + 1 + 2);
    expect(res.headers.get('cultivate-read-queries')).toBe(String(report.reads.queries));
    const html = await res.text();
    expect(html).toBe(dashboardPage(report, { rows: await metricRows(new DynamoMetricsStore(db.doc, db.table), 'week', query.from, query.to, { levels: false }), thresholds, holdoutPercent: 0, token: 'reader-token-1' }));
    const f = figures(html);
    expect([...f.keys()]).toEqual([...CHARTS]);
    expect(report.metrics['nurture.entered']?.total.n).toBeGreaterThan(0);
    expect(report.metrics['task.assigned']?.dimensions.owner).toBeUndefined();
    expect(html).toContain(`<dt>Entered nurture</dt><dd>${report.metrics['nurture.entered']?.total.n}</dd>`);
    expect(f.get('entered')?.points).toBeGreaterThan(0);
    expect(f.get('touches')?.points).toBeGreaterThan(0);
    expect(html).toContain('href="metrics.csv?from=2026-10-01&#38;to=2026-11-23&#38;groupBy=week&#38;token=reader-token-1"');
  });

  it('GET /dashboard/owners: the report with owners, one more query per week, the same headers', async () => {
    const query = { from: '2026-10-01', to: '2026-11-23', groupBy: 'week' as const };
    const res = await routes().request('/dashboard/owners?from=2026-10-01&to=2026-11-23&token=reader-token-1');
    expectPageHeaders(res);
    const report = await metricsReport(new DynamoMetricsStore(db.doc, db.table), metricsConfig, { ...query, owners: true }, NOW);
    const weeks = periodsBetween('week', query.from, query.to).length;
    expect(report.reads.queries).toBe(2 * weeks + 1 + 2);
    expect(res.headers.get('cultivate-read-queries')).toBe(String(report.reads.queries));
    const html = await res.text();
    expect(html).toBe(ownersPage(report, { token: 'reader-token-1' }));
    expect(figures(html).get('owners')?.points).toBeGreaterThan(0);
    expect(html).toMatch(/<th>owner\d@seller\.example<\/th>/);
    // owners means nothing to the dashboards: refused, not ignored.
    for (const path of ['/dashboard?owners=true', '/dashboard/owners?owners=false']) {
      const bad = await routes().request(path);
      expect(bad.status, path).toBe(400);
      expect(((await bad.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['owners']);
    }
  });

  it('defaults to the last 53 weeks, and a bad query is the same JSON 400 as the other metrics routes', async () => {
    const html = await (await routes().request('/dashboard')).text();
    expect(html).toContain('<input type="date" name="from" value="2025-11-18" required>');
    expect(html).toContain('<input type="date" name="to" value="2026-11-23" required>');
    const bad = await routes().request('/dashboard?from=2026-13-01&groupBy=day&colour=red');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await bad.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path).sort()).toEqual(['colour', 'from', 'groupBy']);
  });

  it('the other metrics routes ignore a token parameter (it is checked in front of them)', async () => {
    expect((await routes().request('/metrics?from=2026-11-01&to=2026-11-23&token=t')).status).toBe(200);
    expect((await routes().request('/metrics.csv?token=t')).status).toBe(200);
    expect((await routes().request('/metrics/feed.json?weeks=2&token=t')).status).toBe(200);
  });
});
