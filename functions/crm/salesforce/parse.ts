/**
 * `parse` for POST /webhooks/salesforce: an Outbound Message (SOAP XML) or a flow callout (JSON),
 * split into one notification per record. Pure. The shared ingest hands over the body as it has it:
 * raw bytes, text, or JSON it already parsed; XML is recognised by its first character.
 */
import { z } from 'zod';
import type { CrmNotification, Issue, ParseResult } from '../types.ts';
import { FlowBody } from './flow.ts';
import { canonicalId } from './ids.ts';
import { parseOutboundMessage } from './soap.ts';

export interface OutboundMessagePayload {
  via: 'outbound-message';
  actionId: string;
  object: string;
  record: Record<string, string | null>;
}
export interface FlowPayload {
  via: 'flow';
  body: FlowBody;
}

const ISO = z.iso.datetime({ offset: true });
const isoOr = (value: unknown, fallback: Date): string => {
  if (typeof value === 'string' && ISO.safeParse(value).success) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return new Date(t).toISOString();
  }
  return fallback.toISOString();
};

const fail = (error: string, issues: Issue[]): ParseResult => ({ ok: false, error, issues });

function asText(input: unknown): string | undefined {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return new TextDecoder('utf-8', { fatal: false }).decode(input);
  return undefined;
}

/** The org in the body must be the one authenticate checked against the allow-list. */
function orgCheck(bodyOrg: string, path: string, auth: { portal?: string }): Issue | string {
  const org = canonicalId(bodyOrg);
  if (!org) return { path, message: 'must be a Salesforce org id' };
  if (!auth.portal) return { path, message: 'the org id was not verified against the allow-list' };
  if (canonicalId(auth.portal) !== org) return { path, message: 'does not match the authenticated org' };
  return org;
}

function parseXml(xml: string, auth: { portal?: string }, receivedAt: Date): ParseResult {
  const soap = parseOutboundMessage(xml);
  if (!soap.ok) return soap;
  const org = orgCheck(soap.orgId, 'notifications.OrganizationId', auth);
  if (typeof org !== 'string') return fail('organization mismatch', [org]);
  const notifications: CrmNotification[] = soap.records.map((r) => {
    const payload: OutboundMessagePayload = { via: 'outbound-message', actionId: soap.actionId, object: r.object, record: r.record };
    return {
      id: `salesforce:${org}:${r.notificationId}`,
      crm: 'salesforce',
      portal: org,
      kind: r.object,
      occurredAt: isoOr(r.record.LastModifiedDate ?? r.record.SystemModstamp, receivedAt),
      payload,
    };
  });
  return { ok: true, notifications };
}

function parseFlow(json: unknown, auth: { portal?: string }, receivedAt: Date): ParseResult {
  const parsed = FlowBody.safeParse(json);
  if (!parsed.success) return fail('not a Cultivate Salesforce flow callout', parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })));
  const body = parsed.data;
  const org = orgCheck(body.orgId, 'orgId', auth);
  if (typeof org !== 'string') return fail('organization mismatch', [org]);
  const payload: FlowPayload = { via: 'flow', body };
  return {
    ok: true,
    notifications: [
      {
        id: `salesforce:${org}:flow:${body.eventId}`,
        crm: 'salesforce',
        portal: org,
        kind: `flow.${body.object}`,
        occurredAt: isoOr(body.occurredAt ?? body.record.LastModifiedDate, receivedAt),
        payload,
      },
    ],
  };
}

export function parseSalesforce(input: unknown, auth: { portal?: string }, receivedAt: Date): ParseResult {
  try {
    const text = asText(input);
    if (text !== undefined) {
      const trimmed = text.replace(/^\uFEFF/, '').trimStart();
      if (trimmed.startsWith('<')) return parseXml(trimmed, auth, receivedAt);
      let json: unknown;
      try {
        json = JSON.parse(trimmed);
      } catch {
        return fail('neither a SOAP outbound message nor JSON', [{ path: '(body)', message: 'expected SOAP XML or a JSON flow callout' }]);
      }
      return parseFlow(json, auth, receivedAt);
    }
    return parseFlow(input, auth, receivedAt);
  } catch (err) {
    // Nothing a client sends may become a 500: anything unforeseen is a 400 naming the body.
    return fail('unreadable body', [{ path: '(body)', message: (err as Error).message?.slice(0, 200) ?? 'unreadable' }]);
  }
}
