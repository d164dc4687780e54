/**
 * Auto-pause against DynamoDB Local: the counters in the stream's per-shard transaction (a
 * redelivered batch counts nothing twice), the store's reads, pause, list and resume, and the
 * whole path: the real state machine writes e-mails, unsubscribes and a complaint, DynamoDB
 * Local's stream delivers them to the real handler, and a content item, later a track, pauses
 * itself, once, with its reason and a WARN that carries ids and numbers only.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { cachedPauseSet, DynamoAutoPause } from '#adapters/dynamo-auto-pause';
import { DynamoMetricsStore, streamShardResolver, type Unit } from '#adapters/dynamo-metrics';
import { DynamoRelationshipStore } from '#adapters/dynamo-store';
import type { InboundEvent } from '#catalog/events';
import { loadConfig } from '#config/load';
import type { CultivateConfig } from '#config/schema';
import { type AutoPause, rateDelta } from '#domain/auto-pause';
import { applyFeedback } from '#domain/feedback';
import { firstTouchPlanner } from '#domain/planner';
import { applyInbound } from '#domain/relationship';
import { recordTouch } from '#domain/touch';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import { handleMetricsStream, type MetricsStreamDeps } from '#handlers/metrics-stream';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { ev, recordingLogger } from '../helpers/fixtures.ts';
import { context } from './helpers.ts';

const db = withDynamoDbLocal('cultivate-auto-pause');
const NOW = new Date('2026-11-20T12:00:00.000Z');
const unit = (seq: number, deltas: Unit['deltas']): Unit => ({ sequenceNumber: String(seq), deltas, guards: [] });

async function items(pk: string) {
  const out = await db.doc.send(new QueryCommand({ TableName: db.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true }));
  return out.Items ?? [];
}

describe('DynamoAutoPause', () => {
  it('counts in the aggregates transaction (once per delivery), reads across tracks, pauses once, lists and resumes with a baseline', async () => {
    const metrics = new DynamoMetricsStore(db.doc, db.table);
    const store = new DynamoAutoPause(db.doc, db.table);
    const batch = [
      unit(100, [rateDelta('t-a', 'c-1', 'sent'), { key: { pk: 'AGG#M#2099-01', sk: 'C#x#all#all' }, add: { n: 1 } }]),
      unit(110, [rateDelta('t-a', 'c-1', 'sent'), rateDelta('t-a', 'c-2', 'sent')]),
      unit(120, [rateDelta('t-b', 'c-1', 'sent'), rateDelta('t-b', 'c-1', 'sent')]),
      unit(130, [rateDelta('t-a', 'c-1', 'unsubscribed')]),
      unit(140, [rateDelta('t-b', 'c-1', 'complained')]),
    ];
    await metrics.apply('shard-rate', batch, NOW);
    // Redelivered, whole and from the middle: nothing counts twice.
    await metrics.apply('shard-rate', batch, NOW);
    await metrics.apply('shard-rate', batch.slice(2), NOW);

    const r = await store.read('c-1', 't-a', ['t-a', 't-b', 't-none']);
    expect(r.content).toEqual({ total: { sent: 4, unsubscribed: 1, complained: 1 }, paused: false });
    expect(r.track).toEqual({ total: { sent: 3, unsubscribed: 1, complained: 0 }, paused: false });

    const pause: AutoPause = { kind: 'content', id: 'c-1', pausedAt: NOW.toISOString(), reason: 'Content c-1 paused itself: 25% complained', counts: r.content.total, crossed: ['complained'] };
    expect(await store.pause(pause)).toBe(true);
    expect(await store.pause({ ...pause, pausedAt: '2099-01-01T00:00:00.000Z' })).toBe(false);
    expect((await store.read('c-1', 't-a', ['t-a', 't-b'])).content.paused).toBe(true);
    expect(await store.list()).toEqual({ pauses: [pause], resumed: [] });
    expect(await store.pauseSet()).toEqual({ content: ['c-1'], tracks: [] });

    expect(await store.resume('track', 't-a', ['t-a', 't-b'], NOW)).toEqual({ outcome: 'not-paused' });
    const at = new Date('2026-11-21T08:00:00.000Z');
    const resumed = await store.resume('content', 'c-1', ['t-a', 't-b'], at);
    expect(resumed).toEqual({ outcome: 'resumed', pause, baseline: { sent: 4, unsubscribed: 1, complained: 1, since: at.toISOString() } });
    expect(await store.list()).toEqual({ pauses: [], resumed: [{ kind: 'content', id: 'c-1', sent: 4, unsubscribed: 1, complained: 1, since: at.toISOString() }] });
    const after = await store.read('c-1', 't-b', ['t-a', 't-b']);
    expect(after.content).toMatchObject({ paused: false, baseline: { sent: 4, since: at.toISOString() } });
    expect(after.track.total).toEqual({ sent: 2, unsubscribed: 0, complained: 1 });
  });

  it('the pause set is read at most once per max age', async () => {
    let reads = 0;
    let t = 0;
    const cached = cachedPauseSet(
      async () => {
        reads++;
        return { content: [String(reads)], tracks: [] };
      },
      60_000,
      () => t,
    );
    expect(await cached()).toEqual({ content: ['1'], tracks: [] });
    t = 59_999;
    expect(await cached()).toEqual({ content: ['1'], tracks: [] });
    t = 60_000;
    expect(await cached()).toEqual({ content: ['2'], tracks: [] });
    expect(reads).toBe(2);
  });
});

// ------------------------------------------------------------------------------------------------

/** The shipped rules with small thresholds, so a handful of people can cross them. */
const shipped = loadConfig('config');
const rules: CultivateConfig = { ...shipped, cadence: { ...shipped.cadence, autoPause: { minEmails: 4, unsubscribePercent: 30, complaintPercent: 15 } } };
const TRACK = 'lost-deal';

const names = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8'] as const;
type Who = (typeof names)[number];
const people = Object.fromEntries(
  names.map((n, i) => [n, { id: `rel_00000000-0000-4000-8000-00000000010${i}`, contact: { email: `${n}.fixture@customer.example`, accountId: `${n}.example`, owner: 'sam@seller.example', role: 'champion' } }]),
) as unknown as Record<Who, { id: string; contact: Record<string, string> }>;

async function apply(store: DynamoRelationshipStore, who: Who, event: InboundEvent) {
  const p = people[who];
  const prev = await store.get(p.id);
  const d = applyInbound(prev, event.id, event, { now: NOW, relationshipId: p.id, emailHash: `h-${who}`, crmIds: [], fromCrm: true, planner: firstTouchPlanner });
  if (d.kind !== 'applied') throw new Error(`not applied: ${d.kind}`);
  expect(await store.save(d.state, prev?.version)).toBe('saved');
  await store.appendTimeline(p.id, d.timeline);
}

async function email(store: DynamoRelationshipStore, who: Who, contentId: string, at: string) {
  const prev = (await store.get(people[who].id)) as RelationshipState;
  const t: PlannedTouch = { touchId: `${prev.id}.m${prev.history.emailsSent}`, at, channel: 'email', kind: 'value-email', contentId, status: 'sending', rule: `${TRACK}: weekly value e-mail` };
  const d = recordTouch(prev, t, { kind: 'email-sent', messageId: `ses-${who}-${contentId}`, title: contentId }, new Date(at), firstTouchPlanner);
  if (!d) throw new Error('not recorded');
  expect(await store.save(d.state, prev.version)).toBe('saved');
  await store.appendTimeline(prev.id, d.timeline);
}

async function complaint(store: DynamoRelationshipStore, who: Who, at: string) {
  const prev = (await store.get(people[who].id)) as RelationshipState;
  const d = applyFeedback(prev, { kind: 'complaint', messageId: `ses-${who}`, at }, new Date(at), firstTouchPlanner);
  if (!d) throw new Error('not applied');
  expect(await store.save(d.state, prev.version)).toBe('saved');
  await store.appendTimeline(prev.id, d.timeline);
}

let resolver: (seq: string) => Promise<string>;
/** The stream records after `seen` (DynamoDB Local keeps them all). */
async function streamAfter(seen: Set<string | undefined>): Promise<_Record[]> {
  const streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const arn = (await db.client.send(new DescribeTableCommand({ TableName: db.table }))).Table?.LatestStreamArn as string;
  resolver = streamShardResolver(streams, arn);
  const records: _Record[] = [];
  for (const shard of (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards ?? []) {
    let it = (await streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    for (let i = 0; it && i < 100; i++) {
      const out = await streams.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1000 }));
      records.push(...(out.Records ?? []));
      if ((out.Records ?? []).length === 0) break;
      it = out.NextShardIterator;
    }
  }
  return records.filter((r) => !seen.has(r.dynamodb?.SequenceNumber));
}

describe('the stream pauses a content item, then a track', () => {
  it('e-mails, unsubscribes and a complaint -> pause items with the reason; a redelivery changes nothing', async () => {
    const store = new DynamoRelationshipStore(db.doc, db.table);
    const seen = new Set((await streamAfter(new Set())).map((r) => r.dynamodb?.SequenceNumber));
    const logger = recordingLogger();
    const paused: AutoPause[] = [];
    const deps: MetricsStreamDeps = {
      store: new DynamoMetricsStore(db.doc, db.table),
      context,
      shardOf: (r) => resolver(r.dynamodb?.SequenceNumber ?? ''),
      logger,
      clock: { now: () => NOW },
      autoPause: { rules: () => rules, store: new DynamoAutoPause(db.doc, db.table), onPaused: (p) => void paused.push(p) },
    };
    /** Writes through the state machine, then hands the new stream records to the handler one by one. */
    const step = async (write: () => Promise<void>) => {
      await write();
      for (const r of await streamAfter(seen)) {
        seen.add(r.dynamodb?.SequenceNumber);
        expect((await handleMetricsStream(deps, { Records: [r] })).batchItemFailures).toEqual([]);
      }
    };

    await step(async () => {
      for (const who of names) await apply(store, who, ev('lead-closed-lost', `crm:lost-${who}`, '2026-10-01T09:00:00Z', { reason: 'timing' }, people[who].contact));
      // p1..p5 get stale-deal-audit; p6..p8 exit-criteria-template: 8 e-mails on the track.
      for (const who of names) await email(store, who, ['p6', 'p7', 'p8'].includes(who) ? 'exit-criteria-template' : 'stale-deal-audit', '2026-10-06T09:00:00.000Z');
    });
    expect((await items(`RATE#${TRACK}`)).map((i) => [i.sk, i.sent])).toEqual([
      ['exit-criteria-template', 3],
      ['stale-deal-audit', 5],
    ]);

    // One unsubscribe of 5: 20 %, under 30 %. Nothing pauses.
    await step(() => apply(store, 'p1', ev('consent-changed', 'crm:u1', '2026-10-07T09:00:00Z', { action: 'stop-all-email' }, people.p1.contact)));
    expect(paused).toEqual([]);
    // One complaint of 5: 20 %, over 15 %: the item pauses; the track (1 of 8, 12.5 %) does not.
    await step(() => complaint(store, 'p2', '2026-10-07T10:00:00.000Z'));
    expect(paused.map((p) => [p.kind, p.id])).toEqual([['content', 'stale-deal-audit']]);
    expect(paused[0]).toMatchObject({
      reason: 'Content stale-deal-audit paused itself: 20% complained (1 of 5 e-mails; threshold 15%)',
      counts: { sent: 5, unsubscribed: 1, complained: 1 },
      crossed: ['complained'],
      pausedAt: NOW.toISOString(),
    });
    const warn = logger.lines.filter((l) => l.level === 'warn' && l.message === 'auto-paused');
    expect(warn).toHaveLength(1);
    expect(warn[0]?.extra[0]).toEqual({ metric: 'AutoPaused', kind: 'content', id: 'stale-deal-audit', sent: 5, unsubscribed: 1, complained: 1, crossed: 'complained' });
    // A second unsubscribe of the same item: paused already, nothing new.
    await step(() => apply(store, 'p3', ev('consent-changed', 'crm:u3', '2026-10-08T09:00:00Z', { action: 'stop-topic', topic: 'pipeline-hygiene' }, people.p3.contact)));
    expect(paused).toHaveLength(1);
    // p6 unsubscribes from the other item: 3 of 8 on the track, 37.5 %: the track pauses too. The
    // other item (1 of 3 e-mails) is below minEmails.
    await step(() => apply(store, 'p6', ev('consent-changed', 'crm:u6', '2026-10-09T09:00:00Z', { action: 'stop-all-email' }, people.p6.contact)));
    expect(paused.map((p) => [p.kind, p.id])).toEqual([
      ['content', 'stale-deal-audit'],
      ['track', TRACK],
    ]);
    expect(paused[1]?.reason).toBe(`Track ${TRACK} paused itself: 38% unsubscribed (3 of 8 e-mails; threshold 30%)`);
    const autoPause = new DynamoAutoPause(db.doc, db.table);
    expect(await autoPause.pauseSet()).toEqual({ content: ['stale-deal-audit'], tracks: [TRACK] });
    // Nothing personal in any log line.
    const logs = JSON.stringify(logger.lines);
    for (const who of names) {
      expect(logs).not.toContain(people[who].contact.email as string);
      expect(logs).not.toContain(people[who].id);
    }

    // The whole stream again: no counter moves, no pause is recorded again.
    const counters = await items(`RATE#${TRACK}`);
    const pauses = await items('PAUSE');
    const all = await streamAfter(new Set());
    const again = await handleMetricsStream(deps, { Records: all });
    expect(again.batchItemFailures).toEqual([]);
    expect(await items(`RATE#${TRACK}`)).toEqual(counters);
    expect(await items('PAUSE')).toEqual(pauses);
    expect(paused).toHaveLength(2);

    // Resumed: the rate counts from now. One more unsubscribe is 1 of 0 e-mails since: no pause.
    expect((await autoPause.resume('track', TRACK, rules.cadence.tracks.map((t) => t.id), new Date('2026-10-10T09:00:00.000Z'))).outcome).toBe('resumed');
    await step(() => apply(store, 'p7', ev('consent-changed', 'crm:u7', '2026-10-11T09:00:00Z', { action: 'stop-all-email' }, people.p7.contact)));
    expect(paused).toHaveLength(2);
    expect(await autoPause.pauseSet()).toEqual({ content: ['stale-deal-audit'], tracks: [] });
  });

  it('counts nothing for auto-pause when cadence.yaml has no autoPause', async () => {
    const { autoPause: _off, ...cadence } = rules.cadence;
    const off: CultivateConfig = { ...rules, cadence };
    const store = new DynamoRelationshipStore(db.doc, db.table);
    const seen = new Set((await streamAfter(new Set())).map((r) => r.dynamodb?.SequenceNumber));
    const before = await items(`RATE#${TRACK}`);
    await email(store, 'p8', 'forecast-categories', '2026-10-13T09:00:00.000Z');
    const deps: MetricsStreamDeps = {
      store: new DynamoMetricsStore(db.doc, db.table),
      context,
      shardOf: (r) => resolver(r.dynamodb?.SequenceNumber ?? ''),
      logger: recordingLogger(),
      clock: { now: () => NOW },
      autoPause: { rules: () => off, store: new DynamoAutoPause(db.doc, db.table) },
    };
    const fresh = await streamAfter(seen);
    expect(fresh.length).toBeGreaterThan(0);
    expect((await handleMetricsStream(deps, { Records: fresh })).batchItemFailures).toEqual([]);
    expect(await items(`RATE#${TRACK}`)).toEqual(before);
  });
});
