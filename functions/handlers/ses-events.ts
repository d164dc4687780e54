/**
 * SES event publishing (configuration set -> EventBridge): permanent bounces and complaints stop
 * e-mail at once (state and keyed-hash suppression), clicks are noted for the brief. Deliveries and
 * transient bounces change nothing (counted in logs only), so they cost no write.
 */
import { SesEventDetail } from '#catalog/ses';
import { applyFeedback, feedbackOf } from '#domain/feedback';
import { updateRelationship } from './conditional-update.ts';
import type { Planner } from '#domain/planner';
import type { Clock, Logger, RelationshipStore } from '#ports/ports';
import type { DynamoTouchStore } from '#adapters/dynamo-touches';

export interface SesEventDeps {
  clock: Clock;
  store: RelationshipStore;
  touches: DynamoTouchStore;
  planner: Planner;
  logger: Logger;
}

export async function handleSesEvent(deps: SesEventDeps, raw: unknown): Promise<'applied' | 'ignored' | 'duplicate' | 'unknown-relationship'> {
  const detail = SesEventDetail.parse(raw);
  const feedback = feedbackOf(detail, deps.clock.now());
  const relationshipId = detail.mail.tags?.relationship?.[0];
  if (!feedback) {
    deps.logger.info('SES event counted', { eventType: detail.eventType, metric: `Ses${detail.eventType}` });
    return 'ignored';
  }
  if (!relationshipId) return 'unknown-relationship';
  let outcome = 'unknown-relationship' as 'applied' | 'duplicate' | 'unknown-relationship';
  let emailHash: string | undefined;
  await updateRelationship(
    deps.store,
    () => deps.touches.get(relationshipId),
    (state) => {
      emailHash = state.emailHash;
      const decision = applyFeedback(state, feedback, deps.clock.now(), deps.planner);
      outcome = decision ? 'applied' : 'duplicate';
      return decision;
    },
    `apply SES ${feedback.kind} to ${relationshipId}`,
  );
  // The keyed-hash suppression, too: it outlives erasure and the sender checks it. Also on a
  // duplicate (a crash may have come between the two writes): the add is atomic and idempotent.
  if (outcome !== 'unknown-relationship' && feedback.kind !== 'click' && emailHash) await deps.store.addSuppressionScope(emailHash, { scope: feedback.kind, at: feedback.at });
  if (outcome === 'applied') deps.logger.info('SES feedback applied', { relationshipId, kind: feedback.kind });
  return outcome;
}
