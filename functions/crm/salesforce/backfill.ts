/**
 * `cultivate import salesforce`: opportunities closed lost (`IsClosed = true AND IsWon = false`,
 * never a stage name) with a CloseDate in the window, through a SOQL query. Pages by Id (keyset:
 * `Id > <last>` ordered by Id), so a cursor stays valid for as long as the run needs, unlike a
 * query locator, which Salesforce drops after 15 idle minutes. Each opportunity becomes the
 * Outbound Message notification the live normaliser reads, carrying only Id, IsClosed and IsWon:
 * the normaliser then reads the opportunity, its lost reason, account and contact roles itself,
 * exactly as for a live message that lacks them. CloseDate is a date: the loss is placed at its
 * start (UTC), and the window [since, until) applies to that instant, so the query asks for the
 * dates whose start falls in it: CloseDate >= the first midnight at or after `since`, and
 * CloseDate < the first midnight at or after `until` (a deal closing on `until`'s date is in the
 * window when `until` is later than that date's start, e.g. the default until, now). Consecutive
 * windows then list every date once.
 *
 * The SOQL goes through the adapter's own client (`createSalesforceApi`: OAuth 2.0 client
 * credentials, the CRM's rate limit, one retry on an expired session).
 */
import { z } from 'zod';
import { CrmApiError } from '../http-client.ts';
import { ImportCursorError, type ListLostDeals, type ListWindow, type LostDealPage } from '../import.ts';
import type { CrmNotification, CrmSettings } from '../types.ts';
import { createSalesforceApi, hasApiSettings, type SalesforceApi } from './api.ts';
import { canonicalId, isSalesforceId } from './ids.ts';
import type { OutboundMessagePayload } from './parse.ts';
import { SF } from './settings.ts';

// A page takes 20 s to publish at the import's default rate: one page per HTTP call (functions/crm/import.ts).
const PAGE = 100;

const QueryPage = z.looseObject({ records: z.array(z.looseObject({ Id: z.string() }).catchall(z.unknown())) });

const DAY_MS = 86_400_000;
/** The date (UTC) of the first midnight at or after `d`. */
const dateFrom = (d: Date) => new Date(Math.ceil(d.getTime() / DAY_MS) * DAY_MS).toISOString().slice(0, 10);

/** The one call a backfill makes (its LIMIT fits a page). */
export type SoqlClient = Pick<SalesforceApi, 'query'>;

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
    `CloseDate >= ${dateFrom(window.since)}`,
    `CloseDate < ${dateFrom(window.until)}`,
    ...(window.cursor !== undefined ? [`Id > '${window.cursor}'`] : []),
  ];
  const rows = QueryPage.parse({ records: await api.query(`SELECT Id, CloseDate FROM Opportunity WHERE ${where.join(' AND ')} ORDER BY Id LIMIT ${PAGE}`) }).records;
  const notifications = rows.flatMap((r) => (isSalesforceId(r.Id) && typeof r.CloseDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(r.CloseDate) ? [notificationOf(org, { Id: r.Id, CloseDate: r.CloseDate })] : []));
  const last = rows.at(-1)?.Id;
  return { notifications, ...(rows.length === PAGE && last !== undefined && { cursor: last }) };
}

/** The lister for the runner, or the settings it needs that are absent. */
export function salesforceLostDeals(settings: CrmSettings): ListLostDeals | { missing: string[] } {
  if (!hasApiSettings(settings)) return { missing: [SF.apiUrl, SF.clientId, SF.clientSecret].filter((n) => !settings.has(n)) };
  const api = createSalesforceApi(settings);
  return (window) => listLostDeals(api, window);
}
