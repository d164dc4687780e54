/** "Come back in 24 months" and a competitor's contract end are honoured by the planner. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { createCadencePlanner } from '#domain/cadence';
import { applyInbound } from '#domain/relationship';
import { recordTouch } from '#domain/touch';
import type { RelationshipState } from '#domain/types';
import { DANA, ev } from '../helpers/fixtures.ts';

const planner = createCadencePlanner(loadConfig('config'));
const LOST = '2026-11-16T15:00:00Z';

function lostWith(data: Record<string, unknown>): RelationshipState {
  const e = ev('lead-closed-lost', 'rv-1', LOST, { reason: 'timing', ...data }, { ...DANA, consent: { email: 'granted', basis: 'opt-in', capturedAt: '2026-01-01T00:00:00Z' } });
  const d = applyInbound(undefined, 'rv-1', e, { now: new Date(LOST), relationshipId: 'rel_00000000-0000-4000-8000-0000000000aa', crmIds: [], fromCrm: true, planner });
  if (d.kind !== 'applied') throw new Error(d.kind);
  return d.state;
}

/** The first e-mail after the thank-you task. */
function firstEmail(state: RelationshipState) {
  const thanks = state.nextTouch;
  if (!thanks) throw new Error('nothing planned');
  expect(thanks.kind).toBe('thank-you-note');
  const r = recordTouch(state, thanks, { kind: 'task-assigned', title: 'Thank-you note' }, new Date(thanks.at), planner);
  return r?.state.nextTouch;
}

describe('revisitAfter and contractEndsAt', () => {
  it('without either, the first weekly e-mail follows the thank-you within weeks', () => {
    const e = firstEmail(lostWith({}));
    expect(e?.channel).toBe('email');
    expect(Date.parse(e!.at) - Date.parse(LOST)).toBeLessThan(21 * 86_400_000);
  });

  it('revisitAfter: the thank-you still goes, e-mail waits until then, and the rule says why', () => {
    const e = firstEmail(lostWith({ revisitAfter: '2027-06-01' }));
    expect(e?.channel).toBe('email');
    expect(e!.at >= '2027-06-01').toBe(true);
    expect(Date.parse(e!.at) - Date.parse('2027-06-01T00:00:00Z')).toBeLessThan(8 * 86_400_000);
    expect(e?.rule).toMatch(/not before 2027-06-01 \(the rep asked to come back then\)/);
  });

  it('contractEndsAt: nurture starts two months before the competitor contract ends', () => {
    const e = firstEmail(lostWith({ reason: 'competitor', contractEndsAt: '2027-09-30' }));
    expect(e!.at >= '2027-08-01').toBe(true);
    expect(e!.at < '2027-08-09').toBe(true);
    expect(e?.rule).toMatch(/60 days before their contract ends/);
  });
});
