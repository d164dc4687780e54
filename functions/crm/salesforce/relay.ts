/**
 * Salesforce Event Relay: Change Data Capture events relayed to an Amazon EventBridge partner event
 * bus (`aws.partner/salesforce.com/<orgId>/<channelId>`). AWS authenticates the source (only
 * Salesforce can publish to a partner event source), so there is no token; the org allow-list still
 * applies. Each record id in a change event becomes one notification, identified by the change's own
 * transactionKey and sequenceNumber, so a relay retry (a new EventBridge id) is still a duplicate.
 * CDC carries only changed fields: `normalise` reads the record through the REST API.
 * Sources: https://developer.salesforce.com/docs/platform/event-relay/guide/event-relay-config.html,
 * https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_event_fields_header.htm
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { CrmNotification, Issue } from '../types.ts';
import { canonicalId, isSalesforceId } from './ids.ts';

const SOURCE = /^aws\.partner\/salesforce\.com\/([A-Za-z0-9]{15,18})\/([A-Za-z0-9]{15,18})$/;

const ChangeEventHeader = z.looseObject({
  entityName: z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'must be an object API name'),
  recordIds: z.array(z.string().max(18)).min(1, 'needs at least one record id'),
  changeType: z.enum(['CREATE', 'UPDATE', 'DELETE', 'UNDELETE', 'GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW']),
  changedFields: z.array(z.string()).optional(),
  transactionKey: z.string().min(1).max(200),
  sequenceNumber: z.number().int().nonnegative(),
  commitTimestamp: z.number().int().positive().max(8_640_000_000_000_000, "must be a real instant in epoch milliseconds"),
  commitUser: z.string().optional(),
});

/** The EventBridge envelope is AWS's (stable); the detail is Salesforce's and grows over releases: tolerant. */
export const RelayEvent = z.looseObject({
  id: z.string(),
  'detail-type': z.string().regex(/ChangeEvent$/, 'only Change Data Capture events are handled (…ChangeEvent)'),
  source: z.string().regex(SOURCE, 'must be aws.partner/salesforce.com/<orgId>/<channelId>'),
  time: z.string(),
  detail: z.looseObject({ payload: z.looseObject({ ChangeEventHeader }) }),
});

export class RelayEventError extends Error {
  constructor(readonly issues: Issue[]) {
    super(`not a Salesforce relayed change event: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'RelayEventError';
  }
}

export interface RelayPayload {
  via: 'event-relay';
  object: string;
  changeType: string;
  recordId: string;
  changedFields: string[];
  /** The changed fields as relayed (without the header). */
  fields: Record<string, unknown>;
}

/**
 * One relayed EventBridge event → notifications (one per record id), pure. Throws RelayEventError
 * naming every bad field, or when the org is not in `allowedOrgIds` (when given).
 */
export function parseRelayEvent(event: unknown, opts: { allowedOrgIds?: readonly string[] } = {}): CrmNotification[] {
  const parsed = RelayEvent.safeParse(event);
  if (!parsed.success) throw new RelayEventError(parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(event)', message: i.message })));
  const e = parsed.data;
  const org = canonicalId(SOURCE.exec(e.source)?.[1] ?? '');
  if (!org) throw new RelayEventError([{ path: 'source', message: 'the org id in the source is not a Salesforce id' }]);
  if (opts.allowedOrgIds && !opts.allowedOrgIds.some((a) => canonicalId(a) === org)) throw new RelayEventError([{ path: 'source', message: 'organization not on the allow-list' }]);
  const { ChangeEventHeader: header, ...fields } = e.detail.payload;
  const change = createHash('sha256').update(`${header.transactionKey}:${header.sequenceNumber}`).digest('hex').slice(0, 16);
  const occurredAt = new Date(header.commitTimestamp).toISOString();
  // A wildcard such as "001*" (a field type conversion) names no record: nothing to normalise.
  return header.recordIds.filter(isSalesforceId).map((recordId) => {
    const payload: RelayPayload = {
      via: 'event-relay',
      object: header.entityName,
      changeType: header.changeType.replace(/^GAP_/, ''),
      recordId,
      changedFields: header.changedFields ?? [],
      fields,
    };
    return { id: `salesforce:${org}:cdc-${change}-${recordId}`, crm: 'salesforce', portal: org, kind: `${header.entityName}ChangeEvent`, occurredAt, payload };
  });
}
