/** Authentic input that cannot be processed is kept (with why), never dropped; forged input is not. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoQuarantine, QUARANTINE_TTL_SECONDS } from '#adapters/dynamo-quarantine';
import { DynamoInboxStore } from '#adapters/dynamo-store';
import { ingestGenericWebhook, type IngestDeps } from '#handlers/ingest';
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
