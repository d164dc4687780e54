/**
 * Normalising HubSpot notifications into catalog events against the local fake HubSpot API.
 * Fixtures as described in parse.test.ts (HubSpot's documented webhook payload shapes); the API
 * data seeded into the fake follows the CRM objects v3 / associations v4 response shapes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InboundEvent } from '#catalog/events';
import { CrmMapping } from '#crm/mappings';
import { hubspotDefinition } from '#crm/hubspot/index';
import type { CrmNotification, NormaliseResult } from '#crm/types';
import { startFakeHubSpot, type FakeHubSpot } from '../../helpers/fake-hubspot.ts';
import { baseSettings, fixture, mapping, normaliseContext, NOW } from './helpers.ts';

let hs: FakeHubSpot;
let adapter: ReturnType<typeof hubspotDefinition.inbound>;

const TOUCH = 'rel_0f8e2b1c-1111-4222-8333-944455556666.t3';

beforeAll(async () => {
  hs = await startFakeHubSpot();
  adapter = hubspotDefinition.inbound(baseSettings({ CULTIVATE_HUBSPOT_API_URL: hs.url, CULTIVATE_HUBSPOT_TOKEN: hs.token, CULTIVATE_HUBSPOT_RATE_PER_10S: '190' }));
  const people = { '501': 'Champion', '502': 'Technical evaluator', '503': undefined };
  const onDeal = (dealId: string) => [
    ...Object.entries(people).map(([id, label]) => ({ from: 'deals' as const, fromId: dealId, to: 'contacts' as const, toId: id, ...(label && { label }) })),
    { from: 'deals' as const, fromId: dealId, to: 'companies' as const, toId: '301' },
  ];
  const deal = (stage: string, extra: Record<string, string> = {}) => ({ pipeline: 'default', dealstage: stage, amount: '24000', deal_currency_code: 'USD', hubspot_owner_id: '77', ...extra });
  hs.seed({
    objects: {
      deals: {
        '9001': deal('closedlost', { closed_lost_reason: 'Went with a competitor', revisit_after: '2027-06-01' }),
        '9002': deal('appointmentscheduled'),
        '9003': deal('closedlost', { closed_lost_reason: 'Legal said no' }),
        '9004': { pipeline: '555', dealstage: 'gone', hubspot_owner_id: '77' },
        '9005': deal('closedwon'),
        '9006': deal('contractsent'),
        '9007': { pipeline: '555', dealstage: 'talking' },
      },
      contacts: {
        '501': { email: 'dana.reyes.fixture@example.com', firstname: 'Dana', lastname: 'Fixture-Reyes', jobtitle: 'VP Operations', country: 'United States', hs_timezone: 'america_slash_chicago', hs_language: 'en', hubspot_owner_id: '78' },
        '502': { email: 'lee.fixture@example.com', firstname: 'Lee', lastname: 'Fixture', country: 'DE', hs_timezone: 'europe_slash_berlin', hs_language: 'pt-br' },
        '503': { firstname: 'Nomail', hs_timezone: 'not_a_zone', country: 'Atlantis' },
        '1246965': { email: 'lifecycle.fixture@example.com', firstname: 'Lia', country: 'Germany', hs_timezone: 'europe_slash_berlin' },
      },
      companies: { '301': { name: 'Acme', domain: 'acme.example', country: 'US' } },
      tasks: {
        '70123': { hs_task_status: 'COMPLETED', hs_task_subject: 'Thank-you note', hs_task_body: `<p>What: note</p><p>cultivate-touch:${TOUCH}</p>` },
        '70124': { hs_task_status: 'COMPLETED', hs_task_body: `<p>cultivate-touch:${TOUCH}</p>`, cultivate_outcome: 'Left voicemail' },
        '70125': { hs_task_status: 'COMPLETED', hs_task_body: `<p>cultivate-touch:${TOUCH}</p>`, cultivate_outcome: 'mystery' },
        '70126': { hs_task_status: 'COMPLETED', hs_task_body: '<p>Call the printer</p>' },
      },
      meetings: { '88001': { hs_meeting_start_time: '2026-11-25T16:00:00.000Z', hs_meeting_outcome: 'SCHEDULED' } },
    },
    history: {
      '9006': { dealstage: [{ value: 'contractsent', timestamp: '2026-11-20T15:04:05.000Z' }, { value: 'closedlost', timestamp: '2026-10-01T09:00:00.000Z' }] },
      '9007': { dealstage: [{ value: 'talking', timestamp: '2026-11-20T15:04:05.000Z' }, { value: 'intro', timestamp: '2026-10-01T09:00:00.000Z' }] },
    },
    associations: [
      ...['9001', '9002', '9003', '9005', '9006'].flatMap(onDeal),
      { from: 'contacts', fromId: '1246965', to: 'companies', toId: '301' },
      ...['70123', '70124', '70125', '70126'].map((id) => ({ from: 'tasks' as const, fromId: id, to: 'contacts' as const, toId: '501' })),
      { from: 'meetings', fromId: '88001', to: 'contacts', toId: '501' },
    ],
    pipelines: [
      {
        id: '555',
        label: 'Partner pipeline',
        stages: [
          { id: 'intro', label: 'Intro', isClosed: false, probability: 0.1 },
          { id: 'talking', label: 'Talking', isClosed: false, probability: 0.5 },
          { id: 'gone', label: 'Gone', isClosed: true, probability: 0 },
        ],
      },
    ],
  });
});
afterAll(() => hs.stop());
beforeEach(() => void hs.calls.splice(0));

function notificationsOf(json: unknown, portal?: string): CrmNotification[] {
  const r = adapter.parse(json, portal ? { portal } : {}, NOW);
  if (!r.ok) throw new Error(`fixture did not parse: ${JSON.stringify(r.issues)}`);
  return r.notifications;
}
const one = (json: unknown, portal?: string) => notificationsOf(json, portal)[0] as CrmNotification;
const stageChange = (dealId: number, stage: string, eventId = 5000 + dealId) =>
  one([{ ...(fixture('deal-stage-closedlost.json') as object[])[0], objectId: dealId, propertyValue: stage, eventId }]);
const events = (r: NormaliseResult) => {
  if (r.kind !== 'events') throw new Error(`expected events, got ${JSON.stringify(r)}`);
  for (const e of r.events) InboundEvent.parse(e);
  return r.events;
};

describe('normalise: a lost deal', () => {
  it('becomes one lead-closed-lost per contact, with role, owner, one account, in a handful of calls', async () => {
    const n = one(fixture('deal-stage-closedlost.json'));
    const out = events(await adapter.normalise(n, normaliseContext()));
    expect(out).toHaveLength(3);
    const [dana, lee, nomail] = out;
    expect(dana).toEqual({
      id: `${n.id}:501`,
      type: 'lead-closed-lost',
      occurredAt: '2026-11-20T15:04:05.000Z',
      contact: {
        externalId: '501',
        email: 'dana.reyes.fixture@example.com',
        name: 'Dana Fixture-Reyes',
        title: 'VP Operations',
        accountId: 'hubspot:33:301',
        company: 'Acme',
        timezone: 'America/Chicago',
        country: 'US',
        language: 'en',
        role: 'champion',
        owner: 'sam@seller.example',
      },
      data: { reason: 'competitor', note: 'Went with a competitor', dealId: '9001', amount: 24000, currency: 'USD', revisitAfter: '2027-06-01' },
    });
    expect(lee?.contact).toMatchObject({ externalId: '502', role: 'evaluator', timezone: 'Europe/Berlin', country: 'DE', language: 'pt-BR', accountId: 'hubspot:33:301' });
    // Values HubSpot holds that the catalog cannot take are left out, not fatal.
    expect(nomail?.contact).toEqual({ externalId: '503', name: 'Nomail', accountId: 'hubspot:33:301', company: 'Acme', owner: 'sam@seller.example' });
    expect(hs.calls.length).toBeLessThanOrEqual(6);
    expect(hs.calls.some((c) => c.path.startsWith('/crm/v3/objects/contacts/batch/read'))).toBe(true);
  });

  it('gives a retried delivery the same event ids', async () => {
    const first = fixture('deal-stage-closedlost.json') as Record<string, unknown>[];
    const a = events(await adapter.normalise(one(first), normaliseContext()));
    const b = events(await adapter.normalise(one(first.map((e) => ({ ...e, attemptNumber: 4 }))), normaliseContext()));
    expect(b.map((e) => e.id)).toEqual(a.map((e) => e.id));
  });

  it('is unmapped when the lost reason has no mapping and no default; mapped with a default', async () => {
    expect(await adapter.normalise(stageChange(9003, 'closedlost'), normaliseContext())).toEqual({
      kind: 'unmapped',
      reason: expect.stringContaining('lost reason'),
      paths: ['deal.properties.closed_lost_reason'],
    });
    const withDefault = CrmMapping.parse({ ...mapping, defaultLostReason: 'other' });
    const out = events(await adapter.normalise(stageChange(9003, 'closedlost'), normaliseContext(withDefault)));
    expect(out.map((e) => e.type === 'lead-closed-lost' && e.data.reason)).toEqual(['other', 'other', 'other']);
  });

  it('is unmapped when a closing move happens in a pipeline config/crm.yaml does not know; an open move there is nothing', async () => {
    expect(await adapter.normalise(stageChange(9004, 'gone'), normaliseContext())).toEqual({ kind: 'unmapped', reason: expect.stringContaining('555'), paths: ['deal.properties.pipeline'] });
    expect(await adapter.normalise(stageChange(9007, 'talking'), normaliseContext())).toEqual({ kind: 'events', events: [] });
  });

  it('survives a 429 from HubSpot by retrying', async () => {
    hs.rateLimitOnce();
    const out = events(await adapter.normalise(one(fixture('deal-stage-closedlost.json')), normaliseContext()));
    expect(out).toHaveLength(3);
    expect(hs.calls[0]?.path).toBe(hs.calls[1]?.path);
  });

  it('reads the same deal when a workflow webhook reports it', async () => {
    const out = events(await adapter.normalise(one(fixture('workflow-deal.json'), '33'), normaliseContext()));
    expect(out.map((e) => [e.type, e.contact.externalId])).toEqual([
      ['lead-closed-lost', '501'],
      ['lead-closed-lost', '502'],
      ['lead-closed-lost', '503'],
    ]);
  });
});

describe('normalise: other deal moves', () => {
  it('closed-won → deal-won per contact', async () => {
    const out = events(await adapter.normalise(stageChange(9005, 'closedwon'), normaliseContext()));
    expect(out.map((e) => [e.type, e.contact.externalId, e.data])).toEqual(
      ['501', '502', '503'].map((id) => ['deal-won', id, { dealId: '9005', amount: 24000, currency: 'USD' }]),
    );
  });

  it('from closed-lost back to an open stage → deal-reopened', async () => {
    const out = events(await adapter.normalise(stageChange(9006, 'contractsent'), normaliseContext()));
    expect(out.map((e) => e.type)).toEqual(['deal-reopened', 'deal-reopened', 'deal-reopened']);
  });

  it('an open stage to another → nothing; a deleted deal → nothing', async () => {
    expect(await adapter.normalise(stageChange(9002, 'qualifiedtobuy'), normaliseContext())).toEqual({ kind: 'events', events: [] });
    expect(await adapter.normalise(stageChange(4040, 'closedlost'), normaliseContext())).toEqual({ kind: 'events', events: [] });
  });

  it('deal.creation → deal-created per contact', async () => {
    const out = events(await adapter.normalise(one(fixture('deal-creation.json')), normaliseContext()));
    expect(out.map((e) => [e.type, e.contact.externalId, e.contact.accountId])).toEqual(['501', '502', '503'].map((id) => ['deal-created', id, 'hubspot:33:301']));
  });
});

describe('normalise: contacts, consent, tasks, meetings', () => {
  it('hs_email_optout true → consent-changed stop-all-email, without API calls', async () => {
    const n = one(fixture('contact-optout.json'));
    expect(events(await adapter.normalise(n, normaliseContext()))).toEqual([
      { id: `${n.id}:501`, type: 'consent-changed', occurredAt: '2026-11-20T15:04:05.000Z', contact: { externalId: '501' }, data: { action: 'stop-all-email', source: 'hubspot:hs_email_optout' } },
    ]);
    expect(hs.calls).toHaveLength(0);
    const optIn = one([{ ...(fixture('contact-optout.json') as object[])[0], propertyValue: 'false' }]);
    expect(await adapter.normalise(optIn, normaliseContext())).toEqual({ kind: 'events', events: [] });
  });

  it('a GDPR delete → relationship-erasure-requested', async () => {
    const out = events(await adapter.normalise(one(fixture('contact-privacy-deletion.json')), normaliseContext()));
    expect(out.map((e) => [e.type, e.contact])).toEqual([['relationship-erasure-requested', { externalId: '502' }]]);
  });

  it('another contact property change → contact-updated with the fetched fields', async () => {
    const [n] = notificationsOf(fixture('webhooks-api-example.json'));
    const out = events(await adapter.normalise(n as CrmNotification, normaliseContext()));
    expect(out).toEqual([
      expect.objectContaining({
        type: 'contact-updated',
        contact: { externalId: '1246965', email: 'lifecycle.fixture@example.com', name: 'Lia', accountId: 'hubspot:33:301', company: 'Acme', timezone: 'Europe/Berlin', country: 'DE' },
        data: {},
      }),
    ]);
    // The documented contact.creation is nothing Cultivate acts on.
    const [, created] = notificationsOf(fixture('webhooks-api-example.json'));
    expect(await adapter.normalise(created as CrmNotification, normaliseContext())).toEqual({ kind: 'events', events: [] });
  });

  it('a completed Cultivate task → touch-completed with its touch id and outcome', async () => {
    const task = (id: number) => one([{ ...(fixture('task-completed-generic.json') as object[])[0], objectId: id, eventId: 6000 + id }]);
    const done = events(await adapter.normalise(task(70123), normaliseContext()));
    expect(done.map((e) => [e.type, e.contact, e.data])).toEqual([['touch-completed', { externalId: '501' }, { touchId: TOUCH, outcome: 'done' }]]);
    const voicemail = events(await adapter.normalise(task(70124), normaliseContext()));
    expect(voicemail[0]?.data).toEqual({ touchId: TOUCH, outcome: 'left-message' });
    expect(await adapter.normalise(task(70125), normaliseContext())).toEqual({ kind: 'unmapped', reason: expect.stringContaining('task outcome'), paths: ['task.properties.cultivate_outcome'] });
    expect(await adapter.normalise(task(70126), normaliseContext())).toEqual({ kind: 'events', events: [] });
  });

  it('a meeting created → meeting-booked for its contacts', async () => {
    const out = events(await adapter.normalise(one(fixture('meeting-created-generic.json')), normaliseContext()));
    expect(out.map((e) => [e.type, e.contact, e.data])).toEqual([['meeting-booked', { externalId: '501' }, { meetingId: '88001', startsAt: '2026-11-25T16:00:00.000Z' }]]);
  });
});
