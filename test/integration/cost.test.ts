/**
 * The cost budget (DESIGN.md §4), counted: one e-mail touch driven end to end (sweep, queue,
 * final claim with the shared guardrail counters and the kill switches, send, record, plan the
 * next) against DynamoDB Local and the local SES v2 server, every SDK call counted by operation
 * with the capacity DynamoDB reports, priced at on-demand list prices, and held to at most a tenth
 * of SES's own fee ($0.01 per 1,000 touches). Then what the same touch costs the metrics: the
 * table-stream records it produced, counted into the aggregates by the real stream handler
 * (2 write units per transaction item, as DynamoDB bills them), reported beside the path: at one
 * touch per stream batch it costs more than the path itself (README, "Cost of a touch"). The
 * shipped cadence.yaml turns `autoPause` on: its counter rides in the same transaction.
 */
import type { Server } from 'node:http';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { startSesLocal } from '#local/ses-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCapacityStore } from '#adapters/dynamo-capacity';
import { DynamoAutoPause } from '#adapters/dynamo-auto-pause';
import { DynamoMetricsStore, streamShardResolver } from '#adapters/dynamo-metrics';
import { DynamoInboxStore, DynamoRelationshipStore, documentClient } from '#adapters/dynamo-store';
import { loadMetricsConfig } from '#config/metrics';
import { controlFor } from '#domain/cadence';
import { handleMetricsStream, metricsContext } from '#handlers/metrics-stream';
import { passesMetricsFilter } from '#local/stream-poller';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { SesMailer } from '#adapters/ses-mailer';
import { loadPipelineConfig } from '#config/pipeline';
import { envelopeFor } from '#handlers/ingest';
import { handleInboundEnvelope } from '#handlers/relationship';
import { sendTouch, sweepDue } from '#handlers/send';
import type { Logger, TouchMessage } from '#ports/ports';
import { createKeyedHasher } from '#shared/hmac';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { DANA, ev, RecordingPublisher } from '../helpers/fixtures.ts';

/** On-demand list prices, us-east-1 (USD). */
export const PRICES = {
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  sqsRequest: 0.4 / 1e6,
  eventBridgeEvent: 1.0 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  /** arm64, per GB-second. */
  lambdaGbSecond: 0.0000133334,
  logsPerByte: 0.5 / 1024 ** 3,
  sesPerEmail: 0.1 / 1000,
};

/** At-scale assumptions, stated so they can be argued with. */
const SCALE = {
  /** A sweep runs every minute whatever it finds; at a million people it finds far more than this. */
  touchesPerSweep: 100,
  /** The send queue's batch size: one ReceiveMessage, one DeleteMessageBatch and one invocation per batch. */
  sendBatch: 10,
  memoryGb: 0.25,
  senderMsPerTouch: 60,
  sweepMs: 400,
  /** Lambda's own per-invocation log lines (START, END, REPORT). */
  platformLogBytesPerInvocation: 350,
  /** The metrics stream mapping's batch size (lib/metrics.ts); reading a stream for Lambda is free. */
  streamBatch: 100,
  metricsMsPerRecord: 5,
};

const clockAt = { t: new Date('2026-11-16T12:00:00.000Z') };
const clock = { now: () => new Date(clockAt.t) };

interface Tally {
  writes: string[];
  /** The key of every item written in a transaction (where the metrics' counters land). */
  transactKeys: { pk: string; sk: string }[];
  calls: Map<string, number>;
  wcu: number;
  rcu: number;
  logBytes: number;
  logLines: number;
}
const emptyTally = (): Tally => ({ writes: [], transactKeys: [], calls: new Map(), wcu: 0, rcu: 0, logBytes: 0, logLines: 0 });
let tally: Tally = emptyTally();
let counting = false;
const count = (name: string) => counting && tally.calls.set(name, (tally.calls.get(name) ?? 0) + 1);

const logger: Logger = Object.fromEntries(
  ['debug', 'info', 'warn', 'error'].map((level) => [
    level,
    (message: string, ...extra: Record<string, unknown>[]) => {
      if (!counting || level === 'debug') return;
      // The shape Powertools writes: level, message, timestamp, service, cold start, request id, extras.
      const line = JSON.stringify({ level: level.toUpperCase(), message, timestamp: new Date().toISOString(), service: 'cultivate', cold_start: false, function_request_id: '00000000-0000-0000-0000-000000000000', xray_trace_id: '1-00000000-000000000000000000000000', ...Object.assign({}, ...extra) });
      tally.logBytes += line.length + 1;
      tally.logLines++;
    },
  ]),
) as unknown as Logger;

let currentDb: ReturnType<typeof withDynamoDbLocal>;

describe('cost of one e-mail touch', () => {
  const db = withDynamoDbLocal('cultivate-cost');
  currentDb = db;
  let sesServer: Server;
  let ses: SESv2Client;

  beforeAll(async () => {
    const local = await startSesLocal();
    sesServer = local.server;
    ses = new SESv2Client({ endpoint: local.endpoint, region: 'local', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    ses.middlewareStack.add((next, context) => async (args) => {
      count(`ses:${context.commandName}`);
      return next(args);
    }, { step: 'initialize', name: 'countSes' });
    db.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        input.ReturnConsumedCapacity = 'INDEXES';
        const out = await next(args);
        if (counting) {
          count(`dynamodb:${context.commandName}`);
          const consumed = (out.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
          if (context.commandName === 'TransactWriteItemsCommand') {
            // DynamoDB bills 2 write units per item of a transaction (prepare and commit; these items are
            // under 1 KB). Local reports far less for the whole transaction, so count from the request.
            const units = 2 * ((input.TransactItems as unknown[] | undefined)?.length ?? 0);
            tally.wcu += units;
            tally.writes.push(`TransactWriteItems ${units}`);
            for (const item of (input.TransactItems as Record<string, { Key?: { pk: string; sk: string }; Item?: { pk: string; sk: string } }>[] | undefined) ?? []) {
              const op = Object.values(item)[0];
              const key = op?.Key ?? op?.Item;
              if (key) tally.transactKeys.push({ pk: String(key.pk), sk: String(key.sk) });
            }
            return out;
          }
          for (const c of ([] as { WriteCapacityUnits?: number; ReadCapacityUnits?: number; CapacityUnits?: number }[]).concat((consumed as never) ?? [])) {
            const isWrite = /Put|Update|Delete|BatchWrite|TransactWrite/.test(String(context.commandName));
            const units = c.WriteCapacityUnits ?? c.ReadCapacityUnits ?? c.CapacityUnits ?? 0;
            if (isWrite) tally.wcu += units;
            else tally.rcu += units;
            if (isWrite) tally.writes.push(`${String(context.commandName).replace('Command', '')} ${units}`);
          }
        }
        return out;
      },
      { step: 'initialize', name: 'countDynamo' },
    );
  });
  afterAll(async () => {
    ses?.destroy();
    await new Promise<void>((res) => (sesServer ? sesServer.close(() => res()) : res()));
  });

  it('stays within $0.01 per 1,000 touches (a tenth of the SES fee)', async () => {
    const doc = documentClient(db.client);
    const store = new DynamoRelationshipStore(doc, db.table);
    const inbox = new DynamoInboxStore(doc, db.table, clock);
    const touches = new DynamoTouchStore(doc, db.table);
    const hasher = createKeyedHasher('cost-test-key');
    const config = loadPipelineConfig('config', 'https://nurture.example.com');
    const publisher = new RecordingPublisher();
    const queued: TouchMessage[] = [];
    const queue = { enqueue: async (ms: readonly TouchMessage[]) => void queued.push(...ms) };
    const sweepDeps = { clock, touches, store, queue, planner: config.planner, logger, leaseSeconds: 300 };
    const sendDeps = {
      clock,
      touches,
      store,
      mailer: new SesMailer(ses, 'cultivate'),
      publisher,
      planner: config.planner,
      logger,
      leaseSeconds: 300,
      settings: config.settings,
      owner: config.owner,
      content: config.content,
      unsubscribeKey: async () => 'unsubscribe-key',
      suppressionsFor: async (s: { emailHash?: string }) => (await store.getSuppression(s.emailHash ? [s.emailHash] : []))?.scopes ?? [],
      controls: (state: Parameters<typeof controlFor>[1]) => controlFor(config.rules, state),
      // The shared counters every real send pays: the account's rolling caps (and, for tasks, the owner's week).
      guardrails: {
        capacity: new DynamoCapacityStore(doc, db.table, (e) => hasher.emailHash(e)),
        rules: config.guardrails,
        contactZone: config.contactZone,
        ownerZone: config.ownerZone,
        managerOf: config.managerOf,
      },
    };

    // A lost deal with consent; its thank-you task goes first (not counted).
    const lost = ev('lead-closed-lost', 'cost-1', '2026-11-16T10:00:00Z', { reason: 'timing' }, {
      ...DANA,
      consent: { email: 'granted', basis: 'opt-in', capturedAt: '2026-03-02T10:00:00Z' },
    });
    const envelope = envelopeFor(lost, 'generic', 'cultivate.ingest.generic', hasher, clock.now());
    await inbox.putMany([{ key: envelope.inboxKey, event: lost }]);
    await handleInboundEnvelope({ clock, store, inbox, publisher, planner: config.planner, hasher: async () => hasher, logger }, envelope);
    const runDue = async () => {
      const next = await touches.earliestDue(new Date('2027-12-31T00:00:00Z'));
      if (!next) throw new Error('nothing planned');
      clockAt.t = next;
      const report = await sweepDue(sweepDeps);
      const outcomes = [];
      for (const m of queued.splice(0)) outcomes.push(await sendTouch(sendDeps, m));
      return { report, outcomes };
    };
    const first = await runDue();
    expect(first.outcomes).toEqual(['task-assigned']);
    // The rep leaves the thank-you task open: its SLA check falls due before the first e-mail (not counted).
    const id = (first.report.queued[0] as TouchMessage).relationshipId;
    for (let i = 0; i < 5; i++) {
      const due = await touches.earliestDue(new Date('2027-12-31T00:00:00Z'));
      const state = await store.get(id);
      if (state?.nextTouch?.kind === 'value-email' && due && Date.parse(state.nextTouch.at) === due.getTime()) break;
      await runDue();
    }

    // The counted touch: the first weekly e-mail, end to end.
    publisher.published.length = 0;
    const streamBefore = await streamRecords();
    const next = await touches.earliestDue(new Date('2027-12-31T00:00:00Z'));
    clockAt.t = next as Date;
    counting = true;
    const report = await sweepDue(sweepDeps);
    const outcomes = [];
    for (const m of queued.splice(0)) outcomes.push(await sendTouch(sendDeps, m));
    counting = false;
    expect(report.queued).toHaveLength(1);
    expect(outcomes).toEqual(['sent']);
    const after = await store.get((report.queued[0] as TouchMessage).relationshipId);
    expect(after?.nextTouch?.kind).toBe('value-email');
    expect(after?.history.emailsSent).toBe(1);

    const c = (name: string) => tally.calls.get(name) ?? 0;
    const sweepQueries = c('dynamodb:QueryCommand') + c('dynamodb:GetCommand') * 0; // queries are the sweep's fixed cost
    const perTouch = {
      dynamoWrites: tally.wcu,
      // The sweep's shard queries are paid per sweep, not per touch.
      dynamoReads: tally.rcu,
      sqsRequests: 1 / SCALE.sendBatch + 1 / SCALE.sendBatch + 1 / SCALE.sendBatch,
      events: publisher.published.length,
      invocations: 1 / SCALE.sendBatch + 1 / SCALE.touchesPerSweep,
      gbSeconds: SCALE.memoryGb * (SCALE.senderMsPerTouch / 1000 + SCALE.sweepMs / 1000 / SCALE.touchesPerSweep),
      logBytes: tally.logBytes + SCALE.platformLogBytesPerInvocation * (1 / SCALE.sendBatch + 1 / SCALE.touchesPerSweep),
    };
    const cost =
      perTouch.dynamoWrites * PRICES.dynamoWriteUnit +
      perTouch.dynamoReads * PRICES.dynamoReadUnit +
      perTouch.sqsRequests * PRICES.sqsRequest +
      perTouch.events * PRICES.eventBridgeEvent +
      perTouch.invocations * PRICES.lambdaRequest +
      perTouch.gbSeconds * PRICES.lambdaGbSecond +
      perTouch.logBytes * PRICES.logsPerByte;
    const per1000 = cost * 1000;
    const report1 = [
      'One e-mail touch, counted (DynamoDB Local reports capacity with index writes; none of these writes is a transaction):',
      ...[...tally.calls.entries()].sort().map(([k, v]) => `  ${k.padEnd(38)} ${v}`),
      `  DynamoDB writes in order (units, index writes included): ${tally.writes.join(', ')}`,
      `  DynamoDB write units ${tally.wcu.toFixed(1)}, read units ${tally.rcu.toFixed(1)} (of which ${sweepQueries} shard queries, paid once per sweep)`,
      `  SQS requests/touch ${perTouch.sqsRequests.toFixed(2)}, events ${perTouch.events}, invocations/touch ${perTouch.invocations.toFixed(2)}, log bytes ${Math.round(perTouch.logBytes)} in ${tally.logLines} lines`,
      `  => $${per1000.toFixed(5)} per 1,000 touches (budget $0.01000; SES itself $0.10)`,
    ].join('\n');
    console.log(report1);
    expect(c('ses:SendEmailCommand')).toBe(1);
    // The account's rolling-cap counter was read and written on the way (the path's only GetItem).
    expect(c('dynamodb:GetItemCommand')).toBe(1);
    expect(per1000).toBeLessThanOrEqual(0.01);

    // What this touch costs the metrics: the stream records it produced, counted by the real handler.
    const seen = new Set(streamBefore.map((r) => r.dynamodb?.SequenceNumber));
    const produced = (await streamRecords()).filter((r) => !seen.has(r.dynamodb?.SequenceNumber));
    const wanted = produced.filter(passesMetricsFilter);
    expect(wanted.length).toBeGreaterThan(0);
    const path = tally;
    tally = emptyTally();
    counting = true;
    const batch = await handleMetricsStream(
      {
        store: new DynamoMetricsStore(doc, db.table),
        context: metricsContext(config.rules, loadMetricsConfig('config')),
        shardOf: async (r) => resolver(r.dynamodb?.SequenceNumber ?? ''),
        logger,
        clock,
        autoPause: { rules: () => config.rules, store: new DynamoAutoPause(doc, db.table) },
      },
      { Records: wanted.map((r) => ({ ...r, ...(r.dynamodb && { dynamodb: { ...r.dynamodb, ApproximateCreationDateTime: undefined } }) })) as never },
    );
    counting = false;
    expect(batch.batchItemFailures).toEqual([]);
    const metricsTally = tally;
    tally = path;
    const metricsCost =
      metricsTally.wcu * PRICES.dynamoWriteUnit +
      metricsTally.rcu * PRICES.dynamoReadUnit +
      (wanted.length / SCALE.streamBatch) * PRICES.lambdaRequest +
      SCALE.memoryGb * ((SCALE.metricsMsPerRecord * wanted.length) / 1000) * PRICES.lambdaGbSecond +
      metricsTally.logBytes * PRICES.logsPerByte;
    console.log(
      [
        `Its metrics, counted: ${produced.length} stream records (${wanted.length} pass the mapping's filter), aggregated by the stream handler:`,
        ...[...metricsTally.calls.entries()].sort().map(([k, v]) => `  ${k.padEnd(38)} ${v}`),
        `  DynamoDB write units ${metricsTally.wcu.toFixed(1)} (2 per transaction item, as DynamoDB bills them), read units ${metricsTally.rcu.toFixed(1)}`,
        `  => $${(metricsCost * 1000).toFixed(5)} per 1,000 touches for the metrics; path and metrics together $${((cost + metricsCost) * 1000).toFixed(5)}`,
      ].join('\n'),
    );
    expect(metricsTally.wcu).toBeGreaterThan(0);
    // Worst case, one touch per stream batch: every counter it moves (16 items with the shard marker
    // and the auto-pause counter) in one transaction at 2 WRU an item, about $0.020 per 1,000, more
    // than the whole send path. In a busy stream a batch's counters are merged (one item per counter,
    // up to 99 a transaction), so the per-touch cost falls; that is not measured here. A regression
    // guard, not the budget. An e-mail reads nothing for the auto-pause: only an unsubscribe or a
    // complaint is judged (one Query and one BatchGet).
    expect(metricsTally.wcu).toBeLessThanOrEqual(32);
    expect(metricsTally.calls.get('dynamodb:QueryCommand') ?? 0).toBe(0);
    expect(metricsCost * 1000).toBeLessThanOrEqual(0.021);
    // Per-owner counters live in the owner partitions (AGG#W#<week>#O, AGG#M#<month>#O) so the
    // readers' cost does not grow with owners; that moved items between partitions and added none:
    // 16 items with the shard marker and the auto-pause counter (RATE#<track> / <content>):
    // touch.sent is counted by channel, owner and group, not by group+channel and group+owner (the
    // holdout gets no touches: those would repeat channel and owner).
    const keys = metricsTally.transactKeys;
    expect(keys).toHaveLength(16);
    expect(metricsTally.wcu).toBe(2 * 16);
    const rate = keys.filter((k) => k.pk.startsWith('RATE#'));
    expect(rate).toEqual([{ pk: 'RATE#lost-deal', sk: expect.any(String) }]);
    expect(keys.filter((k) => k.sk.startsWith('C#touch.sent#group+'))).toEqual([]);
    const perOwner = keys.filter((k) => /^C#[^#]+#(owner|group\+owner)#/.test(k.sk));
    expect(perOwner.length).toBeGreaterThan(0);
    for (const k of keys) expect(/^AGG#[WM]#[^#]+#O$/.test(k.pk), `${k.pk} ${k.sk}`).toBe(perOwner.includes(k));
  });
});

let resolver: (sequenceNumber: string) => Promise<string> = async () => {
  throw new Error('stream not read yet');
};

/** Every record on the table's stream so far (DynamoDB Local keeps them all). */
async function streamRecords(): Promise<_Record[]> {
  const db = currentDb;
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
  return records;
}
