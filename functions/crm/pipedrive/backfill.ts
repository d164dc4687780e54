/**
 * `cultivate import pipedrive`: deals whose status is `lost`, lost in the window, through API v2
 * `GET /api/v2/deals` (cursor-paginated, up to 500 a page; 100 asked). The endpoint filters by status and
 * update time but not by lost time, so it asks for deals updated since the window's start (a deal
 * lost then was updated then or later) and keeps those whose `lost_time` falls in the window. Each
 * deal becomes the webhooks v2 `change.deal` delivery Pipedrive sends when a deal's status becomes
 * lost (`previous.status` open), so the live normaliser reads it exactly as a live loss.
 */
import { z } from 'zod';
import type { RestClient } from '../http-client.ts';
import { ImportCursorError, type ListLostDeals, type ListWindow, type LostDealPage } from '../import.ts';
import type { CrmNotification, CrmSettings } from '../types.ts';
import { PdDeal, pipedriveApiOptions, pipedriveRestClient } from './api.ts';
import { PIPEDRIVE_SETTINGS } from './settings.ts';

// A page takes 20 s to publish at the import's default rate: one page per HTTP call (functions/crm/import.ts).
const PAGE = 100;

const DealPage = z.looseObject({
  data: z.array(z.record(z.string(), z.unknown())).nullish(),
  additional_data: z.looseObject({ next_cursor: z.string().nullish() }).nullish(),
});
const Me = z.looseObject({ data: z.looseObject({ company_id: z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(String) }) });

/** API v2 answers RFC 3339; v1 and older deals say `YYYY-MM-DD HH:MM:SS` in UTC. */
function instantOf(value: unknown): number {
  if (typeof value !== 'string') return Number.NaN;
  return Date.parse(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value) ? `${value.replace(' ', 'T')}Z` : value);
}

function notificationOf(company: string, raw: Record<string, unknown>, deal: PdDeal, lostAt: number): CrmNotification {
  const occurredAt = new Date(lostAt).toISOString();
  return {
    id: `pipedrive:${company}:import:${deal.id}`,
    crm: 'pipedrive',
    portal: company,
    kind: 'import.change.deal',
    occurredAt,
    payload: {
      meta: { action: 'change', entity: 'deal', entity_id: String(deal.id), company_id: company, id: `import-${deal.id}`, timestamp: occurredAt, version: '2.0', change_source: 'cultivate-import' },
      data: { ...raw, status: 'lost' },
      previous: { status: 'open' },
    },
  };
}

export async function listLostDeals(client: RestClient, window: ListWindow): Promise<LostDealPage> {
  if (window.cursor !== undefined && !/^[\w\-=+/]{1,512}$/.test(window.cursor)) throw new ImportCursorError('pipedrive');
  const company = Me.parse(await client.get('/api/v1/users/me')).data.company_id;
  const page = DealPage.parse(
    await client.get('/api/v2/deals', {
      status: 'lost',
      updated_since: window.since.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      sort_by: 'update_time',
      sort_direction: 'asc',
      limit: PAGE,
      cursor: window.cursor,
    }),
  );
  const notifications: CrmNotification[] = [];
  for (const raw of page.data ?? []) {
    const deal = PdDeal.parse(raw);
    const lostAt = instantOf(deal.lost_time);
    if (deal.status !== 'lost' || !(lostAt >= window.since.getTime() && lostAt < window.until.getTime())) continue;
    notifications.push(notificationOf(company, raw, deal, lostAt));
  }
  const next = page.additional_data?.next_cursor ?? undefined;
  return { notifications, ...(next && { cursor: next }) };
}

/** The lister for the runner, or the settings it needs that are absent. Same base URL, token and rate as the adapter's client (`pipedriveApiOptions`). */
export function pipedriveLostDeals(settings: CrmSettings): ListLostDeals | { missing: string[] } {
  if (!settings.has(PIPEDRIVE_SETTINGS.apiToken)) return { missing: [PIPEDRIVE_SETTINGS.apiToken] };
  let client: Promise<RestClient> | undefined;
  return async (window) => listLostDeals(await (client ??= pipedriveApiOptions(settings).then(pipedriveRestClient)), window);
}
