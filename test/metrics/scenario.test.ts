/**
 * Every metric against one small scenario worked out by hand, through the real stream handler
 * (in-memory store), the report, and the rebuild.
 *
 * Six people lost on 2026-01-05 10:00 UTC (cohort 2026-01); report date 2026-04-05 10:00 (day 90).
 *   A nurtured, a@outlook.com      e-mail 01-08 (stale-deal-audit); task due 01-07 09:00 done 01-09 (late);
 *                                  human reply 01-15 (day 10, re-engaged); deal created 02-04 (10,000);
 *                                  deal won 03-06 (12,000)
 *   B nurtured, b@other.example    e-mails 01-08 (stale-deal-audit), 01-15 (forecast-categories);
 *                                  "missed me" reply 03-06 (day 60)
 *   C nurtured, c@gmail.com        e-mail 01-08 (exit-criteria-template), hard bounce, a scanner's click;
 *                                  task due 01-07 09:00 done 01-07 15:00 (on time), outcome future-opportunity
 *   D nurtured                     erased 02-04 (day 30): censored
 *   H1 holdout                     meeting booked 02-14 (day 40): re-engaged and converted
 *   H2 holdout                     nothing: censored at day 90
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { handleMetricsStream } from '#handlers/metrics-stream';
import { rebuildAggregates } from '#domain/metrics/rebuild';
import { keyString } from '#domain/metrics/deltas';
import { metricsReport, type MetricsReport } from '#domain/metrics/report';
import { context, MemoryMetricsStore, metricsConfig, nonZero, silentLogger, StreamSim } from './helpers.ts';

const LOST = '2026-01-05T10:00:00.000Z';
const NOW = new Date('2026-04-05T10:00:00.000Z');

function scenario(): StreamSim {
  const sim = new StreamSim();
  sim.lose('A', LOST, { group: 'nurtured', email: 'a@outlook.com' });
  sim.lose('B', LOST, { group: 'nurtured', email: 'b@other.example' });
  sim.lose('C', LOST, { group: 'nurtured', email: 'c@gmail.com' });
  sim.lose('D', LOST, { group: 'nurtured' });
  sim.lose('H1', LOST, { group: 'holdout' });
  sim.lose('H2', LOST, { group: 'holdout' });
  for (const id of ['A', 'C']) {
    sim.entry(id, { at: '2026-01-07T09:00:00.000Z', eventId: 'touch:t1', type: 'task-assigned', summary: 'Task for the owner', detail: { touchId: `${id}.t1`, kind: 'thank-you-note', channel: 'task', dueAt: '2026-01-07T09:00:00.000Z', rule: 'test' } });
  }
  sim.entry('C', { at: '2026-01-07T15:00:00.000Z', eventId: 'crm:done-C', type: 'touch-completed', summary: 'Touch completed: future-opportunity', detail: { touchId: 'C.t1', outcome: 'future-opportunity' } });
  sim.email('A', '2026-01-08T10:00:00.000Z', 'stale-deal-audit', 't2');
  sim.email('B', '2026-01-08T10:00:00.000Z', 'stale-deal-audit', 't1');
  sim.email('C', '2026-01-08T10:00:00.000Z', 'exit-criteria-template', 't2');
  sim.entry('C', { at: '2026-01-08T10:00:20.000Z', eventId: 'ses:click:m-C:s:1', type: 'email-clicked', summary: 'Link opened by a scanner', detail: { link: 'https://x', likelyScanner: true } });
  sim.entry('C', { at: '2026-01-08T10:05:00.000Z', eventId: 'ses:hard-bounce:m-C', type: 'email-hard-bounce', summary: 'E-mail bounced permanently' });
  sim.entry('A', { at: '2026-01-09T12:00:00.000Z', eventId: 'crm:done-A', type: 'touch-completed', summary: 'Touch completed: done', detail: { touchId: 'A.t1', outcome: 'done' } });
  sim.email('B', '2026-01-15T10:00:00.000Z', 'forecast-categories', 't2');
  sim.stage('A', 're-engaged', '2026-01-15T10:00:00.000Z', { eventId: 'crm:reply-A', type: 'contact-replied', summary: 'Replied: re-engaged', detail: { classification: 'human' } });
  sim.stage('A', 'in-deal', '2026-02-04T10:00:00.000Z', { eventId: 'crm:deal-A', type: 'deal-created', summary: 'Deal created: nurture paused', detail: { dealId: 'd1', amount: 10000 } });
  sim.erase('D', '2026-02-04T10:00:00.000Z');
  sim.stage('H1', 're-engaged', '2026-02-14T10:00:00.000Z', { eventId: 'crm:meet-H1', type: 'meeting-booked', summary: 'Meeting booked: re-engaged' });
  sim.stage('A', 'customer', '2026-03-06T10:00:00.000Z', { eventId: 'crm:won-A', type: 'deal-won', summary: 'Deal won', detail: { dealId: 'd1', amount: 12000 } });
  sim.stage('B', 're-engaged', '2026-03-06T10:00:00.000Z', { eventId: 'crm:reply-B', type: 'contact-replied', summary: 'Replied: missed the weekly e-mail: re-engaged', detail: { classification: 'missed-me' } });
  return sim;
}

const deps = (store: MemoryMetricsStore) => ({ store, context, shardOf: async () => 'shard-1', logger: silentLogger, clock: { now: () => NOW } });

describe('the hand-worked scenario', () => {
  let sim: StreamSim;
  let store: MemoryMetricsStore;
  let report: MetricsReport;
  /** The same range with the per-owner counters (`owners: true`). */
  let withOwners: MetricsReport;

  beforeAll(async () => {
    sim = scenario();
    store = new MemoryMetricsStore(sim);
    // Record by record, as the smallest batches would deliver them.
    for (const [i, record] of sim.records.entries()) {
      store.cursor = i;
      expect((await handleMetricsStream(deps(store), { Records: [record] })).batchItemFailures).toEqual([]);
    }
    report = await metricsReport(store, metricsConfig, { from: '2026-01-01', to: '2026-04-05', groupBy: 'month' }, NOW);
    withOwners = await metricsReport(store, metricsConfig, { from: '2026-01-01', to: '2026-04-05', groupBy: 'month', owners: 'true' }, NOW);
  });

  it('people entering nurture, by cohort period and dimension', () => {
    const entered = report.metrics['nurture.entered'];
    expect(entered?.total.n).toBe(6);
    expect(entered?.periods).toEqual({ '2026-01': { n: 6 } });
    expect(entered?.dimensions.group).toEqual({ nurtured: { n: 4 }, holdout: { n: 2 } });
    expect(entered?.dimensions.reason).toEqual({ timing: { n: 6 } });
    expect(entered?.dimensions.track).toEqual({ standard: { n: 6 } });
    expect(entered?.dimensions.owner).toBeUndefined();
    expect(withOwners.metrics['nurture.entered']?.dimensions.owner).toEqual({ 'sam@seller.example': { n: 6 } });
    expect(withOwners.metrics['nurture.entered']?.dimensions['group+owner']).toEqual({ 'nurtured+sam@seller.example': { n: 4 }, 'holdout+sam@seller.example': { n: 2 } });
    expect(report.metrics['nurture.accounts-entered']?.total.n).toBe(6);
  });

  it('survival per cohort and group, with the erased and the still-waiting censored', () => {
    // Nurtured: A day 10, B day 60 events; D censored day 30; C still waiting (censored day 90).
    //   day 10: 1 - 1/4 = 0.75; day 60: 0.75 * (1 - 1/2) = 0.375.
    // Holdout: H1 day 40 event; H2 censored day 90: day 40: 1 - 1/2 = 0.5.
    const nurtured = report.reengagement.cohorts.find((c) => c.cohort === '2026-01' && c.group === 'nurtured');
    const holdout = report.reengagement.cohorts.find((c) => c.cohort === '2026-01' && c.group === 'holdout');
    expect(nurtured?.subjects).toBe(4);
    expect(nurtured?.points.map((p) => [p.day, p.atRisk, p.events, p.censored])).toEqual([
      [10, 4, 1, 0],
      [30, 3, 0, 1],
      [60, 2, 1, 0],
      [90, 1, 0, 1],
    ]);
    expect(nurtured?.reengagedBy).toEqual({ d30: 0.25, d90: 0.625, d180: null, d365: null });
    expect(nurtured?.medianDays).toBe(60);
    expect(holdout?.reengagedBy).toEqual({ d30: 0, d90: 0.5, d180: null, d365: null });
    expect(holdout?.medianDays).toBe(40);
  });

  it('days to re-engagement: histogram, median and p90', () => {
    // 10 days (8-14), 40 and 60 days (31-60). Median: 1.5th of 3 -> 31 + 0.5/2 * 30 = 38.5;
    // p90: 2.7th -> 31 + 1.7/2 * 30 = 56.5.
    expect(report.reengagement.histogram).toMatchObject({ '0-7': 0, '8-14': 1, '31-60': 2, '366+': 0 });
    expect(report.reengagement.medianDays).toEqual({ days: 38.5, bound: 'interpolated' });
    expect(report.reengagement.p90Days).toEqual({ days: 56.5, bound: 'interpolated' });
    expect(report.metrics['nurture.re-engaged']?.dimensions.signal).toEqual({ reply: { n: 1 }, 'missed-me': { n: 1 }, meeting: { n: 1 } });
  });

  it('the holdout: both groups measured by CRM outcomes only', () => {
    // Nurtured 1 of 4 converted (A's deal; B's reply does not count), holdout 1 of 2 (H1's meeting).
    // lift = 0.25 - 0.5 = -0.25; incremental deals = -0.25 * 4 = -1: no cost per incremental deal.
    // cost = 4 e-mails * 0.002 + 2 tasks * 12.5 = 25.008.
    const h = report.holdout;
    expect(h.nurtured).toMatchObject({ entered: 4, converted: 1, wonAmount: 12000, conversionRate: 0.25 });
    expect(h.holdout).toMatchObject({ entered: 2, converted: 1, wonAmount: 0, conversionRate: 0.5 });
    expect(h.lift).toBeCloseTo(-0.25, 12);
    expect(h.incrementalDeals).toBeCloseTo(-1, 12);
    expect(h.incrementalRevenue).toBeCloseTo(12000, 6);
    expect(h.cost.amount).toBeCloseTo(25.008, 9);
    expect(h.costPerIncrementalDeal).toBeNull();
    expect(h.interval?.method).toMatch(/Newcombe/);
    expect(h.power.underpowered).toBe(true);
  });

  it('pipeline from nurture: deals created and won, count and amount', () => {
    expect(report.metrics['crm.deal-created']?.dimensions.source).toEqual({ nurture: { n: 1, sum: 10000 } });
    expect(report.metrics['crm.deal-won']?.total).toEqual({ n: 1, sum: 12000 });
    expect(report.metrics['crm.meeting']?.dimensions.group).toEqual({ holdout: { n: 1 } });
  });

  it('touches by channel, and tasks per owner on time or late', () => {
    expect(report.metrics['touch.sent']?.dimensions.channel).toEqual({ email: { n: 4 }, task: { n: 2 } });
    // A's task: due 01-07 09:00, done 01-09 12:00 (past the 24 h grace): late. C's: done 6 h after due.
    expect(withOwners.metrics['task.completed.late']?.dimensions.owner).toEqual({ 'sam@seller.example': { n: 1 } });
    expect(withOwners.metrics['task.completed.on-time']?.dimensions.owner).toEqual({ 'sam@seller.example': { n: 1 } });
    expect(report.metrics['task.completed.late']?.dimensions.owner).toBeUndefined();
    expect(report.requalification.outcomes).toEqual({ 'no-future': 0, 'future-opportunity': 1, 'next-step': 0 });
  });

  it('audience health per 1,000 e-mails by provider; scanner clicks are not engagement', () => {
    // 4 sent, 1 hard bounce: 250 bounced and 750 delivered per 1,000; the bounce rate 25% is past SES review (5%).
    expect(report.audience.total).toMatchObject({ sent: 4, bounced: 1, delivered: 3, perThousand: { delivered: 750, bounced: 250, complained: 0, unsubscribed: 0 } });
    expect(report.audience.review).toMatchObject({ bounce: 'review', complaint: 'ok' });
    expect(Object.keys(report.audience.byProvider)).toEqual(['gmail', 'other', 'outlook']);
    expect(report.audience.byProvider.gmail).toMatchObject({ sent: 1, bounced: 1, perThousand: { bounced: 1000 } });
    expect(report.metrics['email.clicked']?.dimensions.by).toEqual({ scanner: { n: 1 } });
    // "Missed me" per series: B's last e-mail was forecasting (1 sent); pipeline-hygiene had 3 sends and none.
    expect(report.audience.missedMePerThousandBySeries).toEqual({ forecasting: 1000, 'pipeline-hygiene': 0 });
  });

  it('relationships by stage now, per group; the erased are gone', () => {
    expect(report.stages.nurtured).toEqual({ nurturing: 1, 're-engaged': 1, customer: 1 });
    expect(report.stages.holdout).toEqual({ nurturing: 1, 're-engaged': 1 });
  });

  it('the read cost depends on the range only: 4 month partitions, the gauges, 4 cohort months; owners add the 4 owner partitions', () => {
    expect(report.reads.queries).toBe(9);
    expect(report.schemaVersion).toBe(2);
    expect(report.owners).toBe(false);
    expect(withOwners.reads.queries).toBe(13);
    expect(withOwners.owners).toBe(true);
    // The owner partitions hold exactly the owner and group+owner counters, nothing the report without them shows.
    const ownerItems = [...store.items.keys()].filter((k) => /^AGG#M#2026-0\d#O\u0000/.test(k));
    expect(ownerItems.length).toBeGreaterThan(0);
    expect(withOwners.reads.items - report.reads.items).toBe(ownerItems.length);
    for (const k of ownerItems) expect(k).toMatch(/\u0000C#[^#]+#(owner|group\+owner)#/);
    for (const k of store.items.keys()) if (/#(owner|group\+owner)#/.test(k)) expect(k).toMatch(/^AGG#[WM]#[^#]+#O\u0000/);
  });

  it('without owners the report is the same but for the per-owner dimensions and what it read', () => {
    const { reads: _r1, owners: _o1, metrics: m1, ...rest1 } = report;
    const { reads: _r2, owners: _o2, metrics: m2, ...rest2 } = withOwners;
    expect(rest1).toEqual(rest2);
    const stripped = Object.fromEntries(
      Object.entries(m2).map(([k, v]) => [k, { ...v, dimensions: Object.fromEntries(Object.entries(v.dimensions).filter(([d]) => d !== 'owner' && d !== 'group+owner')) }]),
    );
    expect(m1).toEqual(stripped);
    expect(Object.values(m1).flatMap((v) => Object.keys(v.dimensions))).not.toContain('owner');
  });

  it('one whole batch, and that batch delivered again, give the same aggregates as record by record', async () => {
    const batch = new MemoryMetricsStore(sim);
    const event = { Records: sim.records };
    await handleMetricsStream(deps(batch), event);
    const again = await handleMetricsStream(deps(batch), event);
    expect(again.reports['shard-1']).toMatchObject({ applied: 0, skipped: sim.records.length });
    expect(nonZero(batch.items)).toEqual(nonZero(store.items));
  });

  it('the rebuild agrees with the live aggregates, except for the erased person (gone from the table by design)', async () => {
    const rebuilt = await rebuildAggregates(sim.relationships(), context);
    const fromRebuild = nonZero(rebuilt.deltas.map((d) => [keyString(d.key), d.add] as [string, Record<string, number>]));
    const live = nonZero(store.items);
    const differing = [...new Set([...live.keys(), ...fromRebuild.keys()])].filter((k) => JSON.stringify(live.get(k)) !== JSON.stringify(fromRebuild.get(k)));
    // D's entry into nurture (its counters and its survival entry and censoring) only.
    for (const k of differing) expect(k).toMatch(/C#nurture\.(entered|accounts-entered)#|C#nurture\.left-observation#|^AGG#S#2026-01\u0000nurtured#2026-01-05$/);
    expect(live.get(`AGG#S#2026-01\u0000nurtured#2026-01-05`)).toEqual({ n: 4, e10: 1, e60: 1, c30: 1 });
    expect(fromRebuild.get(`AGG#S#2026-01\u0000nurtured#2026-01-05`)).toEqual({ n: 3, e10: 1, e60: 1 });
  });
});
