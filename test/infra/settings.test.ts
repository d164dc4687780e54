import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { contextSettings, readSettings } from '../../lib/settings.ts';

describe('context settings', () => {
  it('every documented setting is read, with its documented default', () => {
    const settings = readSettings(new App()) as unknown as Record<string, unknown>;
    const documented = contextSettings.map((s) => s.key).sort();
    expect(Object.keys(settings).sort()).toEqual(documented);
    for (const s of contextSettings) {
      const value = settings[s.key];
      if (s.key === 'jwtAudience') expect(value).toEqual([]);
      else expect(value, s.key).toBe(s.default);
      expect(s.description.length, s.key).toBeGreaterThan(10);
    }
  });

  it('parses command-line strings and rejects bad values', () => {
    const app = new App({ context: { logRetentionDays: '14', apiThrottleRateLimit: '20', jwtIssuer: 'https://x.example/', jwtAudience: 'a,b' } });
    const s = readSettings(app);
    expect(s.logRetentionDays).toBe(14);
    expect(s.apiThrottleRateLimit).toBe(20);
    expect(s.jwtAudience).toEqual(['a', 'b']);
    expect(() => readSettings(new App({ context: { apiThrottleRateLimit: 'fast' } }))).toThrow(/apiThrottleRateLimit/);
    expect(() => readSettings(new App({ context: { jwtIssuer: 'http://x.example/', jwtAudience: 'a' } }))).toThrow(/https/);
    expect(() => readSettings(new App({ context: { outboundWebhookUrl: 'http://crm.example/' } }))).toThrow(/https/);
  });
});
