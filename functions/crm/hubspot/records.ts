/**
 * Reading a deal, its people and its company from HubSpot, and turning a HubSpot contact into a
 * catalog contact. Batch reads keep a deal of twenty people to five calls.
 */
import type { Contact, ContactRole } from '#catalog/events';
import { contactRoleFor, ownerForUser, type CrmMapping } from '../mappings.ts';
import { ASSOCIATION_TYPE, type Association, type CrmObject, type HubSpotApi } from './api.ts';
import { countryOf, emailOf, languageOf, nameOf, text, timeZoneOf } from './values.ts';

export const CONTACT_PROPERTIES = ['email', 'firstname', 'lastname', 'jobtitle', 'country', 'hs_country_region_code', 'hs_timezone', 'hs_language', 'hubspot_owner_id'] as const;
export const COMPANY_PROPERTIES = ['name', 'domain', 'country'] as const;

/**
 * Keys of `fields` in config/crm.yaml (hubspot section) and their defaults: where each org keeps
 * the lost reason, the rep's "come back after" date, a competitor's contract end, and the task
 * property reps set to the touch outcome.
 */
export const FIELD_DEFAULTS = {
  lostReason: 'closed_lost_reason',
  revisitAfter: undefined,
  contractEndsAt: undefined,
  taskOutcome: 'cultivate_outcome',
} as const;
export type FieldKey = keyof typeof FIELD_DEFAULTS;

export const fieldName = (m: CrmMapping, key: FieldKey): string | undefined => m.fields[key] ?? FIELD_DEFAULTS[key];

export function dealProperties(m: CrmMapping): string[] {
  const extra = (['lostReason', 'revisitAfter', 'contractEndsAt'] as const).map((k) => fieldName(m, k)).filter((f): f is string => !!f);
  return ['dealname', 'pipeline', 'dealstage', 'amount', 'deal_currency_code', 'hubspot_owner_id', ...extra];
}

/** The first association label that config/crm.yaml maps to a role; labels the admin defined come before HubSpot's own. */
export function roleOf(m: CrmMapping, association: Association): ContactRole | undefined {
  const labels = [...association.associationTypes].sort((a, b) => (a.category === 'USER_DEFINED' ? 0 : 1) - (b.category === 'USER_DEFINED' ? 0 : 1));
  for (const t of labels) {
    const role = contactRoleFor(m, t.label ?? undefined);
    if (role) return role;
  }
  return undefined;
}

export interface Company {
  id: string;
  name?: string;
}

export interface DealPeople {
  people: { contact: CrmObject; role?: ContactRole }[];
  company?: Company;
}

async function companyById(api: HubSpotApi, id: string | undefined): Promise<Company | undefined> {
  if (!id) return undefined;
  const c = await api.getObject('companies', id, COMPANY_PROPERTIES);
  return c ? { id: c.id, ...(text(c.properties.name, 200) && { name: text(c.properties.name, 200) }) } : { id };
}

/** Every contact on the deal with its role, and the deal's primary company (the one account they are all under). */
export async function peopleOnDeal(api: HubSpotApi, m: CrmMapping, dealId: string): Promise<DealPeople> {
  const [contactLinks, companyLinks] = await Promise.all([api.associations('deals', dealId, 'contacts'), api.associations('deals', dealId, 'companies')]);
  const primary = companyLinks.find((l) => l.associationTypes.some((t) => t.typeId === ASSOCIATION_TYPE.dealToCompanyPrimary)) ?? companyLinks[0];
  const ids = [...new Set(contactLinks.map((l) => l.toObjectId))];
  const [contacts, company] = await Promise.all([ids.length ? api.batchRead('contacts', ids, CONTACT_PROPERTIES) : Promise.resolve([]), companyById(api, primary?.toObjectId)]);
  const byId = new Map(contacts.map((c) => [c.id, c]));
  const people: DealPeople['people'] = [];
  for (const link of contactLinks) {
    const contact = byId.get(link.toObjectId);
    if (!contact || people.some((p) => p.contact.id === contact.id)) continue;
    const role = roleOf(m, link);
    people.push({ contact, ...(role && { role }) });
  }
  return { people, ...(company && { company }) };
}

/** One contact and its primary company (for contact-updated). */
export async function contactWithCompany(api: HubSpotApi, contactId: string): Promise<{ contact: CrmObject; company?: Company } | undefined> {
  const contact = await api.getObject('contacts', contactId, CONTACT_PROPERTIES, { associations: ['companies'] });
  if (!contact) return undefined;
  const links = contact.associations?.companies?.results ?? [];
  // v3 names the primary association `contact_to_company`; other labels carry a suffix.
  const primary = links.find((l) => l.type === 'contact_to_company') ?? links[0];
  const company = await companyById(api, primary?.id);
  return { contact, ...(company && { company }) };
}

export interface ContactContext {
  portal: string;
  company?: Company;
  role?: ContactRole;
  /** The deal owner comes first: the rep who lost the deal keeps the relationship. */
  ownerUserId?: string | null;
}

export function catalogContact(m: CrmMapping, c: CrmObject, ctx: ContactContext): Contact {
  const p = c.properties;
  const email = emailOf(p.email);
  const name = nameOf(p.firstname, p.lastname);
  const title = text(p.jobtitle, 200);
  const timezone = timeZoneOf(p.hs_timezone);
  const country = countryOf(p.hs_country_region_code, p.country);
  const language = languageOf(p.hs_language);
  const owner = ownerForUser(m, ctx.ownerUserId ?? undefined) ?? ownerForUser(m, p.hubspot_owner_id ?? undefined);
  return {
    externalId: c.id,
    ...(email && { email }),
    ...(name && { name }),
    ...(title && { title }),
    ...(ctx.company && { accountId: `hubspot:${ctx.portal}:${ctx.company.id}` }),
    ...(ctx.company?.name && { company: ctx.company.name }),
    ...(timezone && { timezone }),
    ...(country && { country }),
    ...(language && { language }),
    ...(ctx.role && { role: ctx.role }),
    ...(owner && { owner }),
  };
}
