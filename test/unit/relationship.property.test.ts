/** Property tests for applyInbound: order independence, effect once, stage invariants. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InboundEvent } from '#catalog/events';
import { canEmail } from '#domain/consent';
import { firstTouchPlanner, mayBeTouched } from '#domain/planner';
import { type ApplyContext, applyInbound } from '#domain/relationship';
import { type RelationshipState, stages } from '#domain/types';
import { DANA, NOW, ev } from '../helpers/fixtures.ts';

const REL = 'rel_00000000-0000-4000-8000-000000000002';
const ctx: ApplyContext = {
  now: NOW,
  relationshipId: REL,
  emailHash: 'hash-dana',
  crmIds: ['generic:default:hs-501'],
  fromCrm: true,
  planner: firstTouchPlanner,
};
const MIN = 60_000;
const at = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * MIN).toISOString();

function fold(events: readonly InboundEvent[], c: ApplyContext = ctx): RelationshipState | undefined {
  let state: RelationshipState | undefined;
  for (const e of events) {
    const d = applyInbound(state, e.id, e, c);
    if (d.kind === 'applied') state = d.state;
    else if (d.kind === 'erase') state = undefined;
  }
  return state;
}

// ----- generators ------------------------------------------------------------------------------

const contactPatch = fc.record(
  {
    name: fc.constantFrom('Dana Reyes', 'Dana R.', 'D. Reyes'),
    title: fc.constantFrom('VP Ops', 'COO', 'Head of Sales'),
    company: fc.constantFrom('Acme', 'Acme Inc', 'Globex'),
    country: fc.constantFrom('US', 'CA', 'DE'),
    timezone: fc.constantFrom('America/Chicago', 'Europe/Berlin'),
    tags: fc.constantFrom(['a'], ['a', 'b'], ['c']),
    accountId: fc.constantFrom('acme.example', 'globex.example'),
    owner: fc.constantFrom('sam@seller.example', 'kim@seller.example'),
  },
  { requiredKeys: [] },
);

/** Consent a CRM sync may carry: non-sticky records only (no withdrawal events). */
const syncConsent = fc.option(
  fc.constantFrom(
    { email: 'granted', basis: 'legitimate-interest' },
    { email: 'granted', basis: 'opt-in' },
    { email: 'denied', basis: 'withdrawn' },
    { email: 'unknown' },
  ),
  { nil: undefined },
);

type Spec = { patch: Record<string, unknown>; consent: Record<string, unknown> | undefined };
function updates(specs: readonly Spec[], minutes: readonly number[]): InboundEvent[] {
  return specs.map((s, i) =>
    ev('contact-updated', `e-${i}`, at(minutes[i] as number), {}, {
      email: DANA.email,
      ...s.patch,
      ...(s.consent && { consent: s.consent }),
    }),
  );
}

/** n events with distinct ids and distinct occurredAt (all in the past), plus a permutation of them. */
const updateSets = fc
  .integer({ min: 1, max: 12 })
  .chain((n) =>
    fc.tuple(
      fc.array(fc.record({ patch: contactPatch, consent: syncConsent }), { minLength: n, maxLength: n }),
      fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { minLength: n, maxLength: n }),
    ),
  )
  .chain(([specs, minutes]) => {
    const events = updates(specs, minutes);
    return fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }));
  });

const observable = (s: RelationshipState | undefined) => ({
  contact: s?.contact,
  accountId: s?.accountId,
  owner: s?.owner,
  consentEmail: s?.consent?.email ?? 'unknown',
  canEmail: s ? canEmail(s) : false,
});

describe('order independence (DESIGN.md §3: latest occurredAt wins, field by field)', () => {
  it('any permutation of distinct-time updates gives the same attributes and consent decision', () => {
    fc.assert(
      fc.property(updateSets, ([events, permuted]) => {
        const chronological = [...events].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
        expect(observable(fold(permuted))).toEqual(observable(fold(chronological)));
      }),
      { numRuns: 300 },
    );
  });

  it('the latest value of each field is the one kept (independent oracle)', () => {
    fc.assert(
      fc.property(updateSets, ([events, permuted]) => {
        const final = fold(permuted) as RelationshipState;
        const chronological = [...events].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
        const expected: Record<string, unknown> = {};
        for (const e of chronological) for (const [k, v] of Object.entries(e.contact)) if (k !== 'consent') expected[k] = v;
        const { accountId, owner, ...contactExpected } = expected;
        expect(final.contact).toEqual(contactExpected);
        expect(final.accountId).toEqual(accountId);
        expect(final.owner).toEqual(owner);
        const lastConsent = chronological.filter((e) => e.contact.consent).at(-1)?.contact.consent;
        expect(final.consent?.email).toEqual(lastConsent?.email);
      }),
      { numRuns: 300 },
    );
  });

  /** Consent events including withdrawals (sticky) and explicit opt-ins, all with distinct times. */
  const consentEvent = fc.constantFrom(
    'stop-all-email',
    'do-not-contact',
    'stop-topic',
    'opt-in',
    'sync-opt-in',
    'sync-legitimate-interest',
    'sync-denied',
  );
  function consentEvents(kinds: readonly string[], minutes: readonly number[]): InboundEvent[] {
    return kinds.map((k, i) => {
      const when = at(minutes[i] as number);
      const id = `c-${i}`;
      switch (k) {
        case 'stop-all-email':
        case 'do-not-contact':
          return ev('consent-changed', id, when, { action: k });
        case 'stop-topic':
          return ev('consent-changed', id, when, { action: 'stop-topic', topic: 'pricing' });
        case 'opt-in':
          return ev('consent-changed', id, when, { action: 'grant-email', consent: { email: 'granted', basis: 'opt-in', capturedAt: when } });
        case 'sync-opt-in':
          return ev('contact-updated', id, when, {}, { email: DANA.email, consent: { email: 'granted', basis: 'opt-in' } });
        case 'sync-legitimate-interest':
          return ev('contact-updated', id, when, {}, { email: DANA.email, consent: { email: 'granted', basis: 'legitimate-interest' } });
        default:
          return ev('contact-updated', id, when, {}, { email: DANA.email, consent: { email: 'denied' } });
      }
    });
  }
  const consentSets = fc
    .integer({ min: 1, max: 8 })
    .chain((n) =>
      fc.tuple(
        fc.array(consentEvent, { minLength: n, maxLength: n }),
        fc.uniqueArray(fc.integer({ min: 1, max: 100_000 }), { minLength: n, maxLength: n }),
      ),
    )
    .chain(([kinds, minutes]) => {
      const events = consentEvents(kinds, minutes);
      return fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }));
    });

  it('without non-explicit grants, any arrival order of consent changes gives the same consent decision', () => {
    const explicitOnly = consentSets.filter(([events]) => events.every((e) => !(e.contact.consent?.basis === 'legitimate-interest')));
    fc.assert(
      fc.property(explicitOnly, ([events, permuted]) => {
        const chronological = [...events].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
        expect(observable(fold(permuted))).toEqual(observable(fold(chronological)));
      }),
      { numRuns: 500 },
    );
  });

  // BUG: see relationship.test.ts "a late-arriving unsubscribe still wins ...". A withdrawal that
  // arrives after a newer legitimate-interest sync is marked superseded, so the outcome depends on
  // arrival order. fast-check finds a two-event counterexample within a few runs.
  it('any arrival order of consent changes gives the same consent decision (all kinds)', () => {
    fc.assert(
      fc.property(consentSets, ([events, permuted]) => {
        const chronological = [...events].sort((a, b) => a.occurredAt.localeCompare(b.occurredAt));
        expect(observable(fold(permuted))).toEqual(observable(fold(chronological)));
      }),
      { numRuns: 500 },
    );
  });
});

// ----- mixed event streams ---------------------------------------------------------------------

const touchIds = [1, 2, 3, 4].map((v) => `${REL}.t${v}`);
const anyEvent = (i: number, when: string): fc.Arbitrary<InboundEvent> =>
  fc.oneof(
    fc.constantFrom('timing', 'budget', 'competitor', 'unresponsive').map((reason) => ev('lead-closed-lost', `x-${i}`, when, { reason })),
    fc.constant(ev('deal-created', `x-${i}`, when, {})),
    fc.constant(ev('deal-reopened', `x-${i}`, when, {})),
    fc.constant(ev('deal-won', `x-${i}`, when, {})),
    fc.constant(ev('meeting-booked', `x-${i}`, when, {})),
    fc.constantFrom('human', 'missed-me').map((classification) => ev('contact-replied', `x-${i}`, when, { classification })),
    fc
      .tuple(fc.constantFrom(...touchIds), fc.constantFrom('done', 'no-future', 'future-opportunity', 'next-step', 'no-answer'))
      .map(([touchId, outcome]) => ev('touch-completed', `x-${i}`, when, { touchId, outcome })),
    contactPatch.map((patch) => ev('contact-updated', `x-${i}`, when, {}, { email: DANA.email, ...patch })),
    fc.constant(ev('contact-moved', `x-${i}`, when, { newAccountId: 'globex.example', newCompany: 'Globex' })),
    fc.constant(ev('referral-received', `x-${i}`, when, {})),
    fc.constantFrom('stop-all-email', 'do-not-contact').map((action) => ev('consent-changed', `x-${i}`, when, { action })),
    fc.constant(ev('consent-changed', `x-${i}`, when, { action: 'stop-topic', topic: 'pricing' })),
    fc.constant(ev('consent-changed', `x-${i}`, when, { action: 'grant-email', consent: { email: 'granted', basis: 'opt-in', capturedAt: when } })),
  );

/** Times may collide and may lie in the future (clamped). */
const stream = (max: number) =>
  fc
    .array(fc.integer({ min: -600, max: 50_000 }), { minLength: 1, maxLength: max })
    .chain((minutes) => fc.tuple(...minutes.map((m, i) => anyEvent(i, at(m)))));

describe('effect once', () => {
  it('applying any event twice (right away or later, redelivered) equals applying it once', () => {
    fc.assert(
      fc.property(
        stream(20).chain((events) =>
          fc.tuple(fc.constant(events), fc.array(fc.tuple(fc.nat(events.length - 1), fc.nat(events.length)), { maxLength: 10 })),
        ),
        ([events, redeliveries]) => {
          // Insert each redelivered event at or after its first delivery.
          const withDupes: InboundEvent[] = [];
          events.forEach((e, i) => {
            withDupes.push(e);
            for (const [which, after] of redeliveries) {
              const pos = Math.max(which, Math.min(after, events.length - 1));
              if (pos === i) withDupes.push(events[which] as InboundEvent);
            }
          });
          expect(fold(withDupes)).toEqual(fold(events));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a redelivered event is answered with duplicate', () => {
    fc.assert(
      fc.property(stream(20), (events) => {
        const state = fold(events) as RelationshipState;
        for (const e of events) expect(applyInbound(state, e.id, e, ctx)).toEqual({ kind: 'duplicate' });
      }),
      { numRuns: 200 },
    );
  });
});

describe('stage invariants', () => {
  it('the stage is always a declared one, and nothing is planned unless nurturing and touchable', () => {
    fc.assert(
      fc.property(stream(30), (events) => {
        let state: RelationshipState | undefined;
        for (const e of events) {
          const d = applyInbound(state, e.id, e, ctx);
          if (d.kind !== 'applied') continue;
          state = d.state;
          expect(stages).toContain(state.stage);
          if (state.stage !== 'nurturing') expect(state.nextTouch).toBeNull();
          if (state.nextTouch !== null) {
            expect(mayBeTouched(state)).toBe(true);
            expect(state.nextTouch.status).toBe('planned');
            expect(Date.parse(state.nextTouch.at)).toBeGreaterThanOrEqual(Date.parse(state.nurture?.lostAt ?? ''));
          }
          expect(state.applied.length).toBeLessThanOrEqual(25);
          expect(state.applied.at(-1)).toBe(e.id);
        }
      }),
      { numRuns: 400 },
    );
  });
});

// BUG (functions/domain/relationship.ts, applyConsentChange 'do-not-contact' -> moveTo): a late
// do-not-contact moves stageChangedAt back to its own (older) occurredAt, so state changes older
// than the relationship's real last change are no longer superseded.
describe('stage change time', () => {
  it('the time of the last state change never moves back', () => {
    fc.assert(
      fc.property(stream(30), (events) => {
        let state: RelationshipState | undefined;
        for (const e of events) {
          const d = applyInbound(state, e.id, e, ctx);
          if (d.kind !== 'applied') continue;
          const before = state?.stageChangedAt;
          state = d.state;
          if (before !== undefined) expect((state.stageChangedAt ?? '') >= before).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
});
