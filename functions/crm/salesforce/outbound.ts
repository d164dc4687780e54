/**
 * deliver(): one outbound message → Salesforce REST calls. Skips (with why) what has no Salesforce
 * contact or nothing to write; throws to retry. The caller makes delivery idempotent on message.key.
 */
import type { InternalDetail } from '#catalog/events';
import type { OutboundMessage } from '#handlers/crm-outbound';
import { userForOwner } from '../mappings.ts';
import type { CrmOutboundAdapter, OutboundContext } from '../types.ts';
import type { SalesforceApi } from './api.ts';
import { canonicalId, isSalesforceId, objectOfId } from './ids.ts';
import { fieldName } from './settings.ts';
import { optOutFields, taskForReEngagement, taskForReply, taskForTouch, type TaskBody, type TaskTarget } from './shape.ts';

type Result = Awaited<ReturnType<CrmOutboundAdapter['deliver']>>;

/** `salesforce:<org>:<id>` → the raw id, when it is this adapter's org (any of the allowed ones). */
function rawId(namespaced: string | undefined, orgs: readonly string[]): string | undefined {
  const m = /^salesforce:([A-Za-z0-9]{15,18}):([A-Za-z0-9]{15,18})$/.exec(namespaced ?? '');
  if (!m?.[1] || !m[2]) return undefined;
  const org = canonicalId(m[1]);
  return org && orgs.includes(org) ? m[2] : undefined;
}

/** The person's Salesforce record: a Contact before a Lead. */
export function whoOf(crmIds: readonly string[], orgs: readonly string[]): string | undefined {
  const ids = crmIds.map((c) => rawId(c, orgs)).filter((id): id is string => id !== undefined);
  return ids.find((id) => objectOfId(id) === 'Contact') ?? ids.find((id) => objectOfId(id) === 'Lead');
}

export function createSalesforceOutbound(api: SalesforceApi, orgs: readonly string[]): CrmOutboundAdapter {
  return {
    crm: 'salesforce',
    async deliver(message: OutboundMessage, ctx: OutboundContext): Promise<Result> {
      const who = whoOf(message.crmIds, orgs);
      if (!who) return { delivered: false, why: 'no Salesforce contact or lead id on this person' };
      const p = message.payload as Record<string, unknown>;
      const owner = ctx.owner(message.owner);
      const ownerId = userForOwner(ctx.mapping, owner.email);
      const dealId = typeof p.dealId === 'string' && isSalesforceId(p.dealId) && objectOfId(p.dealId) === 'Opportunity' ? p.dealId : undefined;
      const accountId = rawId(typeof p.accountId === 'string' ? p.accountId : undefined, orgs);
      const isLead = objectOfId(who) === 'Lead';
      const target: TaskTarget = {
        whoId: who,
        ...(!isLead && (dealId ?? accountId) && { whatId: dealId ?? accountId }),
        ...(ownerId && { ownerId }),
        ...optional('touchIdField', fieldName(ctx.mapping.fields, 'touchId')),
      };

      let body: TaskBody;
      switch (message.type) {
        case 'task-assigned':
          body = taskForTouch(p as InternalDetail<'task-assigned'>, target, owner.timezone);
          break;
        case 'relationship-re-engaged':
          body = taskForReEngagement(p as InternalDetail<'relationship-re-engaged'>, target, message.at, owner.timezone);
          break;
        case 'reply-forwarded':
          body = taskForReply(p as InternalDetail<'reply-forwarded'>, target, owner.timezone);
          break;
        case 'consent-changed': {
          const fields = optOutFields(p as InternalDetail<'consent-changed'>, message.at);
          if (!fields) return { delivered: false, why: 'Salesforce has no field for a single-topic unsubscribe' };
          const object = isLead ? 'Lead' : 'Contact';
          await api.update(object, who, fields);
          ctx.logger.info('salesforce opt-out written', { key: message.key, object, recordId: who });
          return { delivered: true, ref: `${object}/${who}` };
        }
        default:
          return { delivered: false, why: `nothing to write in Salesforce for ${message.type}` };
      }
      const { id } = await api.create('Task', body);
      // An unmapped owner is not an error: the task lands with Salesforce's default owner, and the result says so.
      if (!ownerId) ctx.logger.warn('salesforce task without a mapped owner', { key: message.key, taskId: id });
      ctx.logger.info('salesforce task created', { key: message.key, taskId: id, type: message.type });
      return { delivered: true, ref: ownerId ? `Task/${id}` : `Task/${id} (owner not in salesforce.users: Salesforce default owner)` };
    },
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
