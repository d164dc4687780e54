/**
 * What HubSpot has that config/crm.yaml should map, for `cultivate config check`: deal pipelines
 * and their stages (closed and not won = a closed-lost candidate), the options of the lost-reason
 * property and of the task outcome property when they are enumerations (free text cannot be
 * listed), and the active owners.
 */
import type { CatalogValue, CrmCatalog } from '../coverage.ts';
import type { CrmMapping } from '../mappings.ts';
import type { HubSpotApi, ObjectType } from './api.ts';
import { fieldName } from './records.ts';

async function options(api: HubSpotApi, type: ObjectType, name: string, notes: string[]): Promise<CatalogValue[] | undefined> {
  const property = await api.property(type, name);
  if (!property) {
    notes.push(`${type} property ${name} does not exist in HubSpot (fields in crm.yaml): not checked`);
    return undefined;
  }
  if (property.type !== 'enumeration') {
    notes.push(`${type} property ${name} is free text (${property.type}), so its values cannot be listed: not checked`);
    return undefined;
  }
  // Records carry the option's internal value; hidden options can no longer be chosen.
  return property.options.filter((o) => o.hidden !== true).map((o) => ({ key: o.value, label: o.label }));
}

export async function hubspotCatalog(api: HubSpotApi, m: CrmMapping): Promise<CrmCatalog> {
  const notes: string[] = [];
  const lostField = fieldName(m, 'lostReason') ?? 'closed_lost_reason';
  const outcomeField = fieldName(m, 'taskOutcome') ?? 'cultivate_outcome';
  const [pipelines, reasons, outcomes, owners] = await Promise.all([api.pipelines(), options(api, 'deals', lostField, notes), options(api, 'tasks', outcomeField, notes), api.owners()]);
  return {
    crm: 'hubspot',
    pipelines: pipelines.map((p) => ({
      key: p.id,
      label: p.label,
      stages: p.stages.map((s) => ({ key: s.id, label: s.label, closedLost: s.isClosed && s.probability !== 1 })),
    })),
    ...(reasons && { lostReasons: { source: `deal property ${lostField}`, values: reasons } }),
    ...(outcomes && { outcomes: { source: `task property ${outcomeField}`, values: outcomes, unmapped: 'quarantined' as const, acceptsOutcomeNames: true } }),
    users: { source: 'owner', values: owners.map((o) => ({ key: o.id, label: o.email ?? ([o.firstName, o.lastName].filter(Boolean).join(' ') || undefined) })) },
    notes,
  };
}
