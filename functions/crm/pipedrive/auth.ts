/**
 * Pipedrive webhooks carry no signature: the webhook is created with `http_auth_user` and
 * `http_auth_password`, and Pipedrive sends them as HTTP Basic authentication on every delivery.
 * The credentials are compared timing-safe, as SHA-256 digests (equal length whatever was sent),
 * against every configured value, so rotation can keep the old and the new pair for a while.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthResult, CrmRequest } from '../types.ts';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** The `user:password` presented in an `Authorization: Basic ...` header, or why there is none. */
export function presentedCredentials(header: string | undefined): { ok: true; value: string } | { ok: false; reason: string } {
  if (!header) return { ok: false, reason: 'missing Authorization header' };
  const m = /^\s*basic\s+([A-Za-z0-9+/=_-]{1,2048})\s*$/i.exec(header);
  if (!m?.[1]) return { ok: false, reason: 'Authorization is not HTTP Basic' };
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  if (!decoded.includes(':')) return { ok: false, reason: 'malformed Basic credentials' };
  return { ok: true, value: decoded };
}

/** Accepts when the presented `user:password` equals any expected pair. Never throws. */
export function verifyBasicAuth(req: CrmRequest, expected: readonly string[]): AuthResult {
  let presented: ReturnType<typeof presentedCredentials>;
  try {
    presented = presentedCredentials(req.header('authorization'));
  } catch {
    return { ok: false, reason: 'unreadable Authorization header' };
  }
  if (!presented.ok) return presented;
  const candidate = digest(presented.value);
  let match = false;
  // Every expected value is compared, so the time taken does not say which one (or whether one) matched.
  for (const value of expected) if (value.length > 0 && timingSafeEqual(candidate, digest(value))) match = true;
  return match ? { ok: true } : { ok: false, reason: 'Basic credentials do not match' };
}
