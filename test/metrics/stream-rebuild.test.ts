/**
 * The whole path against DynamoDB Local: the real state machine writes relationships and
 * timelines, DynamoDB Local's own stream delivers the records (shard found through the Streams
 * API), the handler applies them record by record, and the rebuild from a scan agrees.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, DescribeStreamCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { DynamoMetricsStore, streamShardResolver } from '#adapters/dynamo-metrics';
import { DynamoRelationshipStore } from '#adapters/dynamo-store';
import type { InboundEvent } from '#catalog/events';
import { keyString } from '#domain/metrics/deltas';
import { metricsReport } from '#domain/metrics/report';
import { firstTouchPlanner } from '#domain/planner';
import { applyInbound } from '#domain/relationship';
import { recordTouch } from '#domain/touch';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import { handleMetricsStream, rebuildMetrics } from '#handlers/metrics-stream';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { ev } from '../helpers/fixtures.ts';
import { context, metricsConfig, nonZero, silentLogger } from './helpers.ts';

const db = withDynamoDbLocal('cultivate-metrics-stream');
const NOW = new Date('2026-11-20T12:00:00.000Z');

const people = {
  p1: { id: 'rel_00000000-0000-4000-8000-000000000001', contact: { email: 'p1@outlook.com', accountId: 'acme.example', owner: 'sam@seller.example', role: 'champion' } },
  p2: { id: 'rel_00000000-0000-4000-8000-000000000002', contact: { email: 'p2@initech.example', accountId: 'initech.example', owner: 'lena@seller.example', role: 'evaluator' } },
  p3: { id: 'rel_00000000-0000-4000-8000-000000000003', contact: { email: 'p3@gmail.com', accountId: 'globex.example', owner: 'sam@seller.example' } },
};

async function apply(store: DynamoRelationshipStore, who: keyof typeof people, event: InboundEvent) {
  const p = people[who];
  const prev = await store.get(p.id);
  const d = applyInbound(prev, event.id, event, { now: NOW, relationshipId: p.id, emailHash: `h-${who}`, crmIds: [], fromCrm: true, planner: firstTouchPlanner });
  if (d.kind !== 'applied') throw new Error(`not applied: ${d.kind}`);
  expect(await store.save(d.state, prev?.version)).toBe('saved');
  await store.appendTimeline(p.id, d.timeline);
}

async function touch(store: DynamoRelationshipStore, who: keyof typeof people, t: PlannedTouch, result: Parameters<typeof recordTouch>[2], at: string) {
  const prev = (await store.get(people[who].id)) as RelationshipState;
  const d = recordTouch(prev, t, result, new Date(at), firstTouchPlanner);
  if (!d) throw new Error('touch not recorded');
  expect(await store.save(d.state, prev.version)).toBe('saved');
  await store.appendTimeline(prev.id, d.timeline);
}

async function readStream(): Promise<_Record[]> {
  const streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const arn = (await db.client.send(new DescribeTableCommand({ TableName: db.table }))).Table?.LatestStreamArn as string;
  const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards ?? [];
  const records: _Record[] = [];
  for (const shard of shards) {
    let it = (await streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    for (let i = 0; it && i < 50; i++) {
      const out = await streams.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1000 }));
      records.push(...(out.Records ?? []));
      if ((out.Records ?? []).length === 0) break;
      it = out.NextShardIterator;
    }
  }
  resolver = streamShardResolver(streams, arn);
  return records;
}
let resolver: (seq: string) => Promise<string>;

describe('live aggregates from the table stream, and the rebuild', () => {
  it('agree, record by record; a redelivered stream counts nothing twice', async () => {
    const store = new DynamoRelationshipStore(db.doc, db.table);
    // p1: lost 10-01 (timing); thank-you task assigned 10-03 (due 10-03), done 10-04 (on time);
    //     human reply 10-20 (day 19: re-engaged); deal created 11-01 (5,000): converted.
    await apply(store, 'p1', ev('lead-closed-lost', 'crm:l1', '2026-10-01T09:00:00Z', { reason: 'timing', dealId: 'd-1', amount: 8000 }, people.p1.contact));
    const t1 = (await store.get(people.p1.id))?.nextTouch as PlannedTouch;
    await touch(store, 'p1', t1, { kind: 'task-assigned', title: 'Thank-you note' }, '2026-10-03T09:00:00.000Z');
    await apply(store, 'p1', ev('touch-completed', 'crm:c1', '2026-10-04T08:00:00Z', { touchId: t1.touchId, outcome: 'done' }, people.p1.contact));
    await apply(store, 'p1', ev('contact-replied', 'crm:r1', '2026-10-20T09:00:00Z', { classification: 'human' }, people.p1.contact));
    await apply(store, 'p1', ev('deal-created', 'crm:d1', '2026-11-01T09:00:00Z', { dealId: 'd-2', amount: 5000 }, people.p1.contact));
    // p2: lost 10-01 (budget); an introduction task assigned 10-20, done 10-25; meeting booked 11-15
    //     (day 45): a result of the introduction too.
    await apply(store, 'p2', ev('lead-closed-lost', 'crm:l2', '2026-10-01T09:00:00Z', { reason: 'budget' }, people.p2.contact));
    const intro: PlannedTouch = { touchId: `${people.p2.id}.t5`, at: '2026-10-20T09:00:00.000Z', channel: 'task', kind: 'introduction', status: 'sending', rule: 'test' };
    await touch(store, 'p2', intro, { kind: 'task-assigned', title: 'Introduce them to a peer' }, '2026-10-20T09:00:00.000Z');
    await apply(store, 'p2', ev('touch-completed', 'crm:c2', '2026-10-25T09:00:00Z', { touchId: intro.touchId, outcome: 'done' }, people.p2.contact));
    await apply(store, 'p2', ev('meeting-booked', 'crm:m2', '2026-11-15T09:00:00Z', {}, people.p2.contact));
    // p3: lost 10-05 (unresponsive); an e-mail sent 10-10; stops all e-mail 10-12; waiting.
    await apply(store, 'p3', ev('lead-closed-lost', 'crm:l3', '2026-10-05T09:00:00Z', { reason: 'unresponsive' }, people.p3.contact));
    const mail: PlannedTouch = { touchId: `${people.p3.id}.t9`, at: '2026-10-10T09:00:00.000Z', channel: 'email', kind: 'value-email', contentId: 'stale-deal-audit', status: 'sending', rule: 'test' };
    await touch(store, 'p3', mail, { kind: 'email-sent', messageId: 'ses-1', title: 'Audit' }, '2026-10-10T09:00:00.000Z');
    await apply(store, 'p3', ev('consent-changed', 'crm:u3', '2026-10-12T09:00:00Z', { action: 'stop-all-email' }, people.p3.contact));

    const records = await readStream();
    expect(records.length).toBeGreaterThan(15);
    const metrics = new DynamoMetricsStore(db.doc, db.table);
    const deps = { store: metrics, context, shardOf: (r: { dynamodb?: { SequenceNumber?: string } }) => resolver(r.dynamodb?.SequenceNumber ?? ''), logger: silentLogger, clock: { now: () => NOW } };
    for (const record of records) expect((await handleMetricsStream(deps, { Records: [record] })).batchItemFailures).toEqual([]);

    const report = await metricsReport(metrics, metricsConfig, { from: '2026-10-01', to: '2026-11-20', groupBy: 'month' }, NOW);
    expect(report.metrics['nurture.entered']?.total.n).toBe(3);
    expect(report.metrics['nurture.entered']?.dimensions.track).toEqual({ standard: { n: 2 }, light: { n: 1 } });
    expect(report.metrics['nurture.re-engaged']?.dimensions.signal).toEqual({ reply: { n: 1 }, meeting: { n: 1 } });
    expect(report.reengagement.histogram).toMatchObject({ '15-30': 1, '31-60': 1 });
    expect(report.metrics['task.completed.on-time']?.total.n).toBe(1);
    expect(report.metrics['crm.deal-created']?.total).toEqual({ n: 1, sum: 5000 });
    // p2's meeting followed an introduction made for them; p1's deal had none.
    expect(report.metrics['introduction.made']?.total.n).toBe(1);
    expect(report.metrics['introduction.people']?.total.n).toBe(1);
    expect(report.metrics['introduction.led-to']?.dimensions.signal).toEqual({ meeting: { n: 1 } });
    expect(report.audience.byProvider.gmail).toMatchObject({ sent: 1, unsubscribed: 1 });
    const converted = report.holdout.nurtured.converted + report.holdout.holdout.converted;
    expect(converted).toBe(2);
    // Per-owner numbers only when asked for, from the owner partitions the stream wrote.
    expect(report.metrics['nurture.entered']?.dimensions.owner).toBeUndefined();
    const withOwners = await metricsReport(metrics, metricsConfig, { from: '2026-10-01', to: '2026-11-20', groupBy: 'month', owners: true }, NOW);
    expect(withOwners.metrics['nurture.entered']?.dimensions.owner).toEqual({ 'sam@seller.example': { n: 2 }, 'lena@seller.example': { n: 1 } });
    expect(withOwners.metrics['task.completed.on-time']?.dimensions.owner).toEqual({ 'sam@seller.example': { n: 1 } });

    // The same records again (a whole-stream redelivery): nothing moves.
    const before = nonZero(await metrics.allAggregates());
    const ownerPartitions = [...before.keys()].filter((k) => /^AGG#[WM]#[^#]+#O\u0000/.test(k));
    expect(ownerPartitions.length).toBeGreaterThan(0);
    const again = await handleMetricsStream(deps, { Records: records });
    expect(again.batchItemFailures).toEqual([]);
    expect(Object.values(again.reports).reduce((s, r) => s + r.applied, 0)).toBe(0);
    expect(nonZero(await metrics.allAggregates())).toEqual(before);

    // The rebuild from a scan agrees with the live aggregates, then replaces them with the same.
    const { rebuilt, report: r } = await rebuildMetrics(metrics, context, { write: false });
    expect(r.relationships).toBe(3);
    const fromRebuild = nonZero(rebuilt.deltas.map((d) => [keyString(d.key), d.add] as [string, Record<string, number>]));
    expect(fromRebuild).toEqual(before);
    // The rebuild writes the owner partitions too (same deltas), and replaces what was there.
    expect([...fromRebuild.keys()].filter((k) => /^AGG#[WM]#[^#]+#O\u0000/.test(k)).sort()).toEqual([...ownerPartitions].sort());
    await rebuildMetrics(metrics, context, { write: true });
    expect(nonZero(await metrics.allAggregates())).toEqual(before);
  });
});
