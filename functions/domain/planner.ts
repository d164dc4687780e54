/**
 * The planner port: given a relationship after an event, what is the next touch, if any?
 * The backbone ships `firstTouchPlanner` (a thank-you task two days after the loss); the
 * touches issue fills the port with the cadence planner.
 */
import { touchIdFor } from './identity.ts';
import type { PlannedTouch, RelationshipState } from './types.ts';

export interface PlanContext {
  now: Date;
}

export interface Planner {
  /** Returns the next touch (status `planned`) or null. Pure; never throws on a valid state. */
  planNext(state: RelationshipState, ctx: PlanContext): PlannedTouch | null;
  /**
   * The sender's last check before an e-mail goes: is `at` inside the contact's send window?
   * (A queue backlog must not deliver Tuesday's 09:30 e-mail at 23:00.) Absent: always.
   */
  insideSendWindow?(state: RelationshipState, touch: PlannedTouch, at: Date): boolean;
  /**
   * Everything outside `history` the plan depends on, by name (`track`, `contact zone`, ...): when
   * an event's profile change alters one, `applyInbound` replans the touch already planned, and
   * only then (a replan costs a write and voids in-flight claims, so a new title must not cause
   * one). Names and values are shown in the timeline ("track lost-deal -> referral-partners").
   * Absent: a profile change never replans by itself.
   */
  planInputs?(state: RelationshipState): Readonly<Record<string, string>>;
}

const DAY_MS = 86_400_000;

/** In the holdout: measured like everyone else, touched by no one (no e-mail, no task). */
export function heldOut(state: Pick<RelationshipState, 'holdout'>): boolean {
  return state.holdout?.group === 'holdout';
}

/** Nothing is planned for someone who asked not to be contacted, who is not in nurture, or who is held out. */
export function mayBeTouched(state: RelationshipState): boolean {
  return state.stage === 'nurturing' && !state.suppressions.some((s) => s.scope === 'do-not-contact') && !heldOut(state);
}

/**
 * The instant planning starts from: `now`, or later while the relationship is paused (an
 * out-of-office reply). Every planner uses it, so no path plans a touch inside a pause.
 */
export function planningNow(state: Pick<RelationshipState, 'pausedUntil'>, now: Date): Date {
  const paused = state.pausedUntil ? Date.parse(state.pausedUntil) : Number.NaN;
  return Number.isFinite(paused) && paused > now.getTime() ? new Date(paused) : now;
}

export const firstTouchPlanner: Planner = {
  planNext(state, ctx) {
    const now = planningNow(state, ctx.now);
    // The backbone's one touch thanks for a lost deal; a referral episode has nothing to thank for.
    if (!mayBeTouched(state) || !state.nurture || state.nurture.entry === 'referral') return null;
    if (state.history.tasksAssigned > 0 || state.history.cadenceStep > 0) return null;
    const due = Math.max(Date.parse(state.nurture.lostAt) + 2 * DAY_MS, now.getTime());
    return {
      touchId: touchIdFor(state.id, state.planVersion),
      at: new Date(due).toISOString(),
      channel: 'task',
      kind: 'thank-you-note',
      status: 'planned',
      step: 0,
      rule: 'first-touch: thank-you note two days after the loss',
    };
  },
};
