/** Keyed hashing and webhook signatures over raw bytes, with node:crypto only. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { normalizeEmail } from '#domain/identity';
import type { KeyedHasher } from '#ports/ports';

export function createKeyedHasher(key: string): KeyedHasher {
  const h = (value: string) => createHmac('sha256', key).update(value, 'utf8').digest('base64url');
  return {
    emailHash: (email) => h(`email:${normalizeEmail(email)}`),
    crmHash: (crmId) => h(`crm:${crmId}`),
  };
}

/** The local stack's default secret, printed at start; never used on AWS (Secrets Manager holds the real one). */
export const LOCAL_DEFAULT_WEBHOOK_SECRET = 'cultivate-local-webhook-secret';

export const SIGNATURE_HEADER = 'cultivate-signature';
export const SIGNATURE_TOLERANCE_SECONDS = 300;

function hmacHex(secret: string, t: string, raw: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${t}.`, 'utf8').update(raw).digest();
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` */
export function signBody(secret: string, raw: Uint8Array, unixSeconds: number): string {
  const t = String(Math.floor(unixSeconds));
  return `t=${t},v1=${hmacHex(secret, t, raw).toString('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Accepts if any v1 matches any current secret (rotation on both sides), within the tolerance of
 * the wall clock. Every comparison is timing-safe over equal-length digests.
 */
export function verifySignature(
  header: string | undefined,
  raw: Uint8Array,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): SignatureCheck {
  if (!header) return { ok: false, reason: 'missing Cultivate-Signature header' };
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const [k, v] = part.trim().split('=', 2);
    if (k === 't' && v && /^\d{1,12}$/.test(v)) t = v;
    else if (k === 'v1' && v && /^[0-9a-f]{64}$/i.test(v)) v1.push(Buffer.from(v, 'hex'));
  }
  if (t === undefined || v1.length === 0) return { ok: false, reason: 'malformed Cultivate-Signature header' };
  if (Math.abs(nowSeconds - Number(t)) > toleranceSeconds) return { ok: false, reason: 'signature timestamp outside the tolerance' };
  let match = false;
  for (const secret of secrets) {
    const expected = hmacHex(secret, t, raw);
    for (const candidate of v1) if (timingSafeEqual(expected, candidate)) match = true;
  }
  return match ? { ok: true } : { ok: false, reason: 'signature does not match' };
}

/** A secret value may hold several keys during rotation: a plain string, or JSON {"current","previous"} / an array. */
export function secretValues(raw: string): string[] {
  const trimmed = raw.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      const values = Array.isArray(parsed) ? parsed : Object.values(parsed as Record<string, unknown>);
      const strings = values.filter((v): v is string => typeof v === 'string' && v.length > 0);
      if (strings.length > 0) return strings;
    } catch {
      // not JSON after all: a plain secret that starts with a brace
    }
  }
  return [trimmed];
}
