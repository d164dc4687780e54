/**
 * Parsing HubSpot deliveries. Fixtures:
 * - webhooks-api-example.json: the example on developers.hubspot.com/docs/api/webhooks ("Webhook payloads"), verbatim (it names the type `eventType`).
 * - deal-stage-closedlost.json, deal-creation.json, contact-optout.json, contact-privacy-deletion.json:
 *   the same documented field set with `subscriptionType` (as live deliveries name it) for the
 *   subscription types listed on that page.
 * - task-completed-generic.json, meeting-created-generic.json: the generic `object.*` format with
 *   `objectTypeId` (developers.hubspot.com/changelog/public-beta-generic-webhook-subscriptions).
 * - workflow-deal.json: a workflow "Send a webhook" body with chosen properties
 *   (knowledge.hubspot.com/workflows/how-do-i-use-webhooks-with-hubspot-workflows).
 */
import { describe, expect, it } from 'vitest';
import { hubspotDefinition } from '#crm/hubspot/index';
import { baseSettings, fixture, NOW } from './helpers.ts';

const adapter = hubspotDefinition.inbound(baseSettings());
const parse = (json: unknown, portal?: string) => adapter.parse(json, portal ? { portal } : {}, NOW);

describe('parse', () => {
  it('splits the documented example into one notification per event, ids stable and namespaced', () => {
    const r = parse(fixture('webhooks-api-example.json'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.notifications.map((n) => [n.id, n.portal, n.kind, n.occurredAt])).toEqual([
      ['hubspot:33:3816279340-25-1246965', '33', 'contact.propertyChange', '2016-05-02T19:11:47.945Z'],
      ['hubspot:33:3816279480-22-1246978', '33', 'contact.creation', '2016-05-02T19:11:47.945Z'],
    ]);
    expect(r.notifications[0]?.payload).toEqual((fixture('webhooks-api-example.json') as unknown[])[0]);
    expect(r.notifications.every((n) => n.crm === 'hubspot')).toBe(true);
  });

  it.each(['deal-stage-closedlost.json', 'deal-creation.json', 'contact-optout.json', 'contact-privacy-deletion.json', 'task-completed-generic.json', 'meeting-created-generic.json'])(
    'accepts %s',
    (name) => {
      const r = parse(fixture(name));
      expect(r).toMatchObject({ ok: true, notifications: [{ crm: 'hubspot', portal: '33', occurredAt: '2026-11-20T15:04:05.000Z' }] });
    },
  );

  it('gives a retried delivery (new attemptNumber) the same notification id', () => {
    const first = fixture('deal-stage-closedlost.json') as Record<string, unknown>[];
    const retry = first.map((e) => ({ ...e, attemptNumber: 3 }));
    const a = parse(first);
    const b = parse(retry);
    expect(a.ok && b.ok && a.notifications[0]?.id === b.notifications[0]?.id).toBe(true);
  });

  it('keeps one notification when a delivery carries the same event twice (the inbox holds one item per id)', () => {
    const [event] = fixture('deal-stage-closedlost.json') as Record<string, unknown>[];
    const r = parse([event, { ...event, attemptNumber: 1 }, { ...event, eventId: 3816280002 }]);
    expect(r.ok && r.notifications.map((n) => n.id)).toEqual(['hubspot:33:3816280001-31-9001', 'hubspot:33:3816280002-31-9001']);
    expect(r.ok && r.notifications[0]?.payload).toEqual(event);
  });

  it('names every bad field of a mangled delivery', () => {
    const events = fixture('webhooks-api-example.json') as Record<string, unknown>[];
    const mangled = [{ ...events[0], eventId: 'abc', portalId: undefined }, { ...events[1], eventType: undefined, occurredAt: '2016-05-02' }];
    const r = parse(mangled);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path).sort()).toEqual(['0.eventId', '0.portalId', '1.occurredAt', '1.subscriptionType']);
    expect(parse([])).toMatchObject({ ok: false, issues: [{ path: '(body)', message: 'an empty delivery' }] });
    expect(parse('hello')).toMatchObject({ ok: false, issues: [{ path: '(body)' }] });
    expect(parse(Array.from({ length: 101 }, () => events[1]))).toMatchObject({ ok: false });
  });

  it('reads a workflow webhook, needing portalId from the signed URL and hs_object_id from the body', () => {
    const body = fixture('workflow-deal.json');
    const r = parse(body, '33');
    expect(r).toMatchObject({ ok: true, notifications: [{ portal: '33', kind: 'workflow.deal', occurredAt: '2026-11-20T15:04:05.000Z' }] });
    const again = parse(structuredClone(body), '33');
    expect(r.ok && again.ok && r.notifications[0]?.id === again.notifications[0]?.id).toBe(true);
    expect(r.ok && r.notifications[0]?.id).toMatch(/^hubspot:33:wf-deal-9001-[0-9a-f]{8}$/);
    const missing = parse({ dealstage: 'closedlost' });
    expect(missing).toMatchObject({ ok: false });
    expect(!missing.ok && missing.issues.map((i) => i.path).sort()).toEqual(['hs_object_id', 'portalId']);
    expect(parse({ hs_object_id: '501', email: 'x@example.com' }, '33')).toMatchObject({ ok: true, notifications: [{ kind: 'workflow.contact' }] });
  });

  it('answers an accepted delivery with 200 and the count', () => {
    const r = parse(fixture('webhooks-api-example.json'));
    expect(r.ok && adapter.accepted(r.notifications)).toEqual({ status: 200, contentType: 'application/json', body: '{"accepted":2}' });
  });
});
