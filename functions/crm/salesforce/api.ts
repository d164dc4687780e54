/**
 * The Salesforce REST API client: OAuth 2.0 client credentials flow against the org's My Domain
 * (an external client app / connected app with "Enable Client Credentials Flow" and a run-as
 * integration user), SOQL queries and sObject writes, through the shared rate-limited client.
 *
 * Limits (https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html):
 * Salesforce meters a rolling 24-hour allocation per org (100,000 plus 1,000 per Enterprise licence,
 * 5,000 per Unlimited licence) and 25 concurrent requests longer than 20 s; there is no per-second
 * limit. Cultivate's calls are short, so the limiter only smooths bursts (10 calls per second per
 * process); a burst of a thousand lost deals costs about three thousand calls of the daily allocation.
 * An exhausted allocation answers 403 REQUEST_LIMIT_EXCEEDED: not retried here, the bus retries later.
 * Tokens carry no expiry in the response (the session timeout decides), so a token is cached until
 * Salesforce answers 401 INVALID_SESSION_ID, then fetched again once.
 */
import { CrmApiError, createRestClient, type RestClient } from '../http-client.ts';
import type { CrmSettings } from '../types.ts';
import { DEFAULT_API_VERSION, SF } from './settings.ts';

export const RATE = { limit: 10, intervalMs: 1000 } as const;

export interface SoqlResult<T> {
  totalSize: number;
  done: boolean;
  records: T[];
  nextRecordsUrl?: string;
}

export interface SalesforceApi {
  query<T = Record<string, unknown>>(soql: string): Promise<T[]>;
  create(object: string, body: Record<string, unknown>): Promise<{ id: string }>;
  update(object: string, id: string, body: Record<string, unknown>): Promise<void>;
  /** The sObject's field metadata (sObject Describe), for `cultivate config check`. */
  describe(object: string): Promise<SObjectDescribe>;
}

/** What Cultivate reads of an sObject Describe answer (Salesforce sends much more). */
export interface SObjectDescribe {
  name: string;
  fields: { name: string; label?: string; type: string; picklistValues?: { value: string; label?: string | null; active: boolean }[] }[];
}

export interface ApiOptions {
  baseDelayMs?: number;
  rate?: { limit: number; intervalMs: number };
}

/** True when the settings to call the API are present (otherwise normalise quarantines what needs it). */
export const hasApiSettings = (settings: CrmSettings) => settings.has(SF.apiUrl) && settings.has(SF.clientId) && settings.has(SF.clientSecret);

export function createSalesforceApi(settings: CrmSettings, opts: ApiOptions = {}): SalesforceApi {
  let token: string | undefined;
  let pending: Promise<string> | undefined;

  async function baseUrl(): Promise<string> {
    const url = await settings.get(SF.apiUrl);
    if (!url) throw new CrmApiError(`salesforce: ${SF.apiUrl} is not set`, 0, false);
    return url.replace(/\/+$/, '');
  }

  async function fetchToken(): Promise<string> {
    const [url, clientId, clientSecret] = await Promise.all([baseUrl(), settings.get(SF.clientId), settings.get(SF.clientSecret)]);
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId ?? '', client_secret: clientSecret ?? '' });
    let res: Response;
    try {
      res = await fetch(`${url}/services/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(10_000),
      });
    } catch (err) {
      throw new CrmApiError(`salesforce POST /services/oauth2/token: ${(err as Error).message}`, 0, true);
    }
    if (!res.ok) {
      await res.body?.cancel();
      // 400 invalid_client / invalid_grant is a configuration error; 5xx may pass.
      throw new CrmApiError(`salesforce POST /services/oauth2/token answered ${res.status}`, res.status, res.status >= 500);
    }
    const json = (await res.json()) as { access_token?: unknown };
    if (typeof json.access_token !== 'string' || !json.access_token) throw new CrmApiError('salesforce token response has no access_token', res.status, false);
    return json.access_token;
  }

  async function accessToken(): Promise<string> {
    if (token) return token;
    pending ??= fetchToken().finally(() => (pending = undefined));
    token = await pending;
    return token;
  }

  let client: RestClient | undefined;
  async function rest(): Promise<RestClient> {
    if (client) return client;
    const rate = opts.rate ?? RATE;
    client = createRestClient({
      baseUrl: await baseUrl(),
      headers: async () => ({ authorization: `Bearer ${await accessToken()}` }),
      limit: rate.limit,
      intervalMs: rate.intervalMs,
      ...(opts.baseDelayMs !== undefined && { baseDelayMs: opts.baseDelayMs }),
      name: 'salesforce',
    });
    return client;
  }

  /** One retry with a fresh token when the session expired. */
  async function call<T>(fn: (c: RestClient) => Promise<T>): Promise<T> {
    const c = await rest();
    try {
      return await fn(c);
    } catch (err) {
      if (err instanceof CrmApiError && err.status === 401) {
        token = undefined;
        return fn(c);
      }
      throw err;
    }
  }

  async function version(): Promise<string> {
    const v = ((await settings.get(SF.apiVersion)) ?? DEFAULT_API_VERSION).replace(/^v/i, '');
    return /^\d{2,3}\.0$/.test(v) ? v : DEFAULT_API_VERSION;
  }

  return {
    async query<T>(soql: string): Promise<T[]> {
      const v = await version();
      const records: T[] = [];
      let page = await call((c) => c.get<SoqlResult<T>>(`/services/data/v${v}/query`, { q: soql }));
      records.push(...page.records);
      // Contact roles and history stay far below a page (2,000); follow pages anyway, bounded.
      for (let i = 0; i < 10 && !page.done && page.nextRecordsUrl; i++) {
        const next = page.nextRecordsUrl;
        page = await call((c) => c.get<SoqlResult<T>>(next));
        records.push(...page.records);
      }
      return records;
    },
    async create(object, body) {
      const v = await version();
      const res = await call((c) => c.post<{ id?: string; success?: boolean }>(`/services/data/v${v}/sobjects/${object}`, body));
      if (!res?.id) throw new CrmApiError(`salesforce create ${object}: no id in the answer`, 0, false);
      return { id: res.id };
    },
    async update(object, id, body) {
      const v = await version();
      await call((c) => c.patch(`/services/data/v${v}/sobjects/${object}/${id}`, body));
    },
    async describe(object) {
      const v = await version();
      const res = await call((c) => c.get<SObjectDescribe>(`/services/data/v${v}/sobjects/${encodeURIComponent(object)}/describe`));
      if (!res || !Array.isArray(res.fields)) throw new CrmApiError(`salesforce describe ${object}: no fields in the answer`, 0, false);
      return res;
    },
  };
}

/** Quotes a value for a SOQL string literal (ids are validated before; this guards labels). */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
