/**
 * Parsing Pipedrive's webhooks v2 deliveries. Every `doc-*` fixture is a documented example from
 * Pipedrive's "Webhooks v2 migration guide", section "Webhooks v2 examples"
 * (https://pipedrive.readme.io/docs/webhooks-v2-migration-guide#webhooks-v2-examples); the meta
 * block is described in https://pipedrive.readme.io/docs/guide-for-webhooks-v2#webhooks-meta-block.
 */
import { describe, expect, it } from 'vitest';
import { pipedriveDefinition } from '#crm/pipedrive/index';
import { BASIC, fixture, NOW, settingsOf } from './helpers.ts';

const adapter = pipedriveDefinition.inbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC }));
const parse = (json: unknown) => adapter.parse(json, {}, NOW);
const issuesOf = (json: unknown) => {
  const r = parse(json);
  if (r.ok) throw new Error('expected a refusal');
  return r.issues;
};

const documented: [string, string, string, string][] = [
  ['doc-create-deal', 'create.deal', '71825ee0-0054-4267-b5fd-d28b7a414212', '2022-11-24T13:18:56.089Z'],
  ['doc-update-deal', 'change.deal', 'df47d877-b58c-4886-91cd-1aa83e1d7366', '2022-11-24T15:11:55.724Z'],
  ['doc-delete-deal', 'delete.deal', 'a66e9392-fe41-4425-9bef-a1d32bf2df8c', '2022-11-24T15:16:53.335Z'],
  ['doc-create-activity', 'create.activity', 'bbba59e9-1d1f-4794-9472-72540d421386', '2022-11-24T15:25:44.461Z'],
  ['doc-update-activity', 'change.activity', '7a40ac1f-debd-4d22-b8d6-d9a687a96ec4', '2022-11-24T15:28:13.375Z'],
  ['doc-create-person', 'create.person', '5359a602-6d1b-4562-a385-ccaa762bd722', '2022-11-24T13:18:55.665Z'],
  ['doc-update-person', 'change.person', '7c812ffd-8f50-45ea-a597-b8fcba2da9c0', '2022-11-24T15:18:35.616Z'],
  ['doc-create-note', 'create.note', '388e79ee-ad16-437a-b07b-229b9c81645d', '2022-11-25T15:41:34.303Z'],
  ['doc-create-organization', 'create.organization', 'ece7b901-5898-4c80-986a-6b7feeabebe4', '2022-11-24T13:18:55.315Z'],
  ['doc-create-lead', 'create.lead', 'b18fa830-6c0d-11ed-9826-a53d0eb706a5', '2022-11-24T15:35:58.772Z'],
];

describe('pipedrive parse: documented examples', () => {
  it.each(documented)('%s becomes one notification keyed by company and event id', (name, kind, eventId, occurredAt) => {
    const body = fixture(name);
    expect(parse(body)).toEqual({
      ok: true,
      notifications: [{ id: `pipedrive:8087566:${eventId}`, crm: 'pipedrive', portal: '8087566', kind, occurredAt, payload: body }],
    });
  });

  it('reads the Unix-seconds timestamp of a user event, whose meta.id is the user id, into a distinct id', () => {
    const r = parse(fixture('doc-update-user'));
    expect(r.ok && r.notifications[0]).toMatchObject({ id: 'pipedrive:8087566:12415231@1669304542', kind: 'change.user', occurredAt: '2022-11-24T15:42:22.000Z' });
  });

  it("keeps the same id across Pipedrive's retries (attempt 2, 3, 4): a retry is a duplicate", () => {
    const first = parse(fixture('doc-update-deal'));
    for (const attempt of [2, 3, 4]) {
      const retried = fixture('doc-update-deal');
      retried.meta.attempt = attempt;
      const r = parse(retried);
      expect(r.ok && r.notifications[0]?.id).toBe(first.ok && first.notifications[0]?.id);
    }
  });

  it('accepts numeric ids and new meta fields Pipedrive adds over time', () => {
    const body = fixture('doc-create-deal');
    Object.assign(body.meta, { company_id: 8087566, entity_id: 8, user_id: 12415231, merged_from_id: '7', permitted_user_ids: ['1'], brand_new_field: { x: 1 } });
    const r = parse(body);
    expect(r.ok && r.notifications[0]?.id).toBe('pipedrive:8087566:71825ee0-0054-4267-b5fd-d28b7a414212');
  });
});

describe('pipedrive parse: refusals name the field', () => {
  it('refuses a webhooks v1 body, naming its v1 fields and the missing version', () => {
    const v1 = { v: 1, matches_filters: { current: [] }, meta: { v: 1, action: 'updated', object: 'deal', id: 8, company_id: 8087566, timestamp: 1523440213 }, retry: 0, current: {}, previous: {}, event: 'updated.deal' };
    const issues = issuesOf(v1);
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['v', 'matches_filters', 'retry', 'current', 'event', 'meta.action', 'meta.entity', 'meta.entity_id', 'meta.version', 'data']));
    expect(issues.find((i) => i.path === 'current')?.message).toMatch(/webhooks v2/);
  });

  it('names each mangled field', () => {
    const cases: [(b: Record<string, any>) => void, string][] = [
      [(b) => (b.meta.action = 'added'), 'meta.action'],
      [(b) => delete b.meta.company_id, 'meta.company_id'],
      [(b) => (b.meta.id = 'has spaces and ünïcode'), 'meta.id'],
      [(b) => (b.meta.timestamp = 'yesterday'), 'meta.timestamp'],
      [(b) => (b.meta.version = '1.0'), 'meta.version'],
      [(b) => (b.data = null), 'data'],
      [(b) => (b.previous = 'open'), 'previous'],
    ];
    for (const [mangle, path] of cases) {
      const body = fixture('doc-update-deal');
      mangle(body);
      expect(issuesOf(body).map((i) => i.path)).toContain(path);
    }
  });

  it('refuses what is not an object at all', () => {
    for (const json of [null, 'text', 42, [], [fixture('doc-create-deal')]]) expect(issuesOf(json).length).toBeGreaterThan(0);
  });

  it('answers 202 with the count, as the generic webhook does', () => {
    const r = parse(fixture('doc-create-deal'));
    expect(adapter.accepted(r.ok ? r.notifications : [])).toEqual({ status: 202, contentType: 'application/json', body: '{"accepted":1}' });
  });
});
