/** Reply addresses: r-<token>@<replyDomain>, short, signed, naming no one. */
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, readReplyAddress, replyAddress, signReplyToken, verifyReplyToken } from '#shared/reply-token';

const KEY = 'reply-test-key';
const rel = 'rel_0f8fad5b-d9cb-469f-a165-70867728950e';
const payload = { relationshipId: rel, touchId: `${rel}.t12` };

describe('reply tokens', () => {
  it('round-trips the relationship and the touch, in a local part of at most 64 characters', () => {
    const token = signReplyToken(KEY, payload) as string;
    expect(token).toMatch(/^[a-z2-7]+$/);
    expect(`r-${token}`.length).toBeLessThanOrEqual(64);
    expect(verifyReplyToken([KEY], token)).toEqual(payload);
    expect(verifyReplyToken([KEY], token.toUpperCase())).toEqual(payload); // a mail system folded the case
  });

  it('names no one: neither the id nor the address appears in it', () => {
    const address = replyAddress(KEY, payload, 'reply.seller.example') as string;
    expect(address).toMatch(/^r-[a-z2-7]{50}@reply\.seller\.example$/);
    expect(address).not.toContain('0f8fad5b');
  });

  it('rejects a wrong key, a flipped bit, a truncation; accepts any key of a rotation', () => {
    const token = signReplyToken(KEY, payload) as string;
    expect(verifyReplyToken(['other'], token)).toBeUndefined();
    expect(verifyReplyToken(['other', KEY], token)).toEqual(payload);
    const flipped = `${token.slice(0, 10)}${token[10] === 'a' ? 'b' : 'a'}${token.slice(11)}`;
    expect(verifyReplyToken([KEY], flipped)).toBeUndefined();
    expect(verifyReplyToken([KEY], token.slice(0, -1))).toBeUndefined();
    expect(verifyReplyToken([KEY], '')).toBeUndefined();
  });

  it('reads the first valid reply address among the recipients, on the reply domain only', () => {
    const address = replyAddress(KEY, payload, 'reply.seller.example') as string;
    expect(readReplyAddress([KEY], ['sam@seller.example', address.toUpperCase()], 'reply.seller.example')).toEqual(payload);
    expect(readReplyAddress([KEY], [address.replace('reply.seller.example', 'evil.example')], 'reply.seller.example')).toBeUndefined();
  });

  it('gives no token for ids outside the compact shape (Reply-To then stays the owner)', () => {
    expect(signReplyToken(KEY, { relationshipId: 'rel_x', touchId: 'rel_x.t1' })).toBeUndefined();
    expect(signReplyToken(KEY, { relationshipId: rel, touchId: 'rel_0f8fad5b-d9cb-469f-a165-70867728950f.t1' })).toBeUndefined();
  });

  it('base32 round-trips any bytes', () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 255);
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    }
  });
});
