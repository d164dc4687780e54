/**
 * The flow HTTP callout form: a JSON body Cultivate defines (flows cannot sign, so a Named
 * Credential adds X-Cultivate-Token). The admin builds it in a record-triggered flow with an HTTP
 * Callout action; docs/crm/salesforce.md has the sample body to register. Records use Salesforce
 * field API names, so an admin maps `$Record` fields one to one, and `$Record__Prior` as `prior`.
 * The envelope is ours and fixed (strict); records are tolerant, as each org adds its own fields.
 */
import { z } from 'zod';

export const FLOW_FORMAT = 'cultivate.salesforce.flow/1';

const sfId = z.string().regex(/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/, 'must be a 15- or 18-character Salesforce id');
const scalar = z.union([z.string().max(131_072), z.number(), z.boolean(), z.null()]);
const record = z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be a field API name'), scalar);

export const FlowContactRole = z.looseObject({
  ContactId: sfId,
  Role: z.string().max(255).nullish(),
  IsPrimary: z.union([z.boolean(), z.string()]).nullish(),
  /** The contact's own fields (Email, FirstName, LastName, Title, MailingCountry, HasOptedOutOfEmail, OwnerId); when absent they are fetched. */
  Contact: record.optional(),
});

export const FlowBody = z.strictObject({
  format: z.literal(FLOW_FORMAT),
  /** Unique per flow run and stable across Salesforce's retries of the callout, e.g. {!$Flow.InterviewGuid}. */
  eventId: z.string().min(1).max(200),
  orgId: sfId,
  object: z.enum(['Opportunity', 'Contact', 'Task']),
  /** created: a new record ("A record is created"); updated: anything else. */
  trigger: z.enum(['created', 'updated']),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  record: record.refine((r) => typeof r.Id === 'string' && /^[a-zA-Z0-9]{15,18}$/.test(r.Id), { message: 'needs Id, the record id', path: ['Id'] }),
  /** $Record__Prior: IsClosed and IsWon tell a reopened deal. */
  prior: record.optional(),
  contactRoles: z.array(FlowContactRole).max(500).optional(),
  account: record.optional(),
});
export type FlowBody = z.infer<typeof FlowBody>;
