/**
 * The import's age rule in the domain (issue #5): an old loss brought in by `cultivate import`
 * carries `permissionAskOnly`; the relationship keeps it on the nurture, and the cadence planner
 * gives it no thank-you note and no value e-mail (even with consent on record) until the contact
 * says yes; after the yes the e-mails start.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { createCadencePlanner } from '#domain/cadence';
import { type ApplyContext, type Decision, applyInbound } from '#domain/relationship';
import type { RelationshipState } from '#domain/types';
import { DANA, NOW, ev } from '../helpers/fixtures.ts';

const planner = createCadencePlanner(loadConfig('config'));
const REL = 'rel_00000000-0000-4000-8000-00000000i001';
const ctx: ApplyContext = { now: NOW, relationshipId: REL, emailHash: 'hash-dana', crmIds: ['hubspot:1:hs-501'], fromCrm: true, planner };
const LOST_400_DAYS_AGO = new Date(NOW.getTime() - 400 * 86_400_000).toISOString();
const granted = { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2024-03-02T10:00:00Z' };

function applied(d: Decision): RelationshipState {
  if (d.kind !== 'applied') throw new Error(`expected applied, got ${d.kind}`);
  return d.state;
}

const lost = (data: Record<string, unknown>, at = LOST_400_DAYS_AGO) =>
  ev('lead-closed-lost', 'hubspot:1:import:9001:hs-501', at, { reason: 'timing', dealId: '9001', ...data }, { ...DANA, consent: granted });

describe('lead-closed-lost with permissionAskOnly', () => {
  it('the catalog accepts only `true` (absence means a live loss)', () => {
    expect(() => lost({ permissionAskOnly: false })).toThrow(/permissionAskOnly/);
    expect(lost({ permissionAskOnly: true }).data.permissionAskOnly).toBe(true);
  });

  it('keeps the flag on the nurture and plans only the permission ask, even with e-mail consent on record', () => {
    const state = applied(applyInbound(undefined, 'e1', lost({ permissionAskOnly: true }), ctx));
    expect(state.nurture?.permissionAskOnly).toBe(true);
    expect(state.consent?.email).toBe('granted');
    expect(state.nextTouch).toMatchObject({ channel: 'task', kind: 'permission-ask', status: 'planned' });
    expect(state.nextTouch?.rule).toMatch(/imported old loss/);
    // Past the six-month quiet cutoff by nature, the ask still goes, and not before now.
    expect(Date.parse(state.nextTouch?.at ?? '')).toBeGreaterThanOrEqual(NOW.getTime());
  });

  it('plans nothing after the ask is done while the contact has not said yes', () => {
    const state = applied(applyInbound(undefined, 'e1', lost({ permissionAskOnly: true }), ctx));
    const afterAsk: RelationshipState = { ...state, history: { ...state.history, cadenceStep: 1, tasksAssigned: 1, lastTouchAt: NOW.toISOString() } };
    expect(planner.planNext(afterAsk, { now: NOW })).toBeNull();
  });

  it('the same loss without the flag gets the thank-you note first', () => {
    const state = applied(applyInbound(undefined, 'e1', lost({}, new Date(NOW.getTime() - 86_400_000).toISOString()), ctx));
    expect(state.nurture?.permissionAskOnly).toBeUndefined();
    expect(state.nextTouch).toMatchObject({ kind: 'thank-you-note' });
  });

  it('an explicit yes after the ask lifts the rule: value e-mails start, still no thank-you', () => {
    let state = applied(applyInbound(undefined, 'e1', lost({ permissionAskOnly: true }), ctx));
    state = { ...state, history: { ...state.history, cadenceStep: 1, tasksAssigned: 1, lastTouchAt: NOW.toISOString() } };
    const yes = ev('consent-changed', 'e2', NOW.toISOString(), { action: 'grant-email', consent: { email: 'granted', basis: 'opt-in', source: 'permission-ask', capturedAt: NOW.toISOString() } });
    state = applied(applyInbound(state, 'e2', yes, ctx));
    expect(state.nurture?.permissionAskOnly).toBe(false);
    expect(state.history.lastHumanSignalAt).toBe(NOW.toISOString());
    expect(state.nextTouch).toMatchObject({ channel: 'email', kind: 'value-email' });
  });

  it('a yes before the ask went out also skips the thank-you and goes straight to e-mail', () => {
    let state = applied(applyInbound(undefined, 'e1', lost({ permissionAskOnly: true }), ctx));
    const yes = ev('consent-changed', 'e2', NOW.toISOString(), { action: 'grant-email', consent: { email: 'granted', basis: 'opt-in', source: 'form', capturedAt: NOW.toISOString() } });
    state = applied(applyInbound(state, 'e2', yes, ctx));
    expect(state.nextTouch).toMatchObject({ channel: 'email', kind: 'value-email' });
  });
});
