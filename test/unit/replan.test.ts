/**
 * `replanDecision` (functions/domain/replan.ts): what newly published rules do to one relationship,
 * keeping the person's progress, as `cultivate diff` predicts; and `stampedPlanner`, which makes
 * every planned touch carry the rules version.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { contactTimeZone, createCadencePlanner, ownerTimeZone } from '#domain/cadence';
import { loadConfig } from '#config/load';
import { stampedPlanner } from '#config/rules';
import { touchIdFor } from '#domain/identity';
import { zonedParts } from '#domain/local-time';
import { compareTouches, localSlot, planAgain, replanDecision, rulesVersionOf, type StampedState, type StampedTouch } from '#domain/replan';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import { diffPlans, planSide } from '#handlers/config-diff';
import { NOW, person, thursdayConfig } from '../helpers/replan.ts';

const current = loadConfig('config');
const dir = thursdayConfig();
const proposed = loadConfig(dir.dir);
afterAll(() => dir.remove());

const v3 = stampedPlanner(createCadencePlanner(current), 3);
const v4 = stampedPlanner(createCadencePlanner(proposed), 4);
const zoneOf = (state: RelationshipState, touch: PlannedTouch) => (touch.channel === 'email' ? contactTimeZone(proposed, state) : ownerTimeZone(proposed, state));
const decide = (state: RelationshipState, now = NOW) => replanDecision({ state, planner: v4, previous: v3, fromVersion: 3, toVersion: 4, now, zoneOf });

describe('stampedPlanner', () => {
  it('stamps the rules version on each touch and says it in the rule', () => {
    const t = person(v3, 'ada', 'timing', 'emailing').nextTouch as StampedTouch;
    expect(t.rulesVersion).toBe(3);
    expect(t.rule).toMatch(/weekly value e-mail 2 of 8.*\(rules v3\)$/);
    const v0 = stampedPlanner(createCadencePlanner(current), 0);
    const t0 = person(v0, 'ada', 'timing', 'emailing').nextTouch as StampedTouch;
    expect(t0.rulesVersion).toBe(0);
    expect(t0.rule).not.toMatch(/rules v/);
  });
});

describe('replanDecision', () => {
  it("moves Tuesday's e-mail to Thursday at the same local minute, keeping the step, the history and the content order", () => {
    const ada = person(v3, 'ada', 'timing', 'emailing');
    const d = decide(ada);
    if (d.kind !== 'replan') throw new Error(d.kind);
    const before = ada.nextTouch as StampedTouch;
    const after = d.state.nextTouch as StampedTouch;
    const [b, a] = [zonedParts(new Date(before.at), 'America/Chicago'), zonedParts(new Date(after.at), 'America/Chicago')];
    expect([b.weekday, a.weekday]).toEqual([2, 4]);
    expect(a.minuteOfDay).toBe(b.minuteOfDay);
    expect(d.change).toBe(Date.parse(d.state.nextTouch!.at) > Date.parse(ada.nextTouch!.at) ? 'later' : 'earlier');
    expect(after).toMatchObject({ step: before.step, kind: 'value-email', contentId: before.contentId, status: 'planned', rulesVersion: 4 });
    expect(after.touchId).toBe(touchIdFor(ada.id, ada.planVersion + 1));
    expect(d.state.planVersion).toBe(ada.planVersion + 1);
    expect(d.state.history).toEqual(ada.history);
    expect((d.state as StampedState).rulesVersion).toBe(4);
    const hhmm = `${String(b.hour).padStart(2, '0')}:${String(b.minute).padStart(2, '0')}`;
    expect(d.entry).toMatchObject({ type: 'touch-replanned', eventId: 'replan:v4', at: NOW.toISOString() });
    // Ada's minute in the window is her own (a hash of her id): her Tuesday is this week's or next.
    expect(d.entry.summary).toMatch(new RegExp(`^replanned: rules v3 → v4: moved from Tue 2026-12-(08|15) ${hhmm} to Thu 2026-12-10 ${hhmm}$`));
    expect(d.entry.summary).toBe(`replanned: rules v3 → v4: moved from ${localSlot(before.at, 'America/Chicago')} to ${localSlot(after.at, 'America/Chicago')}`);
    expect(d.entry.detail).toMatchObject({ fromVersion: 3, toVersion: 4, change: d.change, previousAt: before.at, dueAt: after.at, touchId: after.touchId });
  });

  it('leaves a touch that is queued or being sent alone', () => {
    const ada = person(v3, 'ada', 'timing', 'emailing');
    for (const status of ['queued', 'sending'] as const) {
      const busy = { ...ada, nextTouch: { ...(ada.nextTouch as PlannedTouch), status, leaseUntil: '2026-12-08T16:05:00.000Z' } };
      expect(decide(busy)).toEqual({ kind: 'skip', reason: 'in-flight' });
    }
  });

  it('changes nothing the second time, nor for someone a handler already planned under the new rules', () => {
    const ada = person(v3, 'ada', 'timing', 'emailing');
    const d = decide(ada);
    if (d.kind !== 'replan') throw new Error(d.kind);
    expect(decide(d.state, new Date(NOW.getTime() + 3_600_000))).toEqual({ kind: 'skip', reason: 'already-current' });
    expect(decide(person(v4, 'bo', 'timing', 'emailing'))).toEqual({ kind: 'skip', reason: 'already-current' });
  });

  it('writes nothing when the new rules plan the same touch (a thank-you task is on no weekday rule)', () => {
    const di = person(v3, 'di', 'timing', 'thank-you');
    expect(di.nextTouch?.kind).toBe('thank-you-note');
    expect(decide(di)).toEqual({ kind: 'skip', reason: 'unchanged' });
  });

  it('leaves a touch a cap or a hold moved alone when the rules did not change for this person', () => {
    // The thank-you task is planned the same by both versions; the stored one was pushed a day
    // (a capacity hold): replanning it would undo that under rules that did not change.
    const di = person(v3, 'di', 'timing', 'thank-you');
    const pushed = { ...di, nextTouch: { ...(di.nextTouch as PlannedTouch), at: new Date(Date.parse(di.nextTouch!.at) + 86_400_000).toISOString() } };
    expect(compareTouches(pushed.nextTouch, planAgain(v4, pushed, NOW))).not.toBe('unchanged');
    expect(decide(pushed)).toEqual({ kind: 'skip', reason: 'unchanged' });
    // Where the rules did change (Tuesday to Thursday), a pushed touch is replanned all the same.
    const ada = person(v3, 'ada', 'timing', 'emailing');
    const late = { ...ada, nextTouch: { ...(ada.nextTouch as PlannedTouch), at: new Date(Date.parse(ada.nextTouch!.at) + 3_600_000).toISOString() } };
    expect(decide(late).kind).toBe('replan');
  });

  it('a touch the new rules no longer plan disappears, and the state remembers which rules decided that', () => {
    // Budget losses move to the track without weekly mail.
    const moved = thursdayConfig()
      .edit('cadence.yaml', 'lostReasons: [timing, budget, no-decision, competitor, no-need, other]', 'lostReasons: [timing, no-decision, competitor, no-need, other]')
      .edit('cadence.yaml', 'lostReasons: [unresponsive, bad-fit]', 'lostReasons: [budget, unresponsive, bad-fit]')
      // ... whose quarterly requalification would otherwise replace the e-mail: here nothing does.
      .edit('cadence.yaml', '    humanTouches:\n      - { kind: requalification, first: 3 months, every: 3 months }\n', '');
    const noWeekly = stampedPlanner(createCadencePlanner(loadConfig(moved.dir)), 4);
    moved.remove();
    const ada = person(v3, 'ada', 'budget', 'emailing');
    const d = replanDecision({ state: ada, planner: noWeekly, previous: v3, fromVersion: 3, toVersion: 4, now: NOW, zoneOf });
    if (d.kind !== 'replan') throw new Error(d.kind);
    expect(d.change).toBe('disappear');
    expect(d.state.nextTouch).toBeNull();
    expect(rulesVersionOf(d.state)).toBe(4);
    expect(d.entry.summary).toMatch(/^replanned: rules v3 → v4: the value-email \(\w[\w-]*\) planned for Tue 2026-12-(08|15) \d\d:\d\d is no longer planned$/);
    expect(replanDecision({ state: d.state, planner: noWeekly, previous: v3, fromVersion: 3, toVersion: 4, now: NOW, zoneOf })).toEqual({ kind: 'skip', reason: 'already-current' });
  });

  it('a touch appears for someone the old rules left without one', () => {
    const cy = person(v3, 'cy', 'timing', 'after-thank-you', { nextTouch: null });
    const d = decide(cy);
    if (d.kind !== 'replan') throw new Error(d.kind);
    expect(d.change).toBe('appear');
    expect(d.entry.summary).toMatch(/^replanned: rules v3 → v4: a value-email \([\w-]+\) is now planned for Thu /);
  });
});

describe('replanDecision over random people (property)', () => {
  const phases = ['thank-you', 'after-thank-you', 'emailing'] as const;
  const reasons = ['timing', 'budget', 'unresponsive'] as const;
  const zones = ['America/Chicago', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney', 'America/Los_Angeles', 'Asia/Kolkata'] as const;
  const statuses = ['planned', 'planned', 'planned', 'queued', 'sending'] as const;
  const arb = fc.record({
    phase: fc.constantFrom(...phases),
    reason: fc.constantFrom(...reasons),
    tz: fc.constantFrom(...zones),
    status: fc.constantFrom(...statuses),
    planVersion: fc.integer({ min: 0, max: 500 }),
    hours: fc.integer({ min: 0, max: 24 * 20 }),
  });

  it('keeps progress, never touches an in-flight touch, agrees with diff, and is idempotent', () => {
    fc.assert(
      fc.property(arb, ({ phase, reason, tz, status, planVersion, hours }) => {
        const now = new Date(NOW.getTime() + hours * 3_600_000);
        const base = person(v3, 'p', reason, phase, { planVersion, contact: { timezone: tz, country: 'US' } }, now);
        const state = base.nextTouch && status !== 'planned' ? { ...base, nextTouch: { ...base.nextTouch, status, leaseUntil: now.toISOString() } } : base;
        const d = decide(state, now);
        const diff = diffPlans([state], planSide(current), planSide(proposed), now);
        if (status !== 'planned' && state.nextTouch) {
          expect(d).toEqual({ kind: 'skip', reason: 'in-flight' });
          expect(diff.inFlight).toBe(1);
          return;
        }
        const predicted = diff.compared === 0 ? undefined : (Object.entries(diff.counts).find(([, n]) => n === 1)?.[0] as string);
        if (d.kind === 'skip') {
          expect(d.reason).toBe('unchanged');
          expect(predicted === undefined || predicted === 'unchanged').toBe(true);
          return;
        }
        // What diff predicted is what the replan does.
        expect(d.change).toBe(predicted);
        expect(compareTouches(state.nextTouch, d.state.nextTouch)).toBe(d.change);
        // The same history and step counters; only the plan moved, under a new plan version.
        expect(d.state.history).toEqual(state.history);
        expect(d.state.planVersion).toBe(state.planVersion + 1);
        const planned = d.state.nextTouch as StampedTouch | null;
        expect(planned).toEqual(planAgain(v4, state, now));
        if (planned) {
          expect(planned.touchId).toBe(touchIdFor(state.id, state.planVersion + 1));
          expect(planned.rulesVersion).toBe(4);
          expect(planned.step).toBe(state.history.cadenceStep);
          expect(Date.parse(planned.at)).toBeGreaterThanOrEqual(now.getTime());
        }
        // Applied once, deciding again changes nothing.
        expect(decide(d.state, new Date(now.getTime() + 60_000))).toEqual({ kind: 'skip', reason: 'already-current' });
      }),
      { numRuns: 150 },
    );
  });
});
