/**
 * Quarantine review: list what was kept, and replay an entry once the cause is fixed (a mapping in
 * config/crm.yaml, a schema change, a mass close judged genuine). A replay runs the same code as a
 * live delivery from the step that refused it, without authenticating again (the entry was
 * authentic when kept, and its signature's timestamp is stale by now). Each entry replays once.
 */
import { EventSources } from '#catalog/routing';
import { parseGenericBody, publishInboundEvents } from '#handlers/ingest';
import type { Quarantine, QuarantinedItem } from '#ports/ports';
import type { InboundEvent } from '#catalog/events';
import { decodeBody, keepAndPublish } from './ingest.ts';
import { RELAY_QUARANTINE_SOURCE, relayNotifications } from './salesforce-relay.ts';
import { RelayEventError } from './salesforce/relay.ts';
import { type NormaliseDeps, publishNormalised } from './normalise.ts';
import { type CrmName, crmNames, type CrmNotification } from './types.ts';

export type ReplayDeps = Pick<NormaliseDeps, 'clock' | 'logger' | 'inbox' | 'publisher' | 'hasher' | 'adapter'> & {
  quarantine: Quarantine;
  /** CULTIVATE_SALESFORCE_ORG_IDS, for replaying a relayed Salesforce event. */
  allowedOrgIds?: () => Promise<string | undefined>;
};

export type ReplayResult =
  | { status: 200; outcome: string; item: QuarantinedItem }
  | { status: 404 | 409 | 422; error: string; issues?: { path: string; message: string }[] };

const isCrm = (s: string): s is CrmName => (crmNames as readonly string[]).includes(s);

export async function replayQuarantined(deps: ReplayDeps, id: string): Promise<ReplayResult> {
  const item = await deps.quarantine.get(id);
  if (!item) return { status: 404, error: 'no quarantined entry with that id (entries expire after 14 days)' };
  if (item.replayedAt) return { status: 409, error: `replayed already at ${item.replayedAt} (${item.replayOutcome ?? ''})` };
  const now = deps.clock.now();
  const text = new TextDecoder().decode(item.raw);
  let outcome: string;

  if (item.kind === 'webhook' && item.source === 'generic') {
    const body = parseGenericBody(item.raw);
    if (!body.ok) return { status: 422, error: `still not processable: ${body.error}`, issues: body.issues };
    await publishInboundEvents(deps, body.events, { crm: 'generic', source: EventSources.ingestGeneric, receivedAt: now });
    outcome = `published ${body.events.length} event(s)`;
  } else if (item.kind === 'webhook' && item.source === RELAY_QUARANTINE_SOURCE) {
    let notifications;
    try {
      notifications = await relayNotifications({ allowedOrgIds: deps.allowedOrgIds ?? (async () => undefined) }, JSON.parse(text));
    } catch (err) {
      if (!(err instanceof RelayEventError)) throw err;
      return { status: 422, error: `still not processable: ${err.message}`, issues: err.issues };
    }
    await keepAndPublish(deps, notifications, now);
    outcome = `requeued ${notifications.length} relayed notification(s) for normalising`;
  } else if (item.kind === 'webhook' && isCrm(item.source)) {
    const adapter = deps.adapter(item.source);
    if (!adapter) return { status: 422, error: `the ${item.source} adapter is not configured (its settings are absent)` };
    const decoded = decodeBody(item.raw);
    // The instance authentication verified when the body was kept (a Salesforce org must match its body).
    const auth = item.portal ? { portal: item.portal } : {};
    const parsed = decoded.ok ? adapter.parse(decoded.body, auth, now) : { ok: false as const, error: 'body is not valid UTF-8', issues: [] };
    if (!parsed.ok) return { status: 422, error: `still not processable: ${parsed.error}`, issues: parsed.issues };
    await keepAndPublish(deps, parsed.notifications, now);
    outcome = `requeued ${parsed.notifications.length} notification(s) for normalising`;
  } else if (item.kind === 'unmapped') {
    const notification = JSON.parse(text) as CrmNotification;
    await keepAndPublish(deps, [notification], now);
    outcome = 'requeued for normalising with the current mapping';
  } else if (item.kind === 'mass-close' && isCrm(item.source)) {
    const held = JSON.parse(text) as { notification: CrmNotification; events: InboundEvent[] };
    await publishNormalised(deps, item.source, held.notification.portal, held.events);
    outcome = `released ${held.events.length} held event(s)`;
  } else {
    return { status: 422, error: `cannot replay an entry of kind ${item.kind} from ${item.source}` };
  }
  // Two reviewers replaying at once: both publish the same ids (they dedupe downstream); only the
  // first is recorded, and the second hears so.
  if (!(await deps.quarantine.markReplayed(id, outcome, now))) return { status: 409, error: 'replayed at the same time by someone else' };
  deps.logger.info('quarantine entry replayed', { quarantineId: id, source: item.source, kind: item.kind, outcome });
  return { status: 200, outcome, item: { ...item, replayedAt: now.toISOString(), replayOutcome: outcome } };
}
