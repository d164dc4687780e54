/**
 * What happens to a relationship when one of its touches is done, lost or pushed. Pure; the send
 * path calls these inside its conditional writes.
 */
import type { Planner } from './planner.ts';
import { APPLIED_EVENT_MEMORY, type PlannedTouch, type RelationshipState, type TimelineEntry } from './types.ts';

export type TouchResult =
  | { kind: 'email-sent'; messageId: string; title: string }
  | { kind: 'task-assigned'; title: string }
  /**
   * A lunch guest: their own lunch is taken care of by the host's task (one lunch, one task), so
   * it is done for the cadence, but no task of theirs exists to be completed or escalated.
   */
  | { kind: 'joined'; title: string }
  /** The lease lapsed while sending: it may or may not have gone. Counted, never re-sent. */
  | { kind: 'unknown' }
  /** The final claim found it no longer wanted (consent, stage, suppression). */
  | { kind: 'skipped'; reason: string };

export interface TouchOutcomeDecision {
  state: RelationshipState;
  timeline: TimelineEntry[];
}

const SENT_MEMORY = 200;

/**
 * The guardrails that moved a touch, for the timeline entry that ends it (its outcome, or its push
 * to a new plan): the metrics count each move once there, with no write of their own. Comma-joined
 * distinct codes (a detail holds scalars only); nothing when the touch was not moved.
 */
export function movesDetail(touch: Pick<PlannedTouch, 'pushedBy'>): { pushedBy?: string } {
  const codes = [...new Set(touch.pushedBy ?? [])];
  return codes.length > 0 ? { pushedBy: codes.join(',') } : {};
}

/**
 * Records a finished touch and plans the next one. Idempotent on the touch id: recording the same
 * touch twice changes nothing. If the plan moved on meanwhile (a replan while it was sending), the
 * send is still recorded in the history, and the new plan is left alone.
 */
export function recordTouch(
  state: RelationshipState,
  touch: PlannedTouch,
  result: TouchResult,
  at: Date,
  planner: Planner,
): TouchOutcomeDecision | undefined {
  // Short: the relationship is implied, and every byte of the state item is paid on each write.
  const eventId = `touch:${touch.touchId.slice(touch.touchId.lastIndexOf('.') + 1)}`;
  if (state.applied.includes(eventId)) return undefined;
  const atIso = at.toISOString();
  const history = { ...state.history, lastTouchAt: atIso };
  let summary: string;
  // The rule that planned it rides along, so `explain` can say why each touch happened.
  const detail: Record<string, string | number | boolean> = { touchId: touch.touchId, kind: touch.kind, channel: touch.channel, dueAt: touch.at, rule: touch.rule };
  Object.assign(detail, movesDetail(touch));
  switch (result.kind) {
    case 'email-sent':
      history.emailsSent += 1;
      history.lastEmailAt = atIso;
      if (touch.contentId) history.sentContent = [...history.sentContent, touch.contentId].slice(-SENT_MEMORY);
      advance(history, touch, atIso);
      summary = `E-mail sent: ${result.title}`;
      detail.messageId = result.messageId;
      if (touch.contentId) detail.contentId = touch.contentId;
      break;
    case 'task-assigned':
      history.tasksAssigned += 1;
      // A thinking-of-you draft shares a piece: it is not e-mailed to them again later.
      if (touch.contentId) history.sentContent = [...history.sentContent, touch.contentId].slice(-SENT_MEMORY);
      advance(history, touch, atIso);
      summary = `Task for the owner: ${result.title}`;
      break;
    case 'joined':
      advance(history, touch, atIso);
      summary = `Joined: ${result.title}`;
      break;
    case 'unknown':
      advance(history, touch, atIso);
      if (touch.contentId) history.sentContent = [...history.sentContent, touch.contentId].slice(-SENT_MEMORY);
      summary = `Touch outcome unknown (the send may or may not have happened; not retried)`;
      break;
    case 'skipped':
      summary = `Touch skipped: ${result.reason}`;
      break;
  }
  // A lunch guest's join is `touch-joined`: a touch for them, not a task of their own.
  const type = result.kind === 'email-sent' ? 'email-sent' : result.kind === 'task-assigned' ? 'task-assigned' : `touch-${result.kind}`;
  let next: RelationshipState = { ...state, history, applied: [...state.applied, eventId].slice(-APPLIED_EVENT_MEMORY), updatedAt: atIso };
  // Plan the next touch from the updated history: when this was the plan, and also when a replan
  // landed while it was being sent (that plan could not know this content had just gone out). A
  // touch already claimed by the send path is left alone: its own final claim decides.
  const current = state.nextTouch;
  if (current?.touchId === touch.touchId || (current?.status === 'planned' && result.kind !== 'skipped')) {
    const planVersion = state.planVersion + 1;
    const planned = planner.planNext({ ...next, nextTouch: null, planVersion }, { now: at });
    next = { ...next, planVersion, nextTouch: planned };
  }
  return { state: next, timeline: [{ at: atIso, eventId, type, summary, detail }] };
}

/**
 * The cadence position after `touch` was done (or may have been): a human touch on a rhythm counts
 * for its kind (how many, and when the last was, which its next one is timed from); every other
 * touch moves the cadence one step on.
 */
export function advance(history: RelationshipState['history'], touch: Pick<PlannedTouch, 'kind' | 'step' | 'recurring'>, atIso: string): void {
  if (touch.recurring) {
    const done = history.recurring?.[touch.kind]?.n ?? 0;
    history.recurring = { ...history.recurring, [touch.kind]: { n: done + 1, lastAt: atIso } };
    return;
  }
  history.cadenceStep = Math.max(history.cadenceStep, (touch.step ?? history.cadenceStep) + 1);
}

/** Outside the send window at the last moment: plan the same step again at the next valid slot. */
export function pushTouch(state: RelationshipState, touch: PlannedTouch, at: Date, planner: Planner): RelationshipState {
  if (state.nextTouch?.touchId !== touch.touchId) return state;
  const planVersion = state.planVersion + 1;
  const planned = planner.planNext({ ...state, nextTouch: null, planVersion }, { now: at });
  return { ...state, planVersion, nextTouch: planned, updatedAt: at.toISOString() };
}
