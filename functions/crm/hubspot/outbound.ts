/**
 * Delivers Cultivate's outbound messages to HubSpot: tasks, notes and e-mail unsubscribes. The
 * HubSpot ids come from the person's namespaced CRM ids (`hubspot:<portal>:<contactId>`) and the
 * account id the inbound side set (`hubspot:<portal>:<companyId>`); the lost deal is associated
 * only when the account is HubSpot's, since `dealId` is raw and could be another CRM's.
 */
import { internalDetail } from '#catalog/events';
import type { OutboundMessage } from '#handlers/crm-outbound';
import { userForOwner } from '../mappings.ts';
import type { CrmOutboundAdapter, OutboundContext } from '../types.ts';
import type { HubSpotApi } from './api.ts';
import { fieldName } from './records.ts';
import { consentTask, reEngagedNote, reEngagedTask, replyNote, retiredNote, touchTask, type Targets } from './shape.ts';

type Result = { delivered: true; ref?: string } | { delivered: false; why: string };

export function targetsOf(message: OutboundMessage): Targets | undefined {
  const contact = message.crmIds.map((id) => /^hubspot:(\d+):(\d+)$/.exec(id)).find((m) => m !== null);
  if (!contact) return undefined;
  const [, portal, contactId] = contact as unknown as [string, string, string];
  const account = typeof message.payload.accountId === 'string' ? /^hubspot:(\d+):(\d+)$/.exec(message.payload.accountId) : null;
  const companyId = account && account[1] === portal ? account[2] : undefined;
  const dealId = companyId && typeof message.payload.dealId === 'string' && /^\d+$/.test(message.payload.dealId) ? message.payload.dealId : undefined;
  return { contactId, ...(companyId && { companyId }), ...(dealId && { dealId }) };
}

export function hubspotOutbound(api: () => Promise<HubSpotApi>): CrmOutboundAdapter {
  async function deliver(message: OutboundMessage, ctx: OutboundContext): Promise<Result> {
    const targets = targetsOf(message);
    if (!targets) return { delivered: false, why: 'no HubSpot contact id on this person' };
    const hs = await api();
    const owner = ctx.owner(message.owner);
    const ownerUserId = userForOwner(ctx.mapping, owner.email);
    if (!ownerUserId) ctx.logger.warn('owner has no HubSpot user in config/crm.yaml: HubSpot default owner applies', { type: message.type, relationshipId: message.relationshipId });
    const unowned = ownerUserId ? '' : ' (owner unmapped: HubSpot default owner)';
    const now = message.at;

    switch (message.type) {
      case 'task-assigned': {
        const detail = internalDetail['task-assigned'].parse(message.payload);
        const outcomeProperty = fieldName(ctx.mapping, 'taskOutcome') ?? 'cultivate_outcome';
        const request = touchTask(detail, owner, ownerUserId, targets, outcomeProperty);
        const task = await hs.create('tasks', request.properties, request.associations);
        return { delivered: true, ref: `task ${task.id}${unowned}` };
      }
      case 'relationship-re-engaged': {
        const detail = internalDetail['relationship-re-engaged'].parse(message.payload);
        const note = reEngagedNote(detail, targets, now, ownerUserId);
        const task = reEngagedTask(detail, targets, now, ownerUserId);
        const n = await hs.create('notes', note.properties, note.associations);
        const t = await hs.create('tasks', task.properties, task.associations);
        return { delivered: true, ref: `note ${n.id}, task ${t.id}${unowned}` };
      }
      case 'reply-forwarded': {
        const detail = internalDetail['reply-forwarded'].parse(message.payload);
        const note = replyNote(detail, targets, ownerUserId);
        const n = await hs.create('notes', note.properties, note.associations);
        return { delivered: true, ref: `note ${n.id}` };
      }
      case 'relationship-retired': {
        const detail = internalDetail['relationship-retired'].parse(message.payload);
        const note = retiredNote(detail, targets, now);
        const n = await hs.create('notes', note.properties, note.associations);
        return { delivered: true, ref: `note ${n.id}` };
      }
      case 'consent-changed': {
        const detail = internalDetail['consent-changed'].parse(message.payload);
        if (detail.action === 'grant-email') return { delivered: false, why: 'an opt-in is not written back: HubSpot records consent from its own forms' };
        if (detail.action === 'stop-topic') return { delivered: false, why: 'a stopped topic has no HubSpot subscription type to map to' };
        // The bus carries no addresses: the communication preferences API needs one, so read it here.
        const contact = await hs.getObject('contacts', targets.contactId, ['email']);
        const email = contact?.properties.email?.trim();
        if (!email) return { delivered: false, why: contact ? 'the HubSpot contact has no e-mail address' : 'the HubSpot contact no longer exists' };
        await hs.unsubscribeAllEmail(email);
        if (detail.action === 'do-not-contact' || detail.action === 'forget-me') {
          const task = consentTask(detail.action, targets, now, ownerUserId);
          const t = await hs.create('tasks', task.properties, task.associations);
          return { delivered: true, ref: `unsubscribed from all e-mail, task ${t.id}${unowned}` };
        }
        return { delivered: true, ref: 'unsubscribed from all e-mail' };
      }
      default:
        return { delivered: false, why: `${message.type} is not sent to HubSpot` };
    }
  }
  return { crm: 'hubspot', deliver };
}
