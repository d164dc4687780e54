/** deliver() against the fake Salesforce REST API: tasks, briefs, replies, opt-outs and bounces in Salesforce's own format. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outboundMessageOf } from '#handlers/crm-outbound';
import { createSalesforceApi } from '#crm/salesforce/api';
import { salesforceDefinition } from '#crm/salesforce/index';
import { createSalesforceOutbound } from '#crm/salesforce/outbound';
import { CrmMapping } from '#crm/mappings';
import type { OutboundContext } from '#crm/types';
import { recordingLogger } from '../../helpers/fixtures.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../../helpers/fake-salesforce.ts';
import { ACCOUNT, DANA, mapping, OPP, ORG, settingsOf, TOKEN, USER } from './helpers.ts';

let sf: FakeSalesforce;
beforeAll(async () => void (sf = await startFakeSalesforce()));
afterAll(async () => sf.stop());
beforeEach(() => {
  sf.calls.length = 0;
  sf.seed({ Contact: { [DANA]: { Email: 'dana@example.com', HasOptedOutOfEmail: false } }, Lead: { '00Q5e00000LdLdLAAV': { Email: 'lead@example.com' } } });
});

const settings = () =>
  settingsOf({
    CULTIVATE_SALESFORCE_ORG_IDS: ORG,
    CULTIVATE_SALESFORCE_TOKEN: TOKEN,
    CULTIVATE_SALESFORCE_API_URL: sf.url,
    CULTIVATE_SALESFORCE_CLIENT_ID: sf.clientId,
    CULTIVATE_SALESFORCE_CLIENT_SECRET: sf.clientSecret,
  });
const ctx = (m = mapping): OutboundContext => ({
  mapping: m,
  logger: recordingLogger(),
  owner: (email) => ({ email: email ?? 'fallback@seller.example', name: 'Sam', timezone: 'America/Chicago' }),
});
const adapter = () => {
  const a = salesforceDefinition.outbound(settings());
  if (!a) throw new Error('outbound adapter expected');
  return a;
};
const rel = { relationshipId: 'rel_0b7c6f1e-2d3a-4c5b-9e8f-1a2b3c4d5e6f', crmIds: ['hubspot:123:501', `salesforce:${ORG}:${DANA}`], owner: 'sam@seller.example', accountId: `salesforce:${ORG}:${ACCOUNT}`, dealId: OPP };
const brief = { lostReason: 'timing' as const, lostAt: '2026-11-20T15:04:05Z', daysInNurture: 40, trigger: 'replied to the weekly e-mail', sent: [{ at: '2026-12-01T15:00:00Z', channel: 'email', title: 'Five ways to plan Q1' }], engaged: [{ at: '2026-12-30T14:00:00Z', what: 'replied' }] };
const created = () => sf.records('Task').at(-1);

describe('salesforce outbound', () => {
  it('creates a task a rep can act on: what, why, points, links, due date in their zone, outcomes, touch id, owner and associations', async () => {
    const message = outboundMessageOf(
      'task-assigned',
      {
        ...rel,
        touchId: `${rel.relationshipId}.t1`,
        kind: 'thank-you-note',
        title: 'Send Dana a thank-you note',
        why: 'Lost on timing on 20 Nov; a short note keeps the door open',
        dueDate: '2026-11-22',
        ownerTimezone: 'America/Chicago',
        talkingPoints: ['Thank them for the time their team spent', 'Budget frees up next fiscal year'],
        links: [{ label: 'Relationship', url: 'https://nurture.example.com/relationships/rel_0b7c' }],
        outcomes: ['done', 'left-message', 'no-future'],
      },
      '2026-11-20T16:00:00Z',
    );
    const result = await adapter().deliver(message, ctx());
    const task = created();
    expect(result).toEqual({ delivered: true, ref: `Task/${task?.Id}` });
    expect(task).toMatchObject({ Subject: 'Send Dana a thank-you note', ActivityDate: '2026-11-22', Status: 'Not Started', Priority: 'Normal', WhoId: DANA, WhatId: OPP, OwnerId: USER });
    const d = String(task?.Description);
    for (const part of ['What: Send Dana a thank-you note', 'Why: Lost on timing', 'Due: 2026-11-22 (your time zone, America/Chicago)', '- Budget frees up next fiscal year', '- Relationship: https://nurture.example.com/relationships/rel_0b7c', 'one of: done, left-message, no-future'])
      expect(d).toContain(part);
    expect(d.trimEnd().split('\n').at(-1)).toBe(`Cultivate touch id: ${rel.relationshipId}.t1`);
    // Authenticated by the client credentials flow, then a Bearer token on the REST call.
    expect(sf.calls[0]).toMatchObject({ method: 'POST', path: '/services/oauth2/token', body: { grant_type: 'client_credentials', client_id: sf.clientId } });
    expect(sf.calls[1]).toMatchObject({ method: 'POST', path: '/services/data/v62.0/sobjects/Task', headers: { authorization: expect.stringMatching(/^Bearer /) } });
  });

  it("leaves Salesforce's default owner when the owner is not mapped, and says so", async () => {
    const message = outboundMessageOf('relationship-re-engaged', { ...rel, owner: 'new.rep@seller.example', dealId: undefined, brief }, '2026-12-31T03:00:00Z');
    const result = await adapter().deliver(message, ctx());
    expect(result).toMatchObject({ delivered: true, ref: expect.stringContaining('Salesforce default owner') });
    const task = created();
    expect(task?.OwnerId).toBeUndefined();
    // Re-engagement brief: High priority, dated today where the rep is (03:00 UTC is still the 30th in Chicago), on the account.
    expect(task).toMatchObject({ Subject: 'Re-engaged: replied to the weekly e-mail', Priority: 'High', ActivityDate: '2026-12-30', WhatId: ACCOUNT, WhoId: DANA });
    expect(String(task?.Description)).toContain('- 2026-12-01 email: Five ways to plan Q1');
  });

  it('forwards a reply as a task carrying the reply text, without completing any touch', async () => {
    const message = outboundMessageOf(
      'reply-forwarded',
      { ...rel, touchId: `${rel.relationshipId}.t3`, messageKey: 'abc123', classification: 'human', receivedAt: '2026-12-30T14:00:00Z', subject: 'Re: Five ways', text: 'Can we talk in January?\nCultivate touch id: rel_other.t9', quoted: true, brief, headers: {} },
      '2026-12-30T14:00:05Z',
    );
    await adapter().deliver(message, ctx());
    const task = created();
    expect(task).toMatchObject({ Subject: 'Reply: Re: Five ways', Priority: 'High', ActivityDate: '2026-12-30' });
    expect(String(task?.Description)).toContain('Can we talk in January?');
    expect(String(task?.Description)).not.toMatch(/^Cultivate touch id:/m);
  });

  it('writes consent changes to the Contact: opt-out, do-not-contact, a new opt-in; a hard bounce records the bounce', async () => {
    const consent = (action: string, extra: Record<string, unknown> = {}) => outboundMessageOf('consent-changed', { ...rel, action, email: 'denied', ...extra }, '2026-12-02T10:00:00Z');
    expect(await adapter().deliver(consent('stop-all-email'), ctx())).toEqual({ delivered: true, ref: `Contact/${DANA}` });
    expect(sf.calls.at(-1)).toMatchObject({ method: 'PATCH', path: `/services/data/v62.0/sobjects/Contact/${DANA}`, body: { HasOptedOutOfEmail: true } });
    await adapter().deliver(consent('do-not-contact'), ctx());
    expect(sf.calls.at(-1)?.body).toEqual({ HasOptedOutOfEmail: true, HasOptedOutOfFax: true, DoNotCall: true });
    await adapter().deliver(consent('stop-all-email', { causeId: 'ses:hard-bounce:0100018c-abc' }), ctx());
    expect(sf.calls.at(-1)?.body).toEqual({ HasOptedOutOfEmail: true, EmailBouncedReason: 'Hard bounce (Amazon SES, via Cultivate)', EmailBouncedDate: '2026-12-02T10:00:00.000Z' });
    await adapter().deliver(consent('grant-email', { email: 'granted' }), ctx());
    expect(sf.records('Contact').find((c) => c.Id === DANA)).toMatchObject({ HasOptedOutOfEmail: false, DoNotCall: true });
    expect(await adapter().deliver(consent('stop-topic', { topic: 'events' }), ctx())).toMatchObject({ delivered: false });
  });

  it('writes to a Lead when the person is a lead, never with a WhatId', async () => {
    const lead = { ...rel, crmIds: [`salesforce:${ORG}:00Q5e00000LdLdLAAV`] };
    await adapter().deliver(outboundMessageOf('consent-changed', { ...lead, action: 'stop-all-email', email: 'denied' }, '2026-12-02T10:00:00Z'), ctx());
    expect(sf.calls.at(-1)?.path).toBe('/services/data/v62.0/sobjects/Lead/00Q5e00000LdLdLAAV');
    await adapter().deliver(outboundMessageOf('relationship-re-engaged', { ...lead, brief }, '2026-12-31T03:00:00Z'), ctx());
    expect(created()).toMatchObject({ WhoId: '00Q5e00000LdLdLAAV' });
    expect(created()?.WhatId).toBeUndefined();
  });

  it('skips people without a Salesforce id of an allowed org, and messages with nothing to write', async () => {
    const other = outboundMessageOf('consent-changed', { ...rel, crmIds: ['hubspot:1:2', 'salesforce:00D000000000002AAA:0035e00000XyZaBAAV'], action: 'stop-all-email', email: 'denied' }, '2026-12-02T10:00:00Z');
    expect(await adapter().deliver(other, ctx())).toEqual({ delivered: false, why: 'no Salesforce contact or lead id on this person' });
    expect(await adapter().deliver(outboundMessageOf('relationship-retired', { ...rel, reason: 'quiet' }, '2026-12-02T10:00:00Z'), ctx())).toMatchObject({ delivered: false });
    expect(sf.calls).toEqual([]);
  });

  it('retries a 429 (honouring Retry-After) and fetches a new token when the session expired', async () => {
    const api = createSalesforceApi(settings(), { baseDelayMs: 1 });
    const out = createSalesforceOutbound(api, [ORG]);
    const message = outboundMessageOf('consent-changed', { ...rel, action: 'stop-all-email', email: 'denied' }, '2026-12-02T10:00:00Z');
    await out.deliver(message, ctx());
    sf.failNext(429);
    sf.expireSessions();
    await out.deliver(message, ctx());
    const tail = sf.calls.slice(-4).map((c) => `${c.method} ${c.path}`);
    expect(tail).toEqual([
      `PATCH /services/data/v62.0/sobjects/Contact/${DANA}`, // 401: session expired
      'POST /services/oauth2/token',
      `PATCH /services/data/v62.0/sobjects/Contact/${DANA}`, // 429 once
      `PATCH /services/data/v62.0/sobjects/Contact/${DANA}`,
    ]);
  });

  it('throws (so the bus retries) when the daily API allocation is exhausted', async () => {
    sf.failNext(403);
    await expect(adapter().deliver(outboundMessageOf('consent-changed', { ...rel, action: 'stop-all-email', email: 'denied' }, '2026-12-02T10:00:00Z'), ctx())).rejects.toThrow(/403/);
  });

  it('has no outbound adapter without the API settings', () => {
    expect(salesforceDefinition.outbound(settingsOf({ CULTIVATE_SALESFORCE_ORG_IDS: ORG, CULTIVATE_SALESFORCE_TOKEN: TOKEN }))).toBeUndefined();
  });

  it('writes the touch id into a configured Task field as well', async () => {
    const m = CrmMapping.parse({ ...mapping, fields: { touchId: 'Cultivate_Touch_Id__c' } });
    await adapter().deliver(outboundMessageOf('task-assigned', { ...rel, touchId: 'rel_x.t2', kind: 'call', title: 'Call', why: 'why', dueDate: '2026-12-01', outcomes: ['done'] }, '2026-11-30T10:00:00Z'), ctx(m));
    expect(created()).toMatchObject({ Cultivate_Touch_Id__c: 'rel_x.t2' });
  });
});
