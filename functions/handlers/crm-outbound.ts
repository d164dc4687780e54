/**
 * The way back to the CRM: tasks, re-engagement briefs, retirements and consent changes. For the
 * generic CRM the message is a signed JSON webhook (the same signature scheme as inbound); the
 * local stack records it at GET /local/outbound. Delivery is made idempotent on the cause, since a
 * redelivered bus event must not create a second task in the CRM.
 */
import { internalDetail, type InternalType } from '#catalog/events';
import type { Clock, Logger } from '#ports/ports';
import { signBody } from '#shared/hmac';

export interface OutboundMessage {
  /** Dedupe key: the same cause never reaches the CRM twice. */
  key: string;
  type: InternalType;
  at: string;
  relationshipId: string;
  crmIds: string[];
  owner?: string;
  payload: Record<string, unknown>;
}

export interface CrmOutboundPort {
  deliver(message: OutboundMessage): Promise<void>;
}

export interface CrmOutboundDeps {
  clock: Clock;
  logger: Logger;
  /** The idempotent delivery (wrapped by Powertools idempotency where it runs). */
  deliver: (message: OutboundMessage) => Promise<unknown>;
}

const OUTBOUND_TYPES = new Set<string>(['task-assigned', 'relationship-re-engaged', 'relationship-retired', 'consent-changed', 'reply-forwarded']);

export function outboundMessageOf(detailType: string, detail: unknown, at: string): OutboundMessage {
  if (!OUTBOUND_TYPES.has(detailType)) throw new Error(`not an outbound detail-type: ${detailType}`);
  const type = detailType as InternalType;
  const parsed = internalDetail[type].parse(detail) as Record<string, unknown> & {
    relationshipId: string;
    crmIds?: string[];
    owner?: string;
    causeId?: string;
    touchId?: string;
    messageKey?: string;
  };
  const cause = parsed.messageKey ?? parsed.touchId ?? parsed.causeId ?? at;
  return {
    key: `${type}:${parsed.relationshipId}:${cause}`,
    type,
    at,
    relationshipId: parsed.relationshipId,
    crmIds: parsed.crmIds ?? [],
    ...(parsed.owner && { owner: parsed.owner }),
    payload: parsed,
  };
}

export async function handleCrmOutbound(deps: CrmOutboundDeps, event: { 'detail-type': string; detail: unknown; time?: string }): Promise<void> {
  const message = outboundMessageOf(event['detail-type'], event.detail, event.time ?? deps.clock.now().toISOString());
  await deps.deliver(message);
  deps.logger.info('delivered to the CRM side', { type: message.type, relationshipId: message.relationshipId });
}

/** Generic CRM: POST the message, signed, to a configured URL. Throws on failure so the path retries, then dead-letters. */
export function signedWebhookOutbound(url: string, secret: () => Promise<string>, wallClock: Clock): CrmOutboundPort {
  return {
    async deliver(message) {
      const body = new TextEncoder().encode(JSON.stringify(message));
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'cultivate-signature': signBody(await secret(), body, wallClock.now().getTime() / 1000),
          'idempotency-key': message.key,
        },
        body,
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`CRM outbound webhook answered ${res.status}`);
    },
  };
}
