/**
 * Pipedrive authenticates webhooks with HTTP Basic (the webhook's http_auth_user and
 * http_auth_password, https://pipedrive.readme.io/docs/guide-for-webhooks-v2): no signature and
 * no timestamp, so a replayed delivery is caught by its stable event id (see parse.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { pipedriveDefinition } from '#crm/pipedrive/index';
import { BASIC, basicHeader, fixture, NOW, request, settingsOf } from './helpers.ts';

const adapter = (value: string | undefined = BASIC) => pipedriveDefinition.inbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: value }));
const body = fixture('doc-create-deal');

describe('pipedrive authentication', () => {
  it('accepts the configured user:password', async () => {
    expect(await adapter().authenticate(request(body, { Authorization: basicHeader(BASIC) }), NOW)).toEqual({ ok: true });
  });

  it('accepts the scheme in any case, as HTTP allows', async () => {
    const header = basicHeader(BASIC).replace('Basic', 'bAsIc');
    expect((await adapter().authenticate(request(body, { authorization: header }), NOW)).ok).toBe(true);
  });

  it('refuses a wrong password, a wrong user and a prefix of the password', async () => {
    for (const forged of ['cultivate-hook:s3cret-Pa56', 'someone:s3cret-Pa55', 'cultivate-hook:s3cret', `${BASIC}x`]) {
      const r = await adapter().authenticate(request(body, { authorization: basicHeader(forged) }), NOW);
      expect(r).toEqual({ ok: false, reason: 'Basic credentials do not match' });
    }
  });

  it('refuses a missing header, another scheme and malformed credentials, naming why', async () => {
    const reasons = await Promise.all(
      [undefined, 'Bearer abc', 'Basic', 'Basic !!!', basicHeader('no-colon-here')].map(async (h) => {
        const r = await adapter().authenticate(request(body, { authorization: h }), NOW);
        return r.ok ? 'accepted' : r.reason;
      }),
    );
    expect(reasons).toEqual(['missing Authorization header', 'Authorization is not HTTP Basic', 'Authorization is not HTTP Basic', 'Authorization is not HTTP Basic', 'malformed Basic credentials']);
  });

  it('accepts both pairs while a rotation is under way (JSON array or current/previous)', async () => {
    const old = 'cultivate-hook:old-pass';
    for (const value of [JSON.stringify([BASIC, old]), JSON.stringify({ current: BASIC, previous: old })]) {
      for (const pair of [BASIC, old]) expect((await adapter(value).authenticate(request(body, { authorization: basicHeader(pair) }), NOW)).ok).toBe(true);
      expect((await adapter(value).authenticate(request(body, { authorization: basicHeader('cultivate-hook:other') }), NOW)).ok).toBe(false);
    }
  });

  it('refuses everything when the setting is absent or empty (never an open door)', async () => {
    for (const value of [undefined, '']) {
      const r = await adapter(value).authenticate(request(body, { authorization: basicHeader(':') }), NOW);
      expect(r.ok).toBe(false);
    }
  });

  it('declares its settings by the names in the issue', () => {
    expect(pipedriveDefinition.requiredSettings).toEqual(['CULTIVATE_PIPEDRIVE_BASIC_AUTH']);
    expect(pipedriveDefinition.optionalSettings).toEqual(['CULTIVATE_PIPEDRIVE_API_TOKEN', 'CULTIVATE_PIPEDRIVE_API_URL', 'CULTIVATE_PIPEDRIVE_RATE_LIMIT']);
    expect(pipedriveDefinition.secretSettings).toEqual(['CULTIVATE_PIPEDRIVE_BASIC_AUTH', 'CULTIVATE_PIPEDRIVE_API_TOKEN']);
    expect(pipedriveDefinition.outbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC }))).toBeUndefined();
    expect(pipedriveDefinition.outbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC, CULTIVATE_PIPEDRIVE_API_TOKEN: 't' }))?.crm).toBe('pipedrive');
  });
});
