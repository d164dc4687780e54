/**
 * The aggregate store against DynamoDB Local: ADD in transactions with the per-shard marker,
 * redelivery, shards in any order, chunking past the transaction limit, and read cost that does
 * not grow with the population, nor with the number of owners unless per-owner numbers are asked for.
 */
import { describe, expect, it } from 'vitest';
import { DynamoMetricsStore, MAX_TRANSACTION_ITEMS, position, type Unit } from '#adapters/dynamo-metrics';
import { batchWrite } from '#adapters/dynamo-store';
import { deltasOf, keyString, mergeDeltas } from '#domain/metrics/deltas';
import { metricsReport, type MetricsReport } from '#domain/metrics/report';
import { metricsRoutes } from '#http/metrics';
import type { Fact } from '#domain/metrics/types';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { context, metricsConfig, silentLogger } from './helpers.ts';

const db = withDynamoDbLocal('cultivate-metrics-test');
const NOW = new Date('2026-11-20T12:00:00.000Z');
const store = () => new DynamoMetricsStore(db.doc, db.table);

const counter = (metric: string, pk: string, sk: string, n: number): Unit['deltas'][number] => ({ key: { pk, sk }, add: { n } });
const unit = (seq: number | string, deltas: Unit['deltas'], guards: Unit['guards'] = []): Unit => ({ sequenceNumber: String(seq), deltas, guards });
async function value(pk: string, sk: string): Promise<number | undefined> {
  const all = await store().allAggregates();
  return all.get(keyString({ pk, sk }))?.n;
}

describe('DynamoMetricsStore.apply', () => {
  it('counts a batch once, however often it is delivered', async () => {
    const s = store();
    const batch = [unit(100, [counter('x', 'AGG#M#2099-01', 'C#redeliver#all#all', 1)]), unit(110, [counter('x', 'AGG#M#2099-01', 'C#redeliver#all#all', 2)])];
    expect(await s.apply('shard-redeliver', batch, NOW)).toMatchObject({ applied: 2, skipped: 0, transactions: 1 });
    expect(await s.apply('shard-redeliver', batch, NOW)).toMatchObject({ applied: 0, skipped: 2, transactions: 0 });
    // A retry from the second record, and a later batch overlapping the first.
    expect(await s.apply('shard-redeliver', [batch[1] as Unit, unit(120, [counter('x', 'AGG#M#2099-01', 'C#redeliver#all#all', 4)])], NOW)).toMatchObject({ applied: 1, skipped: 1 });
    expect(await value('AGG#M#2099-01', 'C#redeliver#all#all')).toBe(7);
    expect(await s.marker('shard-redeliver')).toBe(position('120'));
  });

  it('keeps one marker per shard: shards may be processed in any order', async () => {
    const s = store();
    const key = ['AGG#M#2099-02', 'C#shards#all#all'] as const;
    // Shard B's sequence numbers are higher than shard A's; B is processed first.
    await s.apply('shard-B', [unit('49000000000000000000000000000000000000', [counter('x', ...key, 10)])], NOW);
    await s.apply('shard-A', [unit('1000', [counter('x', ...key, 1)]), unit('1010', [counter('x', ...key, 1)])], NOW);
    await s.apply('shard-B', [unit('49000000000000000000000000000000000000', [counter('x', ...key, 10)])], NOW);
    await s.apply('shard-A', [unit('1010', [counter('x', ...key, 1)])], NOW);
    expect(await value(...key)).toBe(12);
  });

  it('chunks past the transaction limit, splits an oversized record, and a partial failure resumes exactly', async () => {
    const s = store();
    const pk = 'AGG#M#2099-03';
    // 150 records of one distinct counter each: at most 99 counters + the marker per transaction.
    const many = Array.from({ length: 150 }, (_, i) => unit(2000 + i, [counter('x', pk, `C#chunk#n#${i}`, 1)]));
    // One record touching 250 items: parts 0, 1, 2 with their own positions.
    const big = unit(5000, Array.from({ length: 250 }, (_, i) => counter('x', pk, `C#big#n#${i}`, 1)));
    // The first 60 went through before a crash; the redelivery is the whole batch.
    await s.apply('shard-chunk', many.slice(0, 60), NOW);
    const r = await s.apply('shard-chunk', [...many, big], NOW);
    expect(r.applied).toBe(91);
    expect(r.skipped).toBe(60);
    expect(r.transactions).toBeGreaterThanOrEqual(Math.ceil((90 + 250) / (MAX_TRANSACTION_ITEMS - 1)));
    const all = await s.allAggregates();
    for (let i = 0; i < 150; i++) expect(all.get(keyString({ pk, sk: `C#chunk#n#${i}` }))?.n).toBe(1);
    for (let i = 0; i < 250; i++) expect(all.get(keyString({ pk, sk: `C#big#n#${i}` }))?.n).toBe(1);
    expect(await s.marker('shard-chunk')).toBe(position('5000', 2));
  });

  it('writes nothing for records without deltas (its own aggregate writes come back on the same stream)', async () => {
    const s = store();
    expect(await s.apply('shard-noop', [unit(10, []), unit(20, [])], NOW)).toMatchObject({ applied: 2, transactions: 0, writes: 0 });
    expect(await s.marker('shard-noop')).toBeUndefined();
  });

  it('records guard keys in the same transaction, and reports which are present', async () => {
    const s = store();
    const g = { pk: 'REL#rel_guard', sk: 'MX#in#2026-01-01T00:00:00.000Z' };
    await s.apply('shard-guard', [unit(10, [counter('x', 'AGG#M#2099-04', 'C#g#all#all', 1)], [g])], NOW);
    expect([...(await s.guardsPresent([g, { pk: 'REL#rel_guard', sk: 'MX#re#2026-01-01T00:00:00.000Z' }]))]).toEqual([keyString(g)]);
  });
});

describe('read cost of a feed request', () => {
  /**
   * Entries of `people` people in 2098-05: 28 entry days x 2 groups, 3 owners, 2 reasons. From 56
   * people on every combination exists, so more people only add to the numbers in the same items.
   */
  async function populate(people: number, shard: string, from = 0) {
    const units: Unit[] = [];
    for (let i = from; i < from + people; i++) {
      const at = `2098-05-${String(1 + (Math.floor(i / 2) % 28)).padStart(2, '0')}T10:00:00.000Z`;
      const group = i % 2 ? 'holdout' : 'nurtured';
      const fact: Fact = {
        metric: 'nurture.entered',
        at,
        dims: { reason: i % 4 < 2 ? 'timing' : 'budget', owner: `owner${i % 3}@seller.example`, group },
        survival: { lostAt: at, group, event: 'entered' },
      };
      units.push(unit(10_000 + i, deltasOf(fact)));
    }
    await store().apply(shard, units, NOW);
  }

  it('is the same number of queries, and the same items, for 60 and for 600 people', async () => {
    const s = store();
    const q = { from: '2098-05-01', to: '2098-05-31', groupBy: 'month' as const };
    await populate(60, 'shard-cost-1');
    s.takeReadStats();
    const small = await metricsReport(s, metricsConfig, q, new Date('2098-06-01T00:00:00Z'));
    const smallStats = s.takeReadStats();
    await populate(540, 'shard-cost-2', 60);
    const large = await metricsReport(s, metricsConfig, q, new Date('2098-06-01T00:00:00Z'));
    const largeStats = s.takeReadStats();
    expect(small.metrics['nurture.entered']?.total.n).toBe(60);
    expect(large.metrics['nurture.entered']?.total.n).toBe(600);
    // 1 month partition + the gauges + 1 cohort month.
    expect(small.reads.queries).toBe(3);
    expect(large.reads).toEqual(small.reads);
    expect(largeStats.queries).toBe(smallStats.queries);
    expect(largeStats.items).toBe(smallStats.items);
  });
});

describe('read cost and the number of owners (issue #7)', () => {
  /**
   * Four entries per owner in `month`, on 7 entry days x 2 groups x 2 reasons: from 10 owners on
   * every combination of the small dimensions exists, so more owners add only per-owner items.
   * Written with batched puts of the merged deltas (what the rebuild writes): 1,000 owners in
   * transactions would take DynamoDB Local a minute.
   */
  async function populate(owners: number, month: string) {
    const facts: Fact[] = [];
    for (let o = 0; o < owners; o++) {
      for (let j = 0; j < 4; j++) {
        const at = `${month}-${String(1 + ((o * 4 + j) % 7)).padStart(2, '0')}T10:00:00.000Z`;
        const group = j % 2 ? 'holdout' : 'nurtured';
        facts.push({ metric: 'nurture.entered', at, dims: { reason: j < 2 ? 'timing' : 'budget', owner: `owner${o}@seller.example`, group }, survival: { lostAt: at, group, event: 'entered' } });
      }
    }
    const items = mergeDeltas(facts.flatMap(deltasOf)).map((d) => ({ PutRequest: { Item: { ...d.key, ...d.add } } }));
    await batchWrite(db.doc, db.table, items);
  }

  const NOW_2097 = new Date('2097-12-01T00:00:00.000Z');
  const routes = () => metricsRoutes({ store: store, config: metricsConfig, context, clock: { now: () => NOW_2097 }, logger: silentLogger });
  async function get(month: string, owners?: 'true' | 'false') {
    const res = await routes().request(`/metrics?from=${month}-01&to=${month}-28&groupBy=month${owners ? `&owners=${owners}` : ''}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as MetricsReport;
    return { body, queries: Number(res.headers.get('cultivate-read-queries')), units: Number(res.headers.get('cultivate-read-units')) };
  }

  it('GET /metrics reads the same items for 10 and for 1,000 owners; owners=true reads theirs on top', async () => {
    await populate(10, '2097-05');
    await populate(1000, '2097-07');
    const few = await get('2097-05');
    const many = await get('2097-07');
    expect(few.body.metrics['nurture.entered']?.total.n).toBe(40);
    expect(many.body.metrics['nurture.entered']?.total.n).toBe(4000);
    // 1 month partition + the gauges + 1 cohort month; 9 counters + 14 survival items (7 days x 2 groups).
    expect(few.body.reads).toEqual({ queries: 3, items: 23 });
    expect(many.body.reads).toEqual(few.body.reads);
    expect(many.queries).toBe(few.queries);
    expect(many.units).toBe(few.units);
    expect(many.body.metrics['nurture.entered']?.dimensions.owner).toBeUndefined();
    expect(many.body.metrics['nurture.entered']?.dimensions['group+owner']).toBeUndefined();
    expect(await get('2097-07', 'false')).toEqual({ ...many, body: { ...many.body, generatedAt: expect.any(String) } });

    // Asked for: one more query (the month's owner partition), and one owner + two group+owner items per owner.
    const fewOwners = await get('2097-05', 'true');
    const manyOwners = await get('2097-07', 'true');
    expect(fewOwners.body.reads).toEqual({ queries: 4, items: 23 + 3 * 10 });
    expect(manyOwners.body.reads).toEqual({ queries: 4, items: 23 + 3 * 1000 });
    expect(Object.keys(manyOwners.body.metrics['nurture.entered']?.dimensions.owner ?? {})).toHaveLength(1000);
    expect(manyOwners.body.metrics['nurture.entered']?.dimensions['group+owner']?.['holdout+owner999@seller.example']).toEqual({ n: 2 });
    expect(manyOwners.units).toBeGreaterThan(many.units);
  });

  it('owners must be true or false', async () => {
    const res = await routes().request('/metrics?owners=yes');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: { path: string; message: string }[] }).issues).toEqual([{ path: 'owners', message: 'owners must be true or false' }]);
  });
});
