/**
 * The normaliser: a `crm-notification` reference from the bus becomes catalog events. It reads the
 * notification from the inbox, lets the CRM's adapter normalise it (fetching what the CRM did not
 * send, through its rate-limited API client), and then either publishes the events (through the
 * same claim check as the generic webhook), keeps the notification in quarantine when
 * config/crm.yaml does not cover it, or holds closed-lost events when too many deals closed at
 * once. A failure throws: the bus retries and then dead-letters. Redelivery is safe: the events'
 * ids derive from the notification id, and the relationship handler applies each id once.
 */
import { internalDetail, type InboundEvent } from '#catalog/events';
import { ingestSourceOf } from '#catalog/routing';
import type { MassCloseCounter } from '#adapters/dynamo-mass-close';
import { publishInboundEvents } from '#handlers/ingest';
import type { Clock, EventPublisher, InboxStore, KeyedHasher, Logger, NotificationInbox, Quarantine } from '#ports/ports';
import type { CrmFile, CrmMapping } from './mappings.ts';
import { emptyMapping } from './mappings.ts';
import type { CrmInboundAdapter, CrmName, CrmNotification } from './types.ts';

export interface NormaliseDeps {
  clock: Clock;
  logger: Logger;
  inbox: InboxStore & NotificationInbox;
  publisher: EventPublisher;
  quarantine: Quarantine;
  hasher: () => Promise<KeyedHasher>;
  /** The adapter of a configured CRM (undefined when its settings are absent). */
  adapter: (crm: CrmName) => CrmInboundAdapter | undefined;
  crmConfig: CrmFile;
  massClose: MassCloseCounter;
}

/**
 * Set by `cultivate import` (functions/crm/import.ts) on the notifications it makes. An import
 * passes the mass-close gate on purpose (it is a mass close by nature; the runner bounds its own
 * rate), and an old loss enters nurture with the permission ask only.
 */
export interface ImportMark {
  permissionAskOnly: boolean;
}
export type MaybeImported = CrmNotification & { import?: ImportMark };

/** The adapter's events with an import's age rule applied to each closed-lost. */
export function markImported(events: readonly InboundEvent[], mark: ImportMark | undefined): InboundEvent[] {
  if (!mark?.permissionAskOnly) return [...events];
  return events.map((e) => (e.type === 'lead-closed-lost' ? { ...e, data: { ...e.data, permissionAskOnly: true as const } } : e));
}

export type NormaliseOutcome = 'published' | 'nothing-to-do' | 'quarantined' | 'held' | 'gone';

const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

export function mappingOf(config: CrmFile, crm: CrmName): CrmMapping {
  return config[crm] ?? emptyMapping;
}

export async function handleCrmNotification(deps: NormaliseDeps, detail: unknown): Promise<NormaliseOutcome> {
  const ref = internalDetail['crm-notification'].parse(detail);
  const log = { crm: ref.crm, notificationId: ref.id, kind: ref.kind };
  const stored = (await deps.inbox.getNotification(ref.inboxKey)) as MaybeImported | undefined;
  if (!stored) {
    // Normalised already (the inbox item goes last), or expired: nothing left to do.
    deps.logger.info('CRM notification already normalised', log);
    return 'gone';
  }
  const adapter = deps.adapter(ref.crm);
  const keep = async (kind: 'unmapped' | 'mass-close', reason: string, paths: string[], raw: unknown): Promise<NormaliseOutcome> => {
    const quarantineId = await deps.quarantine.keep({ source: ref.crm, kind, reason, paths, raw: encode(raw), receivedAt: deps.clock.now() });
    await deps.inbox.delete(ref.inboxKey);
    deps.logger.warn(kind === 'mass-close' ? 'closed-lost deals held for review (mass close)' : 'CRM notification not covered by config/crm.yaml; quarantined', {
      ...log,
      quarantineId,
      reason,
      paths,
      metric: kind === 'mass-close' ? 'MassCloseHeld' : 'NotificationQuarantined',
    });
    return kind === 'mass-close' ? 'held' : 'quarantined';
  };
  if (!adapter) return keep('unmapped', `the ${ref.crm} adapter is not configured (its settings are absent)`, [], stored);

  const result = await adapter.normalise(stored, { mapping: mappingOf(deps.crmConfig, ref.crm), now: deps.clock.now(), logger: deps.logger });
  if (result.kind === 'unmapped') return keep('unmapped', result.reason, result.paths, stored);

  const events = markImported(result.events, stored.import);
  if (!stored.import && events.some((e) => e.type === 'lead-closed-lost')) {
    const rule = deps.crmConfig.massClose;
    const count = await deps.massClose.count(ref.crm, deps.clock.now(), rule.windowMinutes);
    if (count > rule.maxLostDeals) {
      return keep('mass-close', `more than ${rule.maxLostDeals} deals closed lost within ${rule.windowMinutes} minutes in ${ref.crm}: held for review`, [], {
        notification: stored,
        events,
      });
    }
  }
  await publishNormalised(deps, ref.crm, stored.portal, events);
  await deps.inbox.delete(ref.inboxKey);
  deps.logger.info('CRM notification normalised', { ...log, events: events.length, types: [...new Set(events.map((e) => e.type))] });
  return events.length > 0 ? 'published' : 'nothing-to-do';
}

export async function publishNormalised(
  deps: Pick<NormaliseDeps, 'hasher' | 'inbox' | 'publisher' | 'clock'>,
  crm: CrmName,
  portal: string,
  events: readonly InboundEvent[],
): Promise<void> {
  await publishInboundEvents(deps, events, { crm, source: ingestSourceOf(crm), receivedAt: deps.clock.now(), portal });
}
