/**
 * Salesforce Event Relay → the same claim check as a webhook: a relayed change event from an
 * allowed org becomes a kept notification and a crm-notification reference on the bus (ids only);
 * the relay's retry (new EventBridge id) is the same notification; an event from another org, or one
 * that is not a change event, is kept in quarantine and replays once fixed.
 */
import { describe, expect, it } from 'vitest';
import { DynamoQuarantine } from '#adapters/dynamo-quarantine';
import { DynamoInboxStore } from '#adapters/dynamo-store';
import { handleSalesforceRelay } from '#crm/salesforce-relay';
import { replayQuarantined } from '#crm/replay';
import { createKeyedHasher } from '#shared/hmac';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { fixedClock, RecordingPublisher, recordingLogger } from '../helpers/fixtures.ts';
import { fixture, OPP, ORG } from '../crm/salesforce/helpers.ts';

const NOW = new Date('2026-11-20T15:05:00.000Z');

describe('Salesforce Event Relay', () => {
  const db = withDynamoDbLocal('cultivate-sf-relay');
  const setup = (orgs: string | null = ORG) => {
    const publisher = new RecordingPublisher();
    const inbox = new DynamoInboxStore(db.doc, db.table, fixedClock(NOW));
    const quarantine = new DynamoQuarantine(db.doc, db.table);
    const deps = { clock: fixedClock(NOW), logger: recordingLogger(), inbox, publisher, quarantine, allowedOrgIds: async () => orgs ?? undefined };
    return { deps, publisher, inbox, quarantine };
  };
  const relayed = () => JSON.parse(fixture('relay-opportunity-change-event.json')) as Record<string, unknown>;

  it('a relayed change event from an allowed org is kept and referenced on the bus; the relay retry is the same notification', async () => {
    const { deps, publisher, inbox } = setup();
    expect(await handleSalesforceRelay(deps, relayed())).toBe('published');
    expect(await handleSalesforceRelay(deps, { ...relayed(), id: 'another-eventbridge-id' })).toBe('published');
    const refs = publisher.ofType('crm-notification');
    expect(refs).toHaveLength(2);
    const [a, b] = refs.map((r) => r.detail as { id: string; crm: string; inboxKey: string });
    expect(a!.id).toBe(b!.id);
    expect(a).toMatchObject({ crm: 'salesforce' });
    expect(await inbox.getNotification(a!.inboxKey)).toMatchObject({ crm: 'salesforce', payload: expect.objectContaining({ recordId: OPP }) });
  });

  it('an event from an org that is not allowed is quarantined, nothing published; with the org allowed it replays once', async () => {
    const refused = setup('00D000000000001');
    expect(await handleSalesforceRelay(refused.deps, relayed())).toBe('quarantined');
    expect(refused.publisher.published).toEqual([]);
    const [item] = (await refused.quarantine.list('2026-11-20')).filter((i) => i.source === 'salesforce-relay');
    expect(item).toMatchObject({ kind: 'webhook', paths: ['source'] });

    // Still not allowed: 422, stays replayable.
    const replayDeps = (orgs: string) => ({ ...refused.deps, hasher: async () => createKeyedHasher('k'), adapter: () => undefined, allowedOrgIds: async () => orgs });
    expect(await replayQuarantined(replayDeps('00D000000000001'), item!.id)).toMatchObject({ status: 422 });
    const ok = await replayQuarantined(replayDeps(ORG), item!.id);
    expect(ok).toMatchObject({ status: 200 });
    expect(refused.publisher.ofType('crm-notification')).toHaveLength(1);
    expect(await replayQuarantined(replayDeps(ORG), item!.id)).toMatchObject({ status: 409 });
  });

  it('without CULTIVATE_SALESFORCE_ORG_IDS nothing is allowed; a malformed event is quarantined naming the field', async () => {
    const none = setup(null);
    expect(await handleSalesforceRelay(none.deps, relayed())).toBe('quarantined');
    const bad = setup();
    expect(await handleSalesforceRelay(bad.deps, { ...relayed(), detail: { payload: {} } })).toBe('quarantined');
    expect(bad.publisher.published).toEqual([]);
  });
});
