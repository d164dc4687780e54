/** What SES tells us after a send: bounces and complaints stop e-mail at once; clicks are noted. Pure. */
import type { SesEventDetail } from '#catalog/ses';
import { addSuppression } from './consent.ts';
import { fnv1a32 } from './hash.ts';
import type { Planner } from './planner.ts';
import { APPLIED_EVENT_MEMORY, type RelationshipState, type SuppressionScope, type TimelineEntry } from './types.ts';

export type Feedback =
  | { kind: 'hard-bounce'; messageId: string; at: string; diagnostic?: string }
  | { kind: 'complaint'; messageId: string; at: string; feedbackType?: string }
  | { kind: 'click'; messageId: string; at: string; link: string; likelyScanner: boolean };

export function applyFeedback(state: RelationshipState, feedback: Feedback, now: Date, planner: Planner): { state: RelationshipState; timeline: TimelineEntry[] } | undefined {
  // A scanner's click must not hide the person's own click on the same message (or another link).
  const eventId =
    feedback.kind === 'click'
      ? `ses:click:${feedback.messageId}:${feedback.likelyScanner ? 's' : 'h'}:${fnv1a32(feedback.link).toString(36)}`
      : `ses:${feedback.kind}:${feedback.messageId}`;
  if (state.applied.includes(eventId)) return undefined;
  const applied = [...state.applied, eventId].slice(-APPLIED_EVENT_MEMORY);
  if (feedback.kind === 'click') {
    return {
      state: { ...state, applied },
      timeline: [
        {
          at: feedback.at,
          eventId,
          type: 'email-clicked',
          summary: feedback.likelyScanner ? 'Link opened by a scanner (not counted as engagement)' : 'Clicked a link in the e-mail',
          detail: { link: feedback.link.slice(0, 300), likelyScanner: feedback.likelyScanner },
        },
      ],
    };
  }
  const scope: SuppressionScope = feedback.kind;
  let next: RelationshipState = { ...state, applied, suppressions: addSuppression(state.suppressions, { scope, at: feedback.at }) };
  // E-mail stops at once: the plan version moves (voiding any queued e-mail) and the planner decides again.
  const planVersion = next.planVersion + 1;
  next = { ...next, planVersion, nextTouch: planner.planNext({ ...next, nextTouch: null, planVersion }, { now }) };
  return {
    state: next,
    timeline: [
      {
        at: feedback.at,
        eventId,
        type: `email-${feedback.kind}`,
        summary: feedback.kind === 'hard-bounce' ? 'E-mail bounced permanently: no more e-mail to this address' : 'Marked the e-mail as spam: no more e-mail',
      },
    ],
  };
}

const SCANNER_AGENTS = /(barracuda|mimecast|proofpoint|symantec|microsoft office|safelinks|bot|crawler|scanner|python-requests|curl)/i;

/** What an SES event means for the relationship, if anything (deliveries and transient bounces: nothing). */
export function feedbackOf(detail: SesEventDetail, now: Date): Feedback | undefined {
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

