/**
 * Replanning a relationship under newly published rules (`cultivate config publish`), decided
 * purely: the same history and step counters, the next touch planned again from `now` by the new
 * rules' planner. Only where the rules changed for this person: like `cultivate diff`, the old and
 * the new rules both plan from `now`, and where they plan the same touch the stored one stays as it
 * is, even when a cap, a hold or a late send moved it since it was planned (replanning it would undo
 * that, under rules that did not change). A touch queued or being sent is left alone (its own final
 * claim decides), and so is a relationship already planned under these rules or newer ones (a
 * handler got there first, or a resumed page of the job), so a re-run changes nothing.
 *
 * The rules version rides on the planned touch (`rulesVersion`, stamped by the pipeline's planner)
 * and, once a replan wrote it, on the state (`rulesVersion`), so a relationship the new rules leave
 * without a touch still says which rules decided that.
 */
import { zonedParts } from './local-time.ts';
import type { Planner } from './planner.ts';
import type { PlannedTouch, RelationshipState, TimelineEntry } from './types.ts';

/** A planned touch that says which published rules planned it (absent: before rules were published). */
export type StampedTouch = PlannedTouch & { rulesVersion?: number };
/** A state whose last replan wrote the rules version it applied. */
export type StampedState = RelationshipState & { rulesVersion?: number };

/** The rules version a relationship is planned under: the newer of its touch's and its own. */
export function rulesVersionOf(state: RelationshipState): number {
  const own = (state as StampedState).rulesVersion ?? 0;
  const touch = (state.nextTouch as StampedTouch | null)?.rulesVersion ?? 0;
  return Math.max(own, touch);
}

export type TouchChange = 'earlier' | 'later' | 'appear' | 'disappear' | 'changed' | 'unchanged';

/** How the next touch changes from `before` to `after`; undefined when there is none either way. */
export function compareTouches(before: PlannedTouch | null, after: PlannedTouch | null): TouchChange | undefined {
  if (!before && !after) return undefined;
  if (!before) return 'appear';
  if (!after) return 'disappear';
  const b = Date.parse(before.at);
  const a = Date.parse(after.at);
  if (a < b) return 'earlier';
  if (a > b) return 'later';
  return before.channel === after.channel && before.kind === after.kind && before.contentId === after.contentId ? 'unchanged' : 'changed';
}

/** The next touch `planner` plans for `state` at `now`, from the same history (what diff compares). */
export function planAgain(planner: Planner, state: RelationshipState, now: Date): PlannedTouch | null {
  return planner.planNext({ ...state, nextTouch: null, planVersion: state.planVersion + 1 }, { now });
}

export interface ReplanInput {
  state: RelationshipState;
  /** The published rules' planner (it stamps `rulesVersion` on what it plans). */
  planner: Planner;
  /**
   * The planner of the rules the stored touch was planned under: `fromVersion`'s, as `cultivate diff`
   * compares (the job hands in the version stamped on the touch when it is another one, e.g. one
   * planned during a rollout that was rolled back, or one a superseded job did not reach).
   */
  previous: Planner;
  fromVersion: number;
  toVersion: number;
  now: Date;
  /** Where a touch's local time is read: the contact's zone for e-mail, the owner's for tasks. */
  zoneOf(state: RelationshipState, touch: PlannedTouch): string;
}

export type ReplanSkip = 'in-flight' | 'already-current' | 'unchanged';

export type ReplanDecision =
  | { kind: 'skip'; reason: ReplanSkip }
  | { kind: 'replan'; change: Exclude<TouchChange, 'unchanged'>; state: StampedState; entry: TimelineEntry };

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** "Tue 2026-12-08 09:30" in `tz`: how sales ops read a slot. */
export function localSlot(at: string, tz: string): string {
  const p = zonedParts(new Date(at), tz);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${WEEKDAYS[p.weekday]} ${p.year}-${two(p.month)}-${two(p.day)} ${two(p.hour)}:${two(p.minute)}`;
}

function describe(input: ReplanInput, before: PlannedTouch | null, after: PlannedTouch | null, change: TouchChange): string {
  const what = (t: PlannedTouch) => `${t.kind}${t.contentId ? ` (${t.contentId})` : ''}`;
  const slot = (t: PlannedTouch) => `${localSlot(t.at, input.zoneOf(input.state, t))}`;
  const head = `replanned: rules v${input.fromVersion} → v${input.toVersion}`;
  if (!before && after) return `${head}: a ${what(after)} is now planned for ${slot(after)}`;
  if (before && !after) return `${head}: the ${what(before)} planned for ${slot(before)} is no longer planned`;
  const b = before as PlannedTouch;
  const a = after as PlannedTouch;
  if (change === 'changed') return `${head}: ${slot(b)}: ${what(b)} becomes ${what(a)}`;
  const kind = what(b) === what(a) ? '' : `; ${what(b)} becomes ${what(a)}`;
  return `${head}: moved from ${slot(b)} to ${slot(a)}${kind}`;
}

/** What the new rules do to one relationship's next touch. Pure. */
export function replanDecision(input: ReplanInput): ReplanDecision {
  const { state, now } = input;
  const current = state.nextTouch;
  if (current && current.status !== 'planned') return { kind: 'skip', reason: 'in-flight' };
  if (rulesVersionOf(state) >= input.toVersion) return { kind: 'skip', reason: 'already-current' };
  const planned = planAgain(input.planner, state, now);
  // The rules did not change for this person (what diff counts as unchanged): the stored touch stays.
  if ((compareTouches(planAgain(input.previous, state, now), planned) ?? 'unchanged') === 'unchanged') return { kind: 'skip', reason: 'unchanged' };
  const change = compareTouches(current, planned);
  if (change === undefined || change === 'unchanged') return { kind: 'skip', reason: 'unchanged' };
  const planVersion = state.planVersion + 1;
  const atIso = now.toISOString();
  const summary = describe(input, current, planned, change);
  const shown = planned ?? current;
  const detail: Record<string, string | number | boolean> = {
    fromVersion: input.fromVersion,
    toVersion: input.toVersion,
    change,
    ...(shown && { touchId: shown.touchId, kind: shown.kind, channel: shown.channel }),
    ...(planned ? { dueAt: planned.at, rule: planned.rule } : { rule: `rules v${input.toVersion} plan no touch` }),
    ...(current && { previousTouchId: current.touchId, previousAt: current.at, previousRule: current.rule }),
  };
  return {
    kind: 'replan',
    change,
    state: { ...state, planVersion, nextTouch: planned, rulesVersion: input.toVersion, updatedAt: atIso },
    entry: { at: atIso, eventId: `replan:v${input.toVersion}`, type: 'touch-replanned', summary, detail },
  };
}
