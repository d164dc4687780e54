/**
 * The import runner (functions/crm/import.ts) with an in-memory inbox, a recording publisher and
 * an in-memory ledger: the age rule, dry run, resuming by cursor, a re-run importing nothing
 * twice, the pacing that replaces the mass-close gate; then one imported HubSpot deal through the
 * real normaliser (functions/crm/normalise.ts), which passes it by the gate and marks the loss
 * `permissionAskOnly`.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { InboundEvent } from '#catalog/events';
import { hubspotLostDeals } from '#crm/hubspot/backfill';
import { hubspotDefinition } from '#crm/hubspot/index';
import { type ImportDeps, ImportNotConfiguredError, type ListLostDeals, MAX_PAGES_PER_RUN, RUN_BUDGET_MS, runImport } from '#crm/import';
import { CrmFile, CrmMapping } from '#crm/mappings';
import { handleCrmNotification, type MaybeImported } from '#crm/normalise';
import type { CrmNotification } from '#crm/types';
import type { NotificationInbox, Quarantine, QuarantineEntry } from '#ports/ports';
import { createKeyedHasher } from '#shared/hmac';
import { FAKE_HUBSPOT_PORTAL_ID, startFakeHubSpot, type FakeHubSpot } from '../helpers/fake-hubspot.ts';
import { MemoryInbox, RecordingPublisher, fixedClock, recordingLogger } from '../helpers/fixtures.ts';
import { MemoryImportLedger } from '../helpers/import.ts';
import { baseSettings } from './hubspot/helpers.ts';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const DAY = 86_400_000;
const daysAgo = (d: number) => new Date(NOW.getTime() - d * DAY).toISOString();
const rule = { maxAgeDays: 730, permissionAskOnlyAfterDays: 180 };

class MemoryNotifications extends MemoryInbox implements NotificationInbox {
  readonly notifications = new Map<string, unknown>();
  async putNotifications(items: readonly { key: string; notification: unknown }[]) {
    for (const i of items) this.notifications.set(i.key, structuredClone(i.notification));
  }
  async getNotification(key: string) {
    return this.notifications.get(key);
  }
  override async delete(key: string) {
    this.notifications.delete(key);
    await super.delete(key);
  }
}

const deal = (id: number, ageDays: number): CrmNotification => ({ id: `hubspot:1:import:${id}`, crm: 'hubspot', portal: '1', kind: 'import.deal.propertyChange', occurredAt: daysAgo(ageDays), payload: { id } });

/** A CRM search over fixed deals, `size` per page, the cursor an offset (as HubSpot's `after`). */
function scripted(deals: CrmNotification[], size: number): ListLostDeals & { windows: { since: Date; until: Date; cursor?: string }[] } {
  const windows: { since: Date; until: Date; cursor?: string }[] = [];
  const list = async (w: { since: Date; until: Date; cursor?: string }) => {
    windows.push(w);
    const start = Number(w.cursor ?? 0);
    const next = start + size < deals.length ? String(start + size) : undefined;
    return { notifications: deals.slice(start, start + size), ...(next && { cursor: next }) };
  };
  return Object.assign(list, { windows });
}

function setup(lister: ListLostDeals, over: Partial<ImportDeps> = {}) {
  const inbox = new MemoryNotifications();
  const publisher = new RecordingPublisher();
  const ledger = new MemoryImportLedger();
  const sleeps: number[] = [];
  const deps: ImportDeps = {
    clock: fixedClock(NOW),
    logger: recordingLogger(),
    inbox,
    publisher,
    ledger,
    rule,
    lister: () => lister,
    sleep: async (ms) => void sleeps.push(ms),
    ...over,
  };
  return { deps, inbox, publisher, ledger, sleeps };
}

describe('runImport', () => {
  const deals = [deal(1, 10), deal(2, 200), deal(3, 800), deal(4, 729), deal(5, 181), deal(6, 179)];

  it('skips deals past maxAgeDays, marks those past permissionAskOnlyAfterDays, and publishes the rest as crm-notifications', async () => {
    const { deps, inbox, publisher } = setup(scripted(deals, 100));
    const summary = await runImport(deps, 'hubspot');
    expect(summary).toEqual({ listed: 6, skippedTooOld: 1, alreadyImported: 0, permissionAskOnly: 3, published: 5, dryRun: false });
    expect(publisher.ofType('crm-notification').map((e) => (e.detail as { id: string }).id)).toEqual(['1', '2', '4', '5', '6'].map((i) => `hubspot:1:import:${i}`));
    const kept = (id: number) => inbox.notifications.get(`hubspot:1:import:${id}`) as MaybeImported | undefined;
    expect(kept(1)?.import).toEqual({ permissionAskOnly: false });
    expect(kept(2)?.import).toEqual({ permissionAskOnly: true });
    expect(kept(5)?.import).toEqual({ permissionAskOnly: true });
    expect(kept(6)?.import).toEqual({ permissionAskOnly: false });
    expect(kept(3)).toBeUndefined();
  });

  it('searches from maxAgeDays ago to now unless told otherwise', async () => {
    const lister = scripted([], 10);
    await runImport(setup(lister).deps, 'hubspot');
    await runImport(setup(lister).deps, 'hubspot', { since: new Date('2026-01-01T00:00:00Z'), until: new Date('2026-06-01T00:00:00Z') });
    expect(lister.windows.map((w) => [w.since.toISOString(), w.until.toISOString()])).toEqual([
      [daysAgo(730), NOW.toISOString()],
      ['2026-01-01T00:00:00.000Z', '2026-06-01T00:00:00.000Z'],
    ]);
  });

  it('a dry run counts as a real run would and publishes and records nothing', async () => {
    const { deps, inbox, publisher, ledger } = setup(scripted(deals, 100));
    expect(await runImport(deps, 'hubspot', { dryRun: true })).toEqual({ listed: 6, skippedTooOld: 1, alreadyImported: 0, permissionAskOnly: 3, published: 0, dryRun: true });
    expect(publisher.calls).toBe(0);
    expect(inbox.notifications.size).toBe(0);
    expect(ledger.ids.size).toBe(0);
  });

  it('a dry run stops after the page that reaches the limit and resumes from the cursor it returned', async () => {
    const many = Array.from({ length: 25 }, (_, i) => deal(100 + i, 30));
    const { deps } = setup(scripted(many, 10));
    const first = await runImport(deps, 'hubspot', { dryRun: true, limit: 15 });
    expect(first).toMatchObject({ listed: 20, published: 0, cursor: '20' });
    const rest = await runImport(deps, 'hubspot', { dryRun: true, limit: 15, cursor: first.cursor as string });
    expect(rest).toMatchObject({ listed: 5, published: 0 });
    expect(rest.cursor).toBeUndefined();
  });

  it('a real run publishes one page per call, whatever the limit, and the calls add up to every deal once', async () => {
    const many = Array.from({ length: 25 }, (_, i) => deal(100 + i, 30));
    const { deps, publisher } = setup(scripted(many, 10));
    const calls: { listed: number; published: number }[] = [];
    let cursor: string | undefined;
    do {
      const summary = await runImport(deps, 'hubspot', { limit: 2_000, ...(cursor !== undefined && { cursor }) });
      calls.push({ listed: summary.listed, published: summary.published });
      cursor = summary.cursor;
    } while (cursor !== undefined && calls.length < 10);
    expect(calls).toEqual([
      { listed: 10, published: 10 },
      { listed: 10, published: 10 },
      { listed: 5, published: 5 },
    ]);
    expect(new Set(publisher.published.map((e) => (e.detail as { id: string }).id)).size).toBe(25);
  });

  it('a real run reads on past pages with nothing to publish, to the first page it publishes from', async () => {
    const many = Array.from({ length: 25 }, (_, i) => deal(100 + i, 30));
    const { deps } = setup(scripted(many, 10));
    await runImport(deps, 'hubspot');
    // From the start again: page one was imported, page two is published, page three waits.
    expect(await runImport(deps, 'hubspot')).toMatchObject({ listed: 20, alreadyImported: 10, published: 10, cursor: '20' });
  });

  it('returns after MAX_PAGES_PER_RUN pages even when the pages hold nothing in the window', async () => {
    let calls = 0;
    const empty: ListLostDeals = async () => ({ notifications: [], cursor: String(++calls) });
    const { deps } = setup(empty);
    expect(await runImport(deps, 'pipedrive')).toMatchObject({ listed: 0, cursor: String(MAX_PAGES_PER_RUN) });
    expect(calls).toBe(MAX_PAGES_PER_RUN);
  });

  it('reads no new page once RUN_BUDGET_MS has passed (a dry run, which otherwise reads on to its limit)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const many = Array.from({ length: 30 }, (_, i) => deal(300 + i, 30));
      const paged = scripted(many, 10);
      const slow: ListLostDeals = async (w) => {
        vi.setSystemTime(Date.now() + RUN_BUDGET_MS);
        return paged(w);
      };
      const { deps } = setup(slow);
      expect(await runImport(deps, 'hubspot', { dryRun: true })).toMatchObject({ listed: 10, published: 0, cursor: '10' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a re-run imports nothing twice, also after a run that failed half-way', async () => {
    const { deps, publisher } = setup(scripted(deals, 2), { ratePerSecond: 2 });
    let pages = 0;
    const flaky: ListLostDeals = async (w) => {
      if (++pages === 3) throw new Error('CRM went away');
      return scripted(deals, 2)(w);
    };
    // One page per call: the CLI follows the cursor, and the third page fails.
    const first = await runImport({ ...deps, lister: () => flaky }, 'hubspot');
    const second = await runImport({ ...deps, lister: () => flaky }, 'hubspot', { cursor: first.cursor as string });
    await expect(runImport({ ...deps, lister: () => flaky }, 'hubspot', { cursor: second.cursor as string })).rejects.toThrow('CRM went away');
    const firstRun = publisher.published.length;
    expect(firstRun).toBe(3);
    const again = await runImport(deps, 'hubspot');
    expect(again).toMatchObject({ listed: 6, skippedTooOld: 1, alreadyImported: 3, published: 2 });
    expect(await runImport(deps, 'hubspot')).toMatchObject({ listed: 6, alreadyImported: 5, published: 0 });
    expect(publisher.published.map((e) => (e.detail as { id: string }).id).sort()).toEqual(['1', '2', '4', '5', '6'].map((i) => `hubspot:1:import:${i}`).sort());
  });

  it('publishes at the configured rate: one batch per second instead of the mass-close gate', async () => {
    const many = Array.from({ length: 12 }, (_, i) => deal(200 + i, 30));
    const { deps, publisher, sleeps } = setup(scripted(many, 100), { ratePerSecond: 5 });
    await runImport(deps, 'hubspot');
    expect(publisher.calls).toBe(3);
    expect(sleeps).toEqual([1000, 1000]);
  });

  it('names the settings a CRM lacks', async () => {
    const { deps } = setup(scripted([], 1), { lister: () => ({ missing: ['CULTIVATE_PIPEDRIVE_API_TOKEN'] }) });
    await expect(runImport(deps, 'pipedrive')).rejects.toThrow(ImportNotConfiguredError);
    await expect(runImport(deps, 'pipedrive')).rejects.toThrow(/CULTIVATE_PIPEDRIVE_API_TOKEN/);
  });
});

describe('an imported HubSpot loss through the normaliser', () => {
  let hs: FakeHubSpot;
  beforeAll(async () => {
    hs = await startFakeHubSpot();
    hs.seed({
      objects: {
        deals: {
          '8101': { pipeline: 'default', dealstage: 'closedlost', closedate: daysAgo(400), closed_lost_reason: 'No budget this year' },
          '8102': { pipeline: 'default', dealstage: 'closedlost', closedate: daysAgo(20), closed_lost_reason: 'No budget this year' },
        },
        contacts: { '701': { email: 'old.fixture@example.com', firstname: 'Olga' }, '702': { email: 'new.fixture@example.com', firstname: 'Nia' } },
      },
      associations: [
        { from: 'deals', fromId: '8101', to: 'contacts', toId: '701' },
        { from: 'deals', fromId: '8102', to: 'contacts', toId: '702' },
      ],
    });
  });
  afterAll(() => hs.stop());

  it('passes the mass-close gate and carries permissionAskOnly on the old loss only', async () => {
    const crmConfig = CrmFile.parse({ hubspot: { closedLostStages: { default: ['closedlost'] }, lostReasons: { 'No budget this year': 'budget' } }, massClose: { maxLostDeals: 1, windowMinutes: 5 } });
    const settings = baseSettings({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: hs.token, CULTIVATE_HUBSPOT_RATE_PER_10S: '190' });
    const lister = hubspotLostDeals(settings, crmConfig.hubspot ?? CrmMapping.parse({}));
    const { deps, inbox, publisher } = setup(lister as ListLostDeals);
    expect(await runImport(deps, 'hubspot')).toMatchObject({ listed: 2, permissionAskOnly: 1, published: 2 });

    const kept: QuarantineEntry[] = [];
    const quarantine: Quarantine = { keep: async (e) => (kept.push(e), `q${kept.length}`), list: async () => [], get: async () => undefined, markReplayed: async () => true };
    let counted = 0;
    const adapter = hubspotDefinition.inbound(settings);
    const normaliseDeps = {
      clock: fixedClock(NOW),
      logger: recordingLogger(),
      inbox,
      publisher,
      quarantine,
      hasher: async () => createKeyedHasher('import-test-key'),
      adapter: () => adapter,
      crmConfig,
      // Every count over the limit: a live loss would be held for review.
      massClose: { count: async () => ++counted + 100 },
    };
    for (const ref of publisher.ofType('crm-notification').map((e) => e.detail)) expect(await handleCrmNotification(normaliseDeps, ref)).toBe('published');
    expect(kept).toEqual([]);
    expect(counted).toBe(0);
    const events = [...inbox.items.values()] as Extract<InboundEvent, { type: 'lead-closed-lost' }>[];
    const byDeal = Object.fromEntries(events.map((e) => [e.data.dealId, e]));
    expect(byDeal['8101']).toMatchObject({ id: `hubspot:${FAKE_HUBSPOT_PORTAL_ID}:import:8101:701`, type: 'lead-closed-lost', data: { reason: 'budget', permissionAskOnly: true } });
    expect(byDeal['8102']?.data.permissionAskOnly).toBeUndefined();
    expect(publisher.ofType('lead-closed-lost')).toHaveLength(2);
  });

  it('a live closed-lost still meets the gate', async () => {
    const crmConfig = CrmFile.parse({ hubspot: { closedLostStages: { default: ['closedlost'] }, lostReasons: { 'No budget this year': 'budget' } }, massClose: { maxLostDeals: 1, windowMinutes: 5 } });
    const settings = baseSettings({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: hs.token });
    const live: CrmNotification = {
      id: 'hubspot:62515:555-1-8102',
      crm: 'hubspot',
      portal: '62515',
      kind: 'deal.propertyChange',
      occurredAt: NOW.toISOString(),
      payload: { eventId: 555, subscriptionId: 1, portalId: 62515, occurredAt: NOW.getTime(), subscriptionType: 'deal.propertyChange', attemptNumber: 0, objectId: 8102, propertyName: 'dealstage', propertyValue: 'closedlost' },
    };
    const inbox = new MemoryNotifications();
    await inbox.putNotifications([{ key: live.id, notification: live }]);
    const kept: QuarantineEntry[] = [];
    const outcome = await handleCrmNotification(
      {
        clock: fixedClock(NOW),
        logger: recordingLogger(),
        inbox,
        publisher: new RecordingPublisher(),
        quarantine: { keep: async (e) => (kept.push(e), 'q1'), list: async () => [], get: async () => undefined, markReplayed: async () => true },
        hasher: async () => createKeyedHasher('import-test-key'),
        adapter: () => hubspotDefinition.inbound(settings),
        crmConfig,
        massClose: { count: async () => 2 },
      },
      { id: live.id, crm: 'hubspot', portal: live.portal, kind: live.kind, occurredAt: live.occurredAt, receivedAt: NOW.toISOString(), inboxKey: live.id },
    );
    expect(outcome).toBe('held');
    expect(kept.map((k) => k.kind)).toEqual(['mass-close']);
  });
});
