/**
 * Who may post to /webhooks/salesforce: a request carrying one of the configured tokens (in the
 * path, since Outbound Messages cannot add headers, or in X-Cultivate-Token, which a Named
 * Credential adds for flow callouts), from an org on the allow-list. The org id in the body is not a
 * secret, so it only narrows what the token already allowed. Never throws.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthResult, CrmRequest, CrmSettings } from '../types.ts';
import { canonicalId, idList } from './ids.ts';
import { SF } from './settings.ts';

const PATH_PREFIX = '/webhooks/salesforce/';
export const TOKEN_HEADER = 'x-cultivate-token';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Timing-safe over fixed-length digests; every configured token is compared, so timing does not tell which matched. */
export function tokenMatches(presented: string, configured: readonly string[]): boolean {
  const p = digest(presented);
  let ok = false;
  for (const token of configured) if (timingSafeEqual(p, digest(token)) && token.length > 0) ok = true;
  return ok;
}

export function tokenFromPath(pathAndQuery: string): string | undefined {
  const path = pathAndQuery.split(/[?#]/, 1)[0] ?? '';
  if (!path.startsWith(PATH_PREFIX)) return undefined;
  const segment = path.slice(PATH_PREFIX.length).replace(/\/+$/, '');
  if (!segment || segment.includes('/')) return undefined;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The org id the body claims, read cheaply (SOAP OrganizationId or flow JSON orgId); undefined when absent. */
export function claimedOrgId(raw: Uint8Array): string | undefined {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(raw.subarray(0, 300_000)).replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('<')) {
    const m = /<(?:[\w-]+:)?OrganizationId>\s*([A-Za-z0-9]{15,18})\s*<\//.exec(text);
    return m?.[1];
  }
  try {
    const json: unknown = JSON.parse(text);
    if (json && typeof json === 'object' && 'orgId' in json && typeof json.orgId === 'string') return json.orgId;
  } catch {
    // Not JSON: parse answers 400 with the reason.
  }
  return undefined;
}

export async function authenticateSalesforce(req: CrmRequest, settings: CrmSettings): Promise<AuthResult> {
  try {
    const tokens = ((await settings.get(SF.token)) ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t.length > 0);
    if (tokens.length === 0) return { ok: false, reason: `${SF.token} is empty` };
    const headerToken = req.header(TOKEN_HEADER)?.trim();
    const presented = headerToken || tokenFromPath(req.pathAndQuery);
    if (!presented) return { ok: false, reason: 'no token in the path or the X-Cultivate-Token header' };
    if (!tokenMatches(presented, tokens)) return { ok: false, reason: 'token does not match' };

    const allowed = idList(await settings.get(SF.orgIds));
    const claimed = claimedOrgId(req.raw);
    // Authentic but unreadable: let parse answer 400 naming the field (and the body is quarantined).
    if (claimed === undefined) return { ok: true };
    const org = canonicalId(claimed);
    if (!org || !allowed.includes(org)) return { ok: false, reason: 'organization not on the allow-list' };
    return { ok: true, portal: org };
  } catch {
    return { ok: false, reason: 'authentication failed' };
  }
}
