/**
 * One Pipedrive webhook becomes catalog events. Deals: status `lost` (against `previous`) is a
 * closed-lost for every person on the deal (its participants), `won` a win, closed -> open a
 * reopening, a new deal `deal-created`. Activities marked done complete a touch: a Cultivate task
 * by the touch id in its note, any other by its type through `activityOutcomes` (unmapped types
 * are ignored). Persons: a change is `contact-updated`, a marketing status becoming
 * `unsubscribed` stops all e-mail. Everything else is nothing Cultivate acts on.
 */
import { InboundEvent, type LostReason } from '#catalog/events';
import { fnv1a32 } from '#domain/hash';
import { CrmApiError } from '../http-client.ts';
import { activityOutcomeFor, lostReasonFor, ownerForUser, type CrmMapping } from '../mappings.ts';
import type { CrmNotification, NormaliseContext, NormaliseResult } from '../types.ts';
import { PdActivity, PdDeal, PdPerson, type PipedriveApi } from './api.ts';
import { accountIdOf, consentOf, contactOf, roleOf } from './contacts.ts';
import { tickedOutcome, touchIdIn } from './task-marker.ts';
import { PipedriveWebhook } from './webhook.ts';

type Previous = Record<string, unknown> | null | undefined;
type Events = InboundEvent[];

/** `<notification id>:<suffix>`, hashed when it would pass the catalog's 128 characters. */
export function eventIdFor(notificationId: string, suffix: string): string {
  const id = `${notificationId}:${suffix}`;
  return id.length <= 128 ? id : `${notificationId.slice(0, 100)}:h${fnv1a32(id).toString(36)}`;
}

const events = (list: unknown[]): NormaliseResult => ({ kind: 'events', events: list.map((e) => InboundEvent.parse(e)) });
const nothing: NormaliseResult = { kind: 'events', events: [] };
/** A 404 (deleted since) is an answer; anything else throws so the bus retries. */
const gone = (err: unknown): undefined => {
  if (err instanceof CrmApiError && err.status === 404) return undefined;
  throw err;
};
const changed = (previous: Previous, key: string) => previous !== null && previous !== undefined && Object.hasOwn(previous, key);

function dealRef(deal: PdDeal) {
  const currency = deal.currency?.trim().toUpperCase();
  return {
    dealId: String(deal.id),
    ...(typeof deal.value === 'number' && Number.isFinite(deal.value) && deal.value >= 0 && { amount: deal.value }),
    ...(currency && /^[A-Z]{3}$/.test(currency) && { currency }),
  };
}

/** A deal custom field named in `fields` holding a date (`{type:"date", value}` in webhooks, the bare value in API v2). */
function dateField(deal: PdDeal, mapping: CrmMapping, name: string): string | undefined {
  const key = mapping.fields[name];
  if (!key) return undefined;
  const raw = deal.custom_fields?.[key];
  const value = raw !== null && typeof raw === 'object' && 'value' in raw ? (raw as { value: unknown }).value : raw;
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : undefined;
}

export class PipedriveNormaliser {
  constructor(private readonly api: PipedriveApi | undefined) {}

  async normalise(n: CrmNotification, ctx: NormaliseContext): Promise<NormaliseResult> {
    // Validated at ingest; a failure here is a code change, and throwing keeps it for the dead-letter queue.
    const body = PipedriveWebhook.parse(n.payload);
    const { meta, data, previous } = body;
    if (data === null || meta.action === 'delete') return nothing;
    if (meta.entity === 'deal') return this.deal(n, ctx, PdDeal.parse(data), meta.action, previous, data);
    if (meta.entity === 'activity') return this.activity(n, ctx, PdActivity.parse(data), meta.action, previous);
    if (meta.entity === 'person' && meta.action === 'change') return this.person(n, ctx, PdPerson.parse(data), previous);
    return nothing;
  }

  private async deal(n: CrmNotification, ctx: NormaliseContext, deal: PdDeal, action: 'create' | 'change', previous: Previous, raw: Record<string, unknown>): Promise<NormaliseResult> {
    if (action === 'create') return this.dealEvents(n, ctx, deal, 'deal-created');
    if (!changed(previous, 'status')) return nothing;
    const was = previous?.status;
    if (deal.status === 'lost' && was !== 'lost') return this.lost(n, ctx, deal, raw);
    if (deal.status === 'won' && was !== 'won') return this.dealEvents(n, ctx, deal, 'deal-won');
    if (deal.status === 'open' && (was === 'lost' || was === 'won')) return this.dealEvents(n, ctx, deal, 'deal-reopened');
    return nothing;
  }

  /** The deal's own person first, then its other participants (participants need the API). */
  private async people(deal: PdDeal): Promise<number[]> {
    const ids = deal.person_id ? [deal.person_id] : [];
    if (this.api) for (const id of await this.api.participantIds(deal.id)) if (!ids.includes(id)) ids.push(id);
    return ids;
  }

  private async dealEvents(n: CrmNotification, ctx: NormaliseContext, deal: PdDeal, type: 'deal-created' | 'deal-won' | 'deal-reopened'): Promise<NormaliseResult> {
    const ids = type === 'deal-created' ? (deal.person_id ? [deal.person_id] : []) : await this.people(deal);
    const owner = ownerForUser(ctx.mapping, deal.owner_id);
    const accountId = accountIdOf(n.portal, deal.org_id);
    return events(
      ids.map((pid) => ({
        id: eventIdFor(n.id, String(pid)),
        type,
        occurredAt: n.occurredAt,
        contact: { externalId: String(pid), ...(accountId && { accountId }), ...(owner && { owner }) },
        data: dealRef(deal),
      })),
    );
  }

  private async lost(n: CrmNotification, ctx: NormaliseContext, webhookDeal: PdDeal, raw: Record<string, unknown>): Promise<NormaliseResult> {
    // Webhooks v2 carry "only crucial information"; fetch the deal when what a loss needs is missing.
    const complete = ['lost_reason', 'person_id', 'org_id', 'owner_id'].every((k) => Object.hasOwn(raw, k));
    const deal = complete || !this.api ? webhookDeal : { ...(await this.api.deal(webhookDeal.id)), status: 'lost' };
    const reasonText = deal.lost_reason?.trim() || undefined;
    const reason: LostReason | undefined = lostReasonFor(ctx.mapping, reasonText);
    if (!reason) {
      return {
        kind: 'unmapped',
        reason: reasonText
          ? 'the lost reason has no mapping in config/crm.yaml (pipedrive.lostReasons) and there is no pipedrive.defaultLostReason'
          : 'the deal was lost without a lost reason and there is no pipedrive.defaultLostReason',
        paths: ['data.lost_reason'],
      };
    }
    const ids = await this.people(deal);
    if (ids.length === 0) {
      ctx.logger.info('pipedrive lost deal has no people: nothing to nurture', { notificationId: n.id, dealId: deal.id });
      return nothing;
    }
    const persons = this.api ? await this.fetchPersons(ids, ctx, n) : ids.map((id) => PdPerson.parse({ id }));
    const orgName = this.api && deal.org_id ? await this.orgName(deal.org_id) : undefined;
    const revisitAfter = dateField(deal, ctx.mapping, 'revisitAfter');
    const contractEndsAt = dateField(deal, ctx.mapping, 'contractEndsAt');
    const data = {
      reason,
      ...(reasonText && { note: reasonText.slice(0, 2000) }),
      ...dealRef(deal),
      ...(revisitAfter && { revisitAfter }),
      ...(contractEndsAt && { contractEndsAt }),
    };
    ctx.logger.info('pipedrive lost deal normalised', { notificationId: n.id, dealId: deal.id, people: persons.length });
    return events(
      persons.map((person) => ({
        id: eventIdFor(n.id, String(person.id)),
        type: 'lead-closed-lost',
        occurredAt: n.occurredAt,
        contact: contactOf({
          company: n.portal,
          person,
          orgId: deal.org_id,
          orgName,
          ownerUserId: deal.owner_id,
          role: roleOf(person, person.id === deal.person_id, ctx.mapping),
          mapping: ctx.mapping,
        }),
        data,
      })),
    );
  }

  /** A person deleted since (404) is left out; anything else throws so the bus retries. */
  private async fetchPersons(ids: number[], ctx: NormaliseContext, n: CrmNotification): Promise<PdPerson[]> {
    const api = this.api as PipedriveApi;
    const found = await Promise.all(
      ids.map((id) =>
        api.person(id).catch((err: unknown) => {
          if (err instanceof CrmApiError && err.status === 404) {
            ctx.logger.warn('pipedrive person on the deal no longer exists', { notificationId: n.id, personId: id });
            return undefined;
          }
          throw err;
        }),
      ),
    );
    return found.filter((p): p is PdPerson => p !== undefined);
  }

  private async orgName(orgId: number): Promise<string | undefined> {
    return (await (this.api as PipedriveApi).organization(orgId).catch(gone))?.name ?? undefined;
  }

  private async activity(n: CrmNotification, ctx: NormaliseContext, a: PdActivity, action: 'create' | 'change', previous: Previous): Promise<NormaliseResult> {
    const becameDone = a.done === true && (action === 'create' || (changed(previous, 'done') && previous?.done !== true));
    if (!becameDone) return nothing;
    const personId = a.person_id ?? a.participants?.find((p) => p.primary)?.person_id ?? a.participants?.[0]?.person_id;
    if (!personId) return nothing;
    let note = a.note;
    let touchId = touchIdIn(a.subject) ?? touchIdIn(note);
    // Webhooks v2 leave the activity note out: it is where a Cultivate task carries its touch id.
    if (!touchId && note === undefined && this.api) {
      note = (await this.api.activity(a.id).catch(gone))?.note;
      touchId = touchIdIn(note);
    }
    let outcome = touchId ? (tickedOutcome(note) ?? 'done') : activityOutcomeFor(ctx.mapping, a.type);
    if (!outcome) return nothing;
    touchId ??= `pipedrive:${n.portal}:activity:${a.id}`;
    const owner = ownerForUser(ctx.mapping, a.owner_id);
    const accountId = accountIdOf(n.portal, a.org_id);
    return events([
      {
        id: eventIdFor(n.id, String(personId)),
        type: 'touch-completed',
        occurredAt: n.occurredAt,
        contact: { externalId: String(personId), ...(accountId && { accountId }), ...(owner && { owner }) },
        data: { touchId, outcome },
      },
    ]);
  }

  private async person(n: CrmNotification, ctx: NormaliseContext, p: PdPerson, previous: Previous): Promise<NormaliseResult> {
    const { consent: _ignored, ...contact } = contactOf({ company: n.portal, person: p, mapping: ctx.mapping });
    const list: unknown[] = [{ id: eventIdFor(n.id, String(p.id)), type: 'contact-updated', occurredAt: n.occurredAt, contact, data: {} }];
    const visible = Object.hasOwn(p, 'marketing_status') || changed(previous, 'marketing_status');
    let status = p.marketing_status ?? undefined;
    // The webhook may not carry the marketing status at all; then ask (only companies with Campaigns have one).
    if (!visible && this.api) status = (await this.api.person(p.id, { marketingStatus: true }).catch(gone))?.marketing_status ?? undefined;
    const was = previous?.marketing_status;
    const consentId = eventIdFor(n.id, `${p.id}:consent`);
    const base = { id: consentId, type: 'consent-changed', occurredAt: n.occurredAt, contact };
    if (status === 'unsubscribed' && was !== 'unsubscribed') {
      list.push({ ...base, data: { action: 'stop-all-email', source: 'pipedrive-marketing-status' } });
    } else if (status === 'subscribed' && changed(previous, 'marketing_status') && was !== 'subscribed') {
      // Only a transition seen in the webhook is an opt-in; a fetched "subscribed" may be stale.
      const consent = { ...consentOf('subscribed'), capturedAt: n.occurredAt };
      list.push({ ...base, data: { action: 'grant-email', consent, source: 'pipedrive-marketing-status' } });
    }
    return events(list);
  }
}
