/**
 * config/crm.yaml: how each CRM's words map to Cultivate's, edited by sales ops. Strict schemas, so
 * a misspelt key is an error with file, line and column (`cultivate config check`). Lookups are
 * case-insensitive and ignore surrounding spaces, as CRM admins retype labels.
 */
import { z } from 'zod';
import { ContactRole, emailAddress, LostReason, TouchOutcome } from '#catalog/events';

const label = z.string().min(1).max(200);

export const CrmMapping = z
  .strictObject({
    /** Pipeline id (or label) → the stage ids (or labels) that mean closed-lost there. HubSpot only: Salesforce uses IsClosed && !IsWon, Pipedrive a deal's status. */
    closedLostStages: z.record(label, z.array(label).min(1, 'list at least one stage')).default({}),
    /** The CRM's lost-reason text → Cultivate's lost reason. */
    lostReasons: z.record(label, LostReason).default({}),
    /** Used when a lost reason has no mapping; absent: the deal is quarantined until the mapping is fixed. */
    defaultLostReason: LostReason.optional(),
    /** The CRM's activity or engagement outcome/type → touch outcome. */
    activityOutcomes: z.record(label, TouchOutcome).default({}),
    /** The CRM's contact role label (deal-contact association label, OpportunityContactRole.Role, participant role) → Cultivate's role. */
    contactRoles: z.record(label, ContactRole).default({}),
    /** Field names the adapter reads where each CRM org chooses its own (e.g. Salesforce `lostReason: Loss_Reason__c`); each adapter documents its keys and defaults. */
    fields: z.record(label, label).default({}),
    /** The CRM's user id → the owner's e-mail in owners.yaml (and back, for tasks). */
    users: z.record(label, emailAddress).default({}),
  })
  .describe("one CRM's mapping");
export type CrmMapping = z.infer<typeof CrmMapping>;

export const MassCloseRule = z.strictObject({
  /** More closed-lost deals than this from one CRM within `windowMinutes` are held for review (quarter-end clean-ups). */
  maxLostDeals: z.number().int().min(1).default(50),
  windowMinutes: z.number().int().min(1).max(1440).default(5),
});

export const ImportRule = z.strictObject({
  /** Deals lost longer ago than this are not imported at all. */
  maxAgeDays: z.number().int().min(1).default(730),
  /** Deals lost longer ago than this get only the permission ask, never the value-e-mail cadence. */
  permissionAskOnlyAfterDays: z.number().int().min(1).default(180),
});

export const CrmFile = z.strictObject({
  hubspot: CrmMapping.optional(),
  salesforce: CrmMapping.optional(),
  pipedrive: CrmMapping.optional(),
  massClose: MassCloseRule.default({ maxLostDeals: 50, windowMinutes: 5 }),
  import: ImportRule.default({ maxAgeDays: 730, permissionAskOnlyAfterDays: 180 }),
});
export type CrmFile = z.infer<typeof CrmFile>;

export const emptyMapping: CrmMapping = CrmMapping.parse({});

const norm = (s: string) => s.trim().toLowerCase();

function lookup<V>(table: Record<string, V>, key: string | undefined | null): V | undefined {
  if (key === undefined || key === null) return undefined;
  const k = norm(String(key));
  for (const [candidate, value] of Object.entries(table)) if (norm(candidate) === k) return value;
  return undefined;
}

/** Is `stage` a closed-lost stage of `pipeline`? `undefined` when the pipeline has no entry at all (unmapped). */
export function isClosedLostStage(m: CrmMapping, pipeline: string, stage: string): boolean | undefined {
  const stages = lookup(m.closedLostStages, pipeline);
  if (stages === undefined) return undefined;
  return stages.some((s) => norm(s) === norm(stage));
}

/** The mapped lost reason, the default, or undefined (unmapped: quarantine). */
export function lostReasonFor(m: CrmMapping, text: string | undefined | null): LostReason | undefined {
  return lookup(m.lostReasons, text) ?? m.defaultLostReason;
}

export const activityOutcomeFor = (m: CrmMapping, key: string | undefined | null) => lookup(m.activityOutcomes, key);
export const contactRoleFor = (m: CrmMapping, label: string | undefined | null) => lookup(m.contactRoles, label);
export const ownerForUser = (m: CrmMapping, userId: string | number | undefined | null) =>
  userId === undefined || userId === null ? undefined : lookup(m.users, String(userId));

/** The CRM user id of an owner e-mail (for tasks), if mapped. */
export function userForOwner(m: CrmMapping, email: string | undefined): string | undefined {
  if (!email) return undefined;
  return Object.entries(m.users).find(([, e]) => norm(e) === norm(email))?.[0];
}
