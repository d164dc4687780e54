/**
 * The metrics report (schema version 2, docs/metrics.md): what GET /metrics and the dashboard read.
 * It costs a fixed number of partition queries for a given range (one per period, one for the
 * gauges, one per cohort month) and items that do not grow with the population. Per-owner
 * counters (`owner`, `group+owner`) grow with the population, so they are opt-in (`owners: true`):
 * one more query per period, and items that grow with the number of owners.
 */
import { z } from 'zod';
import type { MetricsConfig } from '#config/metrics';
import { bucketLabels, GAUGE_PK, isOwnerDimension, ownerPeriodPk, periodPk, survivalPk } from './deltas.ts';
import { lift, type LiftReport } from './lift.ts';
import { periodsBetween } from './periods.ts';
import { mailRates, perThousand, type MailRates, reviewStatus, type ReviewStatus } from './rates.ts';
import { curveQuantile, histogramQuantile, type HistogramQuantile, kaplanMeier, rowsFromItems, shareBy, type SurvivalItem, type SurvivalPoint } from './survival.ts';

/** 2: the `owner` and `group+owner` dimensions are present only when asked for (`owners=true`). */
export const METRICS_SCHEMA_VERSION = 2;
export const HORIZONS = [30, 90, 180, 365] as const;
const MAX_RANGE_DAYS = 3 * 366;

const validDates = (q: { from: unknown; to: unknown }) => [q.from, q.to].every((d) => typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d) && Number.isFinite(Date.parse(d)));

/**
 * Whether to read the per-owner counters. A query string says "true" or "false"; code may pass a
 * boolean. Anything else is refused rather than guessed ("1", "yes"): a typo must not silently
 * drop or add a cost.
 */
export const OwnersFlag = z
  .union([z.boolean(), z.enum(['true', 'false'])], { message: 'owners must be true or false' })
  .optional()
  .transform((v) => v === true || v === 'true');

export const ReportQuery = z
  .object({
    from: z.iso.date({ message: 'from must be a date such as 2026-01-01' }),
    to: z.iso.date({ message: 'to must be a date such as 2026-12-31' }),
    groupBy: z.enum(['week', 'month'], { message: 'groupBy must be week or month' }).default('week'),
    owners: OwnersFlag,
  })
  .strict()
  // A date that is not one is reported by its own field only: comparing it would add noise.
  .refine((q) => !validDates(q) || q.from <= q.to, { message: 'from must not be after to', path: ['from'] })
  .refine((q) => !validDates(q) || Date.parse(q.to) - Date.parse(q.from) <= MAX_RANGE_DAYS * 86_400_000, { message: `the range may span at most ${MAX_RANGE_DAYS} days`, path: ['to'] });
export type ReportQuery = z.input<typeof ReportQuery>;

/** The one read the report needs: every item of an aggregate partition. */
export interface AggregateReader {
  partition(pk: string): Promise<Record<string, unknown>[]>;
}

export interface Cell {
  n: number;
  sum?: number;
}

export interface MetricSeries {
  total: Cell;
  periods: Record<string, Cell>;
  /**
   * Range totals per dimension value; `group+<dim>` crosses a dimension with nurtured/holdout.
   * `owner` and `group+owner` only in a report asked for with `owners: true`.
   */
  dimensions: Record<string, Record<string, Cell>>;
}

export interface CohortCurve {
  cohort: string;
  group: string;
  subjects: number;
  reengagedBy: Record<`d${(typeof HORIZONS)[number]}`, number | null>;
  medianDays: number | null;
  maxFollowUp: number;
  points: SurvivalPoint[];
}

export interface MetricsReport {
  schemaVersion: typeof METRICS_SCHEMA_VERSION;
  generatedAt: string;
  range: { from: string; to: string };
  groupBy: 'week' | 'month';
  /** Whether the per-owner dimensions were read (and are in `dimensions`). */
  owners: boolean;
  periods: string[];
  /** What this report cost to read: partition queries, and items read. */
  reads: { queries: number; items: number };
  metrics: Record<string, MetricSeries>;
  /** Current relationships by stage (a level, not a flow), overall and per group. */
  stages: Record<string, Record<string, number>>;
  reengagement: {
    cohorts: CohortCurve[];
    /** All cohorts in range together, per group. */
    overall: CohortCurve[];
    histogram: Record<string, number>;
    medianDays: HistogramQuantile | null;
    p90Days: HistogramQuantile | null;
  };
  holdout: LiftReport;
  audience: { total: MailRates; review: ReviewStatus; byProvider: Record<string, MailRates>; missedMePerThousandBySeries: Record<string, number | null> };
  requalification: { outcomes: Record<string, number>; shares: Record<string, number | null>; target: string };
}

const num = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0));

function addCell(into: Cell, n: number, sum: number | undefined) {
  into.n += n;
  if (sum !== undefined) into.sum = (into.sum ?? 0) + sum;
}

/**
 * Counters of one period into the series. `owners` false drops per-owner items wherever they are:
 * aggregates written before schema version 2 kept them in the period partition itself, and a
 * report without owners must not show them. With owners, a counter of the week of the upgrade
 * may be in both partitions, each holding a part of it: adding both is right.
 */
function seriesFrom(metrics: Record<string, MetricSeries>, period: string, items: Record<string, unknown>[], owners: boolean) {
  for (const item of items) {
    const sk = String(item.sk);
    if (!sk.startsWith('C#')) continue;
    const [metric, dim, value] = sk.slice(2).split('#') as [string, string, string];
    if (!owners && isOwnerDimension(dim)) continue;
    const s = (metrics[metric] ??= { total: { n: 0 }, periods: {}, dimensions: {} });
    const n = num(item.n);
    const sum = item.sum === undefined ? undefined : num(item.sum);
    if (dim === 'all') {
      addCell(s.total, n, sum);
      addCell((s.periods[period] ??= { n: 0 }), n, sum);
    } else {
      addCell(((s.dimensions[dim] ??= {})[value] ??= { n: 0 }), n, sum);
    }
  }
}

function survivalItem(item: Record<string, unknown>): SurvivalItem {
  const events: Record<number, number> = {};
  const censored: Record<number, number> = {};
  for (const [k, v] of Object.entries(item)) {
    const m = /^([ec])(\d+)$/.exec(k);
    if (m) (m[1] === 'e' ? events : censored)[Number(m[2])] = num(v);
  }
  return { entryDate: String(item.sk).split('#')[1] ?? '', entered: num(item.n), events, censored };
}

function curve(cohort: string, group: string, items: SurvivalItem[], asOf: string): CohortCurve {
  const c = kaplanMeier(rowsFromItems(items, asOf));
  return {
    cohort,
    group,
    subjects: c.subjects,
    reengagedBy: { d30: shareBy(c, 30), d90: shareBy(c, 90), d180: shareBy(c, 180), d365: shareBy(c, 365) },
    medianDays: curveQuantile(c, 0.5),
    maxFollowUp: c.maxFollowUp,
    points: c.points,
  };
}

export async function metricsReport(reader: AggregateReader, config: MetricsConfig, query: ReportQuery, now: Date): Promise<MetricsReport> {
  const q = ReportQuery.parse(query);
  const asOf = now.toISOString();
  const periods = periodsBetween(q.groupBy, q.from, q.to);
  const months = periodsBetween('month', q.from, q.to);
  let queries = 0;
  let itemsRead = 0;
  const read = async (pk: string) => {
    queries++;
    const items = await reader.partition(pk);
    itemsRead += items.length;
    return items;
  };
  const [periodItems, ownerItems, gaugeItems, survivalItems] = await Promise.all([
    Promise.all(periods.map((p) => read(periodPk(q.groupBy, p)))),
    q.owners ? Promise.all(periods.map((p) => read(ownerPeriodPk(q.groupBy, p)))) : [],
    read(GAUGE_PK),
    Promise.all(months.map((m) => read(survivalPk(m)))),
  ]);

  const metrics: Record<string, MetricSeries> = {};
  periods.forEach((p, i) => {
    seriesFrom(metrics, p, periodItems[i] ?? [], q.owners);
    seriesFrom(metrics, p, ownerItems[i] ?? [], q.owners);
  });
  const dim = (metric: string, d: string) => metrics[metric]?.dimensions[d] ?? {};
  const count = (metric: string, d: string, v: string) => dim(metric, d)[v]?.n ?? 0;

  const stages: Record<string, Record<string, number>> = {};
  for (const item of gaugeItems) {
    const [metric, d, value] = String(item.sk).slice(2).split('#') as [string, string, string];
    if (metric !== 'relationships' || (d !== 'stage' && d !== 'group+stage')) continue;
    const [group, stage] = d === 'stage' ? ['all', value] : (value.split('+') as [string, string]);
    // A stage everyone has left reads 0: no row.
    if (num(item.n) !== 0) (stages[group] ??= {})[stage] = num(item.n);
  }

  const cohorts: CohortCurve[] = [];
  const overall = new Map<string, SurvivalItem[]>();
  months.forEach((m, i) => {
    const byGroup = new Map<string, SurvivalItem[]>();
    for (const raw of survivalItems[i] ?? []) {
      const group = String(raw.sk).split('#')[0] as string;
      const item = survivalItem(raw);
      if (item.entryDate < q.from || item.entryDate > q.to) continue;
      for (const into of [byGroup, overall]) {
        const list = into.get(group);
        if (list) list.push(item);
        else into.set(group, [item]);
      }
    }
    for (const [group, items] of [...byGroup].sort()) cohorts.push(curve(m, group, items, asOf));
  });

  const histogram = Object.fromEntries(bucketLabels().map((b) => [b, count('nurture.re-engaged.days', 'bucket', b)]));
  const rangeDays = Math.max(1, (Math.min(Date.parse(q.to) + 86_400_000, now.getTime()) - Date.parse(q.from)) / 86_400_000);
  const group = (metric: string, g: string) => count(metric, 'group', g);
  const holdout = lift({
    nurtured: { entered: group('nurture.entered', 'nurtured'), converted: group('holdout.converted', 'nurtured'), wonAmount: dim('holdout.won', 'group').nurtured?.sum ?? 0 },
    holdout: { entered: group('nurture.entered', 'holdout'), converted: group('holdout.converted', 'holdout'), wonAmount: dim('holdout.won', 'group').holdout?.sum ?? 0 },
    // All touches are the nurtured group's (the holdout gets none; `touch.sent` is not crossed with the group).
    touches: { email: count('touch.sent', 'channel', 'email'), task: count('touch.sent', 'channel', 'task') },
    costPerTouch: config.costPerTouch,
    holdoutPercent: config.holdout.percent,
    power: config.power,
    holdoutEntriesPerDay: group('nurture.entered', 'holdout') / Math.max(1, rangeDays),
    asOf,
  });

  const mail = (provider?: string) => {
    const c = (metric: string) => (provider === undefined ? (metrics[metric]?.total.n ?? 0) : count(metric, 'provider', provider));
    return { sent: c('email.sent'), bounced: c('email.bounced'), complained: c('email.complained'), unsubscribed: c('email.unsubscribed') };
  };
  const providers = new Set(['email.sent', 'email.bounced', 'email.complained', 'email.unsubscribed'].flatMap((m) => Object.keys(dim(m, 'provider'))));
  const series = new Set([...Object.keys(dim('email.sent', 'series')), ...Object.keys(dim('reply.missed-me', 'series'))]);
  const outcomes = Object.fromEntries(['no-future', 'future-opportunity', 'next-step'].map((o) => [o, count('requalification', 'outcome', o)]));
  const requalified = Object.values(outcomes).reduce((a, b) => a + b, 0);

  return {
    schemaVersion: METRICS_SCHEMA_VERSION,
    generatedAt: asOf,
    range: { from: q.from, to: q.to },
    groupBy: q.groupBy,
    owners: q.owners,
    periods,
    reads: { queries, items: itemsRead },
    metrics,
    stages,
    reengagement: {
      cohorts,
      overall: [...overall].sort().map(([g, items]) => curve(`${months[0]}..${months[months.length - 1]}`, g, items, asOf)),
      histogram,
      medianDays: histogramQuantile(histogram, 0.5),
      p90Days: histogramQuantile(histogram, 0.9),
    },
    holdout,
    audience: {
      total: mailRates(mail()),
      review: reviewStatus(mail(), config.reviewThresholds),
      byProvider: Object.fromEntries([...providers].sort().map((p) => [p, mailRates(mail(p))])),
      missedMePerThousandBySeries: Object.fromEntries([...series].sort().map((s) => [s, perThousand(count('reply.missed-me', 'series', s), count('email.sent', 'series', s))])),
    },
    requalification: {
      outcomes,
      shares: Object.fromEntries(Object.entries(outcomes).map(([o, n]) => [o, requalified > 0 ? n / requalified : null])),
      target: 'about one third each: no-future, future-opportunity, next-step',
    },
  };
}
