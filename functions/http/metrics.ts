/**
 * The metrics routes (docs/metrics.md), shared by the local server and the `metrics` API function
 * (JWT on AWS): the report as JSON, the same numbers as CSV rows, the weekly JSON Feed, the
 * dashboard (an HTML page of charts, functions/http/dashboard.ts), and the rebuild that recomputes
 * the aggregates from the timelines and says where live ones differ. Every answer names its schema
 * version and what it cost to read (`Cultivate-Read-Units`). What a GET reads does not grow with
 * the population, except where per-owner numbers are asked for (`owners=true` on /metrics and
 * /metrics.csv, and /dashboard/owners): the feed never reads them.
 */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { DynamoMetricsStore, ReadStats } from '#adapters/dynamo-metrics';
import type { MetricsConfig } from '#config/metrics';
import { rebuildMetrics } from '#handlers/metrics-stream';
import { compareAggregates } from '#domain/metrics/compare';
import { FEED_CONTENT_TYPE, weeklyFeed, weekStart } from '#domain/metrics/feed';
import { isoWeek, periodsBetween } from '#domain/metrics/periods';
import type { RebuildContext } from '#domain/metrics/rebuild';
import { METRICS_SCHEMA_VERSION, metricsReport, ReportQuery } from '#domain/metrics/report';
import { metricRows, type MetricRow, toCsv } from '#domain/metrics/rows';
import type { Clock, Logger } from '#ports/ports';
import { DASHBOARD_HEADERS, readDashboard, readOwnersDashboard } from './dashboard.ts';
import { zodIssues } from '#shared/zod-issues';

export type MetricsRouteStore = Pick<DynamoMetricsStore, 'partition' | 'takeReadStats' | 'allAggregates' | 'relationships' | 'replaceAll'>;

export interface MetricsRoutesDeps {
  /** A fresh store per request, so its read statistics are that request's alone. */
  store: () => MetricsRouteStore;
  config: MetricsConfig;
  context: RebuildContext;
  clock: Clock;
  logger: Logger;
  /** Runs the rebuild with the stream consumer paused, where the runtime can (the local poller). */
  paused?: <T>(work: () => Promise<T>) => Promise<T>;
}

const DAY_MS = 86_400_000;
/** Without `from`/`to`: the last twelve weeks up to today. */
const DEFAULT_RANGE_DAYS = 83;
/** The dashboard's default: the last 53 weeks up to today, so a whole year shows. */
const DASHBOARD_RANGE_DAYS = 53 * 7 - 1;
const FEED_WEEKS_DEFAULT = 12;
const MAX_DIFFERENCES_SHOWN = 200;

const FeedQuery = z
  .object({ weeks: z.coerce.number({ message: 'weeks must be a number' }).int('weeks must be a whole number').min(1, 'weeks must be at least 1').max(52, 'weeks may be at most 52').default(FEED_WEEKS_DEFAULT) })
  .strict();
const RebuildQuery = z.object({ dryRun: z.enum(['true', 'false'], { message: 'dryRun must be true or false' }).optional() }).strict();

type Issue = z.core.$ZodIssue;
const issuesOf = (issues: readonly Issue[]) => zodIssues(issues, '(query)');

function badQuery(c: Context, issues: readonly Issue[]) {
  const list = issuesOf(issues);
  return c.json({ error: `invalid query: ${list.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues: list }, 400);
}

/**
 * The query without `token`: a feed reader's token is checked in front of these routes (and only
 * carried into the dashboard's links), so it is no filter and the strict schemas need not know it.
 */
function queryOf(c: Context): Record<string, string> {
  const params = new URL(c.req.url).searchParams;
  params.delete('token');
  return Object.fromEntries(params);
}

/** The report query with today's defaults filled in (a feed reader or a bookmark sends none). */
function reportQuery(c: Context, now: Date, rangeDays = DEFAULT_RANGE_DAYS) {
  const q = queryOf(c);
  const today = now.toISOString().slice(0, 10);
  const to = q.to ?? today;
  const base = Date.parse(to);
  const from = q.from ?? (Number.isFinite(base) ? new Date(base - rangeDays * DAY_MS).toISOString().slice(0, 10) : today);
  return ReportQuery.safeParse({ ...q, from, to });
}

function costHeaders(c: Context, stats: ReadStats) {
  c.header('Cultivate-Schema-Version', String(METRICS_SCHEMA_VERSION));
  // DynamoDB's consumed read capacity for this request, and how many queries it took.
  c.header('Cultivate-Read-Units', String(stats.readUnits));
  c.header('Cultivate-Read-Queries', String(stats.queries));
  c.header('Cache-Control', 'private, max-age=60');
}

export function metricsRoutes(deps: MetricsRoutesDeps): Hono {
  const app = new Hono();

  app.get('/metrics', async (c) => {
    const q = reportQuery(c, deps.clock.now());
    if (!q.success) return badQuery(c, q.error.issues);
    const store = deps.store();
    const report = await metricsReport(store, deps.config, q.data, deps.clock.now());
    costHeaders(c, store.takeReadStats());
    return c.json(report);
  });

  // /dashboard reads no owner partition and /dashboard/owners always does: `owners` in their query
  // would say nothing, so it is refused rather than silently ignored.
  const dashboard = (read: typeof readDashboard) => async (c: Context) => {
    if ('owners' in queryOf(c)) return badQuery(c, [{ code: 'custom', path: ['owners'], message: 'owners is not a dashboard parameter: per-owner numbers are on dashboard/owners', input: undefined }]);
    const now = deps.clock.now();
    const q = reportQuery(c, now, DASHBOARD_RANGE_DAYS);
    if (!q.success) return badQuery(c, q.error.issues);
    const store = deps.store();
    const token = new URL(c.req.url).searchParams.get('token') ?? undefined;
    const html = await read(store, deps.config, q.data, now, token);
    costHeaders(c, store.takeReadStats());
    return c.body(html, 200, { ...DASHBOARD_HEADERS });
  };
  app.get('/dashboard', dashboard(readDashboard));
  app.get('/dashboard/owners', dashboard(readOwnersDashboard));

  app.get('/metrics.csv', async (c) => {
    const q = reportQuery(c, deps.clock.now());
    if (!q.success) return badQuery(c, q.error.issues);
    const store = deps.store();
    const rows = await metricRows(store, q.data.groupBy ?? 'week', q.data.from, q.data.to, { owners: q.data.owners });
    costHeaders(c, store.takeReadStats());
    c.header('Content-Disposition', `inline; filename="cultivate-metrics-${q.data.from}-${q.data.to}.csv"`);
    return c.body(toCsv(rows), 200, { 'content-type': 'text/csv; charset=utf-8; header=present' });
  });

  app.get('/metrics/feed.json', async (c) => {
    const q = FeedQuery.safeParse(queryOf(c));
    if (!q.success) return badQuery(c, q.error.issues);
    const now = deps.clock.now();
    // The week before the first shown is read too: each item compares with its previous week.
    const first = new Date(weekStart(isoWeek(now)).getTime() - q.data.weeks * 7 * DAY_MS);
    const from = first.toISOString().slice(0, 10);
    const to = now.toISOString().slice(0, 10);
    const store = deps.store();
    const rows = await metricRows(store, 'week', from, to, { levels: false });
    const byWeek = new Map<string, MetricRow[]>();
    // Pushed, not copied: a year at a million people is hundreds of thousands of rows (bench/feed.ts).
    for (const r of rows) {
      const week = byWeek.get(r.period);
      if (week) week.push(r);
      else byWeek.set(r.period, [r]);
    }
    const [previous, ...weeks] = periodsBetween('week', from, to);
    // Where this feed was read (`/metrics/...` for people, `/feeds/metrics/...` for token holders):
    // a reader that follows feed_url or home_page_url stays at the same door, with its token.
    const url = new URL(c.req.url);
    const prefix = url.pathname.slice(0, Math.max(0, url.pathname.length - '/metrics/feed.json'.length));
    const token = url.searchParams.get('token');
    const withToken = (path: string) => `${url.protocol}//${url.host}${prefix}${path}${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    const feed = weeklyFeed({
      weeks,
      rowsByWeek: byWeek,
      ...(previous && { previousRows: byWeek.get(previous) ?? [] }),
      now,
      thresholds: deps.config.reviewThresholds,
      schemaVersion: METRICS_SCHEMA_VERSION,
      feedUrl: withToken('/metrics/feed.json'),
      homePageUrl: withToken('/dashboard'),
    });
    costHeaders(c, store.takeReadStats());
    return c.body(JSON.stringify(feed), 200, { 'content-type': `${FEED_CONTENT_TYPE}; charset=utf-8` });
  });

  app.post('/metrics/rebuild', async (c) => {
    const q = RebuildQuery.safeParse(queryOf(c));
    if (!q.success) return badQuery(c, q.error.issues);
    const write = q.data.dryRun !== 'true';
    // Replacing the aggregates while the stream still adds to them loses or doubles counts: a
    // writing rebuild needs the stream paused, which only the local stack can do today.
    if (write && !deps.paused) {
      return c.json({ error: 'a rebuild that writes needs the table stream paused, which this deployment cannot do: run it with ?dryRun=true to see the differences' }, 409);
    }
    const store = deps.store();
    const run = async () => {
      // Live first: the comparison is with what readers saw before the rebuild replaced it.
      const live = await store.allAggregates();
      const { report, rebuilt } = await rebuildMetrics(store, deps.context, { write });
      return { report, differences: compareAggregates(live, rebuilt.deltas) };
    };
    const { report, differences } = deps.paused ? await deps.paused(run) : await run();
    deps.logger.info('metrics rebuilt', { write, relationships: report.relationships, entries: report.entries, aggregates: report.aggregates, differences: differences.length });
    c.header('Cultivate-Schema-Version', String(METRICS_SCHEMA_VERSION));
    return c.json({
      schemaVersion: METRICS_SCHEMA_VERSION,
      written: write,
      report,
      differences: differences.length,
      // Erased people and changed owners differ by design (docs/metrics.md, Rebuild).
      shown: differences.slice(0, MAX_DIFFERENCES_SHOWN),
    });
  });

  return app;
}
