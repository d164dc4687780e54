/**
 * Normalising Pipedrive webhooks into catalog events, against the local fake of Pipedrive's API.
 * `doc-*` fixtures are the documented examples of Pipedrive's "Webhooks v2 migration guide"
 * (https://pipedrive.readme.io/docs/webhooks-v2-migration-guide#webhooks-v2-examples). The lost,
 * won, reopened and done variants are those documented examples ("Update deal", "Update activity",
 * "Update person") with the fields a status change or completion changes, as the guide's
 * `data` / `previous` rules describe (https://pipedrive.readme.io/docs/guide-for-webhooks-v2#data-and-previous).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InboundEvent } from '#catalog/events';
import { CrmMapping } from '#crm/mappings';
import { pipedriveInbound } from '#crm/pipedrive/index';
import type { CrmInboundAdapter, NormaliseResult } from '#crm/types';
import { startFakePipedrive, type FakePipedrive } from '../../helpers/fake-pipedrive.ts';
import { BASIC, fixture, mapping, normaliseContext, notificationOf, settingsOf, variant } from './helpers.ts';

let pd: FakePipedrive;
let adapter: CrmInboundAdapter;

const ROLE_FIELD = 'a1b2c3rolefieldkey';
const persons = [
  { id: 8, name: 'Dana Fixture-Reyes', first_name: 'Dana', owner_id: 12415231, org_id: 1, emails: [{ label: 'work', value: 'dana.fixture@example.com', primary: true }], job_title: 'Head of Ops', custom_fields: {} },
  { id: 9, name: 'Lee Fixture', owner_id: 12415231, org_id: 1, emails: [{ label: 'other', value: 'not-an-address', primary: true }, { label: 'work', value: 'lee.fixture@example.com', primary: false }], custom_fields: { [ROLE_FIELD]: 'Economic buyer' }, marketing_status: 'unsubscribed' },
  { id: 10, name: 'Ana Fixture', owner_id: 12415232, org_id: 77, emails: [], custom_fields: {} },
];

beforeAll(async () => {
  pd = await startFakePipedrive();
});
afterAll(async () => pd.stop());
beforeEach(() => {
  pd.reset();
  pd.seed({
    deals: [{ id: 8, title: 'Sample Org deal', status: 'lost', lost_reason: 'Timing - budget next year', value: 100, currency: 'EUR', owner_id: 12415231, person_id: 8, org_id: 1, pipeline_id: 1, stage_id: 2 }],
    persons,
    organizations: [{ id: 1, name: 'Sample Org' }],
    participants: { 8: [8, 9, 10] },
    activities: [
      { id: 2, subject: 'Thank-you note to Dana', type: 'task', done: true, person_id: 10, note: '<p><b>What:</b> Thank-you note</p><p>[ ] done<br>[x] no-answer<br>[ ] left-message</p><p>Cultivate touch id: rel_0f3a-11.t3</p>' },
      { id: 3, subject: 'Intro call', type: 'call', done: true, person_id: 10, note: 'Talked about Q3' },
      { id: 4, subject: 'Lunch', type: 'meeting', done: true, person_id: 10, note: null },
    ],
  });
  adapter = pipedriveInbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC, CULTIVATE_PIPEDRIVE_API_TOKEN: pd.token, CULTIVATE_PIPEDRIVE_API_URL: pd.url }), { baseDelayMs: 1 });
});

const eventsOf = (r: NormaliseResult) => {
  if (r.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(r)}`);
  for (const e of r.events) expect(() => InboundEvent.parse(e)).not.toThrow();
  return r.events;
};

const lostDeal = (eventId = 'c0ffee00-0000-4000-8000-000000000001', lostReason: string | null = 'Timing - budget next year') =>
  variant('doc-update-deal', eventId, (b) => {
    Object.assign(b.data, { status: 'lost', lost_reason: lostReason, lost_time: '2022-11-24T15:11:55Z', close_time: '2022-11-24T15:11:55Z' });
    b.previous = { status: 'open', lost_reason: null, lost_time: null, close_time: null, update_time: '2022-11-24T13:18:55Z' };
  });

describe('pipedrive normalise: a lost deal', () => {
  it('makes one lead-closed-lost per person on the deal, with role, owner and one account', async () => {
    const n = notificationOf(lostDeal());
    const events = eventsOf(await adapter.normalise(n, normaliseContext()));
    expect(events.map((e) => e.id)).toEqual([`${n.id}:8`, `${n.id}:9`, `${n.id}:10`]);
    expect(events.every((e) => e.type === 'lead-closed-lost' && e.occurredAt === '2022-11-24T15:11:55.724Z')).toBe(true);
    const [dana, lee, ana] = events;
    expect(dana?.contact).toEqual({
      externalId: '8',
      email: 'dana.fixture@example.com',
      name: 'Dana Fixture-Reyes',
      title: 'Head of Ops',
      accountId: 'pipedrive:8087566:1',
      company: 'Sample Org',
      role: 'champion',
      owner: 'sam@seller.example',
    });
    // The first valid address, the role from the configured person field; the fetch without include_fields has no marketing status.
    expect(lee?.contact).toMatchObject({ externalId: '9', email: 'lee.fixture@example.com', role: 'evaluator', accountId: 'pipedrive:8087566:1' });
    // Under the deal's account, not the person's own organization; the deal owner, not the person owner.
    expect(ana?.contact).toMatchObject({ externalId: '10', role: 'influencer', accountId: 'pipedrive:8087566:1', owner: 'sam@seller.example' });
    expect(ana?.contact.email).toBeUndefined();
    expect(dana?.data).toEqual({ reason: 'timing', note: 'Timing - budget next year', dealId: '8', amount: 100, currency: 'EUR' });
    const paths = pd.calls.map((c) => `${c.method} ${c.path.split('?')[0]}`);
    expect(paths).toEqual(expect.arrayContaining(['GET /api/v1/deals/8/participants', 'GET /api/v2/persons/8', 'GET /api/v2/persons/9', 'GET /api/v2/persons/10', 'GET /api/v2/organizations/1']));
    // The webhook carried the deal: no need to fetch it.
    expect(paths).not.toContain('GET /api/v2/deals/8');
    expect(pd.calls.every((c) => c.headers['x-api-token'] === pd.token)).toBe(true);
  });

  it('gives a retried delivery (a new attempt) the same notification and event ids', async () => {
    const first = notificationOf(lostDeal());
    const retry = lostDeal();
    retry.meta.attempt = 3;
    const again = notificationOf(retry);
    expect(again.id).toBe(first.id);
    const a = eventsOf(await adapter.normalise(first, normaliseContext()));
    const b = eventsOf(await adapter.normalise(again, normaliseContext()));
    expect(b.map((e) => e.id)).toEqual(a.map((e) => e.id));
  });

  it('is unmapped (for quarantine) when the lost reason has no mapping and there is no default', async () => {
    const r = await adapter.normalise(notificationOf(lostDeal(undefined, 'Price too high')), normaliseContext());
    expect(r).toEqual({ kind: 'unmapped', reason: expect.stringContaining('pipedrive.lostReasons'), paths: ['data.lost_reason'] });
    const none = await adapter.normalise(notificationOf(lostDeal(undefined, null)), normaliseContext());
    expect(none).toMatchObject({ kind: 'unmapped', reason: expect.stringContaining('without a lost reason'), paths: ['data.lost_reason'] });
  });

  it('uses defaultLostReason for an unmapped reason once it is configured (the replay after a fix)', async () => {
    const fixed = CrmMapping.parse({ ...mapping, defaultLostReason: 'other' });
    const events = eventsOf(await adapter.normalise(notificationOf(lostDeal(undefined, 'Price too high')), normaliseContext(fixed)));
    expect(events.map((e) => e.type === 'lead-closed-lost' && e.data.reason)).toEqual(['other', 'other', 'other']);
  });

  it('fetches the deal when the webhook left out what a loss needs', async () => {
    const body = lostDeal();
    delete body.data.lost_reason;
    delete body.data.person_id;
    const events = eventsOf(await adapter.normalise(notificationOf(body), normaliseContext()));
    expect(pd.calls.map((c) => c.path)).toContain('/api/v2/deals/8');
    expect(events).toHaveLength(3);
  });

  it('leaves out a participant deleted since (404) and keeps the others', async () => {
    pd.seed({ participants: { 8: [8, 9, 10, 11] } });
    const ctx = normaliseContext();
    const events = eventsOf(await adapter.normalise(notificationOf(lostDeal()), ctx));
    expect(events.map((e) => e.contact.externalId)).toEqual(['8', '9', '10']);
    expect(ctx.logger.lines.some((l) => l.level === 'warn' && l.extra[0]?.personId === 11)).toBe(true);
  });

  it('retries a 429 from Pipedrive and still answers', async () => {
    pd.rateLimitNext();
    const events = eventsOf(await adapter.normalise(notificationOf(lostDeal()), normaliseContext()));
    expect(events).toHaveLength(3);
    expect(pd.calls[0]?.path).toBe(pd.calls[1]?.path);
  });

  it('without an API token, reaches the deal person only, known by id', async () => {
    const bare = pipedriveInbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC }));
    const events = eventsOf(await bare.normalise(notificationOf(lostDeal()), normaliseContext()));
    expect(events.map((e) => e.contact)).toEqual([{ externalId: '8', accountId: 'pipedrive:8087566:1', role: 'champion', owner: 'sam@seller.example' }]);
    expect(pd.calls).toHaveLength(0);
  });
});

describe('pipedrive normalise: other deal changes', () => {
  it('a new deal (documented "Create deal") pauses nurture for its person', async () => {
    const n = notificationOf(variant('doc-create-deal', '71825ee0-0054-4267-b5fd-d28b7a414212', () => {}));
    expect(eventsOf(await adapter.normalise(n, normaliseContext()))).toEqual([
      { id: `${n.id}:8`, type: 'deal-created', occurredAt: '2022-11-24T13:18:56.089Z', contact: { externalId: '8', accountId: 'pipedrive:8087566:1', owner: 'sam@seller.example' }, data: { dealId: '8', amount: 100, currency: 'EUR' } },
    ]);
  });

  it('won is deal-won and lost -> open is deal-reopened, for every person on the deal', async () => {
    const won = variant('doc-update-deal', 'c0ffee00-0000-4000-8000-0000000000a1', (b) => {
      b.data.status = 'won';
      b.previous = { status: 'open' };
    });
    const reopened = variant('doc-update-deal', 'c0ffee00-0000-4000-8000-0000000000a2', (b) => {
      b.previous = { status: 'lost', lost_reason: 'Timing - budget next year' };
    });
    expect(eventsOf(await adapter.normalise(notificationOf(won), normaliseContext())).map((e) => `${e.type}:${e.contact.externalId}`)).toEqual(['deal-won:8', 'deal-won:9', 'deal-won:10']);
    expect(eventsOf(await adapter.normalise(notificationOf(reopened), normaliseContext())).map((e) => `${e.type}:${e.contact.externalId}`)).toEqual(['deal-reopened:8', 'deal-reopened:9', 'deal-reopened:10']);
  });

  it.each(['doc-update-deal', 'doc-delete-deal', 'doc-create-note', 'doc-create-organization', 'doc-create-lead', 'doc-update-user', 'doc-create-person', 'doc-create-activity', 'doc-update-activity'])(
    '%s is nothing Cultivate acts on',
    async (name) => {
      expect(await adapter.normalise(notificationOf(fixture(name)), normaliseContext())).toEqual({ kind: 'events', events: [] });
    },
  );
});

describe('pipedrive normalise: activities marked done', () => {
  const done = (eventId: string, activityId: number, type: string) =>
    variant('doc-update-activity', eventId, (b) => {
      Object.assign(b.data, { id: activityId, type, done: true });
      b.meta.entity_id = String(activityId);
      b.previous = { done: false, update_time: '2022-11-24T15:26:57Z' };
    });

  it('a Cultivate task comes back as touch-completed with its touch id and the ticked outcome', async () => {
    const n = notificationOf(done('c0ffee00-0000-4000-8000-0000000000b1', 2, 'task'));
    expect(eventsOf(await adapter.normalise(n, normaliseContext()))).toEqual([
      { id: `${n.id}:10`, type: 'touch-completed', occurredAt: '2022-11-24T15:28:13.375Z', contact: { externalId: '10', owner: 'sam@seller.example' }, data: { touchId: 'rel_0f3a-11.t3', outcome: 'no-answer' } },
    ]);
    // Webhooks v2 leave the note out, so the activity is fetched for it.
    expect(pd.calls.map((c) => c.path)).toEqual(['/api/v2/activities/2']);
  });

  it('another activity completes through activityOutcomes by its type; an unmapped type is ignored', async () => {
    const n = notificationOf(done('c0ffee00-0000-4000-8000-0000000000b2', 3, 'call'));
    expect(eventsOf(await adapter.normalise(n, normaliseContext()))[0]?.data).toEqual({ touchId: 'pipedrive:8087566:activity:3', outcome: 'done' });
    expect(await adapter.normalise(notificationOf(done('c0ffee00-0000-4000-8000-0000000000b3', 4, 'meeting')), normaliseContext())).toEqual({ kind: 'events', events: [] });
  });

  it('an activity that was already done does not complete twice', async () => {
    const body = done('c0ffee00-0000-4000-8000-0000000000b4', 2, 'task');
    body.previous = { subject: 'Old subject' };
    expect(await adapter.normalise(notificationOf(body), normaliseContext())).toEqual({ kind: 'events', events: [] });
  });
});

describe('pipedrive normalise: person changes', () => {
  it('a change (documented "Update person") is contact-updated', async () => {
    const n = notificationOf(variant('doc-update-person', '7c812ffd-8f50-45ea-a597-b8fcba2da9c0', () => {}));
    expect(eventsOf(await adapter.normalise(n, normaliseContext()))).toEqual([
      { id: `${n.id}:8`, type: 'contact-updated', occurredAt: '2022-11-24T15:18:35.616Z', contact: { externalId: '8', name: 'Sample Person', accountId: 'pipedrive:8087566:1', owner: 'sam@seller.example' }, data: {} },
    ]);
    // The webhook did not say the marketing status: asked for it.
    expect(pd.calls.map((c) => c.path)).toEqual(['/api/v2/persons/8?include_fields=marketing_status']);
  });

  it('a marketing status that becomes unsubscribed stops all e-mail', async () => {
    const body = variant('doc-update-person', 'c0ffee00-0000-4000-8000-0000000000c1', (b) => {
      Object.assign(b.data, { id: 9, marketing_status: 'unsubscribed', emails: [{ value: 'lee.fixture@example.com', primary: true }] });
      b.previous = { marketing_status: 'subscribed' };
    });
    const n = notificationOf(body);
    const events = eventsOf(await adapter.normalise(n, normaliseContext()));
    expect(events.map((e) => [e.id, e.type])).toEqual([
      [`${n.id}:9`, 'contact-updated'],
      [`${n.id}:9:consent`, 'consent-changed'],
    ]);
    expect(events[1]?.data).toEqual({ action: 'stop-all-email', source: 'pipedrive-marketing-status' });
    expect(pd.calls).toHaveLength(0);
  });

  it('asks Pipedrive when the webhook has no marketing status, and stops e-mail for an unsubscribed person', async () => {
    const body = variant('doc-update-person', 'c0ffee00-0000-4000-8000-0000000000c2', (b) => {
      b.data.id = 9;
      b.meta.entity_id = '9';
    });
    const events = eventsOf(await adapter.normalise(notificationOf(body), normaliseContext()));
    expect(events.map((e) => e.type)).toEqual(['contact-updated', 'consent-changed']);
  });

  it('an opt-in seen in the webhook (to subscribed) grants e-mail with a consent record', async () => {
    const body = variant('doc-update-person', 'c0ffee00-0000-4000-8000-0000000000c3', (b) => {
      b.data.marketing_status = 'subscribed';
      b.previous = { marketing_status: 'no_consent' };
    });
    const events = eventsOf(await adapter.normalise(notificationOf(body), normaliseContext()));
    expect(events[1]).toMatchObject({ type: 'consent-changed', data: { action: 'grant-email', consent: { email: 'granted', basis: 'opt-in', capturedAt: '2022-11-24T15:18:35.616Z' } } });
  });
});
