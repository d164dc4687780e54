/**
 * The webhook front door for every CRM adapter: what is the same for HubSpot, Salesforce and
 * Pipedrive lives here, so each adapter only says how its CRM authenticates and what its delivery
 * looks like. Answers: 413 over 256 KB, 401 for bad or stale authentication, 400 naming every bad
 * field (and the authentic body kept in quarantine), 503 when nothing could be kept or published
 * (the CRM retries), the adapter's own acknowledgement otherwise. Never a 500 for anything a
 * client sends: an adapter that throws is logged and answered as a refusal.
 *
 * Each notification's payload waits in the inbox (it may hold personal data) and the bus carries a
 * `crm-notification` reference; the normaliser (`normalise.ts`) does the CRM API lookups behind
 * the bus, where their rate limits and retries belong and the CRM's delivery is answered at once.
 */
import type { InternalDetail } from '#catalog/events';
import { EventSources } from '#catalog/routing';
import { MAX_BODY_BYTES } from '#handlers/ingest';
import { type Clock, type EventPublisher, type Logger, type NotificationInbox, PublishError, type Quarantine } from '#ports/ports';
import type { CrmAnswer, CrmInboundAdapter, CrmNotification, CrmRequest, Issue } from './types.ts';

export interface CrmIngestDeps {
  clock: Clock;
  /** Wall clock for signature freshness (the local clock may be simulated). */
  wallClock: Clock;
  inbox: NotificationInbox;
  publisher: EventPublisher;
  logger: Logger;
  quarantine: Quarantine;
}

export const json = (status: number, body: unknown): CrmAnswer => ({ status, contentType: 'application/json', body: JSON.stringify(body) });

/** The `crm-notification` reference for a kept notification: ids only. */
export function notificationDetail(n: CrmNotification, receivedAt: Date): InternalDetail<'crm-notification'> {
  return { id: n.id, crm: n.crm, portal: n.portal, kind: n.kind.slice(0, 100), occurredAt: n.occurredAt, receivedAt: receivedAt.toISOString(), inboxKey: n.id };
}

/** Keeps the notifications and publishes their references; throws PublishError when the bus refuses after retries. */
export async function keepAndPublish(deps: Pick<CrmIngestDeps, 'inbox' | 'publisher'>, notifications: readonly CrmNotification[], receivedAt: Date): Promise<void> {
  if (notifications.length === 0) return;
  await deps.inbox.putNotifications(notifications.map((n) => ({ key: n.id, notification: n })));
  await deps.publisher.publish(
    notifications.map((n) => ({ source: EventSources.crmNotifications, detailType: 'crm-notification', detail: notificationDetail(n, receivedAt) })),
  );
}

/** The parse step shared by live deliveries and quarantine replays: the body as the adapter expects it. */
export function decodeBody(raw: Uint8Array): { ok: true; body: unknown } | { ok: false } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return { ok: false };
  }
  try {
    return { ok: true, body: JSON.parse(text) as unknown };
  } catch {
    return { ok: true, body: text };
  }
}

export async function ingestCrmWebhook(deps: CrmIngestDeps, adapter: CrmInboundAdapter, req: CrmRequest): Promise<CrmAnswer> {
  const crm = adapter.crm;
  if (req.raw.byteLength > MAX_BODY_BYTES) return json(413, { error: `body is ${req.raw.byteLength} bytes; the limit is ${MAX_BODY_BYTES}` });

  let auth;
  try {
    auth = await adapter.authenticate(req, deps.wallClock.now());
  } catch (err) {
    deps.logger.error('CRM authentication threw; refusing the request', { crm, error: (err as Error).name });
    auth = { ok: false as const, reason: 'the request could not be authenticated' };
  }
  if (!auth.ok) {
    deps.logger.warn('CRM webhook refused', { crm, reason: auth.reason, status: 401 });
    return json(401, { error: auth.reason });
  }

  // Authentic from here on: what cannot be processed is kept, never dropped.
  const receivedAt = deps.clock.now();
  const reject = async (error: string, issues: Issue[]): Promise<CrmAnswer> => {
    const paths = issues.map((i) => i.path);
    try {
      const quarantineId = await deps.quarantine.keep({ source: crm, kind: 'webhook', reason: error, paths, raw: req.raw, receivedAt, ...(auth.portal && { portal: auth.portal }) });
      deps.logger.warn('authentic CRM webhook rejected and quarantined', { crm, status: 400, paths, quarantineId, metric: 'WebhookQuarantined' });
      return json(400, { error, issues, quarantineId });
    } catch (err) {
      deps.logger.error('quarantine failed; asking the CRM to retry', { crm, error: (err as Error).name, status: 503 });
      return json(503, { error: 'the request could not be kept for review right now; retry later' });
    }
  };

  const decoded = decodeBody(req.raw);
  if (!decoded.ok) return reject('body is not valid UTF-8', [{ path: '(body)', message: 'not UTF-8' }]);
  let parsed;
  try {
    parsed = adapter.parse(decoded.body, auth, receivedAt);
  } catch (err) {
    deps.logger.error('CRM adapter parse threw', { crm, error: (err as Error).name });
    parsed = { ok: false as const, error: `the body is not a ${crm} delivery Cultivate understands`, issues: [{ path: '(body)', message: 'unreadable' }] };
  }
  if (!parsed.ok) return reject(parsed.error, parsed.issues);

  try {
    await keepAndPublish(deps, parsed.notifications, receivedAt);
  } catch (err) {
    // Not kept or not published (the bus after retries, or the inbox write): the CRM retries.
    const failed = err instanceof PublishError ? { failed: err.failed } : {};
    deps.logger.error('could not keep or publish CRM notifications; asking the CRM to retry', { crm, error: (err as Error).name, ...failed, status: 503 });
    return json(503, { error: 'the request could not be kept right now; retry later' });
  }
  deps.logger.info('CRM webhook accepted', { crm, notifications: parsed.notifications.length, kinds: [...new Set(parsed.notifications.map((n) => n.kind))] });
  return adapter.accepted(parsed.notifications);
}
