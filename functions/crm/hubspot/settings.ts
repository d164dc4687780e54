/**
 * HubSpot settings, named as in issue #5. Secrets come from Secrets Manager on AWS and the
 * environment locally, always through `CrmSettings`.
 */
import type { CrmSettings } from '../types.ts';

export const HUBSPOT_SETTINGS = {
  /** The app's client secret (Development > Apps > your app > Auth): the v3 signature key. Several, comma-separated, while rotating. */
  clientSecret: 'CULTIVATE_HUBSPOT_CLIENT_SECRET',
  /** Private app access token (Bearer) for reads, tasks, notes and communication preferences. */
  token: 'CULTIVATE_HUBSPOT_TOKEN',
  /** Optional API base URL; tests point it at the local fake. */
  apiUrl: 'CULTIVATE_HUBSPOT_API_URL',
  /** Optional: calls per 10 seconds this process may make (default 90, under the 100 of Free/Starter; Professional/Enterprise may set up to 180). */
  ratePer10s: 'CULTIVATE_HUBSPOT_RATE_PER_10S',
  /** Shared: the public base URL of Cultivate, from which the signed URI is rebuilt. */
  publicBaseUrl: 'CULTIVATE_PUBLIC_BASE_URL',
} as const;

export const DEFAULT_API_URL = 'https://api.hubapi.com';

/**
 * HubSpot's published burst limit for private apps is 100 requests per 10 seconds on Free and
 * Starter, 190 on Professional and Enterprise (developers.hubspot.com/docs/api/usage-details and
 * the changelog "Increasing our API limits"); the limit is shared by every app in the account, so
 * the default keeps headroom below the lowest tier.
 */
export const DEFAULT_RATE_PER_10S = 90;

export async function ratePer10s(settings: CrmSettings): Promise<number> {
  const raw = await settings.get(HUBSPOT_SETTINGS.ratePer10s);
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 190 ? n : DEFAULT_RATE_PER_10S;
}
