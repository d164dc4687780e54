/**
 * SES event publishing (configuration set -> EventBridge): permanent bounces and complaints stop
 * e-mail at once (state and keyed-hash suppression), clicks are noted for the brief. Deliveries and
 * transient bounces change nothing (counted in logs only), so they cost no write.
 */
import { z } from 'zod';
import { applyFeedback, type Feedback } from '#domain/feedback';
import type { Planner } from '#domain/planner';
import type { Clock, Logger, RelationshipStore } from '#ports/ports';
import type { DynamoTouchStore } from '#adapters/dynamo-touches';

export const SesEventDetail = z.object({
  eventType: z.string(),
  mail: z.object({
    messageId: z.string(),
    timestamp: z.string().optional(),
    tags: z.record(z.string(), z.array(z.string())).optional(),
  }),
  bounce: z.object({ bounceType: z.string(), timestamp: z.string().optional() }).optional(),
  complaint: z.object({ timestamp: z.string().optional(), complaintFeedbackType: z.string().optional() }).optional(),
  click: z.object({ timestamp: z.string().optional(), link: z.string(), userAgent: z.string().optional() }).optional(),
});

export interface SesEventDeps {
  clock: Clock;
  store: RelationshipStore;
  touches: DynamoTouchStore;
  planner: Planner;
  logger: Logger;
}

const SCANNER_AGENTS = /(barracuda|mimecast|proofpoint|symantec|microsoft office|safelinks|bot|crawler|scanner|python-requests|curl)/i;

function feedbackOf(detail: z.infer<typeof SesEventDetail>, now: Date): Feedback | undefined {
  const at = (t?: string) => t ?? now.toISOString();
  switch (detail.eventType) {
    case 'Bounce':
      return detail.bounce?.bounceType === 'Permanent' ? { kind: 'hard-bounce', messageId: detail.mail.messageId, at: at(detail.bounce.timestamp) } : undefined;
    case 'Complaint':
      return { kind: 'complaint', messageId: detail.mail.messageId, at: at(detail.complaint?.timestamp), ...(detail.complaint?.complaintFeedbackType && { feedbackType: detail.complaint.complaintFeedbackType }) };
    case 'Click': {
      if (!detail.click) return undefined;
      const sentAt = detail.mail.timestamp ? Date.parse(detail.mail.timestamp) : NaN;
      const clickedAt = Date.parse(at(detail.click.timestamp));
      // Link scanners click within seconds of delivery, or say who they are.
      const likelyScanner = SCANNER_AGENTS.test(detail.click.userAgent ?? '') || (Number.isFinite(sentAt) && clickedAt - sentAt < 60_000);
      return { kind: 'click', messageId: detail.mail.messageId, at: at(detail.click.timestamp), link: detail.click.link, likelyScanner };
    }
    default:
      return undefined;
  }
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
  for (let attempt = 0; attempt < 20; attempt++) {
    const state = await deps.touches.get(relationshipId);
    if (!state) return 'unknown-relationship';
    const decision = applyFeedback(state, feedback, deps.clock.now(), deps.planner);
    if (!decision) return 'duplicate';
    if (feedback.kind !== 'click' && state.emailHash) {
      await deps.store.addSuppressionScope(state.emailHash, { scope: feedback.kind, at: feedback.at });
    }
    if ((await deps.store.save(decision.state, state.version)) === 'saved') {
      await deps.store.appendTimeline(relationshipId, decision.timeline);
      deps.logger.info('SES feedback applied', { relationshipId, kind: feedback.kind });
      return 'applied';
    }
  }
  throw new Error(`could not apply SES ${feedback.kind} to ${relationshipId}`);
}
