/**
 * `cultivate import hubspot`: deals in a closed-lost stage of a mapped pipeline (config/crm.yaml
 * `hubspot.closedLostStages`), closed in the window, through HubSpot's CRM search
 * (POST /crm/v3/objects/deals/search, developers.hubspot.com/docs/api/crm/search). Each deal
 * becomes the webhook subscription event HubSpot sends when a deal's `dealstage` changes, so the
 * live normaliser reads the deal, its contacts and its lost reason exactly as for a live loss.
 *
 * Search limits shape the paging: at most 5 filter groups of 6 filters and 18 filters in all (so
 * four pipelines per request, four filters each), at most 200 results per page, and no paging past
 * 10,000 results (then the window restarts at the last close date seen: results are sorted by
 * close date, and a deal seen twice has the same id, so the runner imports it once).
 */
import { z } from 'zod';
import type { RestClient } from '../http-client.ts';
import { ImportCursorError, type ListLostDeals, type ListWindow, type LostDealPage } from '../import.ts';
import { isClosedLostStage, type CrmMapping } from '../mappings.ts';
import type { CrmNotification, CrmSettings } from '../types.ts';
import { hubspotApi, hubspotClientFromSettings } from './api.ts';
import { HUBSPOT_SETTINGS } from './settings.ts';

// A page takes 20 s to publish at the import's default rate: one page per HTTP call (functions/crm/import.ts).
const PAGE = 100;
const PIPELINES_PER_REQUEST = 4;
const SEARCH_CAP = 10_000;

const SearchPage = z.looseObject({
  results: z.array(z.looseObject({ id: z.string(), properties: z.record(z.string(), z.string().nullable().optional()) })),
  paging: z.looseObject({ next: z.looseObject({ after: z.string() }).optional() }).optional(),
});
const AccountDetails = z.looseObject({ portalId: z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(String) });

/** Opaque to callers: which group of pipelines, the search offset, and the restarted window start. */
const Cursor = z.strictObject({ group: z.number().int().min(0), after: z.string().optional(), since: z.number().optional() });
type Cursor = z.infer<typeof Cursor>;
const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');
function decode(text: string | undefined): Cursor {
  if (text === undefined) return { group: 0 };
  try {
    return Cursor.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
  } catch {
    throw new ImportCursorError('hubspot');
  }
}

/**
 * The mapped closed-lost stages as HubSpot ids, decided exactly as the live normaliser decides
 * (`isClosedLostStage` on the deal's pipeline and stage ids, hubspot/normalise.ts): a pipeline or
 * stage crm.yaml names some other way (a label) is one the normaliser would quarantine every deal
 * of, so it is not listed either; `cultivate config check` reports such entries.
 */
async function lostStages(client: RestClient, mapping: CrmMapping): Promise<{ pipeline: string; stages: string[] }[]> {
  const out: { pipeline: string; stages: string[] }[] = [];
  for (const p of await hubspotApi(client).pipelines()) {
    const stages = p.stages.filter((s) => isClosedLostStage(mapping, p.id, s.id) === true).map((s) => s.id);
    if (stages.length > 0) out.push({ pipeline: p.id, stages });
  }
  return out.sort((a, b) => a.pipeline.localeCompare(b.pipeline));
}

/** The subscription event HubSpot sends when a deal's stage changes, for the live normaliser. */
function notificationOf(portal: string, deal: { id: string; properties: Record<string, string | null | undefined> }, closedAt: number): CrmNotification {
  return {
    id: `hubspot:${portal}:import:${deal.id}`,
    crm: 'hubspot',
    portal,
    kind: 'import.deal.propertyChange',
    occurredAt: new Date(closedAt).toISOString(),
    payload: {
      eventId: deal.id,
      subscriptionId: '0',
      portalId: portal,
      occurredAt: closedAt,
      subscriptionType: 'deal.propertyChange',
      attemptNumber: 0,
      objectId: deal.id,
      propertyName: 'dealstage',
      propertyValue: deal.properties.dealstage ?? '',
      changeSource: 'CULTIVATE_IMPORT',
    },
  };
}

export async function listLostDeals(client: RestClient, mapping: CrmMapping, window: ListWindow): Promise<LostDealPage> {
  const cursor = decode(window.cursor);
  const groups = await lostStages(client, mapping);
  const chunk = groups.slice(cursor.group * PIPELINES_PER_REQUEST, (cursor.group + 1) * PIPELINES_PER_REQUEST);
  if (chunk.length === 0) return { notifications: [] };
  const portal = AccountDetails.parse(await client.get('/account-info/v3/details')).portalId;
  const since = cursor.since ?? window.since.getTime();
  const body = {
    filterGroups: chunk.map((g) => ({
      filters: [
        { propertyName: 'pipeline', operator: 'EQ', value: g.pipeline },
        { propertyName: 'dealstage', operator: 'IN', values: g.stages },
        { propertyName: 'closedate', operator: 'GTE', value: String(since) },
        { propertyName: 'closedate', operator: 'LT', value: String(window.until.getTime()) },
      ],
    })),
    properties: ['pipeline', 'dealstage', 'closedate'],
    sorts: [{ propertyName: 'closedate', direction: 'ASCENDING' }],
    limit: PAGE,
    ...(cursor.after !== undefined && { after: cursor.after }),
  };
  const page = SearchPage.parse(await client.post('/crm/v3/objects/deals/search', body));
  const notifications: CrmNotification[] = [];
  let lastClose = since;
  for (const deal of page.results) {
    const closedAt = Date.parse(deal.properties.closedate ?? '');
    if (!Number.isFinite(closedAt)) continue; // the filter matched it, so HubSpot has a date: a changed format, not a lost deal to guess at
    lastClose = Math.max(lastClose, closedAt);
    notifications.push(notificationOf(portal, deal, closedAt));
  }
  const after = page.paging?.next?.after;
  let next: Cursor | undefined;
  if (after !== undefined && Number(after) + PAGE > SEARCH_CAP) next = { group: cursor.group, since: lastClose };
  else if (after !== undefined) next = { group: cursor.group, after, ...(cursor.since !== undefined && { since: cursor.since }) };
  else if ((cursor.group + 1) * PIPELINES_PER_REQUEST < groups.length) next = { group: cursor.group + 1 };
  return { notifications, ...(next && { cursor: encode(next) }) };
}

/** The lister for the runner, or the settings it needs that are absent. */
export function hubspotLostDeals(settings: CrmSettings, mapping: CrmMapping): ListLostDeals | { missing: string[] } {
  if (!settings.has(HUBSPOT_SETTINGS.token)) return { missing: [HUBSPOT_SETTINGS.token] };
  let client: Promise<RestClient> | undefined;
  return async (window) => listLostDeals(await (client ??= hubspotClientFromSettings(settings)), mapping, window);
}
