/**
 * Salesforce Event Relay: Change Data Capture events that an org relays to Amazon EventBridge arrive
 * on a partner event bus; a rule there delivers each to this handler, which turns it into the same
 * notifications an Outbound Message would give (`parseRelayEvent`, org allow-list applied) and hands
 * them to the same claim check and normaliser. An event that is not a relayed change event is kept
 * in quarantine (source `salesforce-relay`), replayable once the cause is fixed.
 */
import { type Clock, type EventPublisher, type Logger, type NotificationInbox, type Quarantine } from '#ports/ports';
import { keepAndPublish } from './ingest.ts';
import { idList } from './salesforce/ids.ts';
import { parseRelayEvent, RelayEventError } from './salesforce/relay.ts';
import type { CrmNotification } from './types.ts';

export const RELAY_QUARANTINE_SOURCE = 'salesforce-relay';

export interface SalesforceRelayDeps {
  clock: Clock;
  logger: Logger;
  inbox: NotificationInbox;
  publisher: EventPublisher;
  quarantine: Quarantine;
  /** CULTIVATE_SALESFORCE_ORG_IDS: relayed events from other orgs are refused. */
  allowedOrgIds: () => Promise<string | undefined>;
}

/** The notifications in a relayed event, or why it is not one. */
export async function relayNotifications(deps: Pick<SalesforceRelayDeps, 'allowedOrgIds'>, event: unknown): Promise<CrmNotification[]> {
  const allowed = idList(await deps.allowedOrgIds());
  if (allowed.length === 0) throw new RelayEventError([{ path: 'source', message: 'CULTIVATE_SALESFORCE_ORG_IDS is not set: no org is allowed' }]);
  return parseRelayEvent(event, { allowedOrgIds: allowed });
}

export async function handleSalesforceRelay(deps: SalesforceRelayDeps, event: unknown): Promise<'published' | 'nothing' | 'quarantined'> {
  const now = deps.clock.now();
  let notifications: CrmNotification[];
  try {
    notifications = await relayNotifications(deps, event);
  } catch (err) {
    if (!(err instanceof RelayEventError)) throw err;
    const paths = err.issues.map((i) => i.path);
    const quarantineId = await deps.quarantine.keep({
      source: RELAY_QUARANTINE_SOURCE,
      kind: 'webhook',
      reason: err.message.slice(0, 500),
      paths,
      raw: new TextEncoder().encode(JSON.stringify(event)),
      receivedAt: now,
    });
    deps.logger.warn('relayed Salesforce event not understood; quarantined', { quarantineId, paths, metric: 'WebhookQuarantined' });
    return 'quarantined';
  }
  if (notifications.length === 0) return 'nothing';
  await keepAndPublish(deps, notifications, now);
  deps.logger.info('relayed Salesforce event accepted', { notifications: notifications.length });
  return 'published';
}
