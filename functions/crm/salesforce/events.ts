/** Building catalog events from Salesforce records: ids, contacts, and only fields the catalog accepts. */
import { createHash } from 'node:crypto';
import { InboundEvent } from '#catalog/events';
import { contactRoleFor, ownerForUser, type CrmMapping } from '../mappings.ts';
import { bool, country, email, fullName, get, str, type Fields } from './values.ts';

const EVENT_ID = /^[\w.:\-/@]+$/;

/** `${notificationId}:${suffix}`, or a hash of it when too long or holding other characters (flow event ids are the admin's). */
export function eventId(notificationId: string, suffix: string): string {
  const id = `${notificationId}:${suffix}`;
  if (id.length <= 128 && EVENT_ID.test(id)) return id;
  const [crm, portal] = notificationId.split(':');
  return `${crm}:${portal}:h-${createHash('sha256').update(id).digest('base64url').slice(0, 32)}`;
}

export interface PersonInput {
  contactId: string;
  /** The Contact's fields (Email, FirstName, LastName, Title, MailingCountry, HasOptedOutOfEmail, OwnerId). */
  contact?: Fields;
  role?: string | null;
}

export interface AccountInput {
  accountId?: string;
  company?: string;
  /** The deal owner's user id (preferred over the contact owner for the relationship). */
  ownerId?: string;
}

/** A catalog contact; accountId is namespaced `salesforce:<org>:<accountId>`. */
export function contactOf(org: string, mapping: CrmMapping, person: PersonInput, account: AccountInput) {
  const c = person.contact;
  const owner = ownerForUser(mapping, account.ownerId) ?? ownerForUser(mapping, str(get(c, 'OwnerId')));
  const role = contactRoleFor(mapping, person.role);
  const optedOut = bool(get(c, 'HasOptedOutOfEmail')) === true;
  const accountId = account.accountId ?? str(get(c, 'AccountId'), 18);
  return {
    externalId: person.contactId,
    ...opt('email', email(get(c, 'Email'))),
    ...opt('name', fullName(get(c, 'FirstName'), get(c, 'LastName'))),
    ...opt('title', str(get(c, 'Title'))),
    ...(accountId && { accountId: `salesforce:${org}:${accountId}` }),
    ...opt('company', account.company ?? str(get(c, 'Account.Name'))),
    ...opt('country', country(get(c, 'MailingCountryCode')) ?? country(get(c, 'MailingCountry'))),
    ...opt('role', role),
    ...opt('owner', owner),
    // An opt-out is a fact; its absence is not consent, so nothing is claimed then.
    ...(optedOut && { consent: { email: 'denied' as const, source: 'salesforce:HasOptedOutOfEmail' } }),
  };
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Every event leaves through the catalog schema: a field it refuses is a bug here, caught in tests. */
export function checked(events: unknown[]): InboundEvent[] {
  return events.map((e) => InboundEvent.parse(e));
}
