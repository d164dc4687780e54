/** Shared test helpers for the HubSpot adapter: settings, signed requests, fixtures, a mapping. */
import { readFileSync } from 'node:fs';
import { CrmMapping } from '#crm/mappings';
import type { CrmRequest, CrmSettings, NormaliseContext } from '#crm/types';
import { signV3, signedUri } from '#crm/hubspot/signature';
import { recordingLogger } from '../../helpers/fixtures.ts';

export const SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
export const BASE = 'https://nurture.example.com';
/** 2026-11-20T15:04:05Z, the occurredAt of the fixtures. */
export const NOW = new Date('2026-11-20T15:04:05.000Z');

export function settingsOf(values: Record<string, string | undefined>): CrmSettings {
  return { has: (n) => values[n] !== undefined, get: async (n) => values[n] };
}

export const baseSettings = (extra: Record<string, string | undefined> = {}) =>
  settingsOf({ CULTIVATE_HUBSPOT_CLIENT_SECRET: SECRET, CULTIVATE_HUBSPOT_TOKEN: 'unused', CULTIVATE_PUBLIC_BASE_URL: BASE, ...extra });

export const fixtureText = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
export const fixture = (name: string): unknown => JSON.parse(fixtureText(name));

export interface SignedOptions {
  body: string | Uint8Array;
  pathAndQuery?: string;
  method?: string;
  timestamp?: number;
  secret?: string;
  /** Overrides the headers entirely (header names lower-case). */
  headers?: Record<string, string>;
}

/** A request as HubSpot sends it: signed over the public URI HubSpot called. */
export function signedRequest(o: SignedOptions): CrmRequest {
  const raw = typeof o.body === 'string' ? new TextEncoder().encode(o.body) : o.body;
  const pathAndQuery = o.pathAndQuery ?? '/webhooks/hubspot';
  const method = o.method ?? 'POST';
  const ts = String(o.timestamp ?? NOW.getTime());
  const headers = o.headers ?? {
    'x-hubspot-signature-v3': signV3(o.secret ?? SECRET, method, signedUri(BASE, pathAndQuery), raw, ts),
    'x-hubspot-request-timestamp': ts,
    'content-type': 'application/json',
  };
  return { method, pathAndQuery, raw, header: (n) => headers[n.toLowerCase()] };
}

export const mapping = CrmMapping.parse({
  closedLostStages: { default: ['closedlost'], '7654321': ['lost-enterprise'] },
  lostReasons: { 'Went with a competitor': 'competitor', 'No budget this year': 'budget' },
  contactRoles: { Champion: 'champion', 'Decision maker': 'evaluator', 'Technical evaluator': 'evaluator' },
  activityOutcomes: { 'left voicemail': 'left-message' },
  fields: { revisitAfter: 'revisit_after' },
  users: { '77': 'sam@seller.example', '78': 'ana@seller.example' },
});

export function normaliseContext(m = mapping): NormaliseContext & { logger: ReturnType<typeof recordingLogger> } {
  return { mapping: m, now: NOW, logger: recordingLogger() };
}
