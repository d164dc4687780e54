/** Webhook signatures over raw bytes (functions/shared/hmac.ts). */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createKeyedHasher, secretValues, signBody, SIGNATURE_TOLERANCE_SECONDS, verifySignature } from '#shared/hmac';

const SECRET = 'whsec-current';
const OLD = 'whsec-previous';
const NOW = 1_795_000_000;
const enc = new TextEncoder();
const body = enc.encode('{"id":"e1","type":"deal-won"}');

/** Independent signer, so the test does not trust the module for the expected value. */
function reference(secret: string, t: number, raw: Uint8Array): string {
  return createHmac('sha256', secret).update(Buffer.concat([Buffer.from(`${t}.`), Buffer.from(raw)])).digest('hex');
}

describe('verifySignature', () => {
  it('accepts a valid signature, produced in the documented format', () => {
    const header = signBody(SECRET, body, NOW);
    expect(header).toBe(`t=${NOW},v1=${reference(SECRET, NOW, body)}`);
    expect(verifySignature(header, body, [SECRET], NOW)).toEqual({ ok: true });
    expect(verifySignature(`t=${NOW},v1=${reference(SECRET, NOW, body).toUpperCase()}`, body, [SECRET], NOW).ok).toBe(true);
    expect(verifySignature(` t=${NOW} , v1=${reference(SECRET, NOW, body)} `, body, [SECRET], NOW).ok).toBe(true);
  });

  it('refuses a wrong secret', () => {
    expect(verifySignature(signBody('other', body, NOW), body, [SECRET], NOW)).toEqual({ ok: false, reason: 'signature does not match' });
    expect(verifySignature(signBody(SECRET, body, NOW), body, [], NOW).ok).toBe(false);
  });

  it('accepts any of several v1 values (sender-side rotation)', () => {
    const h = `t=${NOW},v1=${reference(OLD, NOW, body)},v1=${reference(SECRET, NOW, body)}`;
    expect(verifySignature(h, body, [SECRET], NOW).ok).toBe(true);
    const reversed = `t=${NOW},v1=${reference(SECRET, NOW, body)},v1=${'0'.repeat(64)}`;
    expect(verifySignature(reversed, body, [SECRET], NOW).ok).toBe(true);
    const none = `t=${NOW},v1=${'0'.repeat(64)},v1=${reference('x', NOW, body)}`;
    expect(verifySignature(none, body, [SECRET], NOW).ok).toBe(false);
  });

  it('accepts a signature made with any current secret (receiver-side rotation)', () => {
    expect(verifySignature(signBody(OLD, body, NOW), body, [SECRET, OLD], NOW).ok).toBe(true);
    expect(verifySignature(signBody(SECRET, body, NOW), body, [SECRET, OLD], NOW).ok).toBe(true);
    expect(verifySignature(signBody('retired', body, NOW), body, [SECRET, OLD], NOW).ok).toBe(false);
  });

  it(`refuses stale (> ${SIGNATURE_TOLERANCE_SECONDS} s) and future timestamps, accepts the edge`, () => {
    const at = (t: number) => verifySignature(signBody(SECRET, body, t), body, [SECRET], NOW);
    expect(at(NOW - 300).ok).toBe(true);
    expect(at(NOW + 300).ok).toBe(true);
    expect(at(NOW - 301)).toEqual({ ok: false, reason: 'signature timestamp outside the tolerance' });
    expect(at(NOW + 301).ok).toBe(false);
    expect(at(NOW - 86_400).ok).toBe(false);
    expect(at(0).ok).toBe(false);
  });

  it('the timestamp is signed: replaying a valid v1 with a fresh t is refused', () => {
    const old = signBody(SECRET, body, NOW - 3600);
    const v1 = old.split('v1=')[1];
    expect(verifySignature(`t=${NOW},v1=${v1}`, body, [SECRET], NOW).ok).toBe(false);
  });

  it('refuses a tampered body, one byte at a time', () => {
    const header = signBody(SECRET, body, NOW);
    for (let i = 0; i < body.length; i++) {
      const copy = new Uint8Array(body);
      copy[i] = (copy[i] as number) ^ 0x01;
      expect(verifySignature(header, copy, [SECRET], NOW).ok).toBe(false);
    }
    expect(verifySignature(header, enc.encode('{"id":"e1","type":"deal-won"} '), [SECRET], NOW).ok).toBe(false);
    expect(verifySignature(header, body.subarray(0, body.length - 1), [SECRET], NOW).ok).toBe(false);
  });

  it('signs the exact raw bytes: non-ASCII UTF-8 and a trailing newline matter', () => {
    const raw = enc.encode('{"name":"Zoë Ångström — 東京 🌱"}\n');
    expect(raw.length).toBeGreaterThan('{"name":"Zoë Ångström — 東京 🌱"}\n'.length);
    const header = signBody(SECRET, raw, NOW);
    expect(header.endsWith(reference(SECRET, NOW, raw))).toBe(true);
    expect(verifySignature(header, raw, [SECRET], NOW).ok).toBe(true);
    // Without the newline, or re-encoded as Latin-1 / NFD, it no longer matches.
    expect(verifySignature(header, raw.subarray(0, raw.length - 1), [SECRET], NOW).ok).toBe(false);
    expect(verifySignature(header, Buffer.from('{"name":"Zoë Ångström — 東京 🌱"}\n', 'latin1'), [SECRET], NOW).ok).toBe(false);
    expect(verifySignature(header, enc.encode('{"name":"Zoë Ångström — 東京 🌱"}\n'.normalize('NFD')), [SECRET], NOW).ok).toBe(false);
    // A Buffer view into a bigger ArrayBuffer signs only its own bytes.
    const big = Buffer.concat([Buffer.from('PREFIX'), Buffer.from(raw), Buffer.from('SUFFIX')]);
    expect(verifySignature(header, big.subarray(6, 6 + raw.length), [SECRET], NOW).ok).toBe(true);
  });

  it('refuses missing and malformed headers with a reason', () => {
    const v1 = reference(SECRET, NOW, body);
    const cases = [
      undefined,
      '',
      'garbage',
      `v1=${v1}`,
      `t=${NOW}`,
      `t=abc,v1=${v1}`,
      `t=${NOW},v1=${v1.slice(0, 63)}`,
      `t=${NOW},v1=${v1}00`,
      `t=${NOW},v1=${v1.slice(0, 62)}zz`,
      `t=${NOW},v0=${v1}`,
      `t=-${NOW},v1=${v1}`,
      `t=${NOW}.5,v1=${v1}`,
      `t=1${'0'.repeat(20)},v1=${v1}`,
      `t==${NOW},v1=${v1}`,
    ];
    for (const h of cases) {
      const r = verifySignature(h, body, [SECRET], NOW);
      expect(r.ok, String(h)).toBe(false);
      expect(r.ok === false && r.reason.length > 0).toBe(true);
    }
  });

  it('arbitrary header strings never throw and never verify', () => {
    const part = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('t=', 'v1=', ',', '=', ' ', `t=${NOW}`, 't=0', 'v1=' + '0'.repeat(64), 'v1=' + 'f'.repeat(64)),
      fc.stringMatching(/^[0-9a-fA-F]{60,68}$/).map((h) => `v1=${h}`),
      fc.integer({ min: NOW - 400, max: NOW + 400 }).map((t) => `t=${t}`),
    );
    fc.assert(
      fc.property(fc.array(part, { maxLength: 8 }).map((ps) => ps.join(',')), fc.uint8Array({ maxLength: 64 }), (header, raw) => {
        let r: ReturnType<typeof verifySignature> | undefined;
        expect(() => {
          r = verifySignature(header, raw, [SECRET, OLD], NOW);
        }).not.toThrow();
        expect(r?.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('any body signed with the secret verifies; the same header over any other body does not', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ maxLength: 512 }), fc.integer({ min: -300, max: 300 }), (a, b, skew) => {
        const h = signBody(SECRET, a, NOW + skew);
        expect(verifySignature(h, a, [SECRET], NOW).ok).toBe(true);
        if (Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) expect(verifySignature(h, b, [SECRET], NOW).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('secretValues (rotation in the stored secret)', () => {
  it('reads a plain secret, trimmed', () => {
    expect(secretValues('  abc\n')).toEqual(['abc']);
  });
  it('reads {"current","previous"}', () => {
    expect(secretValues('{"current":"new","previous":"old"}')).toEqual(['new', 'old']);
  });
  it('reads an array, skipping empty and non-string values', () => {
    expect(secretValues('["a","",3,null,"b"]')).toEqual(['a', 'b']);
  });
  it('a secret that merely starts with a brace is a plain secret', () => {
    expect(secretValues('{not json')).toEqual(['{not json']);
    expect(secretValues('[]')).toEqual(['[]']);
  });
  it('verifies against every value of a rotated secret', () => {
    const secrets = secretValues(JSON.stringify({ current: SECRET, previous: OLD }));
    expect(verifySignature(signBody(OLD, body, NOW), body, secrets, NOW).ok).toBe(true);
    expect(verifySignature(signBody(SECRET, body, NOW), body, secrets, NOW).ok).toBe(true);
  });
});

describe('createKeyedHasher', () => {
  it('hashes the normalised address, keyed, with no plain address in the output', () => {
    const h = createKeyedHasher('k1');
    expect(h.emailHash(' Dana@Example.com ')).toBe(h.emailHash('dana@example.com'));
    expect(h.emailHash('dana@example.com')).not.toContain('dana');
    expect(createKeyedHasher('k2').emailHash('dana@example.com')).not.toBe(h.emailHash('dana@example.com'));
    expect(h.crmHash('hs:1:2')).not.toBe(h.emailHash('hs:1:2'));
    expect(h.emailHash('dana+x@example.com')).not.toBe(h.emailHash('dana@example.com'));
  });
});
