import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addLocalDays,
  daysBetween,
  fromLocal,
  localDateOf,
  nextLocalSlot,
  parseClock,
  zonedParts,
} from '../../functions/domain/local-time.ts';

const iso = (d: Date) => d.toISOString();

/** An independent reading of local wall-clock time, so the tests do not trust the module under test. */
function wallClock(instant: Date, tz: string): string {
  const f = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    weekday: 'short',
  });
  const p = Object.fromEntries(f.formatToParts(instant).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.weekday} ${p.hour}:${p.minute}`;
}

const ZONES = [
  'America/New_York',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'America/St_Johns',
  'Europe/Berlin',
  'Europe/London',
  'Africa/Cairo',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tokyo',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Pacific/Auckland',
  'Pacific/Chatham',
  'UTC',
];

describe('zonedParts', () => {
  it('reads local fields, weekday and offset', () => {
    const p = zonedParts(new Date('2025-06-10T03:45:00Z'), 'Asia/Kolkata');
    expect(p).toMatchObject({ year: 2025, month: 6, day: 10, hour: 9, minute: 15, weekday: 2, offsetMinutes: 330, minuteOfDay: 555 });
    expect(zonedParts(new Date('2025-01-15T12:00:00Z'), 'America/New_York').offsetMinutes).toBe(-300);
    expect(zonedParts(new Date('2025-07-15T12:00:00Z'), 'America/New_York').offsetMinutes).toBe(-240);
    expect(zonedParts(new Date('2025-01-15T12:00:00Z'), 'Australia/Sydney').offsetMinutes).toBe(660);
    expect(zonedParts(new Date('2025-07-15T12:00:00Z'), 'Australia/Sydney').offsetMinutes).toBe(600);
    // Midnight is hour 0, not 24.
    expect(zonedParts(new Date('2025-03-01T05:00:00Z'), 'America/New_York')).toMatchObject({ day: 1, hour: 0 });
  });

  it('agrees with an independent Intl reading for random instants and zones', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('2024-01-01T00:00:00Z'), max: new Date('2029-01-01T00:00:00Z'), noInvalidDate: true }),
        fc.constantFrom(...ZONES),
        (d, tz) => {
          const p = zonedParts(d, tz);
          const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
          const pad = (n: number) => String(n).padStart(2, '0');
          expect(`${p.year}-${pad(p.month)}-${pad(p.day)} ${days[p.weekday]} ${pad(p.hour)}:${pad(p.minute)}`).toBe(wallClock(d, tz));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('fromLocal', () => {
  it('Asia/Kolkata (+05:30, no DST)', () => {
    expect(iso(fromLocal('Asia/Kolkata', 2025, 6, 10, 9, 15))).toBe('2025-06-10T03:45:00.000Z');
    expect(iso(fromLocal('Asia/Kolkata', 2025, 12, 31, 23, 59))).toBe('2025-12-31T18:29:00.000Z');
    expect(iso(fromLocal('Asia/Kolkata', 2026, 1, 1, 0, 0))).toBe('2025-12-31T18:30:00.000Z');
  });

  it('America/New_York: standard and daylight time', () => {
    expect(iso(fromLocal('America/New_York', 2025, 1, 14, 9, 0))).toBe('2025-01-14T14:00:00.000Z');
    expect(iso(fromLocal('America/New_York', 2025, 7, 15, 9, 0))).toBe('2025-07-15T13:00:00.000Z');
  });

  it('America/New_York spring forward (2025-03-09 02:00 -> 03:00): a gap time moves to the transition', () => {
    expect(iso(fromLocal('America/New_York', 2025, 3, 9, 1, 59))).toBe('2025-03-09T06:59:00.000Z');
    expect(iso(fromLocal('America/New_York', 2025, 3, 9, 2, 30))).toBe('2025-03-09T07:00:00.000Z');
    expect(iso(fromLocal('America/New_York', 2025, 3, 9, 2, 0))).toBe('2025-03-09T07:00:00.000Z');
    expect(iso(fromLocal('America/New_York', 2025, 3, 9, 3, 0))).toBe('2025-03-09T07:00:00.000Z');
    expect(iso(fromLocal('America/New_York', 2025, 3, 9, 3, 30))).toBe('2025-03-09T07:30:00.000Z');
    expect(wallClock(fromLocal('America/New_York', 2025, 3, 9, 2, 30), 'America/New_York')).toBe('2025-03-09 Sun 03:00');
  });

  it('America/New_York fall back (2025-11-02 01:00-02:00 twice): picks the first', () => {
    expect(iso(fromLocal('America/New_York', 2025, 11, 2, 1, 30))).toBe('2025-11-02T05:30:00.000Z');
    expect(iso(fromLocal('America/New_York', 2025, 11, 2, 0, 59))).toBe('2025-11-02T04:59:00.000Z');
    expect(iso(fromLocal('America/New_York', 2025, 11, 2, 2, 0))).toBe('2025-11-02T07:00:00.000Z');
  });

  it('Europe/Berlin: spring forward 2025-03-30 02:00 -> 03:00, fall back 2025-10-26 03:00 -> 02:00', () => {
    expect(iso(fromLocal('Europe/Berlin', 2025, 3, 30, 2, 30))).toBe('2025-03-30T01:00:00.000Z');
    expect(iso(fromLocal('Europe/Berlin', 2025, 3, 30, 3, 0))).toBe('2025-03-30T01:00:00.000Z');
    expect(iso(fromLocal('Europe/Berlin', 2025, 3, 30, 1, 59))).toBe('2025-03-30T00:59:00.000Z');
    expect(iso(fromLocal('Europe/Berlin', 2025, 10, 26, 2, 30))).toBe('2025-10-26T00:30:00.000Z');
    expect(iso(fromLocal('Europe/Berlin', 2025, 10, 26, 3, 0))).toBe('2025-10-26T02:00:00.000Z');
  });

  it('Australia/Sydney (southern hemisphere): DST ends in April, starts in October', () => {
    // 2025-04-06 03:00 AEDT -> 02:00 AEST: 02:30 happens twice; the first is AEDT (+11).
    expect(iso(fromLocal('Australia/Sydney', 2025, 4, 6, 2, 30))).toBe('2025-04-05T15:30:00.000Z');
    expect(iso(fromLocal('Australia/Sydney', 2025, 4, 6, 3, 0))).toBe('2025-04-05T17:00:00.000Z');
    // 2025-10-05 02:00 AEST -> 03:00 AEDT: 02:30 does not exist.
    expect(iso(fromLocal('Australia/Sydney', 2025, 10, 5, 2, 30))).toBe('2025-10-04T16:00:00.000Z');
    // Summer (January) is +11, winter (July) is +10.
    expect(iso(fromLocal('Australia/Sydney', 2026, 1, 13, 9, 0))).toBe('2026-01-12T22:00:00.000Z');
    expect(iso(fromLocal('Australia/Sydney', 2026, 7, 14, 9, 0))).toBe('2026-07-13T23:00:00.000Z');
  });

  it('Lord Howe (30-minute DST shift) and Chatham (+12:45/+13:45)', () => {
    // 2025-10-05 02:00 -> 02:30 at Lord Howe: 02:15 does not exist.
    expect(wallClock(fromLocal('Australia/Lord_Howe', 2025, 10, 5, 2, 15), 'Australia/Lord_Howe')).toBe('2025-10-05 Sun 02:30');
    expect(wallClock(fromLocal('Pacific/Chatham', 2026, 1, 6, 9, 0), 'Pacific/Chatham')).toBe('2026-01-06 Tue 09:00');
  });

  it('round-trips: the local time of every instant maps back to its first occurrence', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2024-01-01T00:00:00Z') / 60_000, max: Date.parse('2029-01-01T00:00:00Z') / 60_000 }),
        fc.constantFrom(...ZONES),
        (minutes, tz) => {
          const t = new Date(minutes * 60_000);
          const p = zonedParts(t, tz);
          const back = fromLocal(tz, p.year, p.month, p.day, p.hour, p.minute);
          // Same wall-clock time; the instant is t itself or (in a repeated hour) the earlier one.
          expect(wallClock(back, tz)).toBe(wallClock(t, tz));
          expect(back.getTime()).toBeLessThanOrEqual(t.getTime());
          expect(t.getTime() - back.getTime()).toBeLessThanOrEqual(2 * 3_600_000);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('any local time that exists maps to an instant showing exactly that time', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...ZONES),
        fc.integer({ min: 2025, max: 2028 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        (tz, y, m, d, hh, mm) => {
          const t = fromLocal(tz, y, m, d, hh, mm);
          const p = zonedParts(t, tz);
          const asked = hh * 60 + mm;
          if (p.year === y && p.month === m && p.day === d && p.minuteOfDay === asked) return;
          // Otherwise it must be a gap: moved forward by at most the gap, to a valid instant just after.
          const justBefore = zonedParts(new Date(t.getTime() - 60_000), tz);
          expect(justBefore.offsetMinutes).not.toBe(p.offsetMinutes);
          expect(p.minuteOfDay).toBeGreaterThan(asked);
          expect(p.minuteOfDay - asked).toBeLessThanOrEqual(60);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('nextLocalSlot', () => {
  it('finds the next Tuesday 10:00 in New York, inclusive of the instant itself', () => {
    const tue = new Date('2025-01-14T15:00:00Z'); // Tue 10:00 EST
    expect(iso(nextLocalSlot(tue, 'America/New_York', 2, 600))).toBe('2025-01-14T15:00:00.000Z');
    expect(iso(nextLocalSlot(new Date(tue.getTime() + 1), 'America/New_York', 2, 600))).toBe('2025-01-21T15:00:00.000Z');
    expect(iso(nextLocalSlot(new Date('2025-01-13T12:00:00Z'), 'America/New_York', [2, 4], 600))).toBe('2025-01-14T15:00:00.000Z');
  });

  it('keeps the local weekday and time across DST: the UTC gap is 7 days minus or plus an hour', () => {
    const slots: Date[] = [];
    let after = new Date('2025-02-25T00:00:00Z');
    for (let i = 0; i < 6; i++) {
      const s = nextLocalSlot(after, 'America/New_York', 2, 9 * 60 + 30);
      slots.push(s);
      after = new Date(s.getTime() + 1);
    }
    expect(slots.map((s) => wallClock(s, 'America/New_York').slice(11))).toEqual(Array(6).fill('Tue 09:30'));
    const gaps = slots.slice(1).map((s, i) => (s.getTime() - (slots[i] as Date).getTime()) / 3_600_000);
    expect(gaps).toEqual([168, 167, 168, 168, 168]); // DST began Sunday 2025-03-09

    const sydney: Date[] = [];
    after = new Date('2025-03-25T00:00:00Z');
    for (let i = 0; i < 4; i++) {
      const s = nextLocalSlot(after, 'Australia/Sydney', 1, 9 * 60);
      sydney.push(s);
      after = new Date(s.getTime() + 1);
    }
    expect(sydney.map((s) => wallClock(s, 'Australia/Sydney').slice(11))).toEqual(Array(4).fill('Mon 09:00'));
    expect(sydney.slice(1).map((s, i) => (s.getTime() - (sydney[i] as Date).getTime()) / 3_600_000)).toEqual([169, 168, 168]); // DST ended Sunday 2025-04-06;
  });

  it('moves a slot in a spring-forward gap to the transition', () => {
    // Sunday 2025-03-09 02:30 does not exist in New York.
    expect(iso(nextLocalSlot(new Date('2025-03-08T12:00:00Z'), 'America/New_York', 0, 150))).toBe('2025-03-09T07:00:00.000Z');
  });
});

describe('calendar helpers', () => {
  it('adds days across month and year ends, and counts days', () => {
    expect(addLocalDays({ year: 2025, month: 12, day: 30 }, 3)).toEqual({ year: 2026, month: 1, day: 2 });
    expect(addLocalDays({ year: 2028, month: 2, day: 28 }, 1)).toEqual({ year: 2028, month: 2, day: 29 });
    expect(daysBetween({ year: 2025, month: 3, day: 1 }, { year: 2025, month: 3, day: 31 })).toBe(30);
    expect(localDateOf(new Date('2025-06-10T20:00:00Z'), 'Asia/Tokyo')).toEqual({ year: 2025, month: 6, day: 11 });
  });

  it('parses clock times', () => {
    expect(parseClock('09:00')).toBe(540);
    expect(parseClock('23:59')).toBe(1439);
    expect(parseClock('24:00')).toBe(1440);
    expect(parseClock('25:00')).toBeUndefined();
    expect(parseClock('9:00')).toBeUndefined();
    expect(parseClock('12:60')).toBeUndefined();
  });
});
