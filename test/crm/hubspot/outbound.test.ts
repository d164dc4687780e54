/**
 * Outbound to HubSpot against the local fake: tasks and notes in the CRM objects v3 format
 * (developers.hubspot.com/docs/api/crm/tasks, .../notes; association type ids from
 * .../associations/v4), unsubscribes through communication preferences v4.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outboundMessageOf } from '#handlers/crm-outbound';
import { hubspotDefinition } from '#crm/hubspot/index';
import { taskTypeOf } from '#crm/hubspot/shape';
import type { CrmOutboundAdapter, OutboundContext } from '#crm/types';
import { startFakeHubSpot, type FakeHubSpot } from '../../helpers/fake-hubspot.ts';
import { recordingLogger } from '../../helpers/fixtures.ts';
import { baseSettings, mapping, settingsOf } from './helpers.ts';

let hs: FakeHubSpot;
let outbound: CrmOutboundAdapter;
const REL = 'rel_0f8e2b1c-1111-4222-8333-944455556666';
const AT = '2026-11-22T08:00:00.000Z';

const profiles: Record<string, { email: string; name: string; timezone: string }> = {
  'sam@seller.example': { email: 'sam@seller.example', name: 'Sam Seller', timezone: 'Europe/Berlin' },
  'new@seller.example': { email: 'new@seller.example', name: 'New Rep', timezone: 'America/New_York' },
};
const ctx = (): OutboundContext & { logger: ReturnType<typeof recordingLogger> } => ({
  mapping,
  logger: recordingLogger(),
  owner: (email) => profiles[email ?? ''] ?? { email: 'fallback@seller.example', name: 'Fallback', timezone: 'UTC' },
});

const relRef = { relationshipId: REL, crmIds: ['hubspot:33:501'], owner: 'sam@seller.example', accountId: 'hubspot:33:301', dealId: '9001' };
const brief = {
  lostReason: 'timing',
  lostAt: '2026-06-01T10:00:00.000Z',
  daysInNurture: 174,
  trigger: 'replied to "Three ways to cut onboarding time"',
  sent: [{ at: '2026-11-10T08:30:00.000Z', channel: 'email', title: 'Three ways to cut onboarding time' }],
  engaged: [{ at: AT, what: 'replied <with thanks>' }],
};

beforeAll(async () => {
  hs = await startFakeHubSpot();
  outbound = hubspotDefinition.outbound(baseSettings({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: hs.token, CULTIVATE_HUBSPOT_RATE_PER_10S: '190' })) as CrmOutboundAdapter;
  hs.seed({ objects: { contacts: { '501': { email: 'dana.reyes.fixture@example.com' }, '502': {} } } });
});
afterAll(() => hs.stop());
beforeEach(() => void hs.calls.splice(0));

const task = (over: Record<string, unknown> = {}) =>
  outboundMessageOf(
    'task-assigned',
    {
      ...relRef,
      touchId: `${REL}.t3`,
      kind: 'thank-you-note',
      title: 'Write Dana a thank-you note',
      why: 'Lost on timing two days ago; a note keeps the door open.',
      dueDate: '2026-12-03',
      ownerTimezone: 'Europe/Berlin',
      talkingPoints: ['Budget frees up next fiscal year', 'Ask about <the> pilot'],
      links: [{ label: 'Relationship in Cultivate', url: 'https://nurture.example.com/relationships/x' }],
      outcomes: ['done', 'left-message', 'no-future'],
      ...over,
    },
    AT,
  );

describe('outbound to HubSpot', () => {
  it('creates a task a rep can act on: what, why, points, links, due in their zone, outcomes, touch id, owner, associations', async () => {
    const r = await outbound.deliver(task(), ctx());
    expect(r).toMatchObject({ delivered: true, ref: expect.stringMatching(/^task \d+$/) });
    const call = hs.calls.find((c) => c.method === 'POST' && c.path === '/crm/v3/objects/tasks');
    expect(call?.headers.authorization).toBe(`Bearer ${hs.token}`);
    const body = call?.body as { properties: Record<string, string>; associations: unknown[] };
    expect(body.properties).toMatchObject({
      hs_task_subject: 'Write Dana a thank-you note',
      // 09:00 in Berlin on 3 December is 08:00 UTC.
      hs_timestamp: '2026-12-03T08:00:00.000Z',
      hs_task_status: 'NOT_STARTED',
      hs_task_priority: 'MEDIUM',
      hs_task_type: 'TODO',
      hubspot_owner_id: '77',
    });
    const html = body.properties.hs_task_body ?? '';
    for (const part of ['Write Dana a thank-you note', 'Lost on timing two days ago', 'Budget frees up next fiscal year', 'Ask about &#60;the&#62; pilot', 'href="https://nurture.example.com/relationships/x"', '2026-12-03 (Europe/Berlin)', 'done, left-message, no-future', `cultivate-touch:${REL}.t3`, 'cultivate_outcome'])
      expect(html).toContain(part);
    expect(body.associations).toEqual([
      { to: { id: '501' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 204 }] },
      { to: { id: '301' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 192 }] },
      { to: { id: '9001' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 216 }] },
    ]);
  });

  it('leaves the HubSpot default owner when the owner has no HubSpot user, and says so', async () => {
    const c = ctx();
    const r = await outbound.deliver(task({ owner: 'new@seller.example', ownerTimezone: undefined }), c);
    expect(r).toMatchObject({ delivered: true, ref: expect.stringContaining('owner unmapped') });
    const props = (hs.created('tasks').at(-1)?.properties ?? {}) as Record<string, string>;
    expect(props.hubspot_owner_id).toBeUndefined();
    // No ownerTimezone on the message: the owner's profile zone (New York) decides; 09:00 EST = 14:00 UTC.
    expect(props.hs_timestamp).toBe('2026-12-03T14:00:00.000Z');
    expect(c.logger.lines.some((l) => l.level === 'warn' && l.message.includes('default owner'))).toBe(true);
  });

  it("does not associate a deal whose account is not HubSpot's, and skips people without a HubSpot id", async () => {
    await outbound.deliver(task({ accountId: 'salesforce:00D1:001A', dealId: '42' }), ctx());
    const body = hs.calls.find((c) => c.path === '/crm/v3/objects/tasks')?.body as { associations: { to: { id: string } }[] };
    expect(body.associations.map((a) => a.to.id)).toEqual(['501']);
    expect(await outbound.deliver(task({ crmIds: ['pipedrive:9:77'] }), ctx())).toEqual({ delivered: false, why: 'no HubSpot contact id on this person' });
  });

  it('re-engagement: a note with the brief on contact, company and deal, and a high-priority task for the owner', async () => {
    const r = await outbound.deliver(outboundMessageOf('relationship-re-engaged', { ...relRef, causeId: 'ev-1', brief }, AT), ctx());
    expect(r).toMatchObject({ delivered: true });
    const note = hs.created('notes').at(-1);
    expect(note?.properties.hs_note_body).toContain('Three ways to cut onboarding time');
    expect(note?.properties.hs_note_body).toContain('replied &#60;with thanks&#62;');
    expect(note?.properties.hs_timestamp).toBe(AT);
    expect(note?.associations.map((a) => (a as { types: { associationTypeId: number }[] }).types[0]?.associationTypeId)).toEqual([202, 190, 214]);
    const t = hs.created('tasks').at(-1);
    expect(t?.properties).toMatchObject({ hs_task_priority: 'HIGH', hubspot_owner_id: '77', hs_timestamp: AT });
  });

  it('consent change: reads the address from HubSpot and unsubscribes it from all e-mail (hard bounces arrive the same way)', async () => {
    const r = await outbound.deliver(outboundMessageOf('consent-changed', { ...relRef, causeId: 'bounce-1', action: 'stop-all-email', email: 'denied' }, AT), ctx());
    expect(r).toEqual({ delivered: true, ref: 'unsubscribed from all e-mail' });
    expect(hs.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'GET /crm/v3/objects/contacts/501?properties=email',
      'POST /communication-preferences/v4/statuses/dana.reyes.fixture%40example.com/unsubscribe-all?channel=EMAIL',
    ]);
    expect(hs.unsubscribed).toContain('dana.reyes.fixture@example.com');
  });

  it('do-not-contact also gives the owner a task; an opt-in and a contact without address are not sent', async () => {
    const dnc = await outbound.deliver(outboundMessageOf('consent-changed', { ...relRef, causeId: 'c-2', action: 'do-not-contact', email: 'denied' }, AT), ctx());
    expect(dnc).toMatchObject({ delivered: true, ref: expect.stringContaining('task') });
    expect(hs.created('tasks').at(-1)?.properties.hs_task_subject).toBe('Do not contact this person');
    const optIn = await outbound.deliver(outboundMessageOf('consent-changed', { ...relRef, causeId: 'c-3', action: 'grant-email', email: 'granted' }, AT), ctx());
    expect(optIn).toMatchObject({ delivered: false });
    const noAddress = await outbound.deliver(outboundMessageOf('consent-changed', { ...relRef, crmIds: ['hubspot:33:502'], causeId: 'c-4', action: 'stop-all-email', email: 'denied' }, AT), ctx());
    expect(noAddress).toEqual({ delivered: false, why: 'the HubSpot contact has no e-mail address' });
  });

  it('a forwarded reply becomes a note with the text and the brief', async () => {
    const message = outboundMessageOf(
      'reply-forwarded',
      { ...relRef, messageKey: 'mk-1', classification: 'missed-me', receivedAt: AT, subject: 'Where is my weekly tip?', text: 'Hi,\nno tip this week?', quoted: true, brief, headers: { 'X-Cultivate-Forward': '1' } },
      AT,
    );
    expect(await outbound.deliver(message, ctx())).toMatchObject({ delivered: true });
    const body = hs.created('notes').at(-1)?.properties.hs_note_body ?? '';
    expect(body).toContain('Where is my weekly tip?');
    expect(body).toContain('Hi,<br>no tip this week?');
  });

  it('retries a 429 and throws (so the consumer retries) when HubSpot keeps failing', async () => {
    hs.rateLimitOnce();
    expect(await outbound.deliver(task(), ctx())).toMatchObject({ delivered: true });
    const wrongToken = hubspotDefinition.outbound(settingsOf({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: 'wrong' })) as CrmOutboundAdapter;
    await expect(wrongToken.deliver(task(), ctx())).rejects.toThrow(/401/);
  });

  it("picks HubSpot's task type from the kind of touch: calls, e-mails the rep sends, and to-dos", () => {
    expect(['courtesy-call', 'requalification'].map(taskTypeOf)).toEqual(['CALL', 'CALL']);
    expect(['thinking-of-you'].map(taskTypeOf)).toEqual(['EMAIL']);
    expect(['thank-you-note', 'permission-ask', 'ask-why', 'handwritten-note', 'item-of-value', 'referral-exchange', 'introduction', 'research', 'personal-message', 'lunch'].map(taskTypeOf)).toEqual(Array(10).fill('TODO'));
  });

  it('is absent without a token', () => {
    expect(hubspotDefinition.outbound(settingsOf({ CULTIVATE_HUBSPOT_CLIENT_SECRET: 'x' }))).toBeUndefined();
  });
});
