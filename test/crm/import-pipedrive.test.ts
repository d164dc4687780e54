/**
 * `cultivate import pipedrive`: listLostDeals against the local fake Pipedrive, whose
 * `GET /api/v2/deals` answers in API v2's shape (`{ success, data, additional_data.next_cursor }`,
 * developers.pipedrive.com/docs/api/v1/Deals#getDeals and the changelog "Introducing 2 new
 * cursor-paginated GET endpoints") and `GET /api/v1/users/me` with the company id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportCursorError, type ListLostDeals } from '#crm/import';
import { pipedriveInbound } from '#crm/pipedrive/index';
import { pipedriveLostDeals } from '#crm/pipedrive/backfill';
import { FAKE_PIPEDRIVE_COMPANY_ID, startFakePipedrive, type FakePipedrive } from '../helpers/fake-pipedrive.ts';
import { drainLister } from '../helpers/import.ts';
import { BASIC, normaliseContext, settingsOf } from './pipedrive/helpers.ts';

let pd: FakePipedrive;
let list: ListLostDeals;
const company = String(FAKE_PIPEDRIVE_COMPANY_ID);
const SINCE = new Date('2025-01-01T00:00:00Z');
const UNTIL = new Date('2026-11-20T00:00:00Z');

/** A deal as API v2 returns it (ids as numbers, RFC 3339 times, custom fields under custom_fields). */
const deal = (id: number, status: string, lost_time: string | null, update_time: string, extra: Record<string, unknown> = {}) => ({
  id,
  title: `Deal ${id}`,
  owner_id: 12415231,
  person_id: 7,
  org_id: 3,
  pipeline_id: 1,
  stage_id: 4,
  value: 24000,
  currency: 'EUR',
  add_time: '2024-01-02T09:00:00Z',
  update_time,
  status,
  lost_reason: status === 'lost' ? 'Went with a competitor' : null,
  lost_time,
  custom_fields: {},
  ...extra,
});

beforeAll(async () => {
  pd = await startFakePipedrive();
  const settings = settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC, CULTIVATE_PIPEDRIVE_API_TOKEN: pd.token, CULTIVATE_PIPEDRIVE_API_URL: pd.url, CULTIVATE_PIPEDRIVE_RATE_LIMIT: '100' });
  const lister = pipedriveLostDeals(settings);
  if (typeof lister !== 'function') throw new Error('expected a lister');
  list = lister;
  pd.seed({
    deals: [
      deal(41, 'lost', '2025-06-01T10:00:00Z', '2025-06-01T10:00:00Z'),
      // Lost before the window but edited inside it: listed by update time, dropped by lost time.
      deal(42, 'lost', '2024-03-01T10:00:00Z', '2025-07-01T10:00:00Z'),
      deal(43, 'won', null, '2025-05-01T10:00:00Z'),
      deal(44, 'lost', '2025-02-01 08:30:00', '2025-08-01T10:00:00Z'),
      deal(45, 'lost', '2026-11-21T10:00:00Z', '2026-11-21T10:00:00Z'),
    ],
    persons: [{ id: 7, name: 'Olga Fixture', emails: [{ value: 'olga.fixture@example.com', primary: true, label: 'work' }], owner_id: 12415231, org_id: 3 }],
    organizations: [{ id: 3, name: 'Old Co' }],
    participants: { 41: [7] },
  });
});
afterAll(() => pd.stop());

describe('pipedrive listLostDeals', () => {
  it('asks for lost deals updated since the window start and keeps those lost inside it', async () => {
    const before = pd.calls.length;
    const page = await list({ since: SINCE, until: UNTIL });
    expect(page.notifications.map((n) => n.id)).toEqual([`pipedrive:${company}:import:41`, `pipedrive:${company}:import:44`]);
    // A v1-style lost_time (UTC without a zone) is read as UTC.
    expect(page.notifications[1]?.occurredAt).toBe('2025-02-01T08:30:00.000Z');
    expect(page.cursor).toBeUndefined();
    const call = pd.calls.slice(before).find((c) => c.path.startsWith('/api/v2/deals?'));
    const q = new URL(`http://x${call?.path}`).searchParams;
    expect(Object.fromEntries(q)).toMatchObject({ status: 'lost', updated_since: '2025-01-01T00:00:00Z', sort_by: 'update_time', sort_direction: 'asc', limit: '100' });
  });

  it('builds the webhooks v2 delivery the live adapter parses and normalises as a loss', async () => {
    const { notifications } = await list({ since: SINCE, until: UNTIL });
    const n = notifications[0];
    if (!n) throw new Error('no notification');
    const adapter = pipedriveInbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC, CULTIVATE_PIPEDRIVE_API_TOKEN: pd.token, CULTIVATE_PIPEDRIVE_API_URL: pd.url }), { baseDelayMs: 1 });
    expect(adapter.parse(n.payload, {}, new Date()).ok).toBe(true);
    const result = await adapter.normalise(n, normaliseContext());
    expect(result).toMatchObject({
      kind: 'events',
      events: [{ type: 'lead-closed-lost', id: `pipedrive:${company}:import:41:7`, occurredAt: '2025-06-01T10:00:00.000Z', data: { reason: 'competitor', dealId: '41', amount: 24000, currency: 'EUR' }, contact: { email: 'olga.fixture@example.com' } }],
    });
  });

  it('follows next_cursor to the end, every lost deal once', async () => {
    const many = Array.from({ length: 1200 }, (_, i) => deal(10_000 + i, 'lost', new Date(Date.parse('2026-02-01T00:00:00Z') + i * 60_000).toISOString(), new Date(Date.parse('2026-02-01T00:00:00Z') + i * 60_000).toISOString()));
    pd.seed({ deals: many });
    const { ids, pages } = await drainLister(list, { since: new Date('2026-02-01T00:00:00Z'), until: UNTIL });
    // 1,201 deals updated since then (deal 45 too, lost after the window): 13 pages of 100.
    expect(pages).toBe(13);
    expect(new Set(ids).size).toBe(1200);
  });

  it('refuses a cursor that is not an opaque token', async () => {
    await expect(list({ since: SINCE, until: UNTIL, cursor: 'no spaces & symbols' })).rejects.toBeInstanceOf(ImportCursorError);
  });

  it('names the missing API token instead of listing', () => {
    expect(pipedriveLostDeals(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC }))).toEqual({ missing: ['CULTIVATE_PIPEDRIVE_API_TOKEN'] });
  });
});
