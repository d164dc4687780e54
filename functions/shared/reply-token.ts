/**
 * Reply addresses: `r-<token>@<replyDomain>`. The token names the relationship and the touch
 * without exposing either, and is short enough for a local part (RFC 5321: at most 64 octets).
 *
 *   bytes  = version (1) | relationship uuid (16) | touch plan version (4, big-endian) | MAC (10)
 *   MAC    = HMAC-SHA256(key, "reply." | version | uuid | plan version), first 10 bytes (80 bits)
 *   token  = lower-case RFC 4648 base32 of the 31 bytes, no padding: 50 characters
 *
 * So the whole local part is 52 characters. Base32 survives mail systems that fold the case of a
 * local part; the MAC is compared timing-safe; several keys are tried (rotation). The key is the
 * unsubscribe key with a domain-separating prefix, so no new secret is needed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const VERSION = 1;
const MAC_BYTES = 10;
const TOKEN_BYTES = 1 + 16 + 4 + MAC_BYTES;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const REPLY_LOCAL_PREFIX = 'r-';

export interface ReplyTokenPayload {
  relationshipId: string;
  touchId: string;
}

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Uint8Array | undefined {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toLowerCase()) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  return Uint8Array.from(bytes);
}

const REL = /^rel_([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;
const TOUCH = /^(rel_[0-9a-f-]{36})\.t(\d{1,10})$/;

function mac(key: string, body: Uint8Array): Buffer {
  return createHmac('sha256', key).update('reply.', 'utf8').update(body).digest().subarray(0, MAC_BYTES);
}

/** The token for a touch, or undefined when the ids are not in the compact shape (then Reply-To stays the owner). */
export function signReplyToken(key: string, payload: ReplyTokenPayload): string | undefined {
  const rel = REL.exec(payload.relationshipId);
  const touch = TOUCH.exec(payload.touchId);
  if (!rel || !touch || touch[1] !== payload.relationshipId) return undefined;
  const planVersion = Number(touch[2]);
  if (!Number.isSafeInteger(planVersion) || planVersion > 0xffffffff) return undefined;
  const body = Buffer.alloc(1 + 16 + 4);
  body[0] = VERSION;
  Buffer.from(rel.slice(1).join(''), 'hex').copy(body, 1);
  body.writeUInt32BE(planVersion, 17);
  return base32Encode(Buffer.concat([body, mac(key, body)]));
}

export function verifyReplyToken(keys: readonly string[], token: string): ReplyTokenPayload | undefined {
  if (token.length !== Math.ceil((TOKEN_BYTES * 8) / 5)) return undefined;
  const bytes = base32Decode(token);
  if (!bytes || bytes.length !== TOKEN_BYTES || bytes[0] !== VERSION) return undefined;
  const body = bytes.subarray(0, 21);
  const given = Buffer.from(bytes.subarray(21));
  if (!keys.some((k) => timingSafeEqual(mac(k, body), given))) return undefined;
  const hex = Buffer.from(body.subarray(1, 17)).toString('hex');
  const relationshipId = `rel_${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const planVersion = Buffer.from(body).readUInt32BE(17);
  return { relationshipId, touchId: `${relationshipId}.t${planVersion}` };
}

export function replyAddress(key: string, payload: ReplyTokenPayload, replyDomain: string): string | undefined {
  const token = signReplyToken(key, payload);
  return token ? `${REPLY_LOCAL_PREFIX}${token}@${replyDomain}` : undefined;
}

/** The payload of the first recipient that is a valid reply address on `replyDomain` (any case). */
export function readReplyAddress(keys: readonly string[], addresses: readonly string[], replyDomain: string | undefined): ReplyTokenPayload | undefined {
  for (const raw of addresses) {
    const address = raw.trim().toLowerCase();
    const at = address.lastIndexOf('@');
    if (at < 0) continue;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    if (replyDomain && domain !== replyDomain.toLowerCase()) continue;
    if (!local.startsWith(REPLY_LOCAL_PREFIX)) continue;
    const payload = verifyReplyToken(keys, local.slice(REPLY_LOCAL_PREFIX.length));
    if (payload) return payload;
  }
  return undefined;
}
