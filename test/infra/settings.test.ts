import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { contextSettings, PLACEHOLDER_PUBLIC_BASE_URL, PLACEHOLDER_SENDING_DOMAIN, readSettings, type ContextSetting } from '../../lib/settings.ts';

/** The smallest context a synth needs: the required settings. */
const required = { publicBaseUrl: 'https://nurture.seller.example' };

describe('context settings', () => {
  it('every documented setting is read, with its documented default', () => {
    const settings = readSettings(new App({ context: required })) as unknown as Record<string, unknown>;
    const documented = contextSettings.map((s) => s.key).sort();
    expect(Object.keys(settings).sort()).toEqual(documented);
    for (const s of contextSettings as readonly ContextSetting[]) {
      const value = settings[s.key];
      if (s.key === 'jwtAudience') expect(value).toEqual([]);
      else if (s.required) expect(value, s.key).toBe(required[s.key as keyof typeof required]);
      else expect(value, s.key).toBe(s.default);
      expect(s.description.length, s.key).toBeGreaterThan(10);
    }
  });

  it('the send path settings: defaults, and the placeholders cdk.json carries', () => {
    const byKey = new Map((contextSettings as readonly ContextSetting[]).map((s) => [s.key, s]));
    expect(byKey.get('publicBaseUrl')).toMatchObject({ required: true, placeholder: PLACEHOLDER_PUBLIC_BASE_URL });
    expect(byKey.get('sendingDomain')).toMatchObject({ default: 'mail.seller.example', placeholder: PLACEHOLDER_SENDING_DOMAIN });
    expect(byKey.get('sesMaxSendRate')?.default).toBe(14);
    const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };
    expect(cdkJson.context.publicBaseUrl).toBe(PLACEHOLDER_PUBLIC_BASE_URL);
    expect(cdkJson.context.sendingDomain).toBe(PLACEHOLDER_SENDING_DOMAIN);
  });

  it('publicBaseUrl is required and must be an https URL (a clear error otherwise)', () => {
    expect(() => readSettings(new App())).toThrow(/context "publicBaseUrl" is required/);
    expect(() => readSettings(new App({ context: { publicBaseUrl: '' } }))).toThrow(/publicBaseUrl" is required/);
    for (const bad of ['http://nurture.seller.example', 'nurture.seller.example', 'https://x.example/?a=1', 'ftp://x.example']) {
      expect(() => readSettings(new App({ context: { publicBaseUrl: bad } })), bad).toThrow(/publicBaseUrl" must be an https:\/\/ URL/);
    }
    expect(readSettings(new App({ context: { publicBaseUrl: 'https://api.seller.example/prod/' } })).publicBaseUrl).toBe(
      'https://api.seller.example/prod',
    );
  });

  it('sesMaxSendRate is an integer from 2 to 1000; sendingDomain a domain name', () => {
    const s = (context: Record<string, unknown>) => readSettings(new App({ context: { ...required, ...context } }));
    expect(s({ sesMaxSendRate: '5' }).sesMaxSendRate).toBe(5);
    expect(() => s({ sesMaxSendRate: 1 })).toThrow(/sesMaxSendRate" must be an integer from 2 to 1000/);
    expect(() => s({ sesMaxSendRate: 1001 })).toThrow(/sesMaxSendRate/);
    // Read like every other setting: a value that is not a string is an error, not "no relay".
    expect(() => s({ salesforceEventRelaySource: 42 })).toThrow(/salesforceEventRelaySource" must be a string/);
    expect(s({ salesforceEventRelaySource: ' aws.partner/salesforce.com/00D/0YL ' }).salesforceEventRelaySource).toBe('aws.partner/salesforce.com/00D/0YL');
    expect(s({}).salesforceEventRelaySource).toBeUndefined();
    expect(() => s({ sesMaxSendRate: 'fast' })).toThrow(/sesMaxSendRate/);
    expect(s({ sendingDomain: 'Mail.Acme.com' }).sendingDomain).toBe('mail.acme.com');
    expect(() => s({ sendingDomain: 'not a domain' })).toThrow(/sendingDomain/);
    expect(() => s({ sendingDomain: 'https://mail.acme.com' })).toThrow(/sendingDomain/);
    expect(s({ sweeperReservedConcurrency: 0 }).sweeperReservedConcurrency).toBe(0);
  });

  it('parses command-line strings and rejects bad values', () => {
    const app = new App({ context: { ...required, logRetentionDays: '14', apiThrottleRateLimit: '20', jwtIssuer: 'https://x.example/', jwtAudience: 'a,b' } });
    const s = readSettings(app);
    expect(s.logRetentionDays).toBe(14);
    expect(s.apiThrottleRateLimit).toBe(20);
    expect(s.jwtAudience).toEqual(['a', 'b']);
    expect(() => readSettings(new App({ context: { ...required, apiThrottleRateLimit: 'fast' } }))).toThrow(/apiThrottleRateLimit/);
    expect(() => readSettings(new App({ context: { ...required, jwtIssuer: 'http://x.example/', jwtAudience: 'a' } }))).toThrow(/https/);
    expect(() => readSettings(new App({ context: { ...required, outboundWebhookUrl: 'http://crm.example/' } }))).toThrow(/https/);
  });
});
