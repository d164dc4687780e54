/**
 * How a Pipedrive person becomes a catalog contact. Only values that pass the catalog go in: an
 * address that is not an e-mail, an over-long name or a blank title is left out rather than
 * failing the whole event.
 */
import { ConsentRecord, emailAddress, type Contact, type ContactRole } from '#catalog/events';
import { contactRoleFor, ownerForUser, type CrmMapping } from '../mappings.ts';
import type { PdPerson } from './api.ts';

/** The person's primary address (else the first valid one), lower-cased as written. */
export function primaryEmail(person: Pick<PdPerson, 'emails' | 'email'>): string | undefined {
  const list = [...(person.emails ?? []), ...(person.email ?? [])];
  const ordered = [...list.filter((e) => e.primary), ...list.filter((e) => !e.primary)];
  for (const e of ordered) {
    const value = e.value?.trim();
    if (value && emailAddress.safeParse(value).success) return value;
  }
  return undefined;
}

const text = (value: string | null | undefined, max: number) => {
  const v = value?.trim();
  return v ? v.slice(0, max) : undefined;
};

/** Pipedrive's marketing status as a consent record: only the two statuses that say something. */
export function consentOf(marketingStatus: string | null | undefined): ConsentRecord | undefined {
  if (marketingStatus === 'subscribed') return ConsentRecord.parse({ email: 'granted', basis: 'opt-in', source: 'pipedrive-marketing-status' });
  if (marketingStatus === 'unsubscribed') return ConsentRecord.parse({ email: 'denied', basis: 'withdrawn', source: 'pipedrive-marketing-status' });
  // no_consent is every new person's default and archived keeps an old consent unpaid: neither is an answer.
  return undefined;
}

/**
 * The role label of a person on a deal: the text of the person custom field named by
 * `fields.contactRole` when set (an option id for a single-option field), else `main` for the
 * deal's own person and `participant` for the others. Pipedrive participants carry no role.
 */
export function roleLabelOf(person: PdPerson, isMainPerson: boolean, mapping: CrmMapping): string {
  const key = mapping.fields.contactRole;
  if (key) {
    const raw = person.custom_fields?.[key] ?? (person as Record<string, unknown>)[key];
    const value = raw !== null && typeof raw === 'object' && 'value' in raw ? (raw as { value: unknown }).value : raw !== null && typeof raw === 'object' && 'id' in raw ? (raw as { id: unknown }).id : raw;
    if ((typeof value === 'string' && value.trim()) || typeof value === 'number') return String(value).trim();
  }
  return isMainPerson ? 'main' : 'participant';
}

/** The mapped role; an unmapped main person is the champion (they carried the deal), others get none. */
export function roleOf(person: PdPerson, isMainPerson: boolean, mapping: CrmMapping): ContactRole | undefined {
  return contactRoleFor(mapping, roleLabelOf(person, isMainPerson, mapping)) ?? (isMainPerson ? 'champion' : undefined);
}

export const accountIdOf = (company: string, orgId: number | null | undefined) => (orgId ? `pipedrive:${company}:${orgId}` : undefined);

export interface ContactInput {
  company: string;
  person: PdPerson;
  /** The account every contact of one deal is put under (the deal's organization), else the person's own. */
  orgId?: number | null | undefined;
  orgName?: string | null | undefined;
  /** The user whose rep owns the relationship (the deal owner on a deal event). */
  ownerUserId?: number | null | undefined;
  role?: ContactRole | undefined;
  mapping: CrmMapping;
}

export function contactOf(input: ContactInput): Contact {
  const { person, mapping } = input;
  const name = text(person.name, 200) ?? text([person.first_name, person.last_name].filter(Boolean).join(' '), 200);
  const email = primaryEmail(person);
  const accountId = accountIdOf(input.company, input.orgId ?? person.org_id);
  const owner = ownerForUser(mapping, input.ownerUserId ?? person.owner_id);
  const consent = consentOf(person.marketing_status);
  const company = text(input.orgName, 200);
  const title = text(person.job_title, 200);
  return {
    externalId: String(person.id),
    ...(email && { email }),
    ...(name && { name }),
    ...(title && { title }),
    ...(accountId && { accountId }),
    ...(company && { company }),
    ...(input.role && { role: input.role }),
    ...(owner && { owner }),
    ...(consent && { consent }),
  };
}
