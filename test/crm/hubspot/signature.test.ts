/**
 * HubSpot signature v3, as documented at developers.hubspot.com/docs/api/webhooks/validating-requests
 * (base64 HMAC-SHA256 of method + URI + body + timestamp with the app's client secret; requests
 * older than 5 minutes refused; listed URL-encoded characters decoded in the URI).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hubspotDefinition } from '#crm/hubspot/index';
import { decodeSignedUri } from '#crm/hubspot/signature';
import { BASE, baseSettings, fixtureText, NOW, SECRET, settingsOf, signedRequest } from './helpers.ts';

const auth = (settings = baseSettings()) => hubspotDefinition.inbound(settings);
// The documented example delivery (developers.hubspot.com/docs/api/webhooks, "Webhook payloads").
const body = fixtureText('webhooks-api-example.json');

/** Computed here from the documented recipe, independently of the adapter's own signing code. */
function documentedSignature(secret: string, method: string, uri: string, raw: string, ts: string) {
  return createHmac('sha256', secret).update(method + uri + raw + ts, 'utf8').digest('base64');
}

const requestWith = (pathAndQuery: string, signature: string, ts = String(NOW.getTime())) => ({
  method: 'POST',
  pathAndQuery,
  raw: new TextEncoder().encode(body),
  header: (n: string) => ({ 'x-hubspot-signature-v3': signature, 'x-hubspot-request-timestamp': ts })[n.toLowerCase()],
});

describe('HubSpot v3 signature', () => {
  it('accepts a delivery signed with the client secret over the public URI', async () => {
    const ts = String(NOW.getTime());
    const sig = documentedSignature(SECRET, 'POST', `${BASE}/webhooks/hubspot`, body, ts);
    expect(await auth().authenticate(requestWith('/webhooks/hubspot', sig), NOW)).toEqual({ ok: true });
  });

  it('refuses a forged signature, a tampered body and another secret', async () => {
    expect(await auth().authenticate(signedRequest({ body, secret: 'not-the-secret' }), NOW)).toMatchObject({ ok: false, reason: 'signature does not match' });
    const good = signedRequest({ body });
    const tampered = { ...good, raw: new TextEncoder().encode(body.replace('subscriber', 'customer')) };
    expect(await auth().authenticate(tampered, NOW)).toMatchObject({ ok: false });
    const wrongPath = { ...good, pathAndQuery: '/webhooks/hubspot?x=1' };
    expect(await auth().authenticate(wrongPath, NOW)).toMatchObject({ ok: false });
  });

  it('refuses deliveries older than 5 minutes (a replay) and more than 5 minutes ahead', async () => {
    const old = signedRequest({ body, timestamp: NOW.getTime() - 5 * 60_000 - 1 });
    expect(await auth().authenticate(old, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining('older than 5 minutes') });
    const future = signedRequest({ body, timestamp: NOW.getTime() + 5 * 60_000 + 1 });
    expect(await auth().authenticate(future, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining('future') });
    const edge = signedRequest({ body, timestamp: NOW.getTime() - 5 * 60_000 });
    expect(await auth().authenticate(edge, NOW)).toEqual({ ok: true });
  });

  it('refuses missing or malformed headers', async () => {
    const none = signedRequest({ body, headers: {} });
    expect(await auth().authenticate(none, NOW)).toMatchObject({ ok: false, reason: 'missing X-HubSpot-Signature-v3' });
    const noTs = signedRequest({ body, headers: { 'x-hubspot-signature-v3': 'abc' } });
    expect(await auth().authenticate(noTs, NOW)).toMatchObject({ ok: false, reason: 'missing X-HubSpot-Request-Timestamp' });
    const seconds = signedRequest({ body, headers: { 'x-hubspot-signature-v3': 'abc', 'x-hubspot-request-timestamp': '2026-11-20T15:04:05Z' } });
    expect(await auth().authenticate(seconds, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining('milliseconds') });
  });

  it("decodes exactly HubSpot's listed characters before signing, and no others", async () => {
    expect(decodeSignedUri('https://x.example/a%3Ab%2fc%3F%40%21%24%27%28%29%2A%2C%3B%20%26')).toBe("https://x.example/a:b/c?@!$'()*,;%20%26");
    const ts = String(NOW.getTime());
    const sig = documentedSignature(SECRET, 'POST', `${BASE}/webhooks/hubspot?portalId=33&tag=a:b%20c`, body, ts);
    expect(await auth().authenticate(requestWith('/webhooks/hubspot?portalId=33&tag=a%3Ab%20c', sig), NOW)).toEqual({ ok: true, portal: '33' });
    const overDecoded = documentedSignature(SECRET, 'POST', `${BASE}/webhooks/hubspot?portalId=33&tag=a:b c`, body, ts);
    expect(await auth().authenticate(requestWith('/webhooks/hubspot?portalId=33&tag=a%3Ab%20c', overDecoded), NOW)).toMatchObject({ ok: false });
  });

  it('rebuilds the URI from the configured base URL, with or without a trailing slash', async () => {
    const ts = String(NOW.getTime());
    const sig = documentedSignature(SECRET, 'POST', `${BASE}/webhooks/hubspot`, body, ts);
    const withSlash = auth(baseSettings({ CULTIVATE_PUBLIC_BASE_URL: `${BASE}/` }));
    expect(await withSlash.authenticate(requestWith('/webhooks/hubspot', sig), NOW)).toEqual({ ok: true });
    const otherHost = auth(baseSettings({ CULTIVATE_PUBLIC_BASE_URL: 'https://evil.example' }));
    expect(await otherHost.authenticate(requestWith('/webhooks/hubspot', sig), NOW)).toMatchObject({ ok: false });
  });

  it('accepts either secret while rotating, and fails closed without settings', async () => {
    const rotating = auth(baseSettings({ CULTIVATE_HUBSPOT_CLIENT_SECRET: `old-secret, ${SECRET}` }));
    expect(await rotating.authenticate(signedRequest({ body }), NOW)).toEqual({ ok: true });
    const noBase = auth(settingsOf({ CULTIVATE_HUBSPOT_CLIENT_SECRET: SECRET }));
    expect(await noBase.authenticate(signedRequest({ body }), NOW)).toMatchObject({ ok: false, reason: expect.stringContaining('CULTIVATE_PUBLIC_BASE_URL') });
    const throwing = auth({ has: () => true, get: async () => Promise.reject(new Error('secrets manager down')) });
    expect(await throwing.authenticate(signedRequest({ body }), NOW)).toMatchObject({ ok: false });
  });
});
