/**
 * Holdout enforcement (docs/metrics.md): the group is decided once, by account, when the
 * relationship enters nurture; holdout relationships get no touches (backbone and cadence planner),
 * no re-engagement brief and no research task for the rep; the read view never shows the group.
 */
import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '#catalog/events';
import { loadConfig } from '#config/load';
import { createCadencePlanner } from '#domain/cadence';
import { assignHoldout, type HoldoutSettings } from '#domain/metrics/holdout';
import { firstTouchPlanner, mayBeTouched, type Planner } from '#domain/planner';
import { type ApplyContext, type Decision, applyInbound } from '#domain/relationship';
import type { RelationshipState } from '#domain/types';
import { viewOf } from '#handlers/read';
import { DANA, NOW, ev } from '../helpers/fixtures.ts';

const SETTINGS: HoldoutSettings = { percent: 50, salt: 'holdout-unit-test-salt' };
const H = 3_600_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

/** The first account ids of each group under SETTINGS, found by search (not assumed). */
function accountIn(group: 'holdout' | 'nurtured'): string {
  for (let i = 0; i < 1000; i++) {
    const id = `account-${i}.example`;
    if (assignHoldout(id, SETTINGS) === group) return id;
  }
  throw new Error(`no ${group} account among 1000 candidates`);
}
const HELD = accountIn('holdout');
const NURTURED = accountIn('nurtured');

type Applied = Extract<Decision, { kind: 'applied' }>;
function applied(d: Decision): Applied {
  if (d.kind !== 'applied') throw new Error(`expected applied, got ${d.kind}`);
  return d;
}

const ctx = (over: Partial<ApplyContext> = {}): ApplyContext => ({
  now: NOW,
  relationshipId: 'rel_00000000-0000-4000-8000-0000000000h1',
  emailHash: 'hash-dana',
  crmIds: ['generic:default:hs-501'],
  fromCrm: true,
  planner: firstTouchPlanner,
  holdout: SETTINGS,
  ...over,
});

const lost = (accountId: string, id = 'e-lost', at = ago(2 * H)) =>
  ev('lead-closed-lost', id, at, { reason: 'timing', amount: 24000 }, {
    ...DANA,
    accountId,
    consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-03-02T10:00:00Z' },
  });

function enter(accountId: string, over: Partial<ApplyContext> = {}): RelationshipState {
  return applied(applyInbound(undefined, 'e-lost', lost(accountId), ctx(over))).state;
}

function then(state: RelationshipState, e: InboundEvent, over: Partial<ApplyContext> = {}): Applied {
  return applied(applyInbound(state, e.id, e, ctx(over)));
}

describe('holdout assignment at nurture entry', () => {
  it('records the group of the account, the percent and when, once', () => {
    const held = enter(HELD);
    expect(held.holdout).toEqual({ group: 'holdout', percent: 50, assignedAt: ago(2 * H) });
    expect(enter(NURTURED).holdout).toEqual({ group: 'nurtured', percent: 50, assignedAt: ago(2 * H) });
    // Lost again after the settings changed (no holdout any more): the first decision stands.
    const again = then(held, lost(HELD, 'e-lost-2', ago(H)), { holdout: { ...SETTINGS, percent: 0 } });
    expect(again.state.holdout).toEqual(held.holdout);
  });

  it('a person without an account is their own unit: the relationship id decides', () => {
    const noAccount = ev('lead-closed-lost', 'e-na', ago(H), { reason: 'timing' }, { externalId: 'x-1', email: 'solo.fixture@example.com' });
    const ids = Array.from({ length: 200 }, (_, i) => `rel_00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const heldId = ids.find((id) => assignHoldout(id, SETTINGS) === 'holdout') as string;
    const d = applied(applyInbound(undefined, 'e-na', noAccount, ctx({ relationshipId: heldId })));
    expect(d.state.holdout?.group).toBe('holdout');
  });

  it('without settings nothing is decided (callers that do not measure are unchanged)', () => {
    expect(enter(HELD, { holdout: undefined }).holdout).toBeUndefined();
  });

  it('the group is not written on the timeline entry the rep sees', () => {
    const d = applied(applyInbound(undefined, 'e-lost', lost(HELD), ctx()));
    expect(JSON.stringify(d.timeline)).not.toMatch(/holdout|nurtured/i);
  });
});

describe('holdout relationships get no touches', () => {
  const cadence: Planner = createCadencePlanner(loadConfig('config'));

  it('with the backbone planner and with the cadence planner from config/', () => {
    for (const planner of [firstTouchPlanner, cadence]) {
      const held = enter(HELD, { planner });
      expect(held.stage).toBe('nurturing');
      expect(held.nextTouch).toBeNull();
      expect(mayBeTouched(held)).toBe(false);
      const nurtured = enter(NURTURED, { planner });
      expect(nurtured.nextTouch).not.toBeNull();
      expect(mayBeTouched(nurtured)).toBe(true);
    }
  });

  it('a later consent grant or a move back into nurture plans nothing either', () => {
    const held = enter(HELD, { planner: cadence });
    const granted = then(held, ev('consent-changed', 'e-grant', ago(H), { action: 'grant-email', consent: { email: 'granted', basis: 'opt-in', source: 'preference-page', capturedAt: ago(H) } }), { planner: cadence });
    expect(granted.state.nextTouch).toBeNull();
    const moved = then(held, ev('contact-moved', 'e-mv', ago(H), { newEmail: 'dana.elsewhere.fixture@example.com' }), { planner: cadence, emailHashOf: (e) => `h:${e}` });
    expect(moved.state.nextTouch).toBeNull();
  });
});

describe('nothing for the rep about a holdout relationship', () => {
  it('a reply re-engages (measured) but sends no re-engagement brief', () => {
    const reply = ev('contact-replied', 'e-r', ago(H), {});
    const held = then(enter(HELD), reply);
    expect(held.state.stage).toBe('re-engaged');
    expect(held.emit.filter((e) => e.type === 'relationship-re-engaged')).toEqual([]);
    const nurtured = then(enter(NURTURED), reply);
    expect(nurtured.emit.map((e) => e.type)).toContain('relationship-re-engaged');
  });

  it('a meeting booked in the CRM re-engages without a brief too', () => {
    const held = then(enter(HELD), ev('meeting-booked', 'e-m', ago(H), {}));
    expect(held.state.stage).toBe('re-engaged');
    expect(held.emit).toEqual([]);
  });

  it('"I have left" retires without a research task', () => {
    const left = ev('contact-moved', 'e-left', ago(H), { leftCompany: true, newCompany: 'Globex' });
    const held = then(enter(HELD), left);
    expect(held.state.stage).toBe('retired');
    expect(held.emit.filter((e) => e.type === 'task-assigned')).toEqual([]);
    expect(then(enter(NURTURED), left).emit.map((e) => e.type)).toContain('task-assigned');
  });
});

describe('GET /relationships does not show the group', () => {
  it('the view of a holdout relationship carries no holdout decision', () => {
    const held = enter(HELD);
    const view = viewOf(held, []);
    expect(Object.keys(view)).not.toContain('holdout');
    expect(JSON.stringify(view)).not.toMatch(/holdout|"group"/i);
  });
});
