/** The cadence planner driven by the send path's own bookkeeping (`recordTouch`, `pushTouch`). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config/load.ts';
import { emailCadenceOnly } from '../helpers/config.ts';
import { createCadencePlanner } from '../../functions/domain/cadence.ts';
import { pushTouch, recordTouch } from '../../functions/domain/touch.ts';
import type { RelationshipState } from '../../functions/domain/types.ts';

// The e-mail cadence on its own (test/helpers/config.ts says why).
const planner = createCadencePlanner(emailCadenceOnly(loadConfig('config')));

function start(): RelationshipState {
  const lostAt = '2026-11-20T15:04:05Z';
  const s: RelationshipState = {
    id: 'rel_0b3f9d1e-2222-4c1d-8e7f-000000000002',
    version: 1,
    createdAt: lostAt,
    updatedAt: lostAt,
    stage: 'nurturing',
    nurture: { lostReason: 'budget', lostAt },
    owner: 'sam@seller.example',
    contact: { timezone: 'Europe/Berlin' },
    fieldTimes: {},
    crmIds: [],
    consent: { email: 'granted', basis: 'opt-in', at: lostAt },
    suppressions: [],
    applied: [],
    planVersion: 1,
    nextTouch: null,
    history: { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 },
  };
  return { ...s, nextTouch: planner.planNext(s, { now: new Date(lostAt) }) };
}

const berlin = new Intl.DateTimeFormat('en-US', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

describe('cadence planner with recordTouch', () => {
  it('runs the whole cadence: 1 task, 8 weekly, skip week, monthly, each at the same Berlin time', () => {
    let s = start();
    const done: string[] = [];
    for (let i = 0; i < 40 && s.nextTouch; i++) {
      const t = s.nextTouch;
      const result = t.channel === 'email' ? { kind: 'email-sent' as const, messageId: `m${i}`, title: t.contentId ?? '' } : { kind: 'task-assigned' as const, title: t.kind };
      const r = recordTouch(s, t, result, new Date(t.at), planner);
      expect(r).toBeDefined();
      s = (r as { state: RelationshipState }).state;
      done.push(`${t.kind}@${t.channel === 'email' ? berlin.format(new Date(t.at)) : ''}`);
    }
    expect(done[0]).toBe('thank-you-note@');
    const emails = done.slice(1);
    expect(emails.length).toBeGreaterThanOrEqual(9);
    expect(new Set(emails).size).toBe(1);
    expect(emails[0]).toMatch(/^value-email@Tue (09|1[0-5]):\d\d$/);
    expect(s.history.emailsSent).toBe(emails.length);
  });

  it('a send pushed out of the window lands on the next week, same weekday and time', () => {
    let s = start();
    const t0 = s.nextTouch;
    s = (recordTouch(s, t0!, { kind: 'task-assigned', title: 'thank you' }, new Date(t0!.at), planner) as { state: RelationshipState }).state;
    const first = s.nextTouch!;
    expect(planner.insideSendWindow?.(s, first, new Date(first.at))).toBe(true);
    const late = new Date(Date.parse(first.at) + 9 * 3_600_000);
    expect(planner.insideSendWindow?.(s, first, late)).toBe(false);
    const pushed = pushTouch(s, first, late, planner).nextTouch!;
    expect(Date.parse(pushed.at) - Date.parse(first.at)).toBe(7 * 86_400_000);
    expect(pushed.step).toBe(first.step);
    expect(pushed.contentId).toBe(first.contentId);
  });

  it("an outcome entry carries the touch's moves as distinct comma-joined codes, and none when it was not moved", () => {
    const s = start();
    const t = s.nextTouch!;
    const entryOf = (touch: typeof t, result: Parameters<typeof recordTouch>[2]) => recordTouch({ ...s, nextTouch: touch }, touch, result, new Date(touch.at), planner)!.timeline[0]!;
    const moved = { ...t, pushedBy: ['holiday' as const, 'min-gap' as const, 'holiday' as const] };
    expect(entryOf(moved, { kind: 'task-assigned', title: 'thank you' }).detail).toMatchObject({ touchId: t.touchId, channel: 'task', pushedBy: 'holiday,min-gap' });
    expect(entryOf({ ...t, pushedBy: ['daily-cap'] }, { kind: 'unknown' }).detail?.pushedBy).toBe('daily-cap');
    expect(entryOf({ ...t, pushedBy: ['weekend'] }, { kind: 'skipped', reason: 'suppressed: all-email' }).detail?.pushedBy).toBe('weekend');
    expect(entryOf({ ...t, pushedBy: ['weekend'] }, { kind: 'email-sent', messageId: 'm1', title: 'x' }).detail?.pushedBy).toBe('weekend');
    // Not moved (absent or an empty list): no key at all, so unmoved touches cost no extra bytes.
    expect(entryOf({ ...t, pushedBy: [] }, { kind: 'task-assigned', title: 'thank you' }).detail).not.toHaveProperty('pushedBy');
    const { pushedBy: _none, ...unmoved } = t;
    expect(entryOf(unmoved, { kind: 'task-assigned', title: 'thank you' }).detail).not.toHaveProperty('pushedBy');
  });
});
