/**
 * Delivers Cultivate's messages to Pipedrive: a task becomes an activity for the rep, a
 * re-engagement a note plus a call-back activity, a consent change (hard bounces arrive as one)
 * the person's marketing status, a reply or a retirement a note. Pipedrive has no idempotency
 * key; the caller dedupes on `message.key`.
 */
import type { InternalDetail } from '#catalog/events';
import type { OutboundMessage } from '#handlers/crm-outbound';
import { CrmApiError } from '../http-client.ts';
import { userForOwner } from '../mappings.ts';
import type { CrmOutboundAdapter, OutboundContext } from '../types.ts';
import type { PipedriveApi } from './api.ts';
import { briefActivity, briefNote, consentNote, replyNote, retiredNote, taskActivity, unsubscribeBody, type Links } from './shape.ts';

type Result = Awaited<ReturnType<CrmOutboundAdapter['deliver']>>;

const PERSON_RE = /^pipedrive:[^:]+:(\d+)$/;

/** The Pipedrive ids a message points at. The deal id is raw, so it is used only when the account is Pipedrive's (or absent). */
export function linksOf(message: OutboundMessage): Omit<Links, 'ownerUserId'> | undefined {
  const person = message.crmIds.map((id) => PERSON_RE.exec(id)?.[1]).find((id) => id !== undefined);
  if (!person) return undefined;
  const accountId = typeof message.payload.accountId === 'string' ? message.payload.accountId : undefined;
  const org = accountId ? PERSON_RE.exec(accountId)?.[1] : undefined;
  const dealId = typeof message.payload.dealId === 'string' && /^\d{1,15}$/.test(message.payload.dealId) && (accountId === undefined || org !== undefined) ? Number(message.payload.dealId) : undefined;
  return { personId: Number(person), ...(org && { orgId: Number(org) }), ...(dealId !== undefined && { dealId }) };
}

const STOPS = new Set(['stop-all-email', 'do-not-contact', 'forget-me']);

export function pipedriveOutbound(api: PipedriveApi, opts: { taskType?: string | undefined; dueTime?: string | undefined } = {}): CrmOutboundAdapter {
  return {
    crm: 'pipedrive',
    async deliver(message: OutboundMessage, ctx: OutboundContext): Promise<Result> {
      const base = linksOf(message);
      if (!base) return { delivered: false, why: 'no Pipedrive person id on this relationship' };
      const owner = ctx.owner(message.owner);
      const userId = userForOwner(ctx.mapping, owner.email);
      const links: Links = { ...base, ...(userId && /^\d+$/.test(userId) && { ownerUserId: Number(userId) }) };
      // Said in the result and the log (no address: the owner is known by the relationship id).
      const ownerNote = links.ownerUserId === undefined ? ' (owner has no Pipedrive user in config/crm.yaml: Pipedrive default owner)' : '';
      if (ownerNote && (message.type === 'task-assigned' || message.type === 'relationship-re-engaged')) {
        ctx.logger.warn('pipedrive owner unmapped: default owner', { relationshipId: message.relationshipId, type: message.type });
      }
      const taskType = opts.taskType ?? ctx.mapping.fields.taskType;
      const dueTime = opts.dueTime ?? ctx.mapping.fields.taskDueTime;

      switch (message.type) {
        case 'task-assigned': {
          const body = taskActivity(message.payload as InternalDetail<'task-assigned'>, links, { timezone: owner.timezone, dueTime, type: taskType });
          return { delivered: true, ref: `activity:${await api.addActivity(body)}${ownerNote}` };
        }
        case 'relationship-re-engaged': {
          const detail = message.payload as InternalDetail<'relationship-re-engaged'>;
          const note = await api.addNote(briefNote(detail, links));
          const activity = await api.addActivity(briefActivity(detail, links, { timezone: owner.timezone, at: message.at, type: taskType }));
          return { delivered: true, ref: `note:${note},activity:${activity}${ownerNote}` };
        }
        case 'consent-changed': {
          const detail = message.payload as InternalDetail<'consent-changed'>;
          if (!STOPS.has(detail.action)) return { delivered: false, why: `Pipedrive has one marketing status; ${detail.action} does not change it` };
          try {
            await api.updatePerson(links.personId, unsubscribeBody());
            return { delivered: true, ref: `person:${links.personId}:unsubscribed` };
          } catch (err) {
            // 400: the company has no Campaigns (no marketing status), or Pipedrive forbids this change.
            if (!(err instanceof CrmApiError) || err.status !== 400) throw err;
            return { delivered: true, ref: `note:${await api.addNote(consentNote(detail, links))} (marketing status refused)` };
          }
        }
        case 'reply-forwarded':
          return { delivered: true, ref: `note:${await api.addNote(replyNote(message.payload as InternalDetail<'reply-forwarded'>, links))}` };
        case 'relationship-retired':
          return { delivered: true, ref: `note:${await api.addNote(retiredNote(message.payload as InternalDetail<'relationship-retired'>, links))}` };
        default:
          return { delivered: false, why: `nothing to deliver to Pipedrive for ${message.type}` };
      }
    },
  };
}
