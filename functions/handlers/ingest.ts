/**
 * Webhook ingest: verify over the raw bytes, validate against the catalog, park the payload in
 * the inbox (claim check), publish references to the bus. Answers like a webhook endpoint should:
 * 202 accepted, 401 bad signature, 400 naming every bad field, 413 too large, 503 when the bus
 * refuses (so the CRM retries). Nothing rejected reaches the bus.
 */
import type { z } from 'zod';
import { type InboundEnvelope, type InboundEvent, webhookSchemaFor } from '#catalog/events';
import { EventSources } from '#catalog/routing';
import { namespacedCrmId, namespacedEventId } from '#domain/identity';
import { clampToNow } from '#domain/relationship';
import { type Clock, type EventPublisher, type InboxStore, type KeyedHasher, type Logger, PublishError, type Quarantine } from '#ports/ports';
import { SIGNATURE_HEADER, verifySignature } from '#shared/hmac';

export const MAX_BODY_BYTES = 256 * 1024;

export interface IngestDeps {
  clock: Clock;
  /** Wall clock for signature freshness (the local clock may be simulated). */
  wallClock: Clock;
  webhookSecrets: () => Promise<readonly string[]>;
  hasher: () => Promise<KeyedHasher>;
  inbox: InboxStore;
  publisher: EventPublisher;
  logger: Logger;
  /** Authentic but not understood: kept here (and the CRM still gets its 400). */
  quarantine?: Quarantine;
}

export interface WebhookRequest {
  raw: Uint8Array;
  header(name: string): string | undefined;
}

export interface WebhookResponse {
  status: 202 | 400 | 401 | 413 | 503;
  body: { accepted: number } | { error: string; issues?: { path: string; message: string }[]; quarantineId?: string };
}

export function issuesOf(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
}

export async function ingestGenericWebhook(deps: IngestDeps, req: WebhookRequest): Promise<WebhookResponse> {
  if (req.raw.byteLength > MAX_BODY_BYTES) {
    return { status: 413, body: { error: `body is ${req.raw.byteLength} bytes; the limit is ${MAX_BODY_BYTES}` } };
  }
  const check = verifySignature(
    req.header(SIGNATURE_HEADER),
    req.raw,
    await deps.webhookSecrets(),
    Math.floor(deps.wallClock.now().getTime() / 1000),
  );
  if (!check.ok) {
    deps.logger.warn('webhook refused', { reason: check.reason, status: 401 });
    return { status: 401, body: { error: check.reason } };
  }
  // From here on the request is authentic: what cannot be processed is kept, never dropped.
  const reject = async (error: string, issues: { path: string; message: string }[]): Promise<WebhookResponse> => {
    const paths = issues.map((i) => i.path);
    if (!deps.quarantine) return { status: 400, body: { error, issues } };
    try {
      const quarantineId = await deps.quarantine.keep({ source: 'generic', reason: error, paths, raw: req.raw, receivedAt: deps.clock.now() });
      deps.logger.warn('authentic webhook rejected and quarantined', { status: 400, paths, quarantineId, metric: 'WebhookQuarantined' });
      return { status: 400, body: { error, issues, quarantineId } };
    } catch (err) {
      // Could not keep it: ask the CRM to send it again rather than lose it.
      deps.logger.error('quarantine failed; asking the CRM to retry', { error: (err as Error).name, status: 503 });
      return { status: 503, body: { error: 'the request could not be kept for review right now; retry later' } };
    }
  };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(req.raw));
  } catch {
    return reject('body is not valid UTF-8 JSON', [{ path: '(body)', message: 'not JSON' }]);
  }
  const parsed = webhookSchemaFor(json).safeParse(json);
  if (!parsed.success) return reject('the body does not match the event catalog', issuesOf(parsed.error));
  const events: InboundEvent[] = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const hasher = await deps.hasher();
  const receivedAt = deps.clock.now();
  const envelopes = events.map((e) => envelopeFor(e, 'generic', EventSources.ingestGeneric, hasher, receivedAt));

  await deps.inbox.putMany(events.map((event, i) => ({ key: (envelopes[i] as InboundEnvelope).inboxKey, event })));
  try {
    await deps.publisher.publish(envelopes.map((detail) => ({ source: EventSources.ingestGeneric, detailType: detail.type, detail })));
  } catch (err) {
    if (!(err instanceof PublishError)) throw err;
    deps.logger.error('bus refused events; asking the CRM to retry', { failed: err.failed, status: 503 });
    return { status: 503, body: { error: 'the event bus is not accepting events right now; retry later' } };
  }
  deps.logger.info('webhook accepted', { accepted: events.length, types: [...new Set(events.map((e) => e.type))] });
  return { status: 202, body: { accepted: events.length } };
}

export function envelopeFor(
  event: InboundEvent,
  crm: string,
  source: string,
  hasher: KeyedHasher,
  receivedAt: Date,
  portal = 'default',
): InboundEnvelope {
  const id = namespacedEventId(crm, event.id);
  return {
    id,
    type: event.type,
    occurredAt: clampToNow(event.occurredAt, receivedAt),
    receivedAt: receivedAt.toISOString(),
    source,
    identity: {
      ...(event.contact.email && { emailHash: hasher.emailHash(event.contact.email) }),
      crmIds: event.contact.externalId ? [namespacedCrmId(crm, portal, event.contact.externalId)] : [],
    },
    ...(event.contact.accountId && { accountId: event.contact.accountId }),
    inboxKey: id,
  };
}
