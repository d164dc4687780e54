/**
 * Outbound Messages: SOAP 1.1 `notifications` (http://soap.sforce.com/2005/09/outbound) with up to
 * 100 `Notification` elements, and the exact acknowledgement Salesforce waits for (without it,
 * Salesforce retries the same notification ids for up to 24 hours). SOAP 1.1 forbids a DOCTYPE, so
 * any DTD is refused before parsing: no entity expansion, no external entities (XXE-safe).
 * Source: https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import type { Issue } from '../types.ts';

export const OUTBOUND_NS = 'http://soap.sforce.com/2005/09/outbound';

export const SOAP_ACK =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
  '<soapenv:Body>' +
  `<notificationsResponse xmlns="${OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>` +
  '</soapenv:Body>' +
  '</soapenv:Envelope>';

const sfId = z.string().regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/, 'must be a 15- or 18-character Salesforce id');
/** `<x xsi:nil="true"/>` parses as `{ "@_nil": "true" }`. */
const nil = z.strictObject({ '@_nil': z.literal('true') });
const fieldValue = z.union([z.string().max(131_072), nil]);

const SObject = z
  .record(z.string().regex(/^(?:@_type|[A-Za-z][A-Za-z0-9_]*)$/, 'must be a field API name'), z.union([fieldValue, z.string()]))
  .refine((o) => typeof o['@_type'] === 'string' && /^(?:[\w-]+:)?[A-Za-z][A-Za-z0-9_]*$/.test(o['@_type']), {
    message: 'needs xsi:type naming the object, e.g. sf:Opportunity',
    path: ['@xsi:type'],
  })
  .refine((o) => typeof o.Id === 'string' && /^[a-zA-Z0-9]{15,18}$/.test(o.Id), { message: 'needs sf:Id, the record id', path: ['Id'] });

/** The WSDL has been fixed since 2005, so the envelope's own elements are strict; sObject fields are the admin's choice. */
const Notifications = z.strictObject({
  OrganizationId: sfId,
  ActionId: sfId,
  SessionId: z.union([z.string(), nil]).optional(),
  EnterpriseUrl: z.string().max(2000),
  PartnerUrl: z.string().max(2000),
  Notification: z
    .array(z.strictObject({ Id: sfId, sObject: SObject }))
    .min(1, 'needs at least one Notification')
    .max(100, 'Salesforce sends at most 100 notifications per message'),
});

export interface OutboundRecord {
  notificationId: string;
  object: string;
  /** The sObject's fields as sent (strings; null for xsi:nil). */
  record: Record<string, string | null>;
}

export type SoapParse =
  | { ok: true; orgId: string; actionId: string; records: OutboundRecord[] }
  | { ok: false; error: string; issues: Issue[] };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Predefined and numeric character references only (&#13; is how Salesforce writes a CR); a DTD,
  // and with it any declared or external entity, never reaches the parser (refused below).
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => name === 'Notification',
});

const issuePath = (prefix: string, path: readonly PropertyKey[]) =>
  [prefix, ...path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))].join('').replace(/\.\[/g, '[');

function pick(o: unknown, key: string): unknown {
  return o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>)[key] : undefined;
}

export function parseOutboundMessage(xml: string): SoapParse {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) return { ok: false, error: 'a DOCTYPE is not allowed in SOAP', issues: [{ path: '(document)', message: 'DOCTYPE and ENTITY declarations are refused' }] };
  const valid = XMLValidator.validate(xml);
  if (valid !== true) return { ok: false, error: 'not well-formed XML', issues: [{ path: `(line ${valid.err.line}, column ${valid.err.col})`, message: valid.err.msg }] };
  let doc: unknown;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    return { ok: false, error: 'not well-formed XML', issues: [{ path: '(document)', message: (err as Error).message.slice(0, 200) }] };
  }
  const body = pick(pick(doc, 'Envelope'), 'Body');
  if (body === undefined) return { ok: false, error: 'not a SOAP envelope', issues: [{ path: 'Envelope.Body', message: 'expected a SOAP 1.1 Envelope with a Body' }] };
  const notifications = pick(body, 'notifications');
  if (notifications === undefined || !new RegExp(`<(?:[\\w-]+:)?notifications\\b[^>]*xmlns(?::[\\w-]+)?="${OUTBOUND_NS.replace(/[./]/g, '\\$&')}"`).test(xml))
    return { ok: false, error: 'not a Salesforce outbound message', issues: [{ path: 'Envelope.Body.notifications', message: `expected notifications in namespace ${OUTBOUND_NS}` }] };
  const parsed = Notifications.safeParse(notifications);
  if (!parsed.success)
    return {
      ok: false,
      error: 'not a valid Salesforce outbound message',
      issues: parsed.error.issues.map((i) => ({ path: issuePath('notifications', i.path), message: i.message })),
    };
  const records = parsed.data.Notification.map((n) => {
    const record: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(n.sObject)) if (k !== '@_type') record[k] = typeof v === 'string' ? v : null;
    const type = String(n.sObject['@_type']);
    return { notificationId: n.Id, object: type.slice(type.indexOf(':') + 1), record };
  });
  return { ok: true, orgId: parsed.data.OrganizationId, actionId: parsed.data.ActionId, records };
}
