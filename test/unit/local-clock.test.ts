/** The local clock's durations: ISO 8601, calendar months, and nothing that crashes the route. */
import { describe, expect, it } from 'vitest';
import { addDuration } from '#local/clock';

describe('addDuration', () => {
  const from = new Date('2026-01-31T12:00:00Z');
  it('adds days, weeks, hours and calendar months', () => {
    expect(addDuration(from, 'P7D')?.toISOString()).toBe('2026-02-07T12:00:00.000Z');
    expect(addDuration(from, 'P1W')?.toISOString()).toBe('2026-02-07T12:00:00.000Z');
    expect(addDuration(from, 'PT36H')?.toISOString()).toBe('2026-02-02T00:00:00.000Z');
    expect(addDuration(from, 'P1DT2H30M')?.toISOString()).toBe('2026-02-01T14:30:00.000Z');
    expect(addDuration(new Date('2026-11-23T12:00:00Z'), 'P1M')?.toISOString()).toBe('2026-12-23T12:00:00.000Z');
  });
  it('refuses malformed or unrepresentable durations instead of returning an invalid date', () => {
    for (const bad of ['7D', 'P', 'PT', 'P1.5D', 'P99999999999D', 'P-1D', '']) expect(addDuration(from, bad), bad).toBeUndefined();
  });
});
