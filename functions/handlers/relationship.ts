/**
 * Applies one inbound event (by reference) to its relationship: resolve identity, read, decide
 * (pure domain), write conditionally, publish what happened. Safe to run twice: a duplicate costs
 * one read and republishes whatever the first run may not have published.
 */
import { InboundEnvelope } from '#catalog/events';
import { crmSources, EventSources } from '#catalog/routing';
import type { Planner } from '#domain/planner';
import type { HoldoutSettings } from '#domain/metrics/holdout';
import { applyInbound, type Emitted } from '#domain/relationship';
import { optsBackInAfterErasure } from '#domain/consent';
import type { RelationshipState, TimelineEntry } from '#domain/types';
import type { Clock, EventPublisher, InboxStore, KeyedHasher, Logger, RelationshipStore, SuppressionRecord } from '#ports/ports';

export interface RelationshipDeps {
  clock: Clock;
  store: RelationshipStore;
  inbox: InboxStore;
  publisher: EventPublisher;
  planner: Planner;
  hasher: () => Promise<KeyedHasher>;
  logger: Logger;
  newId?: () => string;
  /** config/metrics.yaml `holdout` (pipeline config): decides each new nurture entry's group. */
  holdout?: HoldoutSettings;
}

export type ApplyOutcome = 'applied' | 'superseded' | 'duplicate' | 'erased' | 'suppressed' | 'already-processed';

const MAX_ATTEMPTS = 60;
const BRIEF_TIMELINE = 40;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the state item remembers of its last applied event, so a retry can finish the job. */
interface Outbox {
  eventId: string;
  emit: Emitted[];
  /** Its timeline entries, written after the save (so none outlives an erasure) and again on a retry. */
  timeline?: TimelineEntry[];
}
type StoredState = RelationshipState & { outbox?: Outbox };

export async function handleInboundEnvelope(deps: RelationshipDeps, detail: unknown): Promise<ApplyOutcome> {
  const envelope = InboundEnvelope.parse(detail);
  const { store, inbox, logger } = deps;
  const log = { eventId: envelope.id, type: envelope.type };
  const fromCrm = (crmSources as readonly string[]).includes(envelope.source);

  let relId = await store.resolve(envelope.identity);
  let state = relId ? ((await store.get(relId)) as StoredState | undefined) : undefined;

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) * Math.random());
    if (state?.applied.includes(envelope.id)) {
      if (state.outbox?.eventId === envelope.id) await finish(deps, state.id, state.outbox);
      await inbox.delete(envelope.inboxKey);
      logger.info('duplicate event', { ...log, relationshipId: state.id });
      return 'duplicate';
    }
    const event = await inbox.get(envelope.inboxKey);
    if (!event) {
      // The inbox item goes only after a successful apply or erasure, or expires after 16 days. Not
      // applied here, so either it went to another relationship or it came back too late: say so.
      logger.warn('inbox item missing for an event not applied here: already processed elsewhere, or redriven after expiry', { ...log, metric: 'InboxMissing' });
      return 'already-processed';
    }

    if (!state && envelope.identity.relationshipId) {
      // Addressed to a relationship that no longer exists (erased): nothing to change, nothing to create.
      await inbox.delete(envelope.inboxKey);
      logger.info('event for a relationship that no longer exists', log);
      return 'already-processed';
    }
    const hasher = await deps.hasher();
    const suppressionKeys = [
      ...(envelope.identity.emailHash ? [envelope.identity.emailHash] : []),
      ...envelope.identity.crmIds.map((id) => hasher.crmHash(id)),
    ];
    let seeded: SuppressionRecord | undefined;
    if (!state) {
      seeded = await store.getSuppression(suppressionKeys);
      const erased = seeded?.scopes.find((s) => s.scope === 'erased');
      if (erased && !optsBackInAfterErasure(event, erased.at)) {
        await inbox.delete(envelope.inboxKey);
        logger.info('event for an erased person: not re-added', log);
        return 'suppressed';
      }
    }

    const newId = relId ?? (deps.newId ?? (() => `rel_${crypto.randomUUID()}`))();
    const initialSuppressions = (seeded?.scopes ?? []).filter((s) => s.scope !== 'erased') as RelationshipState['suppressions'];
    const recentTimeline = state && isReEngaging(envelope.type) ? await store.timeline(state.id, { newestFirst: true, limit: BRIEF_TIMELINE }) : [];
    const decision = applyInbound(state, envelope.id, event, {
      initialSuppressions,
      now: deps.clock.now(),
      relationshipId: newId,
      ...(envelope.identity.emailHash && { emailHash: envelope.identity.emailHash }),
      crmIds: envelope.identity.crmIds,
      fromCrm,
      planner: deps.planner,
      recentTimeline,
      emailHashOf: (email) => hasher.emailHash(email),
      ...(deps.holdout && { holdout: deps.holdout }),
    });

    if (decision.kind === 'duplicate') continue; // handled at the top of the loop
    if (decision.kind === 'erase') {
      const scopes: SuppressionRecord['scopes'] = [
        ...(state?.suppressions ?? []).map((s) => ({ scope: s.scope, at: s.at, ...(s.topic && { topic: s.topic }) })),
        { scope: 'erased', at: deps.clock.now().toISOString() },
      ];
      const hashes = [...new Set([...suppressionKeys, ...(state?.emailHash ? [state.emailHash] : []), ...(state?.crmIds ?? []).map((id) => hasher.crmHash(id))])];
      // Suppression first: if we crash after it, the retry erases; the reverse could re-add.
      await store.putSuppression(hashes, { scopes });
      if (state) await store.erase(state);
      await publish(deps, { eventId: envelope.id, emit: decision.emit });
      await inbox.delete(envelope.inboxKey);
      logger.info('relationship erased', { ...log, relationshipId: state?.id });
      return 'erased';
    }

    // A new person: claim the identity first, so two deliveries cannot create them twice.
    if (!state) {
      const owner = await store.claimIdentity(newId, envelope.identity);
      if (owner !== newId) {
        relId = owner;
        state = (await store.get(owner)) as StoredState | undefined;
        continue;
      }
      relId = newId;
    } else if (decision.state.crmIds.length !== state.crmIds.length || decision.state.emailHash !== state.emailHash) {
      await store.claimIdentity(state.id, { ...(decision.state.emailHash && { emailHash: decision.state.emailHash }), crmIds: decision.state.crmIds });
    }

    // The previous event's outbox is still on the item when its publish may not have happened (a
    // crash between save and publish): publish it again before it is overwritten. Consumers
    // dedupe on causeId, so a second copy costs a little and loses nothing.
    if (state?.outbox && state.outbox.eventId !== envelope.id) await finish(deps, state.id, state.outbox);
    const outbox: Outbox | undefined =
      decision.emit.length > 0 || decision.timeline.length > 0 ? { eventId: envelope.id, emit: decision.emit, timeline: decision.timeline } : undefined;
    const toSave: StoredState = { ...decision.state };
    delete toSave.outbox;
    if (outbox) toSave.outbox = outbox;
    const saved = await store.save(toSave, state?.version);
    if (saved === 'conflict') {
      state = relId ? ((await store.get(relId)) as StoredState | undefined) : undefined;
      continue;
    }
    if (outbox) await finish(deps, decision.state.id, outbox);
    await inbox.delete(envelope.inboxKey);
    logger.info('event applied', { ...log, relationshipId: decision.state.id, stage: decision.state.stage, superseded: decision.superseded, attempts: attempt + 1 });
    return decision.superseded ? 'superseded' : 'applied';
  }
  throw new Error(`gave up applying ${envelope.id} after ${MAX_ATTEMPTS} conflicting attempts`);
}

function isReEngaging(type: string): boolean {
  return type === 'contact-replied' || type === 'meeting-booked' || type === 'deal-reopened';
}

/** After the save: the timeline entries (idempotent puts), then the events. */
async function finish(deps: RelationshipDeps, relationshipId: string, outbox: Outbox): Promise<void> {
  if (outbox.timeline && outbox.timeline.length > 0) await deps.store.appendTimeline(relationshipId, outbox.timeline);
  await publish(deps, outbox);
}

async function publish(deps: RelationshipDeps, outbox: Outbox): Promise<void> {
  if (outbox.emit.length === 0) return;
  await deps.publisher.publish(
    outbox.emit.map((e) => ({ source: EventSources.relationships, detailType: e.type, detail: { ...e.detail, causeId: outbox.eventId } })),
  );
}
