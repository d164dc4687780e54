/** Shared pieces of the Pipedrive adapter tests: fixtures, settings, requests, the mapping. */
import { readFileSync } from 'node:fs';
import { CrmMapping } from '#crm/mappings';
import type { CrmNotification, CrmRequest, CrmSettings, NormaliseContext, OutboundContext } from '#crm/types';
import { parsePipedriveWebhook } from '#crm/pipedrive/webhook';
import { recordingLogger } from '../../helpers/fixtures.ts';

export const NOW = new Date('2026-12-01T12:00:00.000Z');
export const COMPANY = '8087566';
export const BASIC = 'cultivate-hook:s3cret-Pa55';

/**
 * A documented example, as published in Pipedrive's "Webhooks v2 migration guide"
 * (https://pipedrive.readme.io/docs/webhooks-v2-migration-guide#webhooks-v2-examples).
 */
export function fixture(name: string): Record<string, any> {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8'));
}

export function settingsOf(values: Record<string, string | undefined>): CrmSettings {
  return { has: (n) => values[n] !== undefined, get: async (n) => values[n] };
}

export function request(body: unknown, headers: Record<string, string | undefined> = {}): CrmRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', pathAndQuery: '/webhooks/pipedrive', raw: new TextEncoder().encode(JSON.stringify(body)), header: (n) => lower[n.toLowerCase()] };
}

export const basicHeader = (pair: string) => `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;

export const mapping = CrmMapping.parse({
  lostReasons: { 'Timing - budget next year': 'timing', 'Went with a competitor': 'competitor' },
  activityOutcomes: { call: 'done', 'call-no-answer': 'no-answer' },
  contactRoles: { main: 'champion', participant: 'influencer', 'Economic buyer': 'evaluator' },
  fields: { contactRole: 'a1b2c3rolefieldkey' },
  users: { '12415231': 'sam@seller.example', '12415232': 'ria@seller.example' },
});

export function normaliseContext(m: CrmMapping = mapping): NormaliseContext & { logger: ReturnType<typeof recordingLogger> } {
  return { mapping: m, now: NOW, logger: recordingLogger() };
}

const OWNERS: Record<string, { email: string; name: string; timezone: string }> = {
  'sam@seller.example': { email: 'sam@seller.example', name: 'Sam Seller', timezone: 'America/Chicago' },
  'kiri@seller.example': { email: 'kiri@seller.example', name: 'Kiri Seller', timezone: 'Pacific/Auckland' },
};

export function outboundContext(m: CrmMapping = mapping): OutboundContext & { logger: ReturnType<typeof recordingLogger> } {
  return {
    mapping: m,
    logger: recordingLogger(),
    owner: (email) => OWNERS[email ?? ''] ?? { email: 'fallback@seller.example', name: 'Fallback', timezone: 'Europe/Berlin' },
  };
}

/** The one notification a delivery makes (throws if it does not parse: tests then fail loudly). */
export function notificationOf(body: unknown): CrmNotification {
  const r = parsePipedriveWebhook(body, NOW);
  if (!r.ok) throw new Error(`fixture does not parse: ${JSON.stringify(r.issues)}`);
  return r.notifications[0] as CrmNotification;
}

/** A documented example changed as Pipedrive would send another event of the same kind (a new event id). */
export function variant(name: string, eventId: string, change: (body: Record<string, any>) => void): Record<string, any> {
  const body = fixture(name);
  body.meta.id = eventId;
  change(body);
  return body;
}
