/** Kaplan-Meier and histogram quantiles: a hand-worked cohort with censoring, and properties. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { curveQuantile, histogramQuantile, kaplanMeier, rowsFromItems, shareBy, survivalAt } from '#domain/metrics/survival';

describe('kaplanMeier', () => {
  it('matches a hand-worked cohort with censoring', () => {
    // 10 episodes. Re-engaged on day 10 (2 people), day 40 (1), day 100 (1).
    // Censored (still waiting or erased): day 20 (1), day 50 (2), day 120 (3).
    // n at risk and S(t):
    //   day 10:  n=10, d=2 -> S = 8/10                     = 0.8
    //   day 20:  1 censored (n=8)                          -> 0.8
    //   day 40:  n=7,  d=1 -> S = 0.8 * 6/7                = 0.685714...
    //   day 50:  2 censored (n=6)                          -> 0.685714...
    //   day 100: n=4,  d=1 -> S = 0.685714 * 3/4           = 0.514285...
    //   day 120: 3 censored (n=3)
    // The plain share 4/10 = 0.4 would undercount: censored people might still come back.
    const c = kaplanMeier([
      { day: 10, events: 2, censored: 0 },
      { day: 20, events: 0, censored: 1 },
      { day: 40, events: 1, censored: 0 },
      { day: 50, events: 0, censored: 2 },
      { day: 100, events: 1, censored: 0 },
      { day: 120, events: 0, censored: 3 },
    ]);
    expect(c.subjects).toBe(10);
    expect(c.points.map((p) => p.atRisk)).toEqual([10, 8, 7, 6, 4, 3]);
    expect(survivalAt(c, 9)).toBe(1);
    expect(survivalAt(c, 10)).toBeCloseTo(0.8, 12);
    expect(survivalAt(c, 45)).toBeCloseTo(0.8 * (6 / 7), 12);
    expect(survivalAt(c, 100)).toBeCloseTo(0.8 * (6 / 7) * (3 / 4), 12);
    expect(shareBy(c, 30)).toBeCloseTo(0.2, 12);
    expect(shareBy(c, 90)).toBeCloseTo(1 - 0.8 * (6 / 7), 12);
    // Nobody has been followed 180 days: the curve says nothing there.
    expect(shareBy(c, 180)).toBeNull();
    expect(curveQuantile(c, 0.5)).toBeNull(); // S never reaches 0.5 (ends at 0.514)
    expect(curveQuantile(c, 0.2)).toBe(10);
  });

  it('censors whoever is still waiting at the report date (young cohorts are not undercounted)', () => {
    // Two entry days. 2026-01-01: 3 entered, one re-engaged on day 5, one erased on day 8.
    // 2026-03-01: 2 entered, nobody re-engaged yet. Report date 2026-03-11.
    // Waiting: 1 from January (censored at day 69), 2 from March (censored at day 10).
    const rows = rowsFromItems(
      [
        { entryDate: '2026-01-01', entered: 3, events: { 5: 1 }, censored: { 8: 1 } },
        { entryDate: '2026-03-01', entered: 2, events: {}, censored: {} },
      ],
      '2026-03-11T00:00:00.000Z',
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        { day: 5, events: 1, censored: 0 },
        { day: 8, events: 0, censored: 1 },
        { day: 69, events: 0, censored: 1 },
        { day: 10, events: 0, censored: 2 },
      ]),
    );
    const c = kaplanMeier(rows);
    // day 5: n=5, d=1 -> 0.8; no later events.
    expect(survivalAt(c, 60)).toBeCloseTo(0.8, 12);
    expect(shareBy(c, 30)).toBeCloseTo(0.2, 12);
    expect(c.maxFollowUp).toBe(69);
  });

  const rows = fc.array(fc.record({ day: fc.integer({ min: 0, max: 400 }), events: fc.integer({ min: 0, max: 20 }), censored: fc.integer({ min: 0, max: 20 }) }), { minLength: 1, maxLength: 40 });

  it('property: survival stays in [0, 1] and never increases', () => {
    fc.assert(
      fc.property(rows, (r) => {
        const c = kaplanMeier(r);
        let prev = 1;
        for (const p of c.points) {
          expect(p.survival).toBeGreaterThanOrEqual(0);
          expect(p.survival).toBeLessThanOrEqual(prev + 1e-12);
          prev = p.survival;
        }
      }),
    );
  });

  it('property: with nothing censored, 1 - S(t) is the plain share re-engaged by t', () => {
    const uncensored = fc.array(fc.record({ day: fc.integer({ min: 0, max: 400 }), events: fc.integer({ min: 1, max: 20 }), censored: fc.constant(0) }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(uncensored, fc.integer({ min: 0, max: 420 }), (r, t) => {
        const c = kaplanMeier(r);
        const total = r.reduce((s, x) => s + x.events, 0);
        const byT = r.filter((x) => x.day <= t).reduce((s, x) => s + x.events, 0);
        expect(1 - survivalAt(c, t)).toBeCloseTo(byT / total, 9);
      }),
    );
  });

  it('refuses negative counts', () => {
    expect(() => kaplanMeier([{ day: 3, events: -1, censored: 0 }])).toThrow(/not a count/);
  });
});

describe('histogramQuantile', () => {
  it('interpolates median and p90 inside the fixed buckets', () => {
    // 10 re-engaged: 4 in 0-7, 4 in 8-14, 2 in 91-180.
    // Median: the 5th of 10 -> bucket 8-14 ([8, 15)), 1 of its 4 -> 8 + 1/4 * 7 = 9.75 -> 9.8.
    // p90: the 9th -> bucket 91-180 ([91, 181)), 1 of its 2 -> 91 + 1/2 * 90 = 136.
    const h = { '0-7': 4, '8-14': 4, '91-180': 2 };
    expect(histogramQuantile(h, 0.5)).toEqual({ days: 9.8, bound: 'interpolated' });
    expect(histogramQuantile(h, 0.9)).toEqual({ days: 136, bound: 'interpolated' });
    expect(histogramQuantile({ '0-7': 1, '366+': 9 }, 0.9)).toEqual({ days: 366, bound: 'at-least' });
    expect(histogramQuantile({}, 0.5)).toBeNull();
  });
});
