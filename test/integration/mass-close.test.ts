/**
 * The mass-close gate on DynamoDB Local: more closed-lost deals from one CRM within the window than
 * `massClose.maxLostDeals` are held in quarantine (kind mass-close) instead of entering nurture, and a
 * reviewer's replay releases them, once. The adapter is a small stand-in for a CRM's normalise (the
 * gate does not care which CRM); the counter, quarantine and inbox are the real DynamoDB adapters.
 */
import { describe, expect, it } from 'vitest';
import { DynamoMassCloseCounter } from '#adapters/dynamo-mass-close';
import { DynamoQuarantine } from '#adapters/dynamo-quarantine';
import { DynamoInboxStore } from '#adapters/dynamo-store';
import type { InboundEvent } from '#catalog/events';
import { keepAndPublish } from '#crm/ingest';
import { CrmFile } from '#crm/mappings';
import { handleCrmNotification, type NormaliseDeps } from '#crm/normalise';
import { replayQuarantined } from '#crm/replay';
import type { CrmInboundAdapter, CrmNotification } from '#crm/types';
import { createKeyedHasher } from '#shared/hmac';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { fixedClock, RecordingPublisher, recordingLogger } from '../helpers/fixtures.ts';

const NOW = new Date('2026-12-31T17:00:00.000Z');

const lostDeal = (n: number): CrmNotification => ({ id: `pipedrive:7:deal-${n}`, crm: 'pipedrive', portal: '7', kind: 'change.deal', occurredAt: NOW.toISOString(), payload: { deal: n } });

const adapter: CrmInboundAdapter = {
  crm: 'pipedrive',
  authenticate: () => ({ ok: true }),
  parse: () => ({ ok: true, notifications: [] }),
  accepted: () => ({ status: 200, contentType: 'application/json', body: '{}' }),
  async normalise(n) {
    const deal = (n.payload as { deal: number }).deal;
    const event: InboundEvent = {
      id: `${n.id}:p1`,
      type: 'lead-closed-lost',
      occurredAt: n.occurredAt,
      contact: { externalId: `p-${deal}`, email: `person-${deal}@customer.example` },
      data: { reason: 'budget', dealId: String(deal) },
    };
    return { kind: 'events', events: [event] };
  },
};

describe('mass-close gate', () => {
  const db = withDynamoDbLocal('cultivate-mass-close');

  it('past maxLostDeals in the window the deals are held, and a replay releases them once', async () => {
    const publisher = new RecordingPublisher();
    const inbox = new DynamoInboxStore(db.doc, db.table, fixedClock(NOW));
    const quarantine = new DynamoQuarantine(db.doc, db.table);
    const deps: NormaliseDeps = {
      clock: fixedClock(NOW),
      logger: recordingLogger(),
      inbox,
      publisher,
      quarantine,
      hasher: async () => createKeyedHasher('k'),
      adapter: () => adapter,
      crmConfig: CrmFile.parse({ massClose: { maxLostDeals: 2, windowMinutes: 5 } }),
      massClose: new DynamoMassCloseCounter(db.doc, db.table),
    };
    const outcomes = [];
    for (let n = 1; n <= 4; n++) {
      await keepAndPublish(deps, [lostDeal(n)], NOW);
      const ref = publisher.ofType('crm-notification').at(-1)!.detail;
      outcomes.push(await handleCrmNotification(deps, ref));
    }
    expect(outcomes).toEqual(['published', 'published', 'held', 'held']);
    expect(publisher.ofType('lead-closed-lost')).toHaveLength(2);

    const held = (await quarantine.list('2026-12-31')).filter((i) => i.kind === 'mass-close');
    expect(held).toHaveLength(2);
    expect(held[0]!.reason).toContain('more than 2 deals closed lost within 5 minutes');

    const replay = await replayQuarantined(deps, held[0]!.id);
    expect(replay).toMatchObject({ status: 200, outcome: 'released 1 held event(s)' });
    expect(publisher.ofType('lead-closed-lost')).toHaveLength(3);
    // The released event goes through the claim check: no address on the bus.
    expect(JSON.stringify(publisher.published)).not.toContain('@customer.example');
    expect(await replayQuarantined(deps, held[0]!.id)).toMatchObject({ status: 409 });
    expect(publisher.ofType('lead-closed-lost')).toHaveLength(3);
  });
});
