/** `explain`: each touch that happened, and the one planned, with the rule that decided it. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { createCadencePlanner } from '#domain/cadence';
import { applyInbound } from '#domain/relationship';
import { pushTouch, recordTouch } from '#domain/touch';
import type { RelationshipState, TimelineEntry } from '#domain/types';
import { decisionsOf } from '#handlers/read';
import { DANA, ev } from '../helpers/fixtures.ts';

describe('decisionsOf', () => {
  it('lists the thank-you task, the e-mails sent and the planned one, each with its rule', () => {
    const planner = createCadencePlanner(loadConfig('config'));
    const lost = ev('lead-closed-lost', 'x-1', '2026-11-16T15:00:00Z', { reason: 'timing' }, { ...DANA, consent: { email: 'granted', basis: 'opt-in', capturedAt: '2026-01-01T00:00:00Z' } });
    const d = applyInbound(undefined, 'x-1', lost, { now: new Date('2026-11-16T15:00:00Z'), relationshipId: 'rel_00000000-0000-4000-8000-00000000000e', crmIds: [], fromCrm: true, planner });
    if (d.kind !== 'applied') throw new Error(d.kind);
    let state: RelationshipState = d.state;
    const timeline: TimelineEntry[] = [...d.timeline];
    for (const result of [{ kind: 'task-assigned', title: 'Thank-you note' }, { kind: 'email-sent', messageId: 'm1', title: 'Idea 1' }] as const) {
      const t = state.nextTouch;
      if (!t) throw new Error('nothing planned');
      const r = recordTouch(state, t, result, new Date(t.at), planner);
      if (!r) throw new Error('not recorded');
      state = r.state;
      timeline.push(...r.timeline);
    }
    const decisions = decisionsOf(state, timeline);
    expect(decisions.map((x) => x.outcome)).toEqual(['task-assigned', 'sent', 'planned']);
    expect(decisions.map((x) => x.kind)).toEqual(['thank-you-note', 'value-email', 'value-email']);
    for (const x of decisions) expect(x.rule.length).toBeGreaterThan(5);
    expect(decisions[1]?.rule).toMatch(/weekly value e-mail 1 of 8/);
    expect(decisions[2]?.rule).toMatch(/weekly value e-mail 2 of 8/);
    // a push keeps the person's progress: the same step at a later slot
    const pushed = pushTouch(state, state.nextTouch!, new Date(Date.parse(state.nextTouch!.at) + 3_600_000 * 8), planner);
    expect(pushed.nextTouch?.rule).toMatch(/weekly value e-mail 2 of 8/);
    expect(pushed.nextTouch?.step).toBe(state.nextTouch?.step);
  });
});

describe('decisionsOf after a published rules version', () => {
  it('shows the replan with its rule and the move as a note, then the touch planned under the new version', async () => {
    const { replanDecision } = await import('#domain/replan');
    const { stampedPlanner } = await import('#config/rules');
    const { contactTimeZone, ownerTimeZone } = await import('#domain/cadence');
    const { NOW, person, thursdayConfig } = await import('../helpers/replan.ts');
    const dir = thursdayConfig();
    try {
      const proposed = loadConfig(dir.dir);
      const v1 = stampedPlanner(createCadencePlanner(loadConfig('config')), 1);
      const v2 = stampedPlanner(createCadencePlanner(proposed), 2);
      const ada = person(v1, 'ada', 'timing', 'emailing');
      const d = replanDecision({
        state: ada,
        planner: v2,
        previous: v1,
        fromVersion: 1,
        toVersion: 2,
        now: NOW,
        zoneOf: (s, t) => (t.channel === 'email' ? contactTimeZone(proposed, s) : ownerTimeZone(proposed, s)),
      });
      if (d.kind !== 'replan') throw new Error(d.kind);
      const decisions = decisionsOf(d.state, [d.entry]);
      expect(decisions.map((x) => x.outcome)).toEqual(['replanned', 'planned']);
      expect(decisions[0]?.note).toMatch(/^replanned: rules v1 → v2: moved from Tue .* to Thu /);
      expect(decisions[0]?.rule).toMatch(/\(rules v2\)$/);
      expect(decisions[1]?.rule).toMatch(/\(rules v2\)$/);
    } finally {
      dir.remove();
    }
  });
});
