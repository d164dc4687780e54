/**
 * The cost budget (DESIGN.md §4), counted: one e-mail touch driven end to end (sweep, queue,
 * final claim, send, record, plan the next) against DynamoDB Local and the local SES v2 server,
 * every SDK call counted by operation with the capacity DynamoDB reports, priced at on-demand
 * list prices, and held to at most a tenth of SES's own fee ($0.01 per 1,000 touches).
 */
import type { Server } from 'node:http';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { startSesLocal } from '#local/ses-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoInboxStore, DynamoRelationshipStore, documentClient } from '#adapters/dynamo-store';
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
};

const clockAt = { t: new Date('2026-11-16T12:00:00.000Z') };
const clock = { now: () => new Date(clockAt.t) };

interface Tally {
  writes: string[];
  calls: Map<string, number>;
  wcu: number;
  rcu: number;
  logBytes: number;
  logLines: number;
}
const tally: Tally = { writes: [], calls: new Map(), wcu: 0, rcu: 0, logBytes: 0, logLines: 0 };
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

describe('cost of one e-mail touch', () => {
  const db = withDynamoDbLocal('cultivate-cost');
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
    expect((await runDue()).outcomes).toEqual(['task-assigned']);

    // The counted touch: the first weekly e-mail, end to end.
    publisher.published.length = 0;
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
      'One e-mail touch, counted (DynamoDB Local reports capacity with index writes; transactions would count double on AWS: none are used):',
      ...[...tally.calls.entries()].sort().map(([k, v]) => `  ${k.padEnd(38)} ${v}`),
      `  DynamoDB writes in order (units, index writes included): ${tally.writes.join(', ')}`,
      `  DynamoDB write units ${tally.wcu.toFixed(1)}, read units ${tally.rcu.toFixed(1)} (of which ${sweepQueries} shard queries, paid once per sweep)`,
      `  SQS requests/touch ${perTouch.sqsRequests.toFixed(2)}, events ${perTouch.events}, invocations/touch ${perTouch.invocations.toFixed(2)}, log bytes ${Math.round(perTouch.logBytes)} in ${tally.logLines} lines`,
      `  => $${per1000.toFixed(5)} per 1,000 touches (budget $0.01000; SES itself $0.10)`,
    ].join('\n');
    console.log(report1);
    expect(c('ses:SendEmailCommand')).toBe(1);
    expect(per1000).toBeLessThanOrEqual(0.01);
  });
});
