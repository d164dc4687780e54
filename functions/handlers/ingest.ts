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
  const body = parseGenericBody(req.raw);
  if (!body.ok) return reject(body.error, body.issues);
  try {
    await publishInboundEvents(deps, body.events, { crm: 'generic', source: EventSources.ingestGeneric, receivedAt: deps.clock.now() });
  } catch (err) {
    // Not kept or not published (the bus after retries, the inbox write, the hashing key): the CRM retries.
    const failed = err instanceof PublishError ? { failed: err.failed } : {};
    deps.logger.error('could not keep or publish events; asking the CRM to retry', { error: (err as Error).name, ...failed, status: 503 });
    const busDown = err instanceof PublishError;
    return { status: 503, body: { error: busDown ? 'the event bus is not accepting events right now; retry later' : 'the request could not be kept right now; retry later' } };
  }
  deps.logger.info('webhook accepted', { accepted: body.events.length, types: [...new Set(body.events.map((e) => e.type))] });
  return { status: 202, body: { accepted: body.events.length } };
}

/** The generic webhook's body: one catalog event or an array. Shared by live requests and quarantine replays. */
export function parseGenericBody(raw: Uint8Array): { ok: true; events: InboundEvent[] } | { ok: false; error: string; issues: { path: string; message: string }[] } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    return { ok: false, error: 'body is not valid UTF-8 JSON', issues: [{ path: '(body)', message: 'not JSON' }] };
  }
  const parsed = webhookSchemaFor(json).safeParse(json);
  if (!parsed.success) return { ok: false, error: 'the body does not match the event catalog', issues: issuesOf(parsed.error) };
  return { ok: true, events: Array.isArray(parsed.data) ? parsed.data : [parsed.data] };
}

/**
 * The claim check for catalog events: each payload waits in the inbox, the bus carries its
 * envelope (ids, hashes, no personal data). Throws PublishError when the bus refuses after retries.
 */
export async function publishInboundEvents(
  deps: { hasher: () => Promise<KeyedHasher>; inbox: InboxStore; publisher: EventPublisher },
  events: readonly InboundEvent[],
  from: { crm: string; source: string; receivedAt: Date; portal?: string },
): Promise<void> {
  if (events.length === 0) return;
  const hasher = await deps.hasher();
  const envelopes = events.map((e) => envelopeFor(e, from.crm, from.source, hasher, from.receivedAt, from.portal));
  await deps.inbox.putMany(events.map((event, i) => ({ key: (envelopes[i] as InboundEnvelope).inboxKey, event })));
  await deps.publisher.publish(envelopes.map((detail) => ({ source: from.source, detailType: detail.type, detail })));
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
