/**
 * What Salesforce has that config/crm.yaml should map, for `cultivate config check`: the picklist
 * values of the lost-reason field and of the task outcome field on their objects (sObject
 * Describe; a text field cannot be listed), and the active standard users. Closed-lost is
 * IsClosed && !IsWon, so stages need no mapping and are not listed.
 */
import type { CatalogValue, CrmCatalog } from '../coverage.ts';
import type { CrmMapping } from '../mappings.ts';
import type { SalesforceApi, SObjectDescribe } from './api.ts';
import { fieldName } from './settings.ts';

function picklist(describe: SObjectDescribe, field: string, notes: string[]): CatalogValue[] | undefined {
  const f = describe.fields.find((x) => x.name.toLowerCase() === field.toLowerCase());
  if (!f) {
    notes.push(`${describe.name}.${field} does not exist in Salesforce (fields in crm.yaml): not checked`);
    return undefined;
  }
  if (f.type !== 'picklist' && f.type !== 'multipicklist') {
    notes.push(`${describe.name}.${field} is a ${f.type} field, so its values cannot be listed: not checked`);
    return undefined;
  }
  // Records carry the API value; inactive values can no longer be chosen.
  return (f.picklistValues ?? []).filter((v) => v.active).map((v) => ({ key: v.value, label: v.label ?? undefined }));
}

interface UserRow {
  Id: string;
  Name?: string | null;
  Email?: string | null;
  IsActive?: boolean | null;
}

export async function salesforceCatalog(api: SalesforceApi, m: CrmMapping): Promise<CrmCatalog> {
  const notes: string[] = [];
  const lostField = fieldName(m.fields, 'lostReason');
  const outcomeField = fieldName(m.fields, 'taskOutcome');
  const [opportunity, task, users] = await Promise.all([
    lostField ? api.describe('Opportunity') : undefined,
    outcomeField ? api.describe('Task') : undefined,
    // Integration, guest and automated users are not Standard; the inactive are filtered here.
    api.query<UserRow>("SELECT Id, Name, Email, IsActive FROM User WHERE UserType = 'Standard'"),
  ]);
  const reasons = opportunity && lostField ? picklist(opportunity, lostField, notes) : undefined;
  const outcomes = task && outcomeField ? picklist(task, outcomeField, notes) : undefined;
  return {
    crm: 'salesforce',
    ...(reasons && { lostReasons: { source: `Opportunity.${lostField}`, values: reasons } }),
    ...(outcomes && { outcomes: { source: `Task.${outcomeField}`, values: outcomes, unmapped: 'done' as const, acceptsOutcomeNames: true } }),
    users: {
      source: 'user',
      values: users.filter((u) => u.IsActive === true).map((u) => ({ key: u.Id, label: u.Email ?? u.Name ?? undefined, ...(u.Id.length === 18 && { aliases: [u.Id.slice(0, 15)] }) })),
    },
    notes,
  };
}
