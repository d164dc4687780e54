/**
 * Pipedrive's webhooks v2 delivery: one JSON object `{ meta, data, previous }` per event
 * (https://pipedrive.readme.io/docs/guide-for-webhooks-v2). The envelope is fixed, so it is strict
 * (a webhooks v1 body, with `v`, `current` and `event`, is refused by name); `meta` and the
 * objects gain fields over time, so they are tolerant. `meta.id` is the id of the event and stays
 * the same across Pipedrive's retries (only `meta.attempt` changes), so it is the dedupe key.
 */
import { z } from 'zod';
import { fnv1a32 } from '#domain/hash';
import type { CrmAnswer, CrmNotification, Issue, ParseResult } from '../types.ts';

/** Pipedrive sends ids as strings in v2 (`"8087566"`), some tools still as numbers. */
const idLike = z
  .union([z.string().trim().min(1).max(64), z.number().int().nonnegative()])
  .transform((v) => String(v))
  .refine((v) => /^[\w.:\-@]+$/.test(v), { message: 'must be an id (letters, digits and _.:-@)' });

/** ISO 8601 in most events; Unix seconds (a number, "10 character timestamp") in `user` events. */
const timestamp = z
  .union([z.string().min(1).max(40), z.number().positive()])
  .transform((v, ctx) => {
    const ms = typeof v === 'number' || /^\d{9,11}$/.test(v) ? Number(v) * 1000 : Date.parse(v);
    if (!Number.isFinite(ms) || Number.isNaN(new Date(ms).getTime())) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 instant or Unix seconds' });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  });

export const PipedriveMeta = z.looseObject({
  action: z.enum(['create', 'change', 'delete']),
  entity: z.string().min(1).max(64),
  entity_id: idLike,
  company_id: idLike,
  id: idLike,
  timestamp,
  version: z.literal('2.0', { message: 'must be "2.0" (create the webhook with version 2.0)' }),
  user_id: idLike.nullish(),
  attempt: z.number().int().min(1).max(10).optional(),
  change_source: z.string().max(32).optional(),
  is_bulk_edit: z.boolean().optional(),
});
export type PipedriveMeta = z.infer<typeof PipedriveMeta>;

const objectOrNull = z.record(z.string(), z.unknown()).nullable();

export const PipedriveWebhook = z
  .strictObject({ meta: PipedriveMeta, data: objectOrNull, previous: objectOrNull.optional() })
  .superRefine((body, ctx) => {
    if (body.meta.action !== 'delete' && body.data === null) ctx.addIssue({ code: 'custom', path: ['data'], message: `must be an object for a ${body.meta.action} event` });
  });
export type PipedriveWebhook = z.infer<typeof PipedriveWebhook>;

/** The notification id: `pipedrive:<company>:<event id>`, stable across retries. */
export function notificationId(meta: PipedriveMeta): string {
  // `user` events carry the user id as `meta.id`, not an event id: the time tells two changes apart.
  const eventId = meta.entity === 'user' ? `${meta.id}@${Date.parse(meta.timestamp) / 1000}` : meta.id;
  const id = `pipedrive:${meta.company_id}:${eventId}`;
  // Leave room for the `:<person>:<suffix>` the catalog event ids add (128 characters at most).
  return id.length <= 80 ? id : `pipedrive:${meta.company_id.slice(0, 32)}:h${fnv1a32(eventId).toString(36)}${eventId.length.toString(36)}`;
}

const pathOf = (path: readonly PropertyKey[]) => path.map(String).join('.') || '(body)';

/** One issue per field; an unexpected top-level key is named itself (a webhooks v1 body has `v`, `current`, `event`). */
function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: pathOf([...i.path, k]), message: 'not a field of a webhooks v2 delivery (is the webhook version 1.0?)' }))
      : [{ path: pathOf(i.path), message: i.message }],
  );
}

/** Pure: validates one delivery and makes it one notification. Never throws. */
export function parsePipedriveWebhook(json: unknown, receivedAt: Date): ParseResult {
  try {
    const parsed = PipedriveWebhook.safeParse(json);
    if (!parsed.success) return { ok: false, error: 'not a Pipedrive webhooks v2 delivery', issues: issuesOf(parsed.error) };
    const { meta } = parsed.data;
    const notification: CrmNotification = {
      id: notificationId(meta),
      crm: 'pipedrive',
      portal: meta.company_id,
      kind: `${meta.action}.${meta.entity}`,
      occurredAt: meta.timestamp ?? receivedAt.toISOString(),
      payload: json,
    };
    return { ok: true, notifications: [notification] };
  } catch (err) {
    return { ok: false, error: 'not a Pipedrive webhooks v2 delivery', issues: [{ path: '(body)', message: (err as Error).message.slice(0, 200) }] };
  }
}

/** Pipedrive accepts any 2XX; 202 and the count, as the generic webhook answers. */
export function acceptedAnswer(notifications: readonly CrmNotification[]): CrmAnswer {
  return { status: 202, contentType: 'application/json', body: JSON.stringify({ accepted: notifications.length }) };
}
