/**
 * `cultivate import salesforce`: listLostDeals against the local fake Salesforce, which answers
 * SOQL in the REST API's shape (`{ totalSize, done, records: [{ attributes, ... }] }`, Salesforce
 * REST API Developer Guide, "Execute a SOQL Query") after the OAuth client credentials token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImportCursorError, type ListLostDeals } from '#crm/import';
import { salesforceLostDeals } from '#crm/salesforce/backfill';
import { salesforceInbound } from '#crm/salesforce/index';
import { startFakeSalesforce, type FakeSalesforce } from '../helpers/fake-salesforce.ts';
import { recordingLogger } from '../helpers/fixtures.ts';
import { drainLister } from '../helpers/import.ts';
import { ACCOUNT, DANA, mapping, ORG, settingsOf, TOKEN, USER } from './salesforce/helpers.ts';

let sf: FakeSalesforce;
let list: ListLostDeals;
const SINCE = new Date('2025-01-01T00:00:00Z');
const UNTIL = new Date('2026-11-20T00:00:00Z');
const opp = (n: number) => `0065e00000Bz${String(n).padStart(3, '0')}AAA`;
const settings = () =>
  settingsOf({ CULTIVATE_SALESFORCE_ORG_IDS: ORG, CULTIVATE_SALESFORCE_TOKEN: TOKEN, CULTIVATE_SALESFORCE_API_URL: sf.url, CULTIVATE_SALESFORCE_CLIENT_ID: sf.clientId, CULTIVATE_SALESFORCE_CLIENT_SECRET: sf.clientSecret });

beforeAll(async () => {
  sf = await startFakeSalesforce();
  const lister = salesforceLostDeals(settings());
  if (typeof lister !== 'function') throw new Error('expected a lister');
  list = lister;
  sf.seed({
    Organization: { [ORG]: { Name: 'Seller Example' } },
    Account: { [ACCOUNT]: { Name: 'Acme Corporation' } },
    Contact: { [DANA]: { Email: 'dana@example.com', FirstName: 'Dana', LastName: 'Reyes', OwnerId: USER, AccountId: ACCOUNT } },
    OpportunityContactRole: { '00K5e00000Aa009AAA': { OpportunityId: opp(1), ContactId: DANA, Role: 'Decision Maker', IsPrimary: true } },
    Opportunity: {
      [opp(1)]: { AccountId: ACCOUNT, OwnerId: USER, StageName: 'Closed Lost', IsClosed: true, IsWon: false, CloseDate: '2025-06-01', Amount: 24000, Loss_Reason__c: 'Timing' },
      // A renamed lost stage is still a loss: IsClosed && !IsWon decides, never the name.
      [opp(2)]: { StageName: 'Lost - no decision', IsClosed: true, IsWon: false, CloseDate: '2025-03-01' },
      [opp(3)]: { StageName: 'Closed Won', IsClosed: true, IsWon: true, CloseDate: '2025-04-01' },
      [opp(4)]: { StageName: 'Closed Lost', IsClosed: true, IsWon: false, CloseDate: '2024-12-31' },
      [opp(5)]: { StageName: 'Negotiation/Review', IsClosed: false, IsWon: false, CloseDate: '2025-05-01' },
      // Closed on UNTIL's date, whose start is UNTIL itself: outside [SINCE, UNTIL).
      [opp(6)]: { StageName: 'Closed Lost', IsClosed: true, IsWon: false, CloseDate: '2026-11-20' },
    },
  });
});
afterAll(() => sf.stop());

const soql = (path: string) => new URL(path, 'http://x').searchParams.get('q') ?? '';

describe('salesforce listLostDeals', () => {
  it('queries IsClosed and not IsWon with a CloseDate in the window, and names each loss by org and opportunity', async () => {
    const before = sf.calls.length;
    const page = await list({ since: SINCE, until: UNTIL });
    expect(page.notifications.map((n) => n.id)).toEqual([`salesforce:${ORG}:import:${opp(1)}`, `salesforce:${ORG}:import:${opp(2)}`]);
    expect(page.notifications[0]).toMatchObject({ crm: 'salesforce', portal: ORG, occurredAt: '2025-06-01T00:00:00.000Z' });
    expect(page.cursor).toBeUndefined();
    const queries = sf.calls.slice(before).map((c) => soql(c.path)).filter(Boolean);
    expect(queries).toContain('SELECT Id, CloseDate FROM Opportunity WHERE IsClosed = true AND IsWon = false AND CloseDate >= 2025-01-01 AND CloseDate < 2026-11-20 ORDER BY Id LIMIT 100');
  });

  it('applies the half-open window to the start (UTC) of each CloseDate', async () => {
    const before = sf.calls.length;
    const page = await list({ since: new Date('2025-03-01T06:00:00Z'), until: new Date('2026-11-20T09:00:00Z') });
    // 2025-03-01 starts before since; 2026-11-20 starts before until.
    expect(page.notifications.map((n) => n.id)).toEqual([`salesforce:${ORG}:import:${opp(1)}`, `salesforce:${ORG}:import:${opp(6)}`]);
    expect(page.notifications[1]?.occurredAt).toBe('2026-11-20T00:00:00.000Z');
    const queries = sf.calls.slice(before).map((c) => soql(c.path)).filter(Boolean);
    expect(queries).toContain('SELECT Id, CloseDate FROM Opportunity WHERE IsClosed = true AND IsWon = false AND CloseDate >= 2025-03-02 AND CloseDate < 2026-11-21 ORDER BY Id LIMIT 100');
  });

  it('builds the Outbound Message notification the live normaliser completes through the API', async () => {
    const { notifications } = await list({ since: SINCE, until: UNTIL });
    const result = await salesforceInbound(settings()).normalise(notifications[0] as (typeof notifications)[number], { mapping, now: UNTIL, logger: recordingLogger() });
    expect(result).toMatchObject({
      kind: 'events',
      events: [{ type: 'lead-closed-lost', id: `salesforce:${ORG}:import:${opp(1)}:${DANA}`, occurredAt: '2025-06-01T00:00:00.000Z', data: { reason: 'timing', dealId: opp(1) }, contact: { email: 'dana@example.com' } }],
    });
  });

  it('pages by Id with the last Id as the cursor, every loss once', async () => {
    const many: Record<string, Record<string, unknown>> = {};
    for (let i = 100; i < 550; i++) many[opp(i)] = { StageName: 'Closed Lost', IsClosed: true, IsWon: false, CloseDate: '2026-02-01' };
    sf.seed({ Opportunity: many });
    const { ids, pages } = await drainLister(list, { since: new Date('2026-01-01T00:00:00Z'), until: UNTIL });
    expect(pages).toBe(5);
    expect(new Set(ids).size).toBe(450);
  });

  it('refuses a cursor that is not a Salesforce id (it goes into the SOQL)', async () => {
    await expect(list({ since: SINCE, until: UNTIL, cursor: "x' OR Name != '" })).rejects.toBeInstanceOf(ImportCursorError);
  });

  it('names the missing API settings instead of listing', () => {
    expect(salesforceLostDeals(settingsOf({ CULTIVATE_SALESFORCE_ORG_IDS: ORG, CULTIVATE_SALESFORCE_TOKEN: TOKEN, CULTIVATE_SALESFORCE_API_URL: 'https://x.example' }))).toEqual({
      missing: ['CULTIVATE_SALESFORCE_CLIENT_ID', 'CULTIVATE_SALESFORCE_CLIENT_SECRET'],
    });
  });
});
