/**
 * SES event publishing (configuration set -> EventBridge): permanent bounces and complaints stop
 * e-mail at once (state and keyed-hash suppression), clicks are noted for the brief. Deliveries and
 * transient bounces change nothing (counted in logs only), so they cost no write.
 */
import { SesEventDetail } from '#catalog/ses';
import { applyFeedback, feedbackOf } from '#domain/feedback';
import { updateRelationship } from './conditional-update.ts';
import type { Planner } from '#domain/planner';
import { EventSources } from '#catalog/routing';
import type { Clock, EventPublisher, Logger, RelationshipStore } from '#ports/ports';
import type { DynamoTouchStore } from '#adapters/dynamo-touches';

export interface SesEventDeps {
  clock: Clock;
  store: RelationshipStore;
  touches: DynamoTouchStore;
  planner: Planner;
  logger: Logger;
  /** Tells the CRM (consent-changed): a hard bounce or a complaint is an e-mail opt-out there too. */
  publisher: EventPublisher;
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
  let person: { crmIds: string[]; owner?: string; accountId?: string } | undefined;
  await updateRelationship(
    deps.store,
    () => deps.touches.get(relationshipId),
    (state) => {
      emailHash = state.emailHash;
      person = { crmIds: state.crmIds, ...(state.owner && { owner: state.owner }), ...(state.accountId && { accountId: state.accountId }) };
      const decision = applyFeedback(state, feedback, deps.clock.now(), deps.planner);
      outcome = decision ? 'applied' : 'duplicate';
      return decision;
    },
    `apply SES ${feedback.kind} to ${relationshipId}`,
  );
  // The keyed-hash suppression, too: it outlives erasure and the sender checks it. Also on a
  // duplicate (a crash may have come between the two writes): the add is atomic and idempotent.
  if (outcome !== 'unknown-relationship' && feedback.kind !== 'click' && emailHash) await deps.store.addSuppressionScope(emailHash, { scope: feedback.kind, at: feedback.at });
  // The CRM hears it as an e-mail opt-out (HubSpot unsubscribe, Salesforce HasOptedOutOfEmail,
  // Pipedrive marketing status). Also on a duplicate, for the same reason; the CRM outbound side
  // delivers once per cause.
  if (outcome !== 'unknown-relationship' && feedback.kind !== 'click' && person) {
    await deps.publisher.publish([
      {
        source: EventSources.relationships,
        detailType: 'consent-changed',
        detail: { relationshipId, ...person, causeId: `ses:${feedback.kind}:${feedback.messageId}`, action: 'stop-all-email', email: 'denied' },
      },
    ]);
  }
  if (outcome === 'applied') deps.logger.info('SES feedback applied', { relationshipId, kind: feedback.kind });
  return outcome;
}
