/** Shared by the Salesforce adapter tests: settings, requests, fixtures and a mapping. */
import { readFileSync } from 'node:fs';
import { CrmMapping } from '#crm/mappings';
import type { CrmRequest, CrmSettings } from '#crm/types';

export const ORG = '00D5e000000KQ2eEAG';
export const ORG15 = '00D5e000000KQ2e';
export const TOKEN = 'sf-token-0123456789abcdef';
export const RECEIVED = new Date('2026-11-20T15:05:00.000Z');

export const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

export function settingsOf(values: Record<string, string | undefined>): CrmSettings & { values: Record<string, string | undefined> } {
  return {
    values,
    has: (name) => values[name] !== undefined && values[name] !== '',
    get: async (name) => values[name],
  };
}

export const baseSettings = () =>
  settingsOf({ CULTIVATE_SALESFORCE_ORG_IDS: `00D000000000001AAA, ${ORG15}`, CULTIVATE_SALESFORCE_TOKEN: `old-token,${TOKEN}` });

export function request(body: string | Uint8Array, opts: { path?: string; headers?: Record<string, string> } = {}): CrmRequest {
  const raw = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const headers = Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return { method: 'POST', pathAndQuery: opts.path ?? '/webhooks/salesforce', raw, header: (name) => headers[name.toLowerCase()] };
}

export const USER = '0055e00000AaBbCAAV';
export const OPP = '0065e00000AbCdEAAV';
export const ACCOUNT = '0015e00000ZkM3hAAF';
export const DANA = '0035e00000XyZaBAAV';
export const LEE = '0035e00000QrStUAAV';

export const mapping = CrmMapping.parse({
  lostReasons: { Timing: 'timing', Budget: 'budget', 'Went with competitor': 'competitor' },
  activityOutcomes: { 'Left voicemail': 'left-message', 'No answer': 'no-answer' },
  contactRoles: { 'Decision Maker': 'champion', Evaluator: 'evaluator' },
  users: { [USER]: 'sam@seller.example' },
});
