/**
 * One Salesforce notification → catalog events. Closed-lost is IsClosed && !IsWon, never a stage
 * name (stages are per org and renamed freely). What the notification does not carry (contact roles,
 * the lost reason, the stage history that tells a reopened deal) is read through the REST API; when
 * the API settings are absent, such a notification is kept as unmapped (replayable once they are set).
 */
import { activityOutcomeFor, lostReasonFor } from '../mappings.ts';
import type { CrmNotification, NormaliseContext, NormaliseResult } from '../types.ts';
import { touchOutcomes, type TouchOutcome } from '#catalog/events';
import type { SalesforceApi } from './api.ts';
import { soqlString } from './api.ts';
import { checked, contactOf, eventId, type AccountInput, type PersonInput } from './events.ts';
import type { FlowPayload, OutboundMessagePayload } from './parse.ts';
import type { RelayPayload } from './relay.ts';
import { isSalesforceId } from './ids.ts';
import { fieldName } from './settings.ts';
import { bool, get, num, str, type Fields } from './values.ts';

type Payload = OutboundMessagePayload | FlowPayload | RelayPayload;

const NO_API = 'the Salesforce API settings (CULTIVATE_SALESFORCE_API_URL, _CLIENT_ID, _CLIENT_SECRET) are needed';
const needsApi = (what: string, paths: string[]): NormaliseResult => ({ kind: 'unmapped', reason: `${NO_API} to read ${what}`, paths });
const none: NormaliseResult = { kind: 'events', events: [] };

const CONTACT_FIELDS = ['Email', 'FirstName', 'LastName', 'Title', 'MailingCountry', 'HasOptedOutOfEmail', 'OwnerId', 'AccountId'];

interface Input {
  object: string;
  record: Fields;
  /** Whether `record` may lack fields (CDC carries only the changed ones). */
  partial: boolean;
  created?: boolean;
  prior?: Fields;
  changedFields?: string[];
  roles?: PersonInput[];
  company?: string;
  deleted?: boolean;
}

function inputOf(payload: Payload): Input | undefined {
  switch (payload.via) {
    case 'outbound-message': {
      const r = payload.record;
      const created = r.CreatedDate && r.LastModifiedDate ? r.CreatedDate === r.LastModifiedDate : undefined;
      return { object: payload.object, record: r, partial: false, ...(created !== undefined && { created }) };
    }
    case 'flow': {
      const b = payload.body;
      const roles = b.contactRoles?.map((cr) => ({ contactId: cr.ContactId, role: cr.Role ?? null, ...(cr.Contact && { contact: cr.Contact }) }));
      const company = str(get(b.account, 'Name'));
      return { object: b.object, record: b.record, partial: false, created: b.trigger === 'created', ...(b.prior && { prior: b.prior }), ...(roles && { roles }), ...(company && { company }) };
    }
    case 'event-relay':
      return {
        object: payload.object,
        record: { ...payload.fields, Id: payload.recordId },
        partial: true,
        created: payload.changeType === 'CREATE' || payload.changeType === 'UNDELETE',
        changedFields: payload.changedFields,
        deleted: payload.changeType === 'DELETE',
      };
    default:
      return undefined;
  }
}

export async function normaliseSalesforce(n: CrmNotification, ctx: NormaliseContext, api: SalesforceApi | undefined): Promise<NormaliseResult> {
  const input = inputOf(n.payload as Payload);
  if (!input || input.deleted || !isSalesforceId(input.record.Id)) return none;
  const result =
    input.object === 'Opportunity'
      ? await opportunity(n, input, ctx, api)
      : input.object === 'Contact'
        ? await contact(n, input, ctx, api)
        : input.object === 'Task'
          ? await task(n, input, ctx, api)
          : none;
  ctx.logger.info('salesforce notification normalised', {
    notificationId: n.id,
    kind: n.kind,
    result: result.kind,
    ...(result.kind === 'events' ? { events: result.events.length } : { paths: result.paths }),
  });
  return result;
}

// ------------------------------------------------------------------------------------ Opportunity

async function opportunity(n: CrmNotification, input: Input, ctx: NormaliseContext, api: SalesforceApi | undefined): Promise<NormaliseResult> {
  const id = input.record.Id as string;
  const lostField = fieldName(ctx.mapping.fields, 'lostReason');
  const noteField = fieldName(ctx.mapping.fields, 'lostNote');
  let opp: Fields = input.record;

  // A relayed update that touched neither stage nor status says nothing Cultivate acts on.
  const statusFields = ['StageName', 'IsClosed', 'IsWon'];
  if (input.partial && !input.created && input.changedFields?.length && !input.changedFields.some((f) => statusFields.includes(f))) return none;

  const missing = (f: string | undefined) => f !== undefined && !(f in opp);
  if (input.partial || missing('IsClosed') || missing('IsWon') || (bool(opp.IsClosed) && !bool(opp.IsWon) && missing(lostField))) {
    if (!api) return needsApi('the opportunity', ['Opportunity.IsClosed', 'Opportunity.IsWon', `Opportunity.${lostField}`]);
    const fields = unique(['Id', 'AccountId', 'Account.Name', 'OwnerId', 'StageName', 'IsClosed', 'IsWon', 'Amount', 'CreatedDate', 'LastModifiedDate', lostField, noteField]);
    const [row] = await api.query<Fields>(`SELECT ${fields.join(', ')} FROM Opportunity WHERE Id = '${id}'`);
    if (!row) return none; // deleted since: nothing to act on
    opp = { ...input.record, ...row };
  }

  const isClosed = bool(opp.IsClosed);
  const isWon = bool(opp.IsWon);
  if (isClosed === undefined || isWon === undefined) return { kind: 'unmapped', reason: 'IsClosed and IsWon are needed (add them to the outbound message)', paths: ['Opportunity.IsClosed', 'Opportunity.IsWon'] };

  let type: 'lead-closed-lost' | 'deal-won' | 'deal-created' | 'deal-reopened';
  let data: Record<string, unknown> = deal(id, opp);
  if (isClosed && !isWon) {
    const text = lostField ? str(opp[lostField], 255) : undefined;
    const reason = lostReasonFor(ctx.mapping, text);
    if (!reason)
      return {
        kind: 'unmapped',
        reason: text ? 'lost reason not mapped in config/crm.yaml (salesforce.lostReasons), and no defaultLostReason' : 'lost deal without a lost reason, and no defaultLostReason',
        paths: [`Opportunity.${lostField ?? 'lostReason'}`],
      };
    const note = noteField ? str(opp[noteField], 2000) : undefined;
    type = 'lead-closed-lost';
    data = { reason, ...(note && { note }), ...data };
  } else if (isWon) type = 'deal-won';
  else {
    const change = await openChange(input, opp, api);
    if (change === 'needs-api') return needsApi('the stage history', ['OpportunityHistory']);
    if (!change) return none;
    type = change;
  }

  const people = await peopleOf(id, input, api);
  if (people === 'needs-api') return needsApi('the contact roles', ['OpportunityContactRole']);
  if (people.length === 0) ctx.logger.warn('salesforce opportunity without contact roles', { notificationId: n.id, opportunityId: id });
  const account: AccountInput = {
    ...optStr('accountId', str(opp.AccountId, 18)),
    ...optStr('company', input.company ?? str(get(opp, 'Account.Name'))),
    ...optStr('ownerId', str(opp.OwnerId, 18)),
  };
  return {
    kind: 'events',
    events: checked(
      people.map((p) => ({
        id: eventId(n.id, p.contactId),
        type,
        occurredAt: n.occurredAt,
        contact: contactOf(n.portal, ctx.mapping, p, account),
        data,
      })),
    ),
  };
}

function deal(id: string, opp: Fields) {
  const amount = num(opp.Amount);
  const currency = str(opp.CurrencyIsoCode);
  return { dealId: id, ...(amount !== undefined && { amount }), ...(currency && /^[A-Z]{3}$/.test(currency) && { currency }) };
}

/** An open opportunity: new, reopened after a loss, or an ordinary update (nothing to do). */
async function openChange(input: Input, opp: Fields, api: SalesforceApi | undefined): Promise<'deal-created' | 'deal-reopened' | 'needs-api' | undefined> {
  if (input.created) return 'deal-created';
  if (input.prior) {
    if (bool(input.prior.IsClosed) === true && bool(input.prior.IsWon) === false) return 'deal-reopened';
    return undefined;
  }
  if (!api) return 'needs-api';
  // OpportunityHistory keeps one row per change of stage, amount or close date, newest first.
  const rows = await api.query<Fields>(`SELECT StageName, CreatedDate FROM OpportunityHistory WHERE OpportunityId = '${String(opp.Id)}' ORDER BY CreatedDate DESC LIMIT 20`);
  const current = str(opp.StageName) ?? str(rows[0]?.StageName);
  const prior = rows.map((r) => str(r.StageName)).find((s) => s !== undefined && s !== current);
  if (prior === undefined) return rows.length <= 1 ? 'deal-created' : undefined;
  const [stage] = await api.query<Fields>(`SELECT ApiName, IsClosed, IsWon FROM OpportunityStage WHERE ApiName = ${soqlString(prior)}`);
  return stage && bool(stage.IsClosed) === true && bool(stage.IsWon) === false ? 'deal-reopened' : undefined;
}

async function peopleOf(oppId: string, input: Input, api: SalesforceApi | undefined): Promise<PersonInput[] | 'needs-api'> {
  if (input.roles && input.roles.every((r) => r.contact)) return input.roles;
  if (!api) return input.roles ?? 'needs-api';
  const fields = ['ContactId', 'Role', 'IsPrimary', ...CONTACT_FIELDS.map((f) => `Contact.${f}`), 'Contact.Account.Name'];
  const rows = await api.query<Fields>(`SELECT ${fields.join(', ')} FROM OpportunityContactRole WHERE OpportunityId = '${oppId}' ORDER BY IsPrimary DESC`);
  const seen = new Set<string>();
  const people: PersonInput[] = [];
  for (const r of rows) {
    const contactId = str(r.ContactId, 18);
    if (!contactId || !isSalesforceId(contactId) || seen.has(contactId)) continue;
    seen.add(contactId);
    const contact = get(r, 'Contact');
    const person: PersonInput = { contactId, role: str(r.Role, 255) ?? null };
    if (contact && typeof contact === 'object') person.contact = contact as Fields;
    people.push(person);
  }
  return people;
}

// ---------------------------------------------------------------------------------------- Contact

async function contact(n: CrmNotification, input: Input, ctx: NormaliseContext, api: SalesforceApi | undefined): Promise<NormaliseResult> {
  if (input.partial && !(input.changedFields ?? []).includes('HasOptedOutOfEmail') && !('HasOptedOutOfEmail' in input.record)) return none;
  if (bool(input.record.HasOptedOutOfEmail) !== true) return none;
  const id = input.record.Id as string;
  let record = input.record;
  if (input.partial && api) {
    const [row] = await api.query<Fields>(`SELECT Id, ${CONTACT_FIELDS.join(', ')} FROM Contact WHERE Id = '${id}'`);
    if (row) record = { ...row, ...input.record };
  }
  const c = contactOf(n.portal, ctx.mapping, { contactId: id, contact: record }, {});
  // The consent change itself carries the fact; the contact stays identity and attributes.
  const { consent: _denied, ...who } = c;
  return {
    kind: 'events',
    events: checked([{ id: eventId(n.id, id), type: 'consent-changed', occurredAt: n.occurredAt, contact: who, data: { action: 'stop-all-email', source: 'salesforce:HasOptedOutOfEmail' } }]),
  };
}

// ------------------------------------------------------------------------------------------- Task

const TOUCH_LINE = /^Cultivate touch id:[ \t]*([\w.:\-/@]{1,128})[ \t\r]*$/gm;

/** The last marker line: Cultivate writes it last, after everything quoted from elsewhere. */
function touchIdIn(description: unknown): string | undefined {
  return [...String(description ?? '').matchAll(TOUCH_LINE)].at(-1)?.[1];
}

async function task(n: CrmNotification, input: Input, ctx: NormaliseContext, api: SalesforceApi | undefined): Promise<NormaliseResult> {
  const outcomeField = fieldName(ctx.mapping.fields, 'taskOutcome');
  const touchField = fieldName(ctx.mapping.fields, 'touchId');
  let t = input.record;
  if (input.partial && !input.created && input.changedFields?.length && !input.changedFields.some((f) => f === 'Status' || f === 'IsClosed')) return none;
  const lacks = ['Status', 'WhoId', 'Description'].some((f) => !(f in t)) && !(touchField && touchField in t && 'WhoId' in t && 'Status' in t);
  if (input.partial || lacks) {
    if (!api) return needsApi('the task', ['Task.Status', 'Task.WhoId', 'Task.Description']);
    const fields = unique(['Id', 'Status', 'IsClosed', 'WhoId', 'Description', 'CompletedDateTime', outcomeField, touchField]);
    const [row] = await api.query<Fields>(`SELECT ${fields.join(', ')} FROM Task WHERE Id = '${String(t.Id)}'`);
    if (!row) return none;
    t = { ...input.record, ...row };
  }
  const done = bool(t.IsClosed) ?? str(t.Status)?.toLowerCase() === 'completed';
  if (!done) return none;
  const touchId = (touchField ? str(t[touchField], 128) : undefined) ?? touchIdIn(t.Description);
  if (!touchId) return none; // not a Cultivate task
  const whoId = str(t.WhoId, 18);
  if (!whoId || !isSalesforceId(whoId)) {
    ctx.logger.warn('salesforce Cultivate task completed without a contact', { notificationId: n.id, taskId: String(t.Id) });
    return none;
  }
  const said = outcomeField ? str(t[outcomeField], 255) : undefined;
  const outcome: TouchOutcome = activityOutcomeFor(ctx.mapping, said) ?? (touchOutcomes.find((o) => o === said?.toLowerCase()) as TouchOutcome | undefined) ?? 'done';
  const note = said && outcome === 'done' && said.toLowerCase() !== 'done' ? said.slice(0, 2000) : undefined;
  return {
    kind: 'events',
    events: checked([
      { id: eventId(n.id, String(t.Id)), type: 'touch-completed', occurredAt: n.occurredAt, contact: { externalId: whoId }, data: { touchId, outcome, ...(note && { note }) } },
    ]),
  };
}

function unique(fields: (string | undefined)[]): string[] {
  return [...new Set(fields.filter((f): f is string => !!f && /^[A-Za-z][\w.]*$/.test(f)))];
}

function optStr<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
