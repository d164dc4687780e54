/**
 * HubSpot request signature v3 (developers.hubspot.com/docs/api/webhooks/validating-requests):
 * base64(HMAC-SHA256(clientSecret, method + uri + body + timestamp)), in `X-HubSpot-Signature-v3`,
 * with `X-HubSpot-Request-Timestamp` in milliseconds. HubSpot signs the URL it called, so the URI
 * is rebuilt from the configured public base URL and the request's path and query, with the
 * URL-encoded characters HubSpot decodes before signing decoded the same way.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthResult, CrmRequest } from '../types.ts';

/** Requests older than this (or this far in the future) are refused: HubSpot's own rule for v3. */
export const MAX_SKEW_MS = 5 * 60 * 1000;

/** HubSpot's table of encodings decoded in the URI before signing (and only these). */
const DECODED: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

/** Applies HubSpot's decoding table; hex digits are matched in either case since proxies may re-case them. */
export function decodeSignedUri(uri: string): string {
  return uri.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODED[m.toUpperCase()] ?? m);
}

/** The URI HubSpot signed: the public base (origin and any prefix) joined to the path and query as received. */
export function signedUri(publicBaseUrl: string, pathAndQuery: string): string {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const path = pathAndQuery.startsWith('/') ? pathAndQuery : `/${pathAndQuery}`;
  return decodeSignedUri(base + path);
}

export function signV3(secret: string, method: string, uri: string, raw: Uint8Array, timestamp: string): string {
  return createHmac('sha256', secret)
    .update(`${method.toUpperCase()}${uri}`, 'utf8')
    .update(raw)
    .update(timestamp, 'utf8')
    .digest('base64');
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `portalId` in the query names the account for workflow webhooks, whose body does not. */
function portalFromQuery(pathAndQuery: string): string | undefined {
  const q = pathAndQuery.indexOf('?');
  if (q < 0) return undefined;
  const value = new URLSearchParams(pathAndQuery.slice(q + 1)).get('portalId');
  return value && /^\d{1,20}$/.test(value) ? value : undefined;
}

export interface SignatureKeys {
  secrets: readonly string[];
  publicBaseUrl: string | undefined;
}

/** Never throws: every failure is a reason (ids and words only, no header values). */
export function verifyV3(req: CrmRequest, now: Date, keys: SignatureKeys): AuthResult {
  try {
    const signature = req.header('x-hubspot-signature-v3');
    const timestamp = req.header('x-hubspot-request-timestamp');
    if (!signature) return { ok: false, reason: 'missing X-HubSpot-Signature-v3' };
    if (!timestamp) return { ok: false, reason: 'missing X-HubSpot-Request-Timestamp' };
    if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: 'X-HubSpot-Request-Timestamp is not milliseconds' };
    const skew = now.getTime() - Number(timestamp);
    if (skew > MAX_SKEW_MS) return { ok: false, reason: 'stale: request timestamp older than 5 minutes' };
    if (skew < -MAX_SKEW_MS) return { ok: false, reason: 'request timestamp more than 5 minutes in the future' };
    if (!keys.publicBaseUrl) return { ok: false, reason: 'CULTIVATE_PUBLIC_BASE_URL is not set: the signed URI cannot be rebuilt' };
    if (keys.secrets.length === 0) return { ok: false, reason: 'no HubSpot client secret configured' };
    const uri = signedUri(keys.publicBaseUrl, req.pathAndQuery);
    let match = false;
    // Every secret is tried (no early exit), so timing does not tell which one matched.
    for (const secret of keys.secrets) if (equalText(signV3(secret, req.method, uri, req.raw, timestamp), signature.trim())) match = true;
    if (!match) return { ok: false, reason: 'signature does not match' };
    const portal = portalFromQuery(req.pathAndQuery);
    return portal ? { ok: true, portal } : { ok: true };
  } catch {
    return { ok: false, reason: 'signature could not be verified' };
  }
}

export const splitSecrets = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
