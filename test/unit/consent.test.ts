/** Consent and suppression rules (functions/domain/consent.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addSuppression, applyConsentRecord, canEmail, hasSuppression, isExplicitOptIn, topicStopped } from '#domain/consent';
import { newRelationship } from '#domain/relationship';
import type { RelationshipState, Suppression } from '#domain/types';

const base = (over: Partial<RelationshipState> = {}): RelationshipState => ({ ...newRelationship('rel_1', '2026-01-01T00:00:00.000Z'), ...over });
const T = (d: number) => new Date(Date.UTC(2026, 0, d)).toISOString();
const granted = { email: 'granted' as const, basis: 'opt-in', at: T(1) };

describe('canEmail', () => {
  it('needs granted consent on record', () => {
    expect(canEmail(base())).toBe(false);
    expect(canEmail(base({ consent: { email: 'unknown', at: T(1) } }))).toBe(false);
    expect(canEmail(base({ consent: { email: 'denied', at: T(1) } }))).toBe(false);
    expect(canEmail(base({ consent: granted }))).toBe(true);
  });

  it.each(['all-email', 'do-not-contact', 'hard-bounce', 'complaint'] as const)('is blocked by a %s suppression', (scope) => {
    expect(canEmail(base({ consent: granted, suppressions: [{ scope, at: T(2) }] }))).toBe(false);
  });

  it('is not blocked by a topic suppression, which stops only that topic', () => {
    const s = base({ consent: granted, suppressions: [{ scope: 'topic', topic: 'pricing', at: T(2) }] });
    expect(canEmail(s)).toBe(true);
    expect(topicStopped(s, 'pricing')).toBe(true);
    expect(topicStopped(s, 'events')).toBe(false);
    expect(topicStopped(s, undefined)).toBe(false);
  });
});

describe('isExplicitOptIn', () => {
  it('only a grant on an explicit basis', () => {
    expect(isExplicitOptIn({ email: 'granted', basis: 'opt-in' })).toBe(true);
    expect(isExplicitOptIn({ email: 'granted', basis: 'double-opt-in' })).toBe(true);
    expect(isExplicitOptIn({ email: 'granted', basis: 'legitimate-interest' })).toBe(false);
    expect(isExplicitOptIn({ email: 'granted' })).toBe(false);
    expect(isExplicitOptIn({ email: 'denied', basis: 'opt-in' })).toBe(false);
  });
});

describe('addSuppression', () => {
  it('is idempotent per scope and topic and never mutates its input', () => {
    const list: Suppression[] = [{ scope: 'topic', topic: 'a', at: T(1) }];
    const frozen = Object.freeze([...list]);
    const once = addSuppression(frozen, { scope: 'all-email', at: T(2) });
    expect(addSuppression(once, { scope: 'all-email', at: T(3) })).toEqual(once);
    expect(addSuppression(once, { scope: 'topic', topic: 'b', at: T(3) })).toHaveLength(3);
    expect(addSuppression(once, { scope: 'topic', topic: 'a', at: T(3) })).toHaveLength(2);
    expect(frozen).toHaveLength(1);
    expect(hasSuppression({ suppressions: once }, 'all-email')).toBe(true);
  });
});

describe('applyConsentRecord', () => {
  it('the newest decision wins; an older one is reported as older', () => {
    const s = base({ consent: { email: 'denied', at: T(5) } });
    expect(applyConsentRecord(s, { email: 'granted', basis: 'legitimate-interest' }, T(4))).toEqual({ state: s, outcome: 'older' });
    expect(applyConsentRecord(s, { email: 'granted', basis: 'legitimate-interest' }, T(6)).state.consent).toMatchObject({ email: 'granted', at: T(6) });
  });

  it('dates a record by when it was captured, if that is earlier than the event', () => {
    const r = applyConsentRecord(base(), { email: 'granted', basis: 'opt-in', capturedAt: T(2) }, T(9));
    expect(r.state.consent?.at).toBe(T(2));
    // a capturedAt in the future of the event does not date it later than the event
    expect(applyConsentRecord(base(), { email: 'granted', capturedAt: T(20) }, T(9)).state.consent?.at).toBe(T(9));
  });

  it('a non-explicit grant is blocked by a sticky suppression; an explicit later one lifts it (and old topic stops)', () => {
    const s = base({
      consent: { email: 'denied', at: T(3) },
      suppressions: [
        { scope: 'all-email', at: T(3) },
        { scope: 'topic', topic: 'pricing', at: T(2) },
        { scope: 'hard-bounce', at: T(2) },
      ],
    });
    expect(applyConsentRecord(s, { email: 'granted', basis: 'legitimate-interest' }, T(4)).outcome).toBe('blocked-by-suppression');
    expect(applyConsentRecord(s, { email: 'granted', basis: 'opt-in', capturedAt: T(2) }, T(4)).outcome).not.toBe('applied');
    const lifted = applyConsentRecord(s, { email: 'granted', basis: 'opt-in', capturedAt: T(4) }, T(5));
    expect(lifted.outcome).toBe('applied');
    expect(lifted.state.suppressions.map((x) => x.scope)).toEqual(['hard-bounce']);
    // a bouncing address stays undeliverable even after an opt-in
    expect(canEmail(lifted.state)).toBe(false);
  });

  it('a denial is never blocked', () => {
    const s = base({ consent: granted, suppressions: [{ scope: 'do-not-contact', at: T(1) }] });
    expect(applyConsentRecord(s, { email: 'denied' }, T(2)).outcome).toBe('applied');
  });

  it('never lifts a sticky suppression without an explicit opt-in captured after it (property)', () => {
    const basis = fc.constantFrom(undefined, 'opt-in', 'double-opt-in', 'express', 'legitimate-interest', 'existing-customer');
    fc.assert(
      fc.property(fc.constantFrom('all-email', 'do-not-contact') as fc.Arbitrary<'all-email' | 'do-not-contact'>, basis, fc.integer({ min: 1, max: 28 }), fc.integer({ min: 1, max: 28 }), fc.integer({ min: 1, max: 28 }), (scope, b, supDay, capDay, atDay) => {
        const s = base({ consent: { email: 'denied', at: T(supDay) }, suppressions: [{ scope, at: T(supDay) }] });
        const r = applyConsentRecord(s, { email: 'granted', ...(b && { basis: b }), capturedAt: T(capDay) }, T(atDay));
        const lifted = !hasSuppression(r.state, scope);
        const explicitAfter = b !== undefined && ['opt-in', 'double-opt-in', 'express'].includes(b) && Math.min(capDay, atDay) > supDay;
        expect(lifted).toBe(explicitAfter);
      }),
      { numRuns: 1000 },
    );
  });
});
