/**
 * Cultivate's messages reaching Pipedrive, against the local fake. Request bodies follow
 * Pipedrive's API reference: POST /api/v2/activities (due_date / due_time in UTC), PATCH
 * /api/v2/persons/{id} (`marketing_status`, Campaigns), POST /api/v1/notes (HTML content).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outboundMessageOf, type OutboundMessage } from '#handlers/crm-outbound';
import { pipedriveDefinition, pipedriveInbound } from '#crm/pipedrive/index';
import type { CrmOutboundAdapter } from '#crm/types';
import { startFakePipedrive, type FakePipedrive } from '../../helpers/fake-pipedrive.ts';
import { BASIC, normaliseContext, notificationOf, outboundContext, settingsOf, variant } from './helpers.ts';

let pd: FakePipedrive;
let adapter: CrmOutboundAdapter;
const REL = 'rel_0f3a9c2e-1111-4222-8333-444455556666';
const AT = '2026-12-01T12:00:00.000Z';

beforeAll(async () => {
  pd = await startFakePipedrive();
});
afterAll(async () => pd.stop());
beforeEach(() => {
  pd.reset();
  pd.seed({ persons: [{ id: 8, name: 'Dana Fixture-Reyes', marketing_status: 'subscribed' }] });
  const settings = settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC, CULTIVATE_PIPEDRIVE_API_TOKEN: pd.token, CULTIVATE_PIPEDRIVE_API_URL: pd.url });
  adapter = pipedriveDefinition.outbound(settings) as CrmOutboundAdapter;
});

const ids = { relationshipId: REL, crmIds: ['hubspot:99:501', 'pipedrive:8087566:8'], accountId: 'pipedrive:8087566:1', dealId: '8' };
const message = (type: string, detail: Record<string, unknown>): OutboundMessage => outboundMessageOf(type, { ...ids, ...detail }, AT);

const task = (owner = 'sam@seller.example', extra: Record<string, unknown> = {}) =>
  message('task-assigned', {
    owner,
    touchId: `${REL}.t3`,
    kind: 'thank-you',
    title: 'Send Dana a thank-you note',
    why: 'Lost on timing two days ago; a note keeps the door open',
    dueDate: '2026-12-03',
    ownerTimezone: 'America/Chicago',
    talkingPoints: ['Thank them for the time & the candour', 'Budget frees up next fiscal year'],
    links: [{ label: 'Relationship timeline', url: 'https://nurture.example.com/relationships/rel_0f3a?x=1&y=2' }],
    outcomes: ['done', 'no-answer', 'left-message'],
    ...extra,
  });

describe('pipedrive outbound: task-assigned', () => {
  it("creates a task activity for the rep, linked to person, organization and deal, due at 09:00 in the rep's zone", async () => {
    const r = await adapter.deliver(task(), outboundContext());
    expect(r).toEqual({ delivered: true, ref: 'activity:9000' });
    const call = pd.calls.find((c) => c.method === 'POST');
    expect(call?.path).toBe('/api/v2/activities');
    expect(call?.headers['x-api-token']).toBe(pd.token);
    const body = call?.body as Record<string, any>;
    expect(body).toMatchObject({
      subject: 'Send Dana a thank-you note',
      type: 'task',
      owner_id: 12415231,
      person_id: 8,
      org_id: 1,
      deal_id: 8,
      participants: [{ person_id: 8, primary: true }],
      // 09:00 in Chicago (CST, UTC-6) on the 3rd is 15:00 UTC on the 3rd.
      due_date: '2026-12-03',
      due_time: '15:00',
      done: false,
    });
    expect(body.note).toContain('<b>What:</b> Send Dana a thank-you note');
    expect(body.note).toContain('<b>Why:</b> Lost on timing two days ago');
    expect(body.note).toContain('<li>Thank them for the time &#38; the candour</li>');
    expect(body.note).toContain('<a href="https://nurture.example.com/relationships/rel_0f3a?x=1&#38;y=2">Relationship timeline</a>');
    expect(body.note).toContain('[ ] done<br>[ ] no-answer<br>[ ] left-message');
    expect(body.note).toContain(`Cultivate touch id: ${REL}.t3`);
  });

  it("keeps the rep's local date where UTC is a day behind (Auckland, UTC+13)", async () => {
    const ctx = outboundContext();
    const mapping = { ...ctx.mapping, users: { ...ctx.mapping.users, '12415299': 'kiri@seller.example' } };
    await adapter.deliver(task('kiri@seller.example', { ownerTimezone: undefined }), { ...ctx, mapping });
    expect(pd.created.activities[0]).toMatchObject({ owner_id: 12415299, due_date: '2026-12-02', due_time: '20:00' });
  });

  it('leaves Pipedrive’s default owner for an unmapped rep, and says so', async () => {
    const ctx = outboundContext();
    const r = await adapter.deliver(task('nobody@seller.example'), ctx);
    expect(r).toEqual({ delivered: true, ref: expect.stringContaining('Pipedrive default owner') });
    expect(pd.created.activities[0]).not.toHaveProperty('owner_id');
    expect(ctx.logger.lines.some((l) => l.level === 'warn' && JSON.stringify(l.extra).includes(REL) && !JSON.stringify(l.extra).includes('nobody'))).toBe(true);
  });

  it('comes back as touch-completed with its touch id when the rep ticks an outcome and marks it done', async () => {
    await adapter.deliver(task(), outboundContext());
    const created = pd.created.activities[0] as Record<string, any> & { id: number };
    // The rep ticks "left-message" in the note and marks the activity done.
    pd.seed({ activities: [{ ...created, done: true, note: String(created.note).replace('[ ] left-message', '[x] left-message') }] });
    const webhook = variant('doc-update-activity', 'c0ffee00-0000-4000-8000-0000000000d1', (b) => {
      Object.assign(b.data, { id: created.id, type: 'task', done: true, person_id: 8, org_id: 1, deal_id: 8, subject: created.subject });
      b.previous = { done: false };
    });
    const inbound = pipedriveInbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC, CULTIVATE_PIPEDRIVE_API_TOKEN: pd.token, CULTIVATE_PIPEDRIVE_API_URL: pd.url }));
    const r = await inbound.normalise(notificationOf(webhook), normaliseContext());
    expect(r.kind === 'events' && r.events[0]).toMatchObject({ type: 'touch-completed', contact: { externalId: '8', accountId: 'pipedrive:8087566:1' }, data: { touchId: `${REL}.t3`, outcome: 'left-message' } });
  });

  it('does not link a deal id when the account is another CRM’s (the raw id would be theirs)', async () => {
    await adapter.deliver(outboundMessageOf('task-assigned', { ...task().payload, accountId: 'hubspot:99:7001' }, AT), outboundContext());
    expect(pd.created.activities[0]).not.toHaveProperty('deal_id');
    expect(pd.created.activities[0]).not.toHaveProperty('org_id');
  });

  it('retries a 429 and creates the activity once', async () => {
    pd.rateLimitNext();
    expect((await adapter.deliver(task(), outboundContext())).delivered).toBe(true);
    expect(pd.calls.filter((c) => c.method === 'POST')).toHaveLength(2);
    expect(pd.created.activities).toHaveLength(1);
  });
});

describe('pipedrive outbound: briefs, consent, replies', () => {
  const brief = {
    lostReason: 'timing',
    lostAt: '2026-09-01T10:00:00.000Z',
    daysInNurture: 91,
    trigger: 'clicked <Pricing> in the November e-mail',
    sent: [{ at: '2026-11-20T15:00:00.000Z', channel: 'email', title: 'Budget planning guide' }],
    engaged: [{ at: '2026-11-30T09:00:00.000Z', what: 'clicked pricing' }],
  };

  it('relationship-re-engaged: the brief as a note on person, deal and organization, and a call-back for the owner today', async () => {
    const r = await adapter.deliver(message('relationship-re-engaged', { owner: 'sam@seller.example', causeId: 'evt-1', brief }), outboundContext());
    expect(r).toEqual({ delivered: true, ref: 'note:9000,activity:9001' });
    expect(pd.created.notes[0]).toMatchObject({ person_id: 8, org_id: 1, deal_id: 8 });
    expect(pd.created.notes[0]?.content).toContain('clicked &#60;Pricing&#62; in the November e-mail');
    expect(pd.created.notes[0]?.content).toContain('2026-11-20: Budget planning guide (email)');
    // 12:00 UTC is 06:00 in Chicago: the same date, as an all-day task.
    expect(pd.created.activities[0]).toMatchObject({ owner_id: 12415231, type: 'task', due_date: '2026-12-01', person_id: 8 });
    expect(pd.created.activities[0]).not.toHaveProperty('due_time');
  });

  it.each(['stop-all-email', 'do-not-contact', 'forget-me'])('consent-changed %s sets the marketing status to unsubscribed', async (action) => {
    const r = await adapter.deliver(message('consent-changed', { action, email: 'denied', causeId: `c-${action}` }), outboundContext());
    expect(r).toEqual({ delivered: true, ref: 'person:8:unsubscribed' });
    expect(pd.calls.filter((c) => c.method !== 'GET')).toEqual([expect.objectContaining({ method: 'PATCH', path: '/api/v2/persons/8', body: { marketing_status: 'unsubscribed' } })]);
  });

  it('a hard bounce (consent-changed stop-all-email from the bounce) unsubscribes the person too', async () => {
    const bounce = message('consent-changed', { action: 'stop-all-email', email: 'denied', causeId: 'ses:hard-bounce:0100018c-aaaa' });
    expect(await adapter.deliver(bounce, outboundContext())).toEqual({ delivered: true, ref: 'person:8:unsubscribed' });
  });

  it('without Campaigns (marketing status refused), leaves a note so the rep still knows', async () => {
    pd.refuseMarketingStatus();
    const r = await adapter.deliver(message('consent-changed', { action: 'do-not-contact', email: 'denied' }), outboundContext());
    expect(r).toEqual({ delivered: true, ref: 'note:9000 (marketing status refused)' });
    expect(pd.created.notes[0]?.content).toContain('asked not to be contacted at all');
  });

  it('an opt-in or a topic stop does not change Pipedrive’s one marketing status', async () => {
    for (const [action, topic] of [['grant-email', undefined], ['stop-topic', 'webinars']] as const) {
      const r = await adapter.deliver(message('consent-changed', { action, email: 'granted', ...(topic && { topic }) }), outboundContext());
      expect(r.delivered).toBe(false);
    }
    expect(pd.calls).toHaveLength(0);
  });

  it('reply-forwarded: the reply, escaped, with the brief, as a note', async () => {
    const reply = message('reply-forwarded', {
      messageKey: 'mk-1',
      classification: 'human',
      receivedAt: '2026-12-01T11:58:00.000Z',
      subject: 'Re: Budget planning <guide>',
      text: 'Sounds good.\nCall me next week & bring numbers',
      quoted: true,
      brief,
      headers: { 'X-Cultivate-Forward': '1' },
    });
    expect(await adapter.deliver(reply, outboundContext())).toEqual({ delivered: true, ref: 'note:9000' });
    expect(pd.created.notes[0]?.content).toContain('<blockquote>Sounds good.<br>Call me next week &#38; bring numbers</blockquote>');
    expect(pd.created.notes[0]?.content).toContain('Re: Budget planning &#60;guide&#62;');
  });

  it('skips a relationship with no Pipedrive person', async () => {
    const r = await adapter.deliver(outboundMessageOf('relationship-retired', { relationshipId: REL, crmIds: ['hubspot:99:501'], reason: 'no-future' }, AT), outboundContext());
    expect(r).toEqual({ delivered: false, why: 'no Pipedrive person id on this relationship' });
    expect(pd.calls).toHaveLength(0);
  });
});
