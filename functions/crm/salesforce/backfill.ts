/**
 * `cultivate import salesforce`: opportunities closed lost (`IsClosed = true AND IsWon = false`,
 * never a stage name) with a CloseDate in the window, through a SOQL query. Pages by Id (keyset:
 * `Id > <last>` ordered by Id), so a cursor stays valid for as long as the run needs, unlike a
 * query locator, which Salesforce drops after 15 idle minutes. Each opportunity becomes the
 * Outbound Message notification the live normaliser reads, carrying only Id, IsClosed and IsWon:
 * the normaliser then reads the opportunity, its lost reason, account and contact roles itself,
 * exactly as for a live message that lacks them. CloseDate is a date: the loss is placed at its
 * start (UTC).
 *
 * `listLostDeals` takes any `SoqlClient`; the adapter's own `createSalesforceApi(settings)` fits.
 * `salesforceSoqlClient` is a small one on the same settings and limits (OAuth 2.0 client
 * credentials) that calls the documented `query/` form, which the test fake serves with the
 * AND-joined comparisons a backfill needs (see ADR 0005, "Importing past losses").
 */
import { z } from 'zod';
import { CrmApiError, createRestClient, type RestClient } from '../http-client.ts';
import { ImportCursorError, type ListLostDeals, type ListWindow, type LostDealPage } from '../import.ts';
import type { CrmNotification, CrmSettings } from '../types.ts';
import { hasApiSettings, RATE } from './api.ts';
import { canonicalId, isSalesforceId } from './ids.ts';
import type { OutboundMessagePayload } from './parse.ts';
import { DEFAULT_API_VERSION, SF } from './settings.ts';

// A page takes 20 s to publish at the import's default rate: one page per HTTP call (functions/crm/import.ts).
const PAGE = 100;

const QueryPage = z.looseObject({ records: z.array(z.looseObject({ Id: z.string() }).catchall(z.unknown())) });

const utcDate = (d: Date) => d.toISOString().slice(0, 10);

export interface SoqlClient {
  /** One page of a SOQL query (the first; a backfill never needs `nextRecordsUrl`, its LIMIT fits a page). */
  query(soql: string): Promise<Record<string, unknown>[]>;
}

function notificationOf(org: string, opp: { Id: string; CloseDate: string }): CrmNotification {
  const payload: OutboundMessagePayload = { via: 'outbound-message', actionId: 'cultivate-import', object: 'Opportunity', record: { Id: opp.Id, IsClosed: 'true', IsWon: 'false' } };
  return { id: `salesforce:${org}:import:${opp.Id}`, crm: 'salesforce', portal: org, kind: 'import.Opportunity', occurredAt: `${opp.CloseDate}T00:00:00.000Z`, payload };
}

export async function listLostDeals(api: SoqlClient, window: ListWindow): Promise<LostDealPage> {
  if (window.cursor !== undefined && !isSalesforceId(window.cursor)) throw new ImportCursorError('salesforce');
  const [orgRow] = await api.query('SELECT Id FROM Organization');
  const org = typeof orgRow?.Id === 'string' ? canonicalId(orgRow.Id) : undefined;
  if (!org) throw new CrmApiError('salesforce: the Organization query returned no org id', 0, false);
  const where = [
    'IsClosed = true',
    'IsWon = false',
    `CloseDate >= ${utcDate(window.since)}`,
    `CloseDate <= ${utcDate(window.until)}`,
    ...(window.cursor !== undefined ? [`Id > '${window.cursor}'`] : []),
  ];
  const rows = QueryPage.parse({ records: await api.query(`SELECT Id, CloseDate FROM Opportunity WHERE ${where.join(' AND ')} ORDER BY Id LIMIT ${PAGE}`) }).records;
  const notifications = rows.flatMap((r) => (isSalesforceId(r.Id) && typeof r.CloseDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(r.CloseDate) ? [notificationOf(org, { Id: r.Id, CloseDate: r.CloseDate })] : []));
  const last = rows.at(-1)?.Id;
  return { notifications, ...(rows.length === PAGE && last !== undefined && { cursor: last }) };
}

/** A SOQL client on the adapter's settings: token from the client credentials flow, fetched again once when the session expired. */
export function salesforceSoqlClient(settings: CrmSettings): SoqlClient {
  let token: Promise<string> | undefined;
  let rest: RestClient | undefined;
  const baseUrl = async () => {
    const url = await settings.get(SF.apiUrl);
    if (!url) throw new CrmApiError(`salesforce: ${SF.apiUrl} is not set`, 0, false);
    return url.replace(/\/+$/, '');
  };
  const fetchToken = async () => {
    const [url, clientId, clientSecret] = await Promise.all([baseUrl(), settings.get(SF.clientId), settings.get(SF.clientSecret)]);
    const res = await fetch(`${url}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId ?? '', client_secret: clientSecret ?? '' }),
      signal: AbortSignal.timeout(10_000),
    });
    const json = (await res.json().catch(() => ({}))) as { access_token?: unknown };
    if (!res.ok || typeof json.access_token !== 'string') throw new CrmApiError(`salesforce POST /services/oauth2/token answered ${res.status}`, res.status, res.status >= 500);
    return json.access_token;
  };
  const accessToken = () =>
    (token ??= fetchToken().catch((err: unknown) => {
      token = undefined;
      throw err;
    }));
  const client = async () =>
    (rest ??= createRestClient({ name: 'salesforce', baseUrl: await baseUrl(), headers: async () => ({ authorization: `Bearer ${await accessToken()}` }), limit: RATE.limit, intervalMs: RATE.intervalMs }));
  return {
    async query(soql) {
      const v = ((await settings.get(SF.apiVersion)) ?? DEFAULT_API_VERSION).replace(/^v/i, '');
      const version = /^\d{2,3}\.0$/.test(v) ? v : DEFAULT_API_VERSION;
      const run = async () => ((await (await client()).get<{ records?: Record<string, unknown>[] }>(`/services/data/v${version}/query/`, { q: soql })).records ?? []);
      try {
        return await run();
      } catch (err) {
        if (!(err instanceof CrmApiError && err.status === 401)) throw err;
        token = undefined;
        return run();
      }
    },
  };
}

/** The lister for the runner, or the settings it needs that are absent. */
export function salesforceLostDeals(settings: CrmSettings): ListLostDeals | { missing: string[] } {
  if (!hasApiSettings(settings)) return { missing: [SF.apiUrl, SF.clientId, SF.clientSecret].filter((n) => !settings.has(n)) };
  const api = salesforceSoqlClient(settings);
  return (window) => listLostDeals(api, window);
}
