/**
 * HubSpot's two delivery formats, validated with zod, split into notifications.
 *
 * - Webhook subscriptions (developers.hubspot.com/docs/api/webhooks, "Webhook payloads"): a JSON
 *   array of under 100 events. HubSpot adds fields over time (changeFlag, sourceId, objectTypeId,
 *   the merge and association fields), so each event is a loose object: the fields Cultivate reads
 *   are checked, the rest is kept as received. The documented example names the type `eventType`,
 *   live deliveries `subscriptionType`; either is accepted.
 * - Workflow "Send a webhook" actions: one JSON object with the record's properties, in a shape the
 *   admin chooses; Cultivate needs `hs_object_id` (see docs/crm/hubspot.md).
 */
import { z } from 'zod';
import { fnv1a32 } from '#domain/hash';
import type { CrmAnswer, CrmNotification, Issue, ParseResult } from '../types.ts';

const numericId = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,20}$/, 'must be a numeric id')])
  .transform(String);

const epochMs = z.number().int().nonnegative().max(8.64e15, 'must be a millisecond timestamp');

export const SubscriptionEvent = z
  .looseObject({
    eventId: numericId,
    subscriptionId: numericId,
    portalId: numericId,
    appId: numericId.optional(),
    occurredAt: epochMs,
    subscriptionType: z.string().min(1).max(100).optional(),
    eventType: z.string().min(1).max(100).optional(),
    attemptNumber: z.number().int().nonnegative(),
    objectId: numericId.optional(),
    objectTypeId: z.string().max(32).optional(),
    propertyName: z.string().max(200).optional(),
    propertyValue: z.union([z.string().max(65_536), z.number(), z.boolean(), z.null()]).optional(),
    changeSource: z.string().max(100).optional(),
  })
  .refine((e) => typeof e?.subscriptionType === 'string' || typeof e?.eventType === 'string', {
    message: 'subscriptionType (or eventType) is required',
    path: ['subscriptionType'],
    // Checked even when other fields are bad, so the 400 names every problem at once.
    when: (payload) => payload.value !== null && typeof payload.value === 'object',
  });
export type SubscriptionEvent = z.infer<typeof SubscriptionEvent>;

/** HubSpot documents batches of under 100 events. */
export const SubscriptionBatch = z.array(SubscriptionEvent).min(1, 'an empty delivery').max(100, 'more than 100 events in one delivery');

export const WorkflowBody = z.looseObject({
  hs_object_id: numericId,
  objectType: z.enum(['deal', 'contact', '0-3', '0-1']).optional(),
});
export type WorkflowBody = z.infer<typeof WorkflowBody>;

export const typeOf = (e: SubscriptionEvent): string => e.subscriptionType ?? e.eventType ?? 'unknown';

/** Stable across HubSpot's retries (which change only attemptNumber); eventId alone is documented as not unique, so subscription and object come along. */
export function subscriptionNotificationId(e: SubscriptionEvent): string {
  return `hubspot:${e.portalId}:${e.eventId}-${e.subscriptionId}-${e.objectId ?? 'none'}`;
}

/** Canonical JSON (sorted keys) so a retried workflow call with the same body hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

export function workflowObjectType(body: WorkflowBody): 'deal' | 'contact' {
  if (body.objectType === 'deal' || body.objectType === '0-3') return 'deal';
  if (body.objectType === 'contact' || body.objectType === '0-1') return 'contact';
  return 'dealstage' in body || 'pipeline' in body ? 'deal' : 'contact';
}

function instantOf(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const ms = typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) && ms > 0 && ms < 8.64e15 ? new Date(ms).toISOString() : undefined;
}

const issuesOf = (error: z.ZodError, prefix: string[] = []): Issue[] =>
  error.issues.map((i) => ({ path: [...prefix, ...i.path.map(String)].join('.') || '(body)', message: i.message }));

export function parseDelivery(json: unknown, auth: { portal?: string }, receivedAt: Date): ParseResult {
  try {
    if (Array.isArray(json)) {
      const parsed = SubscriptionBatch.safeParse(json);
      if (!parsed.success) return { ok: false, error: 'not a HubSpot webhook delivery', issues: issuesOf(parsed.error) };
      // The same event twice in one delivery is one notification: the inbox keeps one item per id.
      const byId = new Map<string, CrmNotification>();
      parsed.data.forEach((e, i) => {
        const id = subscriptionNotificationId(e);
        if (!byId.has(id)) byId.set(id, { id, crm: 'hubspot', portal: e.portalId, kind: typeOf(e), occurredAt: new Date(e.occurredAt).toISOString(), payload: json[i] });
      });
      return { ok: true, notifications: [...byId.values()] };
    }
    if (json !== null && typeof json === 'object') {
      const parsed = WorkflowBody.safeParse(json);
      const issues = parsed.success ? [] : issuesOf(parsed.error);
      if (!auth.portal) issues.push({ path: 'portalId', message: "add ?portalId=<HubSpot account id> to the workflow webhook's URL" });
      if (!parsed.success || !auth.portal) return { ok: false, error: 'not a HubSpot workflow webhook', issues };
      const type = workflowObjectType(parsed.data);
      const hash = fnv1a32(canonical(json)).toString(16).padStart(8, '0');
      const notification: CrmNotification = {
        id: `hubspot:${auth.portal}:wf-${type}-${parsed.data.hs_object_id}-${hash}`,
        crm: 'hubspot',
        portal: auth.portal,
        kind: `workflow.${type}`,
        occurredAt: instantOf((json as Record<string, unknown>).hs_lastmodifieddate) ?? receivedAt.toISOString(),
        payload: json,
      };
      return { ok: true, notifications: [notification] };
    }
    return { ok: false, error: 'not a HubSpot delivery', issues: [{ path: '(body)', message: 'expected a JSON array of events or a workflow object' }] };
  } catch {
    return { ok: false, error: 'not a HubSpot delivery', issues: [{ path: '(body)', message: 'could not be read' }] };
  }
}

/** HubSpot counts any 2xx within 5 seconds as delivered; the count helps when reading its logs. */
export function acceptedAnswer(notifications: readonly CrmNotification[]): CrmAnswer {
  return { status: 200, contentType: 'application/json', body: JSON.stringify({ accepted: notifications.length }) };
}
