/**
 * Authentication: a token in the path (Outbound Messages cannot add headers) or in
 * X-Cultivate-Token (a Named Credential's custom header, for flow callouts), plus the org allow-list.
 * Salesforce deliveries carry no timestamp or signature, so there is no freshness to check: a replay
 * is a duplicate notification id, deduped downstream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenFromPath, tokenMatches } from '#crm/salesforce/auth';
import { canonicalId, sameId } from '#crm/salesforce/ids';
import { salesforceDefinition } from '#crm/salesforce/index';
import { baseSettings, fixture, ORG, ORG15, request, settingsOf, TOKEN } from './helpers.ts';

const xml = fixture('outbound-message-opportunities.xml');
const flow = fixture('flow-opportunity-lost.json');
const auth = (settings = baseSettings()) => salesforceDefinition.inbound(settings);

describe('salesforce authenticate', () => {
  it('accepts the token in the path and names the org (18 characters) from the body', async () => {
    expect(await auth().authenticate(request(xml, { path: `/webhooks/salesforce/${TOKEN}` }), new Date())).toEqual({ ok: true, portal: ORG });
  });

  it('accepts the token in X-Cultivate-Token (flow callout through a Named Credential)', async () => {
    expect(await auth().authenticate(request(flow, { headers: { 'X-Cultivate-Token': TOKEN } }), new Date())).toEqual({ ok: true, portal: ORG });
  });

  it('accepts either token during a rotation', async () => {
    expect(await auth().authenticate(request(xml, { path: '/webhooks/salesforce/old-token' }), new Date())).toMatchObject({ ok: true });
  });

  it('refuses a forged token, a missing token and a token in the query string', async () => {
    for (const req of [
      request(xml, { path: `/webhooks/salesforce/${TOKEN}x` }),
      request(xml, { path: '/webhooks/salesforce' }),
      request(xml, { path: `/webhooks/salesforce?token=${TOKEN}` }),
      request(xml, { headers: { 'x-cultivate-token': 'guess' } }),
    ])
      expect(await auth().authenticate(req, new Date())).toMatchObject({ ok: false });
  });

  it('never authenticates by the org id alone: a body from an allowed org without the token is refused', async () => {
    expect(await auth().authenticate(request(xml), new Date())).toEqual({ ok: false, reason: 'no token in the path or the X-Cultivate-Token header' });
  });

  it('refuses a valid token from an org that is not on the allow-list', async () => {
    const other = xml.replace(`<OrganizationId>${ORG}</OrganizationId>`, '<OrganizationId>00D000000000002AAA</OrganizationId>');
    expect(await auth().authenticate(request(other, { path: `/webhooks/salesforce/${TOKEN}` }), new Date())).toEqual({ ok: false, reason: 'organization not on the allow-list' });
  });

  it('matches 15- and 18-character org ids both ways, whatever the case of an 18-character id', async () => {
    const lower18 = settingsOf({ CULTIVATE_SALESFORCE_ORG_IDS: ORG.toLowerCase(), CULTIVATE_SALESFORCE_TOKEN: TOKEN });
    const body15 = flow.replace(ORG, ORG15);
    expect(await auth(lower18).authenticate(request(body15, { headers: { 'x-cultivate-token': TOKEN } }), new Date())).toEqual({ ok: true, portal: ORG });
    // A 15-character id is case-sensitive: the same letters in another case are another org.
    const otherCase = flow.replace(ORG, ORG15.toLowerCase());
    expect(await auth().authenticate(request(otherCase, { headers: { 'x-cultivate-token': TOKEN } }), new Date())).toMatchObject({ ok: false });
  });

  it('lets an authentic but unreadable body through without a portal (parse answers 400 and it is quarantined)', async () => {
    expect(await auth().authenticate(request('not xml at all', { path: `/webhooks/salesforce/${TOKEN}` }), new Date())).toEqual({ ok: true });
  });

  it('refuses everything when the token setting is empty', async () => {
    const empty = settingsOf({ CULTIVATE_SALESFORCE_ORG_IDS: ORG, CULTIVATE_SALESFORCE_TOKEN: ' , ' });
    expect(await auth(empty).authenticate(request(xml, { path: '/webhooks/salesforce/' }), new Date())).toMatchObject({ ok: false });
  });

  it('reads the token from the path segment, decoded, and nothing else', () => {
    expect(tokenFromPath('/webhooks/salesforce/a%2Bb?x=1')).toBe('a+b');
    expect(tokenFromPath('/webhooks/salesforce/a/b')).toBeUndefined();
    expect(tokenFromPath('/webhooks/salesforce/%E0%A4%A')).toBeUndefined();
    expect(tokenFromPath('/webhooks/hubspot/abc')).toBeUndefined();
  });

  it('compares tokens exactly (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(tokenMatches(a, [b])).toBe(a === b && b.length > 0);
      }),
    );
  });
});

describe('salesforce ids', () => {
  it('turns documented 15-character ids into their 18-character form', () => {
    // Pairs as Salesforce shows them (org and record ids from Salesforce's own examples).
    expect(canonicalId('00D5e000000KQ2e')).toBe('00D5e000000KQ2eEAG');
    expect(canonicalId('0015e00000ZkM3h')).toBe('0015e00000ZkM3hAAF');
    expect(canonicalId('04l0800002nrC5B')).toBe('04l0800002nrC5BAAU');
  });

  it('names one record by both forms and by a lower-cased 18-character id; refuses contradictions (property)', () => {
    const id15 = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 15, maxLength: 15 });
    fc.assert(
      fc.property(id15, (id) => {
        const full = canonicalId(id) as string;
        expect(full.slice(0, 15)).toBe(id);
        expect(canonicalId(full)).toBe(full);
        expect(canonicalId(full.toLowerCase())).toBe(full);
        expect(sameId(id, full.toUpperCase())).toBe(true);
      }),
    );
    expect(canonicalId('00D5e000000KQ2eEA9')).toBeUndefined();
    expect(canonicalId('00D5e000000KQ2')).toBeUndefined();
  });
});
