/** normalise against the fake Salesforce API: lost deals, won, created, reopened, opt-outs, completed tasks, relay events. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InboundEvent } from '#catalog/events';
import { CrmMapping } from '#crm/mappings';
import { parseRelayEvent, salesforceInbound } from '#crm/salesforce/index';
import type { CrmNotification, NormaliseContext } from '#crm/types';
import { recordingLogger } from '../../helpers/fixtures.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../../helpers/fake-salesforce.ts';
import { ACCOUNT, DANA, fixture, LEE, mapping, OPP, ORG, RECEIVED, settingsOf, TOKEN, USER } from './helpers.ts';

let sf: FakeSalesforce;
beforeAll(async () => void (sf = await startFakeSalesforce()));
afterAll(async () => sf.stop());

const settings = (api = true) =>
  settingsOf({
    CULTIVATE_SALESFORCE_ORG_IDS: ORG,
    CULTIVATE_SALESFORCE_TOKEN: TOKEN,
    ...(api && { CULTIVATE_SALESFORCE_API_URL: sf.url, CULTIVATE_SALESFORCE_CLIENT_ID: sf.clientId, CULTIVATE_SALESFORCE_CLIENT_SECRET: sf.clientSecret }),
  });
const ctx = (m = mapping): NormaliseContext & { logger: ReturnType<typeof recordingLogger> } => ({ mapping: m, now: RECEIVED, logger: recordingLogger() });

/** The SOQL of a recorded query call. */
const soql = (path: string) => new URL(path, 'http://x').searchParams.get('q') ?? '';

function notifications(body: unknown): CrmNotification[] {
  const r = salesforceInbound(settings()).parse(body, { portal: ORG }, RECEIVED);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.notifications;
}

beforeEach(() => {
  sf.calls.length = 0;
  sf.seed({
    Account: { [ACCOUNT]: { Name: 'Acme Corporation' } },
    Contact: {
      [DANA]: { Email: 'dana@example.com', FirstName: 'Dana', LastName: 'Reyes', Title: 'VP Operations', MailingCountry: 'United States', HasOptedOutOfEmail: false, OwnerId: USER, AccountId: ACCOUNT },
      [LEE]: { Email: 'lee@example.com', FirstName: 'Lee', LastName: 'Park', MailingCountry: 'Germany', HasOptedOutOfEmail: true, OwnerId: USER, AccountId: ACCOUNT },
    },
    OpportunityContactRole: {
      '00K5e00000Aa001AAA': { OpportunityId: OPP, ContactId: DANA, Role: 'Decision Maker', IsPrimary: true },
      '00K5e00000Aa002AAA': { OpportunityId: OPP, ContactId: LEE, Role: 'Evaluator', IsPrimary: false },
    },
    Opportunity: { [OPP]: { AccountId: ACCOUNT, OwnerId: USER, StageName: 'Closed Lost', IsClosed: true, IsWon: false, Amount: 24000, Loss_Reason__c: 'Timing' } },
  });
});

describe('salesforce normalise: lost deals', () => {
  it('makes one lead-closed-lost per contact role, with role, owner, account and the mapped reason', async () => {
    const [lost] = notifications(fixture('outbound-message-opportunities.xml'));
    const adapter = salesforceInbound(settings());
    const result = await adapter.normalise(lost as CrmNotification, ctx());
    expect(result.kind).toBe('events');
    if (result.kind !== 'events') return;
    expect(result.events).toHaveLength(2);
    for (const e of result.events) expect(InboundEvent.parse(e)).toEqual(e);
    expect(result.events[0]).toEqual({
      id: `salesforce:${ORG}:04l5e00000Gx7QzAAJ:${DANA}`,
      type: 'lead-closed-lost',
      occurredAt: '2026-11-20T15:04:05.000Z',
      contact: {
        externalId: DANA,
        email: 'dana@example.com',
        name: 'Dana Reyes',
        title: 'VP Operations',
        accountId: `salesforce:${ORG}:${ACCOUNT}`,
        company: 'Acme Corporation',
        country: 'US',
        role: 'champion',
        owner: 'sam@seller.example',
      },
      data: { reason: 'timing', dealId: OPP, amount: 24000 },
    });
    expect(result.events[1]?.contact).toMatchObject({ externalId: LEE, role: 'evaluator', country: 'DE', accountId: `salesforce:${ORG}:${ACCOUNT}`, consent: { email: 'denied' } });
    // The opportunity itself carried IsClosed, IsWon and the reason: only the contact roles were fetched.
    expect(sf.calls.filter((c) => c.path.includes('/query')).map((c) => soql(c.path))).toEqual([expect.stringContaining('FROM OpportunityContactRole WHERE OpportunityId')]);
  });

  it('gives a retried delivery the same event ids', async () => {
    const adapter = salesforceInbound(settings());
    const once = await adapter.normalise(notifications(fixture('outbound-message-opportunities.xml'))[0] as CrmNotification, ctx());
    const again = await adapter.normalise(notifications(fixture('outbound-message-opportunities.xml'))[0] as CrmNotification, ctx());
    expect(again).toEqual(once);
  });

  it('quarantines an unmapped lost reason, naming the field (not the value)', async () => {
    const xml = fixture('outbound-message-opportunities.xml').replace('<sf:Loss_Reason__c>Timing', '<sf:Loss_Reason__c>Acquired by a rival');
    const result = await salesforceInbound(settings()).normalise(notifications(xml)[0] as CrmNotification, ctx());
    expect(result).toEqual({ kind: 'unmapped', reason: expect.stringContaining('lost reason not mapped'), paths: ['Opportunity.Loss_Reason__c'] });
    const withDefault = CrmMapping.parse({ ...mapping, defaultLostReason: 'other' });
    expect(await salesforceInbound(settings()).normalise(notifications(xml)[0] as CrmNotification, ctx(withDefault))).toMatchObject({ kind: 'events', events: [{ data: { reason: 'other' } }, {}] });
  });

  it('reads the lost reason from the field the mapping names, fetching it when the message lacks it', async () => {
    sf.seed({ Opportunity: { [OPP]: { Why_Lost__c: 'Went with competitor' } } });
    const custom = CrmMapping.parse({ ...mapping, fields: { lostReason: 'Why_Lost__c' } });
    const result = await salesforceInbound(settings()).normalise(notifications(fixture('outbound-message-opportunities.xml'))[0] as CrmNotification, ctx(custom));
    expect(result).toMatchObject({ kind: 'events', events: [{ data: { reason: 'competitor' } }, { data: { reason: 'competitor' } }] });
    expect(sf.calls.map((c) => soql(c.path)).find((q) => q.includes('FROM Opportunity '))).toContain('Why_Lost__c');
  });

  it('uses the contact roles a flow carries without calling the API', async () => {
    const adapter = salesforceInbound(settings(false));
    const result = await adapter.normalise(notifications(JSON.parse(fixture('flow-opportunity-lost.json')))[0] as CrmNotification, ctx());
    expect(result).toMatchObject({
      kind: 'events',
      events: [
        { type: 'lead-closed-lost', contact: { externalId: DANA, role: 'champion', company: 'Acme Corporation', owner: 'sam@seller.example', country: 'US' }, data: { reason: 'budget', dealId: OPP, amount: 24000 } },
        { contact: { externalId: LEE, role: 'evaluator', consent: { email: 'denied', source: 'salesforce:HasOptedOutOfEmail' } } },
      ],
    });
    expect(sf.calls).toEqual([]);
  });

  it('keeps a lost deal whose contact roles need the API as unmapped when the API settings are absent', async () => {
    const result = await salesforceInbound(settings(false)).normalise(notifications(fixture('outbound-message-opportunities.xml'))[0] as CrmNotification, ctx());
    expect(result).toEqual({ kind: 'unmapped', reason: expect.stringContaining('CULTIVATE_SALESFORCE_API_URL'), paths: ['OpportunityContactRole'] });
  });
});

describe('salesforce normalise: won, created, reopened', () => {
  it('makes deal-won for a won opportunity (IsWon, not the stage name)', async () => {
    sf.seed({ OpportunityContactRole: { '00K5e00000Aa003AAA': { OpportunityId: '0065e00000WoNdEAAV', ContactId: DANA, Role: 'Decision Maker' } } });
    const won = notifications(fixture('outbound-message-opportunities.xml'))[1] as CrmNotification;
    expect(await salesforceInbound(settings()).normalise(won, ctx())).toMatchObject({ kind: 'events', events: [{ type: 'deal-won', contact: { externalId: DANA }, data: { dealId: '0065e00000WoNdEAAV', amount: 9000 } }] });
  });

  it('treats a renamed closed-lost stage by IsClosed/IsWon, never by its name', async () => {
    const xml = fixture('outbound-message-opportunities.xml').replace('<sf:StageName>Closed Lost', '<sf:StageName>Dead - No Budget');
    expect(await salesforceInbound(settings()).normalise(notifications(xml)[0] as CrmNotification, ctx())).toMatchObject({ kind: 'events', events: [{ type: 'lead-closed-lost' }, {}] });
  });

  it('makes deal-created for a new opportunity and deal-reopened after a loss (flow prior values)', async () => {
    const body = JSON.parse(fixture('flow-opportunity-lost.json')) as Record<string, unknown>;
    const open = { ...(body.record as object), StageName: 'Prospecting', IsClosed: false, IsWon: false };
    const adapter = salesforceInbound(settings(false));
    const created = await adapter.normalise(notifications({ ...body, trigger: 'created', record: open, prior: undefined })[0] as CrmNotification, ctx());
    expect(created).toMatchObject({ kind: 'events', events: [{ type: 'deal-created', data: { dealId: OPP } }, { type: 'deal-created' }] });
    const reopened = await adapter.normalise(notifications({ ...body, record: open, prior: { IsClosed: true, IsWon: false, StageName: 'Closed Lost' } })[0] as CrmNotification, ctx());
    expect(reopened).toMatchObject({ kind: 'events', events: [{ type: 'deal-reopened' }, { type: 'deal-reopened' }] });
    const ordinary = await adapter.normalise(notifications({ ...body, record: open, prior: { IsClosed: false, IsWon: false } })[0] as CrmNotification, ctx());
    expect(ordinary).toEqual({ kind: 'events', events: [] });
  });

  it('tells a reopened deal from an ordinary update through OpportunityHistory (Outbound Messages carry no prior values)', async () => {
    sf.seed({
      Opportunity: { [OPP]: { StageName: 'Negotiation/Review', IsClosed: false } },
      OpportunityHistory: {
        '0085e00000Hh001AAA': { OpportunityId: OPP, StageName: 'Negotiation/Review', CreatedDate: '2026-11-25T10:00:00.000Z' },
        '0085e00000Hh002AAA': { OpportunityId: OPP, StageName: 'Closed Lost', CreatedDate: '2026-11-20T15:04:05.000Z' },
        '0085e00000Hh003AAA': { OpportunityId: OPP, StageName: 'Prospecting', CreatedDate: '2026-09-01T09:00:00.000Z' },
      },
    });
    const xml = fixture('outbound-message-opportunities.xml')
      .replace('<sf:IsClosed>true</sf:IsClosed>', '<sf:IsClosed>false</sf:IsClosed>')
      .replace('<sf:StageName>Closed Lost', '<sf:StageName>Negotiation/Review');
    expect(await salesforceInbound(settings()).normalise(notifications(xml)[0] as CrmNotification, ctx())).toMatchObject({ kind: 'events', events: [{ type: 'deal-reopened' }, { type: 'deal-reopened' }] });
  });
});

describe('salesforce normalise: contacts and tasks', () => {
  it('turns HasOptedOutOfEmail into consent-changed stop-all-email', async () => {
    const [n] = notifications(fixture('outbound-message-contact-opt-out.xml'));
    expect(await salesforceInbound(settings(false)).normalise(n as CrmNotification, ctx())).toEqual({
      kind: 'events',
      events: [
        {
          id: `salesforce:${ORG}:04l5e00000Gx7R0AAJ:${DANA}`,
          type: 'consent-changed',
          occurredAt: '2026-11-21T10:00:00.000Z',
          contact: { externalId: DANA, email: 'dana@example.com', name: 'Dana Reyes', accountId: `salesforce:${ORG}:${ACCOUNT}`, owner: 'sam@seller.example' },
          data: { action: 'stop-all-email', source: 'salesforce:HasOptedOutOfEmail' },
        },
      ],
    });
    const optedIn = fixture('outbound-message-contact-opt-out.xml').replace('<sf:HasOptedOutOfEmail>true', '<sf:HasOptedOutOfEmail>false');
    expect(await salesforceInbound(settings(false)).normalise(notifications(optedIn)[0] as CrmNotification, ctx())).toEqual({ kind: 'events', events: [] });
  });

  it('brings a completed Cultivate task back as touch-completed with its touch id and mapped outcome', async () => {
    const [n] = notifications(fixture('outbound-message-task-completed.xml'));
    expect(await salesforceInbound(settings(false)).normalise(n as CrmNotification, ctx())).toEqual({
      kind: 'events',
      events: [
        {
          id: `salesforce:${ORG}:04l5e00000Gx7R1AAJ:00T5e00000MnOpQEAV`,
          type: 'touch-completed',
          occurredAt: '2026-11-23T16:30:00.000Z',
          contact: { externalId: DANA },
          data: { touchId: 'rel_0b7c6f1e-2d3a-4c5b-9e8f-1a2b3c4d5e6f.t1', outcome: 'left-message' },
        },
      ],
    });
  });

  it('ignores open tasks and tasks Cultivate did not create, and objects it does not act on', async () => {
    const open = fixture('outbound-message-task-completed.xml').replace('<sf:IsClosed>true', '<sf:IsClosed>false');
    const foreign = fixture('outbound-message-task-completed.xml').replace('Cultivate touch id: rel_', 'Ticket: rel_');
    for (const body of [open, foreign, fixture('outbound-message-account.xml')])
      expect(await salesforceInbound(settings(false)).normalise(notifications(body)[0] as CrmNotification, ctx())).toEqual({ kind: 'events', events: [] });
  });
});

describe('salesforce normalise: Event Relay', () => {
  it('runs the same normalisation on a relayed change event, reading the record through the API', async () => {
    const [n] = parseRelayEvent(JSON.parse(fixture('relay-opportunity-change-event.json')));
    const result = await salesforceInbound(settings()).normalise(n as CrmNotification, ctx());
    expect(result).toMatchObject({ kind: 'events', events: [{ type: 'lead-closed-lost', contact: { externalId: DANA, role: 'champion' }, data: { reason: 'timing', dealId: OPP } }, { contact: { externalId: LEE } }] });
    expect(sf.calls.some((c) => soql(c.path).includes('FROM Opportunity WHERE Id'))).toBe(true);
  });

  it('ignores relayed updates that touch neither stage nor status', async () => {
    const e = JSON.parse(fixture('relay-opportunity-change-event.json')) as { detail: { payload: { ChangeEventHeader: { changedFields: string[] } } } };
    e.detail.payload.ChangeEventHeader.changedFields = ['Description', 'LastModifiedDate'];
    expect(await salesforceInbound(settings()).normalise(parseRelayEvent(e)[0] as CrmNotification, ctx())).toEqual({ kind: 'events', events: [] });
    expect(sf.calls).toEqual([]);
  });
});
