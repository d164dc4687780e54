/**
 * parse: Salesforce's own delivery formats, validated with zod and split into notifications.
 * Fixtures and where their shape comes from:
 * - outbound-message-*.xml: the `notifications` element of the Outbound Messaging WSDL
 *   (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm)
 *   in the SOAP envelope Salesforce posts, as in "Understanding Notifications"
 *   (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_notifications.htm);
 *   ids and the Account example's fields as published with those pages' examples.
 * - flow-opportunity-lost.json: Cultivate's flow callout body, documented in docs/crm/salesforce.md.
 * - relay-opportunity-change-event.json: an Event Relay delivery: the EventBridge envelope with the
 *   partner source `aws.partner/salesforce.com/<orgId>/<channelId>` (EventRelayFeedback.RemoteResource,
 *   https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_eventrelayfeedback.htm)
 *   around a change event whose header follows "ChangeEventHeader Fields"
 *   (https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm).
 */
import { describe, expect, it } from 'vitest';
import { parseRelayEvent, RelayEventError, salesforceDefinition } from '#crm/salesforce/index';
import { SOAP_ACK } from '#crm/salesforce/soap';
import { baseSettings, fixture, ORG, RECEIVED } from './helpers.ts';

const adapter = salesforceDefinition.inbound(baseSettings());
/** `portal: null`: authenticate could not read an org. */
const parse = (body: unknown, portal: string | null = ORG) => adapter.parse(body, portal ? { portal } : {}, RECEIVED);

describe('salesforce parse: Outbound Messages', () => {
  it('splits a message into one notification per Notification, ids stable across retries', () => {
    const xml = fixture('outbound-message-opportunities.xml');
    const first = parse(xml);
    expect(first).toMatchObject({
      ok: true,
      notifications: [
        { id: `salesforce:${ORG}:04l5e00000Gx7QzAAJ`, crm: 'salesforce', portal: ORG, kind: 'Opportunity', occurredAt: '2026-11-20T15:04:05.000Z' },
        { id: `salesforce:${ORG}:04l0800002nrC5BAAU`, kind: 'Opportunity', occurredAt: '2026-11-20T15:05:00.000Z' },
      ],
    });
    // Raw bytes as the ingest has them give the same result; a retry carries the same notification ids.
    expect(parse(new TextEncoder().encode(xml))).toEqual(first);
    if (!first.ok) throw new Error('unreachable');
    expect(first.notifications[0]?.payload).toMatchObject({
      via: 'outbound-message',
      actionId: '04k5e000000CaRkAAK',
      object: 'Opportunity',
      record: { Id: '0065e00000AbCdEAAV', IsClosed: 'true', IsWon: 'false', Loss_Reason__c: 'Timing', Name: 'Acme & Co - Platform' },
    });
    expect((first.notifications[1]?.payload as { record: Record<string, unknown> }).record.Loss_Reason__c).toBeNull();
  });

  it('parses the Contact, Task and Account examples, decoding character references', () => {
    for (const [file, kind] of [
      ['outbound-message-contact-opt-out.xml', 'Contact'],
      ['outbound-message-task-completed.xml', 'Task'],
      ['outbound-message-account.xml', 'Account'],
    ] as const) {
      const r = parse(fixture(file));
      expect(r, file).toMatchObject({ ok: true, notifications: [{ kind }] });
    }
    const task = parse(fixture('outbound-message-task-completed.xml'));
    expect(task.ok && (task.notifications[0]?.payload as { record: { Description: string } }).record.Description).toContain('Send a thank-you note\r\nWhy');
  });

  it('answers with the exact SOAP acknowledgement Salesforce waits for', () => {
    const r = parse(fixture('outbound-message-opportunities.xml'));
    if (!r.ok) throw new Error('unreachable');
    expect(adapter.accepted(r.notifications)).toEqual({ status: 200, contentType: 'text/xml; charset=utf-8', body: SOAP_ACK });
    expect(SOAP_ACK).toContain('<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>');
  });

  it('names the field path of every mangled part', () => {
    const xml = fixture('outbound-message-opportunities.xml');
    const cases: [string, string][] = [
      [xml.replace('<ActionId>04k5e000000CaRkAAK</ActionId>', ''), 'notifications.ActionId'],
      [xml.replace('<Id>04l0800002nrC5BAAU</Id>', '<Id>not-an-id</Id>'), 'notifications.Notification[1].Id'],
      [xml.replace('xsi:type="sf:Opportunity"', ''), 'notifications.Notification[0].sObject.@xsi:type'],
      [xml.replace('<sf:Id>0065e00000AbCdEAAV</sf:Id>', ''), 'notifications.Notification[0].sObject.Id'],
      [xml.replace('<PartnerUrl>', '<Extra>x</Extra><PartnerUrl>'), 'notifications'],
      [xml.replace('http://soap.sforce.com/2005/09/outbound', 'urn:other'), 'Envelope.Body.notifications'],
      [xml.replace('</notifications>', ''), '(line'],
      ['<a/>', 'Envelope.Body'],
    ];
    for (const [body, path] of cases) {
      const r = parse(body);
      expect(r.ok, path).toBe(false);
      if (!r.ok) expect(r.issues.map((i) => i.path).join(' | '), path).toContain(path);
    }
  });

  it('refuses more than 100 notifications', () => {
    const xml = fixture('outbound-message-account.xml');
    const one = /<Notification>[\s\S]*<\/Notification>/.exec(xml)?.[0] ?? '';
    const r = parse(xml.replace(one, one.repeat(101)));
    expect(r).toMatchObject({ ok: false, issues: [{ path: 'notifications.Notification', message: expect.stringContaining('at most 100') }] });
  });

  it('refuses a DOCTYPE before parsing (no entity expansion, no external entities)', () => {
    const xxe = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + fixture('outbound-message-account.xml').replace(/^<\?xml[^>]*>/, '').replace('Acme Corporation', '&e;');
    const bomb = `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>`;
    for (const body of [xxe, bomb]) expect(parse(body)).toMatchObject({ ok: false, issues: [{ path: '(document)' }] });
  });

  it('refuses a body whose org is not the authenticated one, or was not verified', () => {
    expect(parse(fixture('outbound-message-account.xml'), '00D000000000001AAA')).toMatchObject({ ok: false, issues: [{ path: 'notifications.OrganizationId', message: 'does not match the authenticated org' }] });
    expect(parse(fixture('outbound-message-account.xml'), null)).toMatchObject({ ok: false, issues: [{ path: 'notifications.OrganizationId' }] });
  });
});

describe('salesforce parse: flow callouts', () => {
  it('makes one notification named by the flow event id, answered in JSON', () => {
    const body = JSON.parse(fixture('flow-opportunity-lost.json')) as unknown;
    const r = parse(body);
    expect(r).toMatchObject({ ok: true, notifications: [{ id: `salesforce:${ORG}:flow:0Fo5e0000001a2bCAA-20261120150405`, kind: 'flow.Opportunity', occurredAt: '2026-11-20T15:04:05.000Z' }] });
    expect(parse(fixture('flow-opportunity-lost.json'))).toEqual(r);
    if (r.ok) expect(adapter.accepted(r.notifications)).toEqual({ status: 202, contentType: 'application/json', body: '{"accepted":1}' });
  });

  it('names every bad field', () => {
    const body = JSON.parse(fixture('flow-opportunity-lost.json')) as Record<string, unknown>;
    const r = parse({ ...body, format: 'v0', object: 'Lead', record: { Name: 'x' }, contactRoles: [{ ContactId: 'x' }], extra: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path).sort()).toEqual(['', 'contactRoles.0.ContactId', 'format', 'object', 'record.Id'].sort().map((p) => p || '(body)'));
  });

  it('answers 400 (not a crash) for JSON that is not an object and for text that is neither XML nor JSON', () => {
    for (const body of ['[1,2]', 'null', 'hello', '', new Uint8Array([0xff, 0xfe, 0x00])]) expect(parse(body).ok).toBe(false);
  });
});

describe('salesforce Event Relay', () => {
  const event = () => JSON.parse(fixture('relay-opportunity-change-event.json')) as Record<string, unknown>;

  it('turns a relayed change event into one notification per record, keyed by the change, not the EventBridge id', () => {
    const [n, ...rest] = parseRelayEvent(event(), { allowedOrgIds: ['00D5e000000KQ2e'] });
    expect(rest).toEqual([]);
    expect(n).toMatchObject({ crm: 'salesforce', portal: ORG, kind: 'OpportunityChangeEvent', occurredAt: new Date(1795273445000).toISOString() });
    expect(n?.payload).toMatchObject({ via: 'event-relay', object: 'Opportunity', changeType: 'UPDATE', recordId: '0065e00000AbCdEAAV', fields: { StageName: 'Closed Lost' } });
    const retried = parseRelayEvent({ ...event(), id: 'another-eventbridge-id', time: '2026-11-20T15:09:00Z' });
    expect(retried[0]?.id).toBe(n?.id);
  });

  it('fans out merged changes and skips wildcard record ids', () => {
    const e = event();
    const header = (e.detail as { payload: { ChangeEventHeader: { recordIds: string[] } } }).payload.ChangeEventHeader;
    header.recordIds = ['0065e00000AbCdEAAV', '0065e00000WoNdEAAV', '006*'];
    expect(parseRelayEvent(e).map((n) => (n.payload as { recordId: string }).recordId)).toEqual(['0065e00000AbCdEAAV', '0065e00000WoNdEAAV']);
  });

  it('refuses other orgs, platform events and mangled headers, naming the fields', () => {
    expect(() => parseRelayEvent(event(), { allowedOrgIds: ['00D000000000001AAA'] })).toThrow(RelayEventError);
    try {
      parseRelayEvent({ ...event(), 'detail-type': 'Carbon_Comparison__e', source: 'aws.partner/other', detail: { payload: { ChangeEventHeader: { recordIds: [] } } } });
      expect.unreachable();
    } catch (err) {
      expect((err as RelayEventError).issues.map((i) => i.path)).toEqual(
        expect.arrayContaining(['detail-type', 'source', 'detail.payload.ChangeEventHeader.entityName', 'detail.payload.ChangeEventHeader.recordIds']),
      );
    }
  });
});
