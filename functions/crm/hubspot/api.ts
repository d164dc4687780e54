/**
 * The HubSpot API calls Cultivate makes, through one rate-limited REST client per process.
 * Responses are validated loosely (HubSpot adds fields); a response that does not have what
 * Cultivate reads throws, so the caller retries and then dead-letters.
 *
 * Endpoints (developers.hubspot.com/docs/api/crm/...): CRM objects v3 (read, batch read, create),
 * associations v4 (labels), pipelines v3 (stage metadata), communication preferences v4.
 */
import { z } from 'zod';
import { createRestClient, CrmApiError, type RestClient } from '../http-client.ts';
import type { CrmSettings } from '../types.ts';
import { DEFAULT_API_URL, HUBSPOT_SETTINGS, ratePer10s } from './settings.ts';

export type ObjectType = 'deals' | 'contacts' | 'companies' | 'tasks' | 'notes' | 'meetings';

const props = z.record(z.string(), z.string().nullable().optional());

export const CrmObject = z.looseObject({
  id: z.string(),
  properties: props,
  propertiesWithHistory: z.record(z.string(), z.array(z.looseObject({ value: z.string().nullable().optional(), timestamp: z.string() }))).optional(),
  associations: z.record(z.string(), z.looseObject({ results: z.array(z.looseObject({ id: z.string(), type: z.string().optional() })) })).optional(),
});
export type CrmObject = z.infer<typeof CrmObject>;

const BatchRead = z.looseObject({ results: z.array(CrmObject) });

export const AssociationType = z.looseObject({ category: z.string(), typeId: z.number(), label: z.string().nullable().optional() });
export type AssociationType = z.infer<typeof AssociationType>;
const AssociationPage = z.looseObject({
  results: z.array(z.looseObject({ toObjectId: z.union([z.number(), z.string()]).transform(String), associationTypes: z.array(AssociationType) })),
  paging: z.looseObject({ next: z.looseObject({ after: z.string() }).optional() }).optional(),
});
export type Association = z.infer<typeof AssociationPage>['results'][number];

const Pipeline = z.looseObject({
  id: z.string(),
  stages: z.array(z.looseObject({ id: z.string(), label: z.string().optional(), metadata: z.record(z.string(), z.unknown()).default({}) })),
});

const PipelineList = z.looseObject({ results: z.array(Pipeline.extend({ label: z.string().optional() })) });

export const PropertyInfo = z.looseObject({
  name: z.string(),
  label: z.string().optional(),
  type: z.string(),
  options: z.array(z.looseObject({ value: z.string(), label: z.string().optional(), hidden: z.boolean().optional() })).default([]),
});
export type PropertyInfo = z.infer<typeof PropertyInfo>;

const OwnerPage = z.looseObject({
  results: z.array(z.looseObject({ id: z.string(), email: z.string().nullish(), firstName: z.string().nullish(), lastName: z.string().nullish(), archived: z.boolean().optional() })),
  paging: z.looseObject({ next: z.looseObject({ after: z.string() }).optional() }).optional(),
});
export type Owner = z.infer<typeof OwnerPage>['results'][number];

/** A deal pipeline with every stage's metadata, for `cultivate config check`. */
export interface PipelineInfo {
  id: string;
  label: string | undefined;
  stages: ({ id: string; label: string | undefined } & StageInfo)[];
}

export interface StageInfo {
  isClosed: boolean;
  /** HubSpot's win probability: 1 for closed-won, 0 for closed-lost. */
  probability: number | undefined;
}

/** HUBSPOT_DEFINED association type ids (developers.hubspot.com/docs/api/crm/associations/v4, "Association type id values"). */
export const ASSOCIATION_TYPE = {
  taskToContact: 204,
  taskToCompany: 192,
  taskToDeal: 216,
  noteToContact: 202,
  noteToCompany: 190,
  noteToDeal: 214,
  dealToCompanyPrimary: 5,
} as const;

export interface CreateAssociation {
  to: { id: string };
  types: { associationCategory: 'HUBSPOT_DEFINED'; associationTypeId: number }[];
}

export interface HubSpotApi {
  getObject(type: ObjectType, id: string, properties: readonly string[], opts?: { history?: readonly string[]; associations?: readonly ObjectType[] }): Promise<CrmObject | undefined>;
  batchRead(type: ObjectType, ids: readonly string[], properties: readonly string[]): Promise<CrmObject[]>;
  associations(from: ObjectType, id: string, to: ObjectType): Promise<Association[]>;
  stage(pipelineId: string, stageId: string): Promise<StageInfo | undefined>;
  create(type: 'tasks' | 'notes', properties: Record<string, string>, associations: CreateAssociation[]): Promise<{ id: string }>;
  unsubscribeAllEmail(email: string): Promise<void>;
  /** Every deal pipeline with its stages (pipelines v3). */
  pipelines(): Promise<PipelineInfo[]>;
  /** A property's definition with its options (properties v3); undefined when the property does not exist. */
  property(type: ObjectType, name: string): Promise<PropertyInfo | undefined>;
  /** Every active (not archived) owner (owners v3), all pages. */
  owners(): Promise<Owner[]>;
}

function stageInfo(metadata: Record<string, unknown>): StageInfo {
  const probability = Number(metadata.probability);
  return { isClosed: String(metadata.isClosed) === 'true', probability: Number.isFinite(probability) ? probability : undefined };
}

const PIPELINE_TTL_MS = 10 * 60 * 1000;

export function hubspotApi(client: RestClient): HubSpotApi {
  const pipelines = new Map<string, { at: number; stages: Map<string, StageInfo> }>();

  async function getObject(type: ObjectType, id: string, properties: readonly string[], opts: { history?: readonly string[]; associations?: readonly ObjectType[] } = {}) {
    try {
      const body = await client.get(`/crm/v3/objects/${type}/${encodeURIComponent(id)}`, {
        properties: properties.join(','),
        ...(opts.history?.length && { propertiesWithHistory: opts.history.join(',') }),
        ...(opts.associations?.length && { associations: opts.associations.join(',') }),
      });
      return CrmObject.parse(body);
    } catch (err) {
      // A deleted or merged-away record: nothing to read, not worth retrying.
      if (err instanceof CrmApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async function batchRead(type: ObjectType, ids: readonly string[], properties: readonly string[]) {
    const out: CrmObject[] = [];
    // HubSpot's batch read takes at most 100 inputs.
    for (let i = 0; i < ids.length; i += 100) {
      const inputs = ids.slice(i, i + 100).map((id) => ({ id }));
      const body = await client.post(`/crm/v3/objects/${type}/batch/read`, { properties, propertiesWithHistory: [], inputs });
      out.push(...BatchRead.parse(body).results);
    }
    return out;
  }

  async function associations(from: ObjectType, id: string, to: ObjectType) {
    const out: Association[] = [];
    let after: string | undefined;
    do {
      const page = AssociationPage.parse(await client.get(`/crm/v4/objects/${from}/${encodeURIComponent(id)}/associations/${to}`, { limit: 500, after }));
      out.push(...page.results);
      after = page.paging?.next?.after;
    } while (after);
    return out;
  }

  async function stage(pipelineId: string, stageId: string) {
    let cached = pipelines.get(pipelineId);
    if (!cached || Date.now() - cached.at > PIPELINE_TTL_MS) {
      try {
        const p = Pipeline.parse(await client.get(`/crm/v3/pipelines/deals/${encodeURIComponent(pipelineId)}`));
        const stages = new Map<string, StageInfo>();
        for (const s of p.stages) {
          const probability = Number(s.metadata.probability);
          stages.set(s.id, { isClosed: String(s.metadata.isClosed) === 'true', probability: Number.isFinite(probability) ? probability : undefined });
        }
        cached = { at: Date.now(), stages };
        pipelines.set(pipelineId, cached);
      } catch (err) {
        if (err instanceof CrmApiError && err.status === 404) return undefined;
        throw err;
      }
    }
    return cached.stages.get(stageId);
  }

  async function create(type: 'tasks' | 'notes', properties: Record<string, string>, assoc: CreateAssociation[]) {
    const body = await client.post(`/crm/v3/objects/${type}`, { properties, associations: assoc });
    return { id: CrmObject.parse(body).id };
  }

  async function unsubscribeAllEmail(email: string) {
    await client.request('POST', `/communication-preferences/v4/statuses/${encodeURIComponent(email)}/unsubscribe-all`, undefined, { channel: 'EMAIL' });
  }

  async function allPipelines(): Promise<PipelineInfo[]> {
    const list = PipelineList.parse(await client.get('/crm/v3/pipelines/deals'));
    return list.results.map((p) => ({ id: p.id, label: p.label, stages: p.stages.map((s) => ({ id: s.id, label: s.label, ...stageInfo(s.metadata) })) }));
  }

  async function property(type: ObjectType, name: string) {
    try {
      return PropertyInfo.parse(await client.get(`/crm/v3/properties/${type}/${encodeURIComponent(name)}`));
    } catch (err) {
      if (err instanceof CrmApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async function owners() {
    const out: Owner[] = [];
    let after: string | undefined;
    do {
      const page = OwnerPage.parse(await client.get('/crm/v3/owners', { limit: 500, archived: 'false', after }));
      out.push(...page.results.filter((o) => o.archived !== true));
      after = page.paging?.next?.after;
    } while (after);
    return out;
  }

  return { getObject, batchRead, associations, stage, create, unsubscribeAllEmail, pipelines: allPipelines, property, owners };
}

/**
 * The rate-limited REST client for a deployment's settings, shared by the adapter and the import
 * (functions/crm/hubspot/backfill.ts), so both spend the same allowance. The token is read per
 * call, so a rotated secret is picked up; a missing token fails the call, not the construction.
 */
export async function hubspotClientFromSettings(settings: CrmSettings): Promise<RestClient> {
  const baseUrl = (await settings.get(HUBSPOT_SETTINGS.apiUrl)) ?? DEFAULT_API_URL;
  const limit = await ratePer10s(settings);
  return createRestClient({
    name: 'hubspot',
    baseUrl,
    // Spread over each second rather than bursting the whole 10-second allowance at once.
    limit: Math.max(1, Math.floor(limit / 10)),
    intervalMs: 1000,
    headers: async () => {
      const token = await settings.get(HUBSPOT_SETTINGS.token);
      if (!token) throw new CrmApiError('hubspot: CULTIVATE_HUBSPOT_TOKEN is not set', 0, false);
      return { authorization: `Bearer ${token}` };
    },
  });
}

/** The API over `hubspotClientFromSettings`. */
export async function hubspotApiFromSettings(settings: CrmSettings): Promise<HubSpotApi> {
  return hubspotApi(await hubspotClientFromSettings(settings));
}
