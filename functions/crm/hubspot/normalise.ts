/**
 * One HubSpot notification → catalog events. HubSpot sends ids and the one property that changed;
 * the rest is read through the API. Decisions:
 * - a deal's `dealstage` entering a closed-lost stage of its pipeline (config `closedLostStages`)
 *   → one `lead-closed-lost` per contact on the deal; HubSpot's own closed-won stage (probability 1)
 *   → `deal-won`; leaving a closed-lost stage for an open one → `deal-reopened`;
 * - a pipeline without a mapping is `unmapped` when the move could mean lost or reopened;
 * - `hs_email_optout` set → `consent-changed` stop-all-email; a GDPR delete → erasure;
 * - a Cultivate task completed → `touch-completed`; a meeting created → `meeting-booked`;
 * - other contact property changes → `contact-updated`; everything else → no events.
 */
import { InboundEvent, TouchOutcome, type InboundType } from '#catalog/events';
import { activityOutcomeFor, isClosedLostStage, lostReasonFor, type CrmMapping } from '../mappings.ts';
import type { CrmNotification, NormaliseContext, NormaliseResult } from '../types.ts';
import type { CrmObject, HubSpotApi } from './api.ts';
import { SubscriptionEvent, typeOf, WorkflowBody, workflowObjectType } from './delivery.ts';
import { catalogContact, contactWithCompany, dealProperties, fieldName, peopleOnDeal, type Company } from './records.ts';
import { touchIdIn } from './touch-marker.ts';
import { amountOf, currencyOf, dateOf, eventIdOf, text } from './values.ts';


/** Generic webhook subscriptions (`object.*`) name the object by type id. */
const OBJECT_TYPE_IDS: Record<string, string> = { '0-1': 'contact', '0-2': 'company', '0-3': 'deal', '0-27': 'task', '0-47': 'meeting' };

interface Change {
  object: string;
  action: string;
  objectId: string;
  propertyName?: string;
  propertyValue?: string;
}

function changeOf(e: SubscriptionEvent): Change | undefined {
  const [prefix, action] = typeOf(e).split('.', 2);
  if (!prefix || !action || e.objectId === undefined) return undefined;
  const object = prefix === 'object' ? OBJECT_TYPE_IDS[e.objectTypeId ?? ''] : prefix;
  if (!object) return undefined;
  const value = e.propertyValue === undefined || e.propertyValue === null ? undefined : String(e.propertyValue);
  return { object, action, objectId: e.objectId, ...(e.propertyName && { propertyName: e.propertyName }), ...(value !== undefined && { propertyValue: value }) };
}

type Draft = { type: InboundType; suffix: string; contact: Record<string, unknown>; data: Record<string, unknown> };

const none = (): NormaliseResult => ({ kind: 'events', events: [] });

/** Every event is checked against the catalog; one that does not fit is quarantined with its paths rather than half-applied. */
function finish(n: CrmNotification, drafts: Draft[]): NormaliseResult {
  const events: InboundEvent[] = [];
  for (const d of drafts) {
    const parsed = InboundEvent.safeParse({ id: eventIdOf(n.id, d.suffix), type: d.type, occurredAt: n.occurredAt, contact: d.contact, data: d.data });
    if (!parsed.success) return { kind: 'unmapped', reason: `a ${d.type} event built from HubSpot does not fit the catalog`, paths: parsed.error.issues.map((i) => i.path.join('.')) };
    events.push(parsed.data);
  }
  return { kind: 'events', events };
}

function previousStage(history: CrmObject['propertiesWithHistory'], stage: string, occurredAt: string): string | undefined {
  const entries = [...(history?.dealstage ?? [])].sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp));
  const at = Date.parse(occurredAt) + 60_000;
  let i = entries.findIndex((e) => e.value === stage && Date.parse(e.timestamp) <= at);
  if (i < 0) i = entries.findIndex((e) => e.value === stage);
  return i >= 0 ? (entries[i + 1]?.value ?? undefined) : undefined;
}

async function perContact(api: HubSpotApi, n: CrmNotification, m: CrmMapping, deal: CrmObject, type: InboundType, data: Record<string, unknown>, log: NormaliseContext['logger']): Promise<NormaliseResult> {
  const { people, company } = await peopleOnDeal(api, m, deal.id);
  if (people.length === 0) {
    log.warn('hubspot deal has no contacts: nothing to nurture', { notificationId: n.id, dealId: deal.id, type });
    return none();
  }
  return finish(
    n,
    people.map(({ contact, role }) => ({
      type,
      suffix: contact.id,
      contact: catalogContact(m, contact, { portal: n.portal, ...(company && { company }), ...(role && { role }), ownerUserId: deal.properties.hubspot_owner_id }),
      data,
    })),
  );
}

function dealRef(deal: CrmObject): Record<string, unknown> {
  const amount = amountOf(deal.properties.amount);
  const currency = currencyOf(deal.properties.deal_currency_code);
  return { dealId: deal.id, ...(amount !== undefined && { amount }), ...(currency && { currency }) };
}

async function dealStageChanged(api: HubSpotApi, n: CrmNotification, ctx: NormaliseContext, dealId: string, newStage: string | undefined): Promise<NormaliseResult> {
  const m = ctx.mapping;
  const deal = await api.getObject('deals', dealId, dealProperties(m), { history: ['dealstage'] });
  if (!deal) return none();
  const pipeline = deal.properties.pipeline ?? undefined;
  const stage = newStage ?? deal.properties.dealstage ?? undefined;
  if (!pipeline || !stage) return none();
  const lost = isClosedLostStage(m, pipeline, stage);
  const info = await api.stage(pipeline, stage);
  if (info?.isClosed && info.probability === 1) return perContact(api, n, m, deal, 'deal-won', dealRef(deal), ctx.logger);
  const previous = previousStage(deal.propertiesWithHistory, stage, n.occurredAt);
  if (lost === undefined) {
    const before = previous ? await api.stage(pipeline, previous) : undefined;
    const couldMatter = info?.isClosed === true || (before?.isClosed === true && before.probability !== 1);
    return couldMatter ? { kind: 'unmapped', reason: `HubSpot pipeline ${pipeline} has no closedLostStages entry in config/crm.yaml`, paths: ['deal.properties.pipeline'] } : none();
  }
  if (lost) {
    const field = fieldName(m, 'lostReason') ?? 'closed_lost_reason';
    const reasonText = deal.properties[field];
    const reason = lostReasonFor(m, reasonText);
    if (!reason) return { kind: 'unmapped', reason: 'lost reason has no lostReasons entry in config/crm.yaml and there is no defaultLostReason', paths: [`deal.properties.${field}`] };
    const revisitField = fieldName(m, 'revisitAfter');
    const contractField = fieldName(m, 'contractEndsAt');
    const note = text(reasonText, 2000);
    const revisitAfter = revisitField ? dateOf(deal.properties[revisitField]) : undefined;
    const contractEndsAt = contractField ? dateOf(deal.properties[contractField]) : undefined;
    return perContact(api, n, m, deal, 'lead-closed-lost', { reason, ...(note && { note }), ...dealRef(deal), ...(revisitAfter && { revisitAfter }), ...(contractEndsAt && { contractEndsAt }) }, ctx.logger);
  }
  if (previous && isClosedLostStage(m, pipeline, previous) === true && info?.isClosed !== true) return perContact(api, n, m, deal, 'deal-reopened', dealRef(deal), ctx.logger);
  return none();
}

async function dealCreated(api: HubSpotApi, n: CrmNotification, ctx: NormaliseContext, dealId: string): Promise<NormaliseResult> {
  const deal = await api.getObject('deals', dealId, dealProperties(ctx.mapping));
  return deal ? perContact(api, n, ctx.mapping, deal, 'deal-created', dealRef(deal), ctx.logger) : none();
}

async function contactUpdated(api: HubSpotApi, n: CrmNotification, ctx: NormaliseContext, contactId: string): Promise<NormaliseResult> {
  const found = await contactWithCompany(api, contactId);
  if (!found) return none();
  const company: Company | undefined = found.company;
  return finish(n, [{ type: 'contact-updated', suffix: contactId, contact: catalogContact(ctx.mapping, found.contact, { portal: n.portal, ...(company && { company }) }), data: {} }]);
}

const optedOut = (value: unknown) => String(value).trim().toLowerCase() === 'true';

async function taskCompleted(api: HubSpotApi, n: CrmNotification, ctx: NormaliseContext, taskId: string, status: string | undefined): Promise<NormaliseResult> {
  const outcomeField = fieldName(ctx.mapping, 'taskOutcome') ?? 'cultivate_outcome';
  const task = await api.getObject('tasks', taskId, ['hs_task_status', 'hs_task_body', 'hs_task_subject', outcomeField], { associations: ['contacts'] });
  if (!task) return none();
  const touchId = touchIdIn(task.properties.hs_task_body);
  if (!touchId) return none();
  if ((status ?? task.properties.hs_task_status) !== 'COMPLETED') return none();
  const chosen = text(task.properties[outcomeField], 64);
  let outcome: TouchOutcome | undefined;
  if (chosen) {
    outcome = activityOutcomeFor(ctx.mapping, chosen) ?? (TouchOutcome.safeParse(chosen.toLowerCase()).data as TouchOutcome | undefined);
    if (!outcome) return { kind: 'unmapped', reason: 'task outcome has no activityOutcomes entry in config/crm.yaml', paths: [`task.properties.${outcomeField}`] };
  } else outcome = activityOutcomeFor(ctx.mapping, 'COMPLETED') ?? 'done';
  const contacts = [...new Set((task.associations?.contacts?.results ?? []).map((r) => r.id))];
  if (contacts.length === 0) {
    ctx.logger.warn('completed Cultivate task has no contact in HubSpot', { notificationId: n.id, taskId });
    return none();
  }
  return finish(n, contacts.map((id) => ({ type: 'touch-completed', suffix: id, contact: { externalId: id }, data: { touchId, outcome } })));
}

async function meetingBooked(api: HubSpotApi, n: CrmNotification, meetingId: string): Promise<NormaliseResult> {
  const meeting = await api.getObject('meetings', meetingId, ['hs_meeting_start_time', 'hs_meeting_outcome'], { associations: ['contacts'] });
  if (!meeting) return none();
  const startsAt = dateOf(meeting.properties.hs_meeting_start_time);
  const contacts = [...new Set((meeting.associations?.contacts?.results ?? []).map((r) => r.id))];
  return finish(
    n,
    contacts.map((id) => ({ type: 'meeting-booked', suffix: id, contact: { externalId: id }, data: { meetingId, ...(startsAt?.includes('T') && { startsAt }) } })),
  );
}

async function subscriptionEvent(api: HubSpotApi, n: CrmNotification, ctx: NormaliseContext, e: SubscriptionEvent): Promise<NormaliseResult> {
  const c = changeOf(e);
  if (!c) return none();
  const key = `${c.object}.${c.action}`;
  if (key === 'deal.propertyChange') return c.propertyName === 'dealstage' ? dealStageChanged(api, n, ctx, c.objectId, c.propertyValue) : none();
  if (key === 'deal.creation') return dealCreated(api, n, ctx, c.objectId);
  if (key === 'contact.propertyChange') {
    if (c.propertyName === 'hs_email_optout')
      return optedOut(c.propertyValue)
        ? finish(n, [{ type: 'consent-changed', suffix: c.objectId, contact: { externalId: c.objectId }, data: { action: 'stop-all-email', source: 'hubspot:hs_email_optout' } }])
        : none();
    return contactUpdated(api, n, ctx, c.objectId);
  }
  if (key === 'contact.privacyDeletion')
    return finish(n, [{ type: 'relationship-erasure-requested', suffix: c.objectId, contact: { externalId: c.objectId }, data: { requestedBy: 'hubspot-privacy-deletion' } }]);
  if (key === 'task.propertyChange') return c.propertyName === 'hs_task_status' ? taskCompleted(api, n, ctx, c.objectId, c.propertyValue) : none();
  if (key === 'meeting.creation') return meetingBooked(api, n, c.objectId);
  return none();
}

async function workflowEvent(api: HubSpotApi, n: CrmNotification, ctx: NormaliseContext, body: WorkflowBody): Promise<NormaliseResult> {
  const id = body.hs_object_id;
  if (workflowObjectType(body) === 'deal') return dealStageChanged(api, n, ctx, id, typeof body.dealstage === 'string' ? body.dealstage : undefined);
  if ('hs_email_optout' in body && optedOut(body.hs_email_optout))
    return finish(n, [{ type: 'consent-changed', suffix: id, contact: { externalId: id }, data: { action: 'stop-all-email', source: 'hubspot:hs_email_optout' } }]);
  return contactUpdated(api, n, ctx, id);
}

export async function normaliseHubSpot(api: HubSpotApi, n: CrmNotification, ctx: NormaliseContext): Promise<NormaliseResult> {
  if (n.kind.startsWith('workflow.')) {
    const body = WorkflowBody.safeParse(n.payload);
    return body.success ? workflowEvent(api, n, ctx, body.data) : { kind: 'unmapped', reason: 'workflow payload no longer parses', paths: body.error.issues.map((i) => i.path.join('.')) };
  }
  const event = SubscriptionEvent.safeParse(n.payload);
  if (!event.success) return { kind: 'unmapped', reason: 'webhook event no longer parses', paths: event.error.issues.map((i) => i.path.join('.')) };
  return subscriptionEvent(api, n, ctx, event.data);
}
