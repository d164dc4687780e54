/** The holdout assignment (stable, uniform) and the lift statistics against published figures. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignHoldout, holdoutPosition } from '#domain/metrics/holdout';
import { CI_METHOD, holdoutSizeNeeded, lift, newcombeInterval, normalQuantile, wilson } from '#domain/metrics/lift';

const settings = { percent: 10, salt: 'test-salt-2026' };

describe('assignHoldout', () => {
  it('property: the same account and settings give the same group, every time', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), (account) => {
        expect(assignHoldout(account, settings)).toBe(assignHoldout(account, { ...settings }));
      }),
    );
  });

  it('property: groups are nested as the percent grows (raising it only moves accounts into the holdout)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 50 }), (account, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        if (assignHoldout(account, { ...settings, percent: lo }) === 'holdout') expect(assignHoldout(account, { ...settings, percent: hi })).toBe('holdout');
      }),
    );
  });

  it('property: uniform, about percent% of any set of distinct accounts (within 4 standard errors)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 50 }), (offset, percent) => {
        const n = 4000;
        let held = 0;
        for (let i = 0; i < n; i++) if (assignHoldout(`acct-${offset + i}.example`, { salt: settings.salt, percent }) === 'holdout') held++;
        const p = percent / 100;
        expect(Math.abs(held / n - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n));
      }),
      { numRuns: 20 },
    );
  });

  it('positions are uniform across deciles (chi-square, 9 degrees of freedom, p > 0.001)', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) counts[Math.floor(holdoutPosition(`account-${i}`, settings.salt) * 10)]! += 1;
    const chi = counts.reduce((s, c) => s + (c - 2000) ** 2 / 2000, 0);
    expect(chi).toBeLessThan(27.88);
  });

  it('a different salt draws different groups', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `a${i}`);
    const same = ids.filter((id) => assignHoldout(id, settings) === assignHoldout(id, { ...settings, salt: 'another-salt-2026' })).length;
    expect(same).toBeLessThan(500);
  });
});

describe('lift statistics', () => {
  it('normal quantiles', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.8)).toBeCloseTo(0.841621, 5);
    expect(normalQuantile(0.01)).toBeCloseTo(-2.326348, 5);
  });

  it("Wilson and Newcombe's hybrid score interval reproduce Newcombe (1998)'s worked examples", () => {
    // Newcombe, Statistics in Medicine 17:873-890, Table II, method 10:
    // 56/70 - 48/80: difference 0.2000, 95% interval 0.0524 to 0.3339.
    const a = newcombeInterval(56, 70, 48, 80);
    expect(a.lower).toBeCloseTo(0.0524, 4);
    expect(a.upper).toBeCloseTo(0.3339, 4);
    // 9/10 - 3/10: 0.6000, interval 0.1705 to 0.8090.
    const b = newcombeInterval(9, 10, 3, 10);
    expect(b.lower).toBeCloseTo(0.1705, 4);
    expect(b.upper).toBeCloseTo(0.809, 4);
    // Wilson for 0/10 (Newcombe 1998, single proportion table): 0 to 0.2775.
    expect(wilson(0, 10, normalQuantile(0.975)).upper).toBeCloseTo(0.2775, 4);
  });

  it('sample size for two proportions (Fleiss, no continuity correction, equal groups)', () => {
    // p0 = 0.10, p1 = 0.15, alpha 0.05 two-sided, power 0.8, k = 1:
    // n = (1.95996*sqrt(2*0.125*0.875) + 0.84162*sqrt(0.09+0.1275))^2 / 0.05^2 = 685.3 -> 686.
    expect(holdoutSizeNeeded(0.1, 0.05, 1, 0.05, 0.8)).toBe(686);
  });

  it('a hand-worked lift: incremental deals, revenue, cost per incremental deal, power', () => {
    // Nurtured: 900 entered, 90 converted (10%), won 180,000. Holdout: 100 entered, 5 converted (5%), won 5,000.
    // lift = 0.10 - 0.05 = 0.05; incremental deals = 0.05 * 900 = 45.
    // revenue per entered: 200 vs 50 -> incremental revenue = 150 * 900 = 135,000.
    // cost: 9,000 e-mails * 0.002 + 300 tasks * 12.5 = 18 + 3,750 = 3,768 -> per incremental deal 3,768 / 45 = 83.73.
    const r = lift({
      nurtured: { entered: 900, converted: 90, wonAmount: 180_000 },
      holdout: { entered: 100, converted: 5, wonAmount: 5_000 },
      touches: { email: 9000, task: 300 },
      costPerTouch: { email: 0.002, task: 12.5, currency: 'USD' },
      holdoutPercent: 10,
      power: { minimumDetectableLift: 0.05, alpha: 0.05, power: 0.8 },
      holdoutEntriesPerDay: 2,
      asOf: '2026-11-23T00:00:00.000Z',
    });
    expect(r.lift).toBeCloseTo(0.05, 12);
    expect(r.relativeLift).toBeCloseTo(1, 12);
    expect(r.incrementalDeals).toBeCloseTo(45, 9);
    expect(r.incrementalRevenue).toBeCloseTo(135_000, 6);
    expect(r.cost).toEqual({ amount: 3768, currency: 'USD' });
    expect(r.costPerIncrementalDeal).toBeCloseTo(83.7333, 3);
    expect(r.interval?.method).toBe(CI_METHOD);
    expect(r.interval?.lower).toBeLessThan(0);
    expect(r.interval?.upper).toBeGreaterThan(0.05);
    // Baseline 5% (holdout >= 30), delta 0.05, k = 9: the holdout needs n0 (Fleiss); 100 is far short.
    const n0 = holdoutSizeNeeded(0.05, 0.05, 9, 0.05, 0.8);
    expect(r.power).toMatchObject({ underpowered: true, baselineRate: 0.05, holdoutNeeded: n0, nurturedNeeded: n0 * 9 });
    // (n0 - 100) more holdout entries at 2 a day.
    const days = Math.ceil((n0 - 100) / 2);
    expect(r.power.expectedBy).toBe(new Date(Date.parse('2026-11-23') + days * 86_400_000).toISOString().slice(0, 10));
  });

  it('an empty holdout gives no lift rather than a made-up one', () => {
    const r = lift({
      nurtured: { entered: 10, converted: 1, wonAmount: 0 },
      holdout: { entered: 0, converted: 0, wonAmount: 0 },
      touches: { email: 0, task: 0 },
      costPerTouch: { email: 0, task: 0, currency: 'USD' },
      holdoutPercent: 10,
      power: { minimumDetectableLift: 0.05, alpha: 0.05, power: 0.8 },
      holdoutEntriesPerDay: 0,
      asOf: '2026-11-23T00:00:00.000Z',
    });
    expect(r).toMatchObject({ lift: null, interval: null, incrementalDeals: null, costPerIncrementalDeal: null });
    expect(r.power).toMatchObject({ underpowered: true, expectedBy: null });
  });
});
