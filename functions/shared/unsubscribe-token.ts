/**
 * Unsubscribe tokens: signed, carrying the relationship id, the touch and its topic, never an
 * address. base64url(JSON) + "." + base64url(HMAC-SHA256), compared timing-safe.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

const Payload = z.object({ r: z.string().max(80), t: z.string().max(128), p: z.string().max(64).optional() }).strict();
export type UnsubscribePayload = { relationshipId: string; touchId: string; topic?: string };

function mac(key: string, body: string): Buffer {
  return createHmac('sha256', key).update(`unsubscribe.${body}`, 'utf8').digest();
}

export function signUnsubscribeToken(key: string, payload: UnsubscribePayload): string {
  const body = Buffer.from(JSON.stringify({ r: payload.relationshipId, t: payload.touchId, ...(payload.topic && { p: payload.topic }) }), 'utf8').toString('base64url');
  return `${body}.${mac(key, body).toString('base64url')}`;
}

export function verifyUnsubscribeToken(keys: readonly string[], token: string): UnsubscribePayload | undefined {
  const [body, sig, extra] = token.split('.');
  if (!body || !sig || extra !== undefined || token.length > 1024) return undefined;
  const given = Buffer.from(sig, 'base64url');
  const ok = keys.some((k) => {
    const expected = mac(k, body);
    return expected.length === given.length && timingSafeEqual(expected, given);
  });
  if (!ok) return undefined;
  try {
    const p = Payload.parse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
    return { relationshipId: p.r, touchId: p.t, ...(p.p && { topic: p.p }) };
  } catch {
    return undefined;
  }
}
