/** Authentic input that cannot be processed is kept (with why), never dropped; forged input is not. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoQuarantine, QUARANTINE_TTL_SECONDS } from '#adapters/dynamo-quarantine';
import { DynamoInboxStore } from '#adapters/dynamo-store';
import { ingestGenericWebhook, type IngestDeps } from '#handlers/ingest';
import { replayQuarantined } from '#crm/replay';
import { createKeyedHasher, signBody } from '#shared/hmac';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { RecordingPublisher, fixedClock, recordingLogger } from '../helpers/fixtures.ts';

const SECRET = 'quarantine-test-secret';
const NOW = new Date('2026-11-24T12:00:00.000Z');

describe('webhook quarantine', () => {
  const db = withDynamoDbLocal('cultivate-quarantine');

  const setup = () => {
    const quarantine = new DynamoQuarantine(db.doc, db.table);
    const publisher = new RecordingPublisher();
    const logger = recordingLogger();
    const deps: IngestDeps = {
      clock: fixedClock(NOW),
      wallClock: fixedClock(NOW),
      webhookSecrets: async () => [SECRET],
      hasher: async () => createKeyedHasher('k'),
      inbox: new DynamoInboxStore(db.doc, db.table, fixedClock(NOW)),
      publisher,
      logger,
      quarantine,
    };
    const post = (body: string, secret = SECRET) => {
      const raw = new TextEncoder().encode(body);
      const sig = signBody(secret, raw, NOW.getTime() / 1000);
      return ingestGenericWebhook(deps, { raw, header: (n) => (n.toLowerCase() === 'cultivate-signature' ? sig : undefined) });
    };
    return { quarantine, publisher, logger, post };
  };

  it('a signed body that does not match the catalog: 400 naming the fields, kept whole with the paths, nothing published', async () => {
    const { quarantine, publisher, logger, post } = setup();
    const body = JSON.stringify({ id: 'q-1', type: 'lead-closed-lost', occurredAt: '2026-11-24T10:00:00Z', contact: { email: 'quinn.q@example.org' }, data: { reason: 'price-too-high' } });
    const res = await post(body);
    expect(res.status).toBe(400);
    const out = res.body as { quarantineId: string; issues: { path: string }[] };
    expect(out.issues.map((i) => i.path)).toContain('data.reason');
    expect(out.quarantineId).toMatch(/^2026-11-24T12:00:00.000Z#/);
    const listed = await quarantine.list('2026-11-24');
    expect(listed.map((q) => q.id)).toContain(out.quarantineId);
    expect(listed.find((q) => q.id === out.quarantineId)?.paths).toContain('data.reason');
    const item = await db.doc.send(new GetCommand({ TableName: db.table, Key: { pk: 'QUAR#2026-11-24', sk: out.quarantineId } }));
    expect(Buffer.from(item.Item?.body as Uint8Array).toString('utf8')).toBe(body);
    expect(item.Item?.expiresAt).toBe(NOW.getTime() / 1000 + QUARANTINE_TTL_SECONDS);
    expect(publisher.published).toHaveLength(0);
    // the log names where it failed, never what the body said
    expect(JSON.stringify(logger.lines)).not.toContain('quinn.q@example.org');
  });

  it('signed but not JSON: kept too', async () => {
    const { quarantine, post } = setup();
    const res = await post('{"id": "q-2", ');
    expect(res.status).toBe(400);
    const id = (res.body as { quarantineId: string }).quarantineId;
    expect((await quarantine.list('2026-11-24')).find((q) => q.id === id)?.reason).toMatch(/not valid UTF-8 JSON/);
  });

  it('a forged signature is refused and nothing is kept', async () => {
    const { quarantine, post } = setup();
    const before = (await quarantine.list('2026-11-24')).length;
    const res = await post('{"not":"signed by us"}', 'someone-else');
    expect(res.status).toBe(401);
    expect(await quarantine.list('2026-11-24')).toHaveLength(before);
  });

  it('when the quarantine cannot keep it, the CRM is asked to retry (503), never told 400', async () => {
    const { post } = setup();
    const failing = { keep: async () => Promise.reject(new Error('table unavailable')), list: async () => [], get: async () => undefined, markReplayed: async () => false };
    const raw = new TextEncoder().encode('not json');
    const sig = signBody(SECRET, raw, NOW.getTime() / 1000);
    const res = await ingestGenericWebhook(
      { clock: fixedClock(NOW), wallClock: fixedClock(NOW), webhookSecrets: async () => [SECRET], hasher: async () => createKeyedHasher('k'), inbox: { putMany: async () => {}, get: async () => undefined, delete: async () => {} }, publisher: new RecordingPublisher(), logger: recordingLogger(), quarantine: failing },
      { raw, header: () => sig },
    );
    expect(res.status).toBe(503);
    void post;
  });
});

describe('storage failures ask the CRM to retry', () => {
  it('an inbox write that fails is a 503 (never a 500), and nothing is published', async () => {
    const publisher = new RecordingPublisher();
    const body = new TextEncoder().encode(JSON.stringify({ id: 'e-503', type: 'contact-updated', occurredAt: '2026-11-24T10:00:00Z', contact: { externalId: 'c-1' }, data: {} }));
    const sig = signBody(SECRET, body, NOW.getTime() / 1000);
    const res = await ingestGenericWebhook(
      {
        clock: fixedClock(NOW),
        wallClock: fixedClock(NOW),
        webhookSecrets: async () => [SECRET],
        hasher: async () => createKeyedHasher('k'),
        inbox: { putMany: async () => Promise.reject(Object.assign(new Error('throughput exceeded'), { name: 'ProvisionedThroughputExceededException' })), get: async () => undefined, delete: async () => {} },
        publisher,
        logger: recordingLogger(),
      },
      { raw: body, header: () => sig },
    );
    expect(res.status).toBe(503);
    expect(publisher.published).toEqual([]);
  });
});

describe('quarantine review: list and replay', () => {
  const db = withDynamoDbLocal('cultivate-quarantine-replay');
  const LOST = {
    id: 'crm-evt-replay-1',
    type: 'lead-closed-lost',
    occurredAt: '2026-11-24T10:00:00Z',
    contact: { externalId: 'c-1', email: 'replay@example.com', accountId: 'acct-1' },
    data: { reason: 'timing' },
  };

  const setup = () => {
    const quarantine = new DynamoQuarantine(db.doc, db.table);
    const publisher = new RecordingPublisher();
    const inbox = new DynamoInboxStore(db.doc, db.table, fixedClock(NOW));
    const deps = { clock: fixedClock(NOW), logger: recordingLogger(), inbox, publisher, hasher: async () => createKeyedHasher('k'), adapter: () => undefined, quarantine };
    return { quarantine, publisher, inbox, deps };
  };
  const bytes = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

  it('a kept generic body that is now processable replays once: published through the claim check, then 409; an unknown id is 404', async () => {
    const { quarantine, publisher, inbox, deps } = setup();
    const id = await quarantine.keep({ source: 'generic', reason: 'the body does not match the event catalog', paths: ['data.reason'], raw: bytes(LOST), receivedAt: NOW });
    const listed = await quarantine.list('2026-11-24');
    expect(listed.find((i) => i.id === id)).toMatchObject({ source: 'generic', kind: 'webhook', paths: ['data.reason'] });

    const first = await replayQuarantined(deps, id);
    expect(first).toMatchObject({ status: 200, outcome: 'published 1 event(s)' });
    expect(publisher.ofType('lead-closed-lost')).toHaveLength(1);
    const envelope = publisher.ofType('lead-closed-lost')[0]!.detail as { inboxKey: string };
    expect(await inbox.get(envelope.inboxKey)).toMatchObject({ id: LOST.id });
    // No address on the bus: only the keyed hash.
    expect(JSON.stringify(publisher.published)).not.toContain('replay@example.com');
    expect((await quarantine.get(id))?.replayedAt).toBe(NOW.toISOString());

    expect(await replayQuarantined(deps, id)).toMatchObject({ status: 409 });
    expect(publisher.ofType('lead-closed-lost')).toHaveLength(1);
    expect(await replayQuarantined(deps, '2026-11-24T00:00:00.000Z#00000000-0000-0000-0000-000000000000')).toMatchObject({ status: 404 });
    expect(await replayQuarantined(deps, 'not-an-id')).toMatchObject({ status: 404 });
  });

  it('a kept body that is still not processable answers 422 naming the fields and stays replayable', async () => {
    const { quarantine, deps } = setup();
    const id = await quarantine.keep({ source: 'generic', reason: 'bad', paths: [], raw: bytes({ ...LOST, data: { reason: 'later' } }), receivedAt: NOW });
    const r = await replayQuarantined(deps, id);
    expect(r).toMatchObject({ status: 422, issues: [expect.objectContaining({ path: 'data.reason' })] });
    expect((await quarantine.get(id))?.replayedAt).toBeUndefined();
  });

  it('the verified CRM instance is kept with the entry (a replay does not authenticate again)', async () => {
    const { quarantine } = setup();
    const id = await quarantine.keep({ source: 'salesforce', kind: 'webhook', portal: '00D000000000001AAA', reason: 'r', paths: [], raw: bytes('<x/>'), receivedAt: NOW });
    expect(await quarantine.get(id)).toMatchObject({ portal: '00D000000000001AAA', kind: 'webhook', source: 'salesforce' });
    expect((await quarantine.list('2026-11-24')).find((i) => i.id === id)?.portal).toBe('00D000000000001AAA');
  });
});
