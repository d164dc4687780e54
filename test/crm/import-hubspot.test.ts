/**
 * `cultivate import hubspot`: listLostDeals against the local fake HubSpot, whose CRM search,
 * pipelines and account-details endpoints answer in HubSpot's documented shapes
 * (developers.hubspot.com/docs/api/crm/search: filterGroups/filters/sorts/limit/after in,
 * total/results/paging.next.after out; /crm/v3/pipelines/deals; /account-info/v3/details).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspotClientFromSettings } from '#crm/hubspot/api';
import { hubspotLostDeals, listLostDeals } from '#crm/hubspot/backfill';
import { hubspotDefinition } from '#crm/hubspot/index';
import { ImportCursorError, type ListLostDeals } from '#crm/import';
import { CrmMapping } from '#crm/mappings';
import type { CrmNotification } from '#crm/types';
import { FAKE_HUBSPOT_PORTAL_ID, startFakeHubSpot, type FakeHubSpot } from '../helpers/fake-hubspot.ts';
import { drainLister } from '../helpers/import.ts';
import { baseSettings, normaliseContext } from './hubspot/helpers.ts';

let hs: FakeHubSpot;
let list: ListLostDeals;
const reasons = { defaultLostReason: 'other', lostReasons: { 'Went with a competitor': 'competitor' } };
const mapping = CrmMapping.parse({ closedLostStages: { default: ['closedlost'], '7654321': ['ent-lost'] }, ...reasons });
/**
 * The enterprise pipeline named by its label, and its stage by the stage's label, as sales ops
 * often write it: the live normaliser matches ids only, so it would quarantine every such deal.
 */
const byLabel = CrmMapping.parse({ closedLostStages: { default: ['closedlost'], 'Enterprise Pipeline': ['Lost (enterprise)'] }, ...reasons });
const stageByLabel = CrmMapping.parse({ closedLostStages: { default: ['closedlost'], '7654321': ['Lost (enterprise)'] }, ...reasons });
const settings = () => baseSettings({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: hs.token, CULTIVATE_HUBSPOT_RATE_PER_10S: '190' });
const SINCE = new Date('2025-01-01T00:00:00Z');
const UNTIL = new Date('2026-11-20T00:00:00Z');
const portal = String(FAKE_HUBSPOT_PORTAL_ID);

beforeAll(async () => {
  hs = await startFakeHubSpot();
  const lister = hubspotLostDeals(settings(), mapping);
  if (typeof lister !== 'function') throw new Error('expected a lister');
  list = lister;
  hs.seed({
    pipelines: [
      {
        id: '7654321',
        label: 'Enterprise Pipeline',
        stages: [
          { id: 'ent-open', label: 'Talking', isClosed: false, probability: 0.5 },
          { id: 'ent-lost', label: 'Lost (enterprise)', isClosed: true, probability: 0 },
        ],
      },
    ],
    objects: {
      deals: {
        '8001': { pipeline: 'default', dealstage: 'closedlost', closedate: '2025-06-01T10:00:00.000Z', closed_lost_reason: 'Went with a competitor', hubspot_owner_id: '77' },
        '8002': { pipeline: '7654321', dealstage: 'ent-lost', closedate: '2025-03-01T10:00:00.000Z' },
        '8003': { pipeline: 'default', dealstage: 'closedwon', closedate: '2025-04-01T10:00:00.000Z' },
        '8004': { pipeline: 'default', dealstage: 'closedlost', closedate: '2024-06-01T10:00:00.000Z' },
        '8005': { pipeline: '7654321', dealstage: 'ent-open', closedate: '2025-05-01T10:00:00.000Z' },
        '8006': { pipeline: 'default', dealstage: 'closedlost', closedate: '2026-11-21T10:00:00.000Z' },
      },
      contacts: {
        '601': { email: 'old.loss.fixture@example.com', firstname: 'Olga', hs_timezone: 'europe_slash_berlin' },
        '602': { email: 'enterprise.loss.fixture@example.com', firstname: 'Enzo' },
      },
    },
    associations: [
      { from: 'deals', fromId: '8001', to: 'contacts', toId: '601', label: 'Champion' },
      { from: 'deals', fromId: '8002', to: 'contacts', toId: '602', label: 'Champion' },
    ],
  });
});
afterAll(() => hs.stop());

describe('hubspot listLostDeals', () => {
  it('lists the deals in a mapped closed-lost stage closed in the window, oldest first, through one CRM search', async () => {
    const before = hs.calls.length;
    const page = await list({ since: SINCE, until: UNTIL });
    expect(page.notifications.map((n) => n.id)).toEqual([`hubspot:${portal}:import:8002`, `hubspot:${portal}:import:8001`]);
    expect(page.cursor).toBeUndefined();
    expect(page.notifications[1]).toMatchObject({ crm: 'hubspot', portal, occurredAt: '2025-06-01T10:00:00.000Z' });
    const search = hs.calls.slice(before).find((c) => c.path === '/crm/v3/objects/deals/search');
    // One filter group per mapped pipeline, with the stage ids crm.yaml lists for it.
    expect(search?.body).toMatchObject({
      filterGroups: [
        { filters: [{ propertyName: 'pipeline', operator: 'EQ', value: '7654321' }, { propertyName: 'dealstage', operator: 'IN', values: ['ent-lost'] }, { propertyName: 'closedate', operator: 'GTE', value: String(SINCE.getTime()) }, { propertyName: 'closedate', operator: 'LT', value: String(UNTIL.getTime()) }] },
        { filters: [{ propertyName: 'pipeline', operator: 'EQ', value: 'default' }, { propertyName: 'dealstage', operator: 'IN', values: ['closedlost'] }, {}, {}] },
      ],
      sorts: [{ propertyName: 'closedate', direction: 'ASCENDING' }],
      limit: 100,
    });
  });

  it('builds the notification the live normaliser reads for a deal moved to closed-lost', async () => {
    const { notifications } = await list({ since: SINCE, until: UNTIL });
    const n = notifications.find((x) => x.id.endsWith(':8001')) as CrmNotification;
    const adapter = hubspotDefinition.inbound(baseSettings({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: hs.token }));
    // The same parse a webhook delivery goes through accepts the payload.
    const parsed = adapter.parse([n.payload], { portal }, new Date());
    expect(parsed.ok).toBe(true);
    const result = await adapter.normalise(n, normaliseContext(mapping));
    expect(result).toMatchObject({
      kind: 'events',
      events: [{ type: 'lead-closed-lost', id: `hubspot:${portal}:import:8001:601`, occurredAt: '2025-06-01T10:00:00.000Z', data: { reason: 'competitor', dealId: '8001' }, contact: { email: 'old.loss.fixture@example.com' } }],
    });
  });

  // Listing and normalising must agree on which stages are closed-lost: a deal listed but not
  // recognised by the normaliser is quarantined instead of nurtured.
  it.each([
    ['ids', mapping, 2],
    ['a pipeline label and stage labels', byLabel, 1],
    ['a stage label', stageByLabel, 1],
  ] as const)('lists only deals the live normaliser turns into a loss when crm.yaml names the pipeline by %s', async (_, m, expected) => {
    const lister = hubspotLostDeals(settings(), m);
    if (typeof lister !== 'function') throw new Error('expected a lister');
    const { notifications } = await lister({ since: SINCE, until: UNTIL });
    expect(notifications).toHaveLength(expected);
    const adapter = hubspotDefinition.inbound(baseSettings({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: hs.token }));
    for (const n of notifications) {
      const result = await adapter.normalise(n, normaliseContext(m));
      expect(result, n.id).toMatchObject({ kind: 'events', events: [{ type: 'lead-closed-lost', data: { dealId: n.id.split(':').at(-1) } }] });
    }
  });

  it('pages with an opaque cursor until the search is exhausted, and the pages add up to every deal once', async () => {
    const many: Record<string, Record<string, string>> = {};
    for (let i = 0; i < 450; i++) many[String(20_000 + i)] = { pipeline: 'default', dealstage: 'closedlost', closedate: new Date(Date.parse('2026-01-01T00:00:00Z') + i * 60_000).toISOString() };
    hs.seed({ objects: { deals: many } });
    const { ids, pages } = await drainLister(list, { since: new Date('2026-01-01T00:00:00Z'), until: UNTIL });
    expect(pages).toBe(5);
    expect(new Set(ids).size).toBe(450);
  });

  it('refuses a cursor it did not hand out', async () => {
    await expect(list({ since: SINCE, until: UNTIL, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(ImportCursorError);
  });

  it('lists nothing when no pipeline in crm.yaml exists in HubSpot', async () => {
    const client = await hubspotClientFromSettings(baseSettings({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: hs.token }));
    const page = await listLostDeals(client, CrmMapping.parse({ closedLostStages: { nowhere: ['lost'] } }), { since: SINCE, until: UNTIL });
    expect(page).toEqual({ notifications: [] });
  });

  it('names the missing token instead of listing', () => {
    expect(hubspotLostDeals(baseSettings({ CULTIVATE_HUBSPOT_TOKEN: undefined }), mapping)).toEqual({ missing: ['CULTIVATE_HUBSPOT_TOKEN'] });
  });
});
