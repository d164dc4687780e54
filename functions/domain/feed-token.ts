/**
 * Feed tokens (docs/adr/0006): a per-consumer capability to read the metrics under `/feeds`.
 *
 *   token = "cvt_" <id> "_" <secret>
 *   id     = 16 lower-case hex characters (8 random bytes): names the stored record, not secret
 *   secret = 32 random bytes, base64url without padding (43 characters)
 *
 * Only SHA-256 of the secret is stored (hex). A plain hash is enough, no KDF or key: the secret is
 * 256 random bits, so nothing is gained by slowing a guess down, and the table alone lets no one
 * rebuild a working token. The id lets verification read one item rather than compare against all.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const FEED_TOKEN_PREFIX = 'cvt_';
const ID_BYTES = 8;
const SECRET_BYTES = 32;
const TOKEN_RE = /^cvt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const FEED_TOKEN_ID_RE = /^[0-9a-f]{16}$/;

/** What a consumer is called ("slack-leadership", "board deck 2026"): a label, not a person's name. */
export const FEED_TOKEN_NAME_MAX = 64;
export const FEED_TOKEN_NAME_RE = /^[A-Za-z0-9._-](?:[A-Za-z0-9 ._-]*[A-Za-z0-9._-])?$/;
export const FEED_TOKEN_MAX_DAYS = 3650;

/** The stored record. `secretHash` never leaves the adapter and the verifier. */
export interface FeedTokenRecord {
  id: string;
  name: string;
  /** SHA-256 of the secret, lower-case hex. */
  secretHash: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  /** The JWT subject of whoever created it, when there was one (AWS). */
  createdBy?: string;
}

/** What a listing shows: everything but the hash. */
export type FeedTokenInfo = Omit<FeedTokenRecord, 'secretHash'>;

export type FeedTokenStatus = 'active' | 'revoked' | 'expired';

export interface IssuedFeedToken {
  /** The whole token, shown once to whoever created it. */
  token: string;
  record: FeedTokenRecord;
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret, 'utf8').digest('hex');

export function formatFeedToken(id: string, secret: string): string {
  return `${FEED_TOKEN_PREFIX}${id}_${secret}`;
}

/** The id and secret of a well-formed token; undefined for anything else. */
export function parseFeedToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1] as string, secret: m[2] as string } : undefined;
}

/** A new token for a consumer; `random` is node:crypto's unless a test gives its own bytes. */
export function issueFeedToken(
  input: { name: string; now: Date; expiresInDays?: number; createdBy?: string },
  random: (bytes: number) => Buffer = randomBytes,
): IssuedFeedToken {
  const id = random(ID_BYTES).toString('hex');
  const secret = random(SECRET_BYTES).toString('base64url');
  const record: FeedTokenRecord = {
    id,
    name: input.name,
    secretHash: hashSecret(secret),
    createdAt: input.now.toISOString(),
    ...(input.expiresInDays !== undefined && { expiresAt: new Date(input.now.getTime() + input.expiresInDays * 86_400_000).toISOString() }),
    ...(input.createdBy && { createdBy: input.createdBy }),
  };
  return { token: formatFeedToken(id, secret), record };
}

export function feedTokenStatus(record: Pick<FeedTokenRecord, 'revokedAt' | 'expiresAt'>, now: Date): FeedTokenStatus {
  if (record.revokedAt) return 'revoked';
  if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return 'expired';
  return 'active';
}

/** Why a token was refused: for a DEBUG line only; every refusal answers the same 401. */
export type FeedTokenRefusal = 'missing' | 'malformed' | 'unknown' | 'wrong-secret' | 'revoked' | 'expired';

export type FeedTokenDecision = { ok: true; record: FeedTokenRecord } | { ok: false; reason: FeedTokenRefusal };

/**
 * The verdict on a presented secret against the record stored under its id (undefined: no such
 * id). The secret is checked before the status, so only its holder learns (in the logs) that a
 * token was revoked or expired. The hashes are compared timing-safe.
 */
export function decideFeedToken(record: FeedTokenRecord | undefined, secret: string, now: Date): FeedTokenDecision {
  if (!record) return { ok: false, reason: 'unknown' };
  // A damaged record matches nothing (timingSafeEqual needs equal lengths; the id is no secret).
  if (!/^[0-9a-f]{64}$/.test(record.secretHash)) return { ok: false, reason: 'wrong-secret' };
  if (!timingSafeEqual(Buffer.from(hashSecret(secret), 'hex'), Buffer.from(record.secretHash, 'hex'))) return { ok: false, reason: 'wrong-secret' };
  const status = feedTokenStatus(record, now);
  return status === 'active' ? { ok: true, record } : { ok: false, reason: status };
}
