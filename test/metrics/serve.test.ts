/** What the routes serve, built from rows: RFC 4180 CSV, the weekly JSON Feed, the rebuild comparison. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareAggregates } from '#domain/metrics/compare';
import { weeklyFeed, weekItemId, weekStart } from '#domain/metrics/feed';
import { isoWeek } from '#domain/metrics/periods';
import { metricsReport } from '#domain/metrics/report';
import { CSV_HEADER, metricRows, type MetricRow, rowsOf, toCsv } from '#domain/metrics/rows';
import type { Delta } from '#domain/metrics/types';
import { metricsConfig } from './helpers.ts';

/** A strict RFC 4180 reader: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), (i += 2);
      else if (ch === '"') (quoted = false), i++;
      else (field += ch), i++;
    } else if (ch === '"' && field === '') (quoted = true), i++;
    else if (ch === ',') row.push(field), (field = ''), i++;
    else if (ch === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), (i += 2);
    else if (ch === '"' || ch === '\n' || ch === '\r') throw new Error(`bare ${JSON.stringify(ch)} at ${i}`);
    else (field += ch), i++;
  }
  if (field !== '' || row.length > 0) throw new Error('last line not CRLF-terminated');
  return rows;
}

describe('CSV (RFC 4180)', () => {
  it('round-trips any values: header first, one line per row, CRLF, quoting only where needed', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', ',', '"', '\n', '\r', 'é', '+', '#') });
    fc.assert(
      fc.property(fc.array(fc.record({ metric: text, period: text, dimension: text, value: text, n: fc.integer(), sum: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }) }), { maxLength: 8 }), (rows) => {
        const parsed = parseCsv(toCsv(rows as MetricRow[]));
        expect(parsed[0]).toEqual([...CSV_HEADER]);
        expect(parsed.slice(1)).toEqual(rows.map((r) => [r.metric, r.period, r.dimension, r.value, String(r.n), r.sum === undefined ? '' : String(r.sum)]));
      }),
    );
    expect(toCsv([{ metric: 'task.assigned', period: '2026-W47', dimension: 'owner', value: 'Reyes, "Sam"', n: 2 }])).toBe(
      'metric,period,dimension,value,n,sum\r\ntask.assigned,2026-W47,owner,"Reyes, ""Sam""",2,\r\n',
    );
  });

  it('reads counter items only, and leaves levels at 0 out', () => {
    const items = [
      { pk: 'AGG#W#2026-W47', sk: 'C#crm.deal-won#source#nurture', n: 1, sum: 24000 },
      { pk: 'AGGSEQ#x', sk: 'SEQ', pos: '1' },
    ];
    expect(rowsOf('2026-W47', items)).toEqual([{ metric: 'crm.deal-won', period: '2026-W47', dimension: 'source', value: 'nurture', n: 1, sum: 24000 }]);
    expect(rowsOf('current', [{ sk: 'C#relationships#stage#nurturing', n: 0 }, { sk: 'C#relationships#stage#re-engaged', n: 2 }])).toEqual([
      { metric: 'relationships', period: 'current', dimension: 'stage', value: 're-engaged', n: 2 },
    ]);
  });
});

describe('per-owner counters (owner partitions, schema version 2)', () => {
  // W47 is the week of the upgrade: a counter written before it is in the week partition, one after in the owner partition.
  const partitions: Record<string, Record<string, unknown>[]> = {
    'AGG#W#2026-W47': [
      { sk: 'C#task.assigned#all#all', n: 5 },
      { sk: 'C#task.assigned#kind#introduction', n: 5 },
      { sk: 'C#task.assigned#owner#sam@seller.example', n: 2 },
    ],
    'AGG#W#2026-W47#O': [
      { sk: 'C#task.assigned#owner#sam@seller.example', n: 1 },
      { sk: 'C#task.assigned#owner#kim@seller.example', n: 2 },
    ],
  };
  const reads: string[] = [];
  const reader = {
    async partition(pk: string) {
      reads.push(pk);
      return partitions[pk] ?? [];
    },
  };
  const NOW = new Date('2026-11-22T12:00:00.000Z');

  it('the report without owners reads no owner partition and drops per-owner items found anywhere', async () => {
    reads.length = 0;
    const r = await metricsReport(reader, metricsConfig, { from: '2026-11-16', to: '2026-11-22' }, NOW);
    expect(reads).not.toContain('AGG#W#2026-W47#O');
    expect(r.metrics['task.assigned']?.dimensions).toEqual({ kind: { introduction: { n: 5 } } });
    expect(r.metrics['task.assigned']?.total).toEqual({ n: 5 });
  });

  it('the report with owners adds both parts of a counter the upgrade split', async () => {
    reads.length = 0;
    const r = await metricsReport(reader, metricsConfig, { from: '2026-11-16', to: '2026-11-22', owners: true }, NOW);
    expect(reads).toContain('AGG#W#2026-W47#O');
    expect(r.metrics['task.assigned']?.dimensions.owner).toEqual({ 'sam@seller.example': { n: 3 }, 'kim@seller.example': { n: 2 } });
    expect(r.metrics['task.assigned']?.total).toEqual({ n: 5 });
  });

  it('CSV rows: none per owner without owners; with owners one row per counter, its parts added', async () => {
    reads.length = 0;
    const without = await metricRows(reader, 'week', '2026-11-16', '2026-11-22', { levels: false });
    expect(reads).toEqual(['AGG#W#2026-W47']);
    expect(without.map((r) => r.dimension)).toEqual(['all', 'kind']);
    const withOwners = await metricRows(reader, 'week', '2026-11-16', '2026-11-22', { levels: false, owners: true });
    expect(withOwners.filter((r) => r.dimension === 'owner')).toEqual([
      { metric: 'task.assigned', period: '2026-W47', dimension: 'owner', value: 'kim@seller.example', n: 2 },
      { metric: 'task.assigned', period: '2026-W47', dimension: 'owner', value: 'sam@seller.example', n: 3 },
    ]);
    expect(rowsOf('2026-W47', partitions['AGG#W#2026-W47'] ?? [], false).map((r) => r.dimension)).toEqual(['all', 'kind']);
  });

  it('owners is "true" or "false" (or a boolean), nothing else', async () => {
    await expect(metricsReport(reader, metricsConfig, { from: '2026-11-16', to: '2026-11-22', owners: 'yes' as never }, NOW)).rejects.toThrow('owners must be true or false');
    expect((await metricsReport(reader, metricsConfig, { from: '2026-11-16', to: '2026-11-22', owners: 'false' }, NOW)).owners).toBe(false);
  });
});

describe('weekly JSON Feed', () => {
  it('weekStart is the Monday of the ISO week, including week 53 and weeks across the new year', () => {
    expect(weekStart('2026-W01').toISOString()).toBe('2025-12-29T00:00:00.000Z');
    expect(weekStart('2020-W53').toISOString()).toBe('2020-12-28T00:00:00.000Z');
    fc.assert(fc.property(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), (d) => {
      const start = weekStart(isoWeek(d));
      expect(start.getUTCDay()).toBe(1);
      expect(d.getTime() - start.getTime()).toBeGreaterThanOrEqual(0);
      expect(d.getTime() - start.getTime()).toBeLessThan(7 * 86_400_000);
    }));
  });

  const row = (metric: string, period: string, n: number, dimension = 'all', value = 'all', sum?: number): MetricRow => ({ metric, period, dimension, value, n, ...(sum !== undefined && { sum }) });
  const feed = () =>
    weeklyFeed({
      weeks: ['2026-W47', '2026-W48'],
      previousRows: [row('nurture.entered', '2026-W46', 1)],
      rowsByWeek: new Map([
        ['2026-W47', [row('nurture.entered', '2026-W47', 3), row('touch.sent', '2026-W47', 2, 'channel', 'task')]],
        [
          '2026-W48',
          [
            row('nurture.entered', '2026-W48', 3),
            row('nurture.re-engaged', '2026-W48', 2),
            row('nurture.re-engaged', '2026-W48', 1, 'signal', 'reply'),
            row('nurture.re-engaged', '2026-W48', 1, 'signal', 'meeting'),
            row('crm.deal-created', '2026-W48', 1, 'source', 'nurture', 18000),
            row('email.sent', '2026-W48', 100),
            row('email.bounced', '2026-W48', 4),
          ],
        ],
      ]),
      now: new Date('2026-11-25T12:00:00.000Z'),
      thresholds: { bounceRate: 0.05, complaintRate: 0.001, alarmAt: 0.5 },
      schemaVersion: 1,
      feedUrl: 'https://api.example/metrics/feed.json',
      homePageUrl: 'https://api.example/metrics',
    });

  it('is JSON Feed 1.1: version, title, one item per week (newest first) with a stable id and text', () => {
    const f = feed();
    expect(f.version).toBe('https://jsonfeed.org/version/1.1');
    expect(f.items.map((i) => i.id)).toEqual([weekItemId('2026-W48'), weekItemId('2026-W47')]);
    expect(feed().items.map((i) => i.id)).toEqual(f.items.map((i) => i.id));
    for (const i of f.items) expect(i.content_text.length).toBeGreaterThan(0);
    expect(f._cultivate.schemaVersion).toBe(1);
  });

  it('says in words what changed against the week before, and why it matters', () => {
    const [w48, w47] = feed().items;
    expect(w47?.content_text).toContain('3 lost deals entered nurture (1 the week before)');
    expect(w48?.content_text).toContain('3 lost deals entered nurture (as the week before)');
    expect(w48?.content_text).toContain('2 relationships re-engaged (0 the week before) (1 meeting, 1 reply)');
    expect(w48?.content_text).toContain('1 deal created worth 18,000');
    // 4 % bounces: past half of SES's 5 % review threshold.
    expect(w48?.content_text).toContain('needs attention (bounces: alarm, complaints: ok)');
    expect(w48?.tags).toEqual(expect.arrayContaining(['re-engagement', 'pipeline', 'attention']));
    // The running week is "so far", published at its start; a finished week at its end.
    expect(w48?.title).toContain('(so far)');
    expect(w48?.date_published).toBe('2026-11-23T00:00:00.000Z');
    expect(w47?.date_published).toBe('2026-11-23T00:00:00.000Z');
    expect(w47?.url).toBe('https://api.example/metrics?from=2026-11-16&to=2026-11-22&groupBy=week');
  });
});

describe('rebuild comparison', () => {
  it('a missing item or attribute reads 0; rounding is not a difference; the rest is reported, sorted', () => {
    const live = new Map<string, Record<string, number>>([
      ['AGG#G\u0000C#relationships#stage#nurturing', { n: 0 }],
      ['AGG#M#2026-11\u0000C#crm.deal-won#all#all', { n: 1, sum: 0.1 + 0.2 }],
      ['AGG#M#2026-11\u0000C#nurture.entered#all#all', { n: 3 }],
    ]);
    const rebuilt: Delta[] = [
      { key: { pk: 'AGG#M#2026-11', sk: 'C#crm.deal-won#all#all' }, add: { n: 1, sum: 0.3 } },
      { key: { pk: 'AGG#M#2026-11', sk: 'C#nurture.entered#all#all' }, add: { n: 2 } },
      { key: { pk: 'AGG#S#2026-11', sk: 'nurtured#2026-11-16' }, add: { n: 2, e3: 1 } },
    ];
    expect(compareAggregates(live, rebuilt)).toEqual([
      { pk: 'AGG#M#2026-11', sk: 'C#nurture.entered#all#all', attribute: 'n', live: 3, rebuilt: 2 },
      { pk: 'AGG#S#2026-11', sk: 'nurtured#2026-11-16', attribute: 'e3', live: 0, rebuilt: 1 },
      { pk: 'AGG#S#2026-11', sk: 'nurtured#2026-11-16', attribute: 'n', live: 0, rebuilt: 2 },
    ]);
  });
});
