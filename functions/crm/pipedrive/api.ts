/**
 * The Pipedrive REST API client: API v2 where the endpoint exists (deals, persons, organizations,
 * activities), v1 otherwise (deal participants, notes). Authenticated with the `x-api-token`
 * header. Responses are validated tolerantly (Pipedrive adds fields), so a changed shape fails
 * loudly at the field that matters rather than deep in the normaliser.
 *
 * Rate limit (https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting): per api_token,
 * per 2-second window, 20 requests on Essential, 40 Advanced, 80 Professional, 100 Power, 120
 * Enterprise, on top of a daily token budget (30,000 base tokens x plan multiplier x seats). The
 * default here is 16 per 2 s (Essential less a fifth of headroom), raised with
 * `CULTIVATE_PIPEDRIVE_RATE_LIMIT` on bigger plans. 429s are retried with backoff (Retry-After
 * honoured) by the shared client.
 */
import { z } from 'zod';
import { createRestClient, type RestClient } from '../http-client.ts';
import type { CrmSettings } from '../types.ts';
import { PIPEDRIVE_SETTINGS } from './settings.ts';

export const DEFAULT_API_URL = 'https://api.pipedrive.com';
export const DEFAULT_RATE_PER_2S = 16;

const id = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(Number);
const nullableId = id.nullish();

const Email = z.looseObject({ value: z.string().nullish(), primary: z.boolean().nullish(), label: z.string().nullish() });

export const PdDeal = z.looseObject({
  id,
  title: z.string().nullish(),
  status: z.string().nullish(),
  lost_reason: z.string().nullish(),
  value: z.number().nullish(),
  currency: z.string().nullish(),
  owner_id: nullableId,
  person_id: nullableId,
  org_id: nullableId,
  pipeline_id: nullableId,
  stage_id: nullableId,
  lost_time: z.string().nullish(),
  custom_fields: z.record(z.string(), z.unknown()).nullish(),
});
export type PdDeal = z.infer<typeof PdDeal>;

export const PdPerson = z.looseObject({
  id,
  name: z.string().nullish(),
  first_name: z.string().nullish(),
  last_name: z.string().nullish(),
  owner_id: nullableId,
  org_id: nullableId,
  // API v2 and webhooks v2 say `emails`, API v1 (participants) `email`.
  emails: z.array(Email).nullish(),
  email: z.array(Email).nullish(),
  job_title: z.string().nullish(),
  marketing_status: z.string().nullish(),
  custom_fields: z.record(z.string(), z.unknown()).nullish(),
});
export type PdPerson = z.infer<typeof PdPerson>;

export const PdOrganization = z.looseObject({ id, name: z.string().nullish() });
export type PdOrganization = z.infer<typeof PdOrganization>;

export const PdActivity = z.looseObject({
  id,
  subject: z.string().nullish(),
  type: z.string().nullish(),
  done: z.boolean().nullish(),
  note: z.string().nullish(),
  owner_id: nullableId,
  person_id: nullableId,
  org_id: nullableId,
  deal_id: nullableId,
  participants: z.array(z.looseObject({ person_id: nullableId, primary: z.boolean().nullish() })).nullish(),
});
export type PdActivity = z.infer<typeof PdActivity>;

/** v1 participant: `person_id` is an object whose `value` is the id; `person` the full person. */
const PdParticipant = z.looseObject({
  person_id: z.union([id, z.looseObject({ value: id })]).nullish(),
  person: z.looseObject({ id }).nullish(),
});

const envelope = <T extends z.ZodType>(data: T) => z.looseObject({ success: z.boolean().optional(), data });
const Created = envelope(z.looseObject({ id }));
const Participants = z.looseObject({
  data: z.array(PdParticipant).nullish(),
  additional_data: z.looseObject({ pagination: z.looseObject({ more_items_in_collection: z.boolean().nullish() }).nullish() }).nullish(),
});

const Option = z.looseObject({ id: z.union([z.number(), z.string()]), label: z.string() });
export const PdField = z.looseObject({ key: z.string(), name: z.string().nullish(), field_type: z.string().nullish(), options: z.array(Option).nullish() });
export type PdField = z.infer<typeof PdField>;
export const PdActivityType = z.looseObject({ id, name: z.string().nullish(), key_string: z.string(), active_flag: z.boolean().nullish() });
export type PdActivityType = z.infer<typeof PdActivityType>;
export const PdUser = z.looseObject({ id, name: z.string().nullish(), email: z.string().nullish(), active_flag: z.boolean().nullish() });
export type PdUser = z.infer<typeof PdUser>;
const FieldPage = z.looseObject({
  data: z.array(PdField).nullish(),
  additional_data: z.looseObject({ pagination: z.looseObject({ more_items_in_collection: z.boolean().nullish(), next_start: z.number().nullish() }).nullish() }).nullish(),
});

export interface PipedriveApiOptions {
  baseUrl: string;
  token: () => Promise<string>;
  ratePer2s?: number;
  /** Tests shorten the backoff. */
  baseDelayMs?: number;
}

export interface PipedriveApi {
  deal(dealId: number): Promise<PdDeal>;
  /** Every person id on the deal (its participants), in Pipedrive's order. */
  participantIds(dealId: number): Promise<number[]>;
  person(personId: number, opts?: { marketingStatus?: boolean }): Promise<PdPerson>;
  organization(orgId: number): Promise<PdOrganization>;
  activity(activityId: number): Promise<PdActivity>;
  addActivity(body: Record<string, unknown>): Promise<number>;
  addNote(body: Record<string, unknown>): Promise<number>;
  updatePerson(personId: number, body: Record<string, unknown>): Promise<void>;
  /** Every deal field (v1 dealFields, all pages): `lost_reason` carries the company's predefined lost reasons as options. */
  dealFields(): Promise<PdField[]>;
  /** Every activity type (v1 activityTypes), active or not. */
  activityTypes(): Promise<PdActivityType[]>;
  /** Every user of the company (v1 users). */
  users(): Promise<PdUser[]>;
}

const FIELD_PAGE = 500;
// Companies have tens of deal fields; the bound only stops a misbehaving paginator.
const FIELD_PAGES = 20;

const PARTICIPANT_PAGE = 100;
// A deal with more people than this is not a buying committee; the rest are left out (and logged by the caller's count).
const PARTICIPANT_PAGES = 5;

/**
 * The client options for a deployment's settings: the one reading of them for the adapter, the
 * import (backfill.ts) and `cultivate config check`. The token is read on every call, so a rotated
 * token is picked up (the settings layer caches).
 */
export async function pipedriveApiOptions(settings: CrmSettings, extra: { baseDelayMs?: number } = {}): Promise<PipedriveApiOptions> {
  const rate = Number(await settings.get(PIPEDRIVE_SETTINGS.rateLimit));
  return {
    baseUrl: (await settings.get(PIPEDRIVE_SETTINGS.apiUrl))?.trim() || DEFAULT_API_URL,
    token: async () => (await settings.get(PIPEDRIVE_SETTINGS.apiToken))?.trim() ?? '',
    ratePer2s: Number.isInteger(rate) && rate > 0 ? rate : DEFAULT_RATE_PER_2S,
    ...(extra.baseDelayMs !== undefined && { baseDelayMs: extra.baseDelayMs }),
  };
}

/** The API for a deployment's settings (`pipedriveApiOptions`). */
export async function pipedriveApiFromSettings(settings: CrmSettings, extra: { baseDelayMs?: number } = {}): Promise<PipedriveApi> {
  return createPipedriveApi(await pipedriveApiOptions(settings, extra));
}

/** The rate-limited REST client under the API, for the import's own calls (the deal search, backfill.ts). */
export function pipedriveRestClient(opts: PipedriveApiOptions): RestClient {
  return createRestClient({
    name: 'pipedrive',
    baseUrl: opts.baseUrl,
    headers: async () => ({ 'x-api-token': await opts.token() }),
    limit: opts.ratePer2s ?? DEFAULT_RATE_PER_2S,
    intervalMs: 2000,
    ...(opts.baseDelayMs !== undefined && { baseDelayMs: opts.baseDelayMs }),
  });
}

export function createPipedriveApi(opts: PipedriveApiOptions): PipedriveApi {
  const rest = pipedriveRestClient(opts);
  const get = async <T extends z.ZodType>(schema: T, path: string, query?: Record<string, string | number | undefined>): Promise<z.infer<T>> =>
    envelope(schema).parse(await rest.get(path, query)).data as z.infer<T>;

  return {
    deal: (dealId) => get(PdDeal, `/api/v2/deals/${dealId}`),
    async participantIds(dealId) {
      const ids: number[] = [];
      for (let page = 0; page < PARTICIPANT_PAGES; page++) {
        const res = Participants.parse(await rest.get(`/api/v1/deals/${dealId}/participants`, { start: page * PARTICIPANT_PAGE, limit: PARTICIPANT_PAGE }));
        for (const p of res.data ?? []) {
          const pid = typeof p.person_id === 'number' ? p.person_id : (p.person_id?.value ?? p.person?.id);
          if (pid !== undefined && !ids.includes(pid)) ids.push(pid);
        }
        if (!res.additional_data?.pagination?.more_items_in_collection) break;
      }
      return ids;
    },
    person: (personId, o) => get(PdPerson, `/api/v2/persons/${personId}`, o?.marketingStatus ? { include_fields: 'marketing_status' } : undefined),
    organization: (orgId) => get(PdOrganization, `/api/v2/organizations/${orgId}`),
    activity: (activityId) => get(PdActivity, `/api/v2/activities/${activityId}`),
    addActivity: async (body) => Created.parse(await rest.post('/api/v2/activities', body)).data.id,
    addNote: async (body) => Created.parse(await rest.post('/api/v1/notes', body)).data.id,
    updatePerson: async (personId, body) => {
      await rest.patch(`/api/v2/persons/${personId}`, body);
    },
    async dealFields() {
      const fields: PdField[] = [];
      for (let page = 0; page < FIELD_PAGES; page++) {
        const res = FieldPage.parse(await rest.get('/api/v1/dealFields', { start: page * FIELD_PAGE, limit: FIELD_PAGE }));
        fields.push(...(res.data ?? []));
        if (!res.additional_data?.pagination?.more_items_in_collection) break;
      }
      return fields;
    },
    activityTypes: async () => get(z.array(PdActivityType), '/api/v1/activityTypes'),
    users: async () => get(z.array(PdUser), '/api/v1/users'),
  };
}
