/**
 * Pure time-zone arithmetic on IANA zones, with nothing but `Intl` (DESIGN.md §4: the planner owns
 * time zones and daylight saving). Instants are `Date`s (UTC); local wall-clock values are plain
 * numbers. Weekdays are numbered like `Date#getUTCDay`: 0 = Sunday ... 6 = Saturday.
 *
 * Daylight-saving rules (`fromLocal`):
 * - a local time that does not exist (the spring-forward gap, e.g. 02:30 on the night clocks jump
 *   from 02:00 to 03:00) moves forward to the next valid instant: the transition itself (03:00);
 * - a local time that occurs twice (fall back) resolves to the first occurrence (the earlier instant).
 */

export interface LocalDate {
  year: number;
  /** 1-12 */
  month: number;
  /** 1-31 */
  day: number;
}

export interface ZonedParts extends LocalDate {
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday */
  weekday: number;
  /** Minutes since local midnight (hour * 60 + minute). */
  minuteOfDay: number;
  /** UTC offset at that instant, in minutes east of Greenwich (New York in winter: -300). */
  offsetMinutes: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** True when `tz` is a time zone this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  try {
    formatterFor(tz);
    return true;
  } catch {
    return false;
  }
}

/** The local wall-clock fields of `instant` in `tz` (seconds kept, milliseconds dropped). */
export function zonedParts(instant: Date, tz: string): ZonedParts {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('zonedParts: invalid date');
  const whole = Math.floor(ms / 1000) * 1000;
  const parts = formatterFor(tz).formatToParts(new Date(whole));
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const p of parts) {
    switch (p.type) {
      case 'year':
        year = Number(p.value);
        break;
      case 'month':
        month = Number(p.value);
        break;
      case 'day':
        day = Number(p.value);
        break;
      case 'hour':
        hour = Number(p.value) % 24;
        break;
      case 'minute':
        minute = Number(p.value);
        break;
      case 'second':
        second = Number(p.value);
        break;
      case 'era':
        bc = p.value.startsWith('B');
        break;
    }
  }
  if (bc) year = 1 - year;
  const asUtc = utcMs(year, month, day, hour, minute, second);
  const offsetMinutes = Math.round((asUtc - whole) / MINUTE_MS);
  const weekday = new Date(utcMs(year, month, day, 0, 0, 0)).getUTCDay();
  return { year, month, day, hour, minute, second, weekday, minuteOfDay: hour * 60 + minute, offsetMinutes };
}

/** UTC offset of `tz` at `instant`, in minutes east of Greenwich. */
export function offsetMinutesAt(instant: Date | number, tz: string): number {
  return zonedParts(typeof instant === 'number' ? new Date(instant) : instant, tz).offsetMinutes;
}

function utcMs(year: number, month: number, day: number, hour: number, minute: number, second = 0): number {
  const d = new Date(0);
  // setUTCFullYear keeps years 0-99 literal (Date.UTC would map them to 1900-1999).
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

/**
 * The UTC instant of local wall-clock time `y-m-d hh:mm` in `tz`. Out-of-range fields roll over
 * like `Date.UTC` (day 32 is the 1st of the next month). A time in a spring-forward gap moves
 * forward to the first valid instant after the gap; an ambiguous time picks the first occurrence.
 */
export function fromLocal(tz: string, y: number, m: number, d: number, hh: number, mm: number): Date {
  const local = utcMs(y, m, d, hh, mm);
  if (!Number.isFinite(local)) throw new RangeError('fromLocal: invalid local time');
  // Offsets in force around that wall-clock time; a transition changes the offset at most once
  // in any real zone within a day either side.
  const offsets = new Set<number>([
    offsetMinutesAt(local - DAY_MS, tz),
    offsetMinutesAt(local, tz),
    offsetMinutesAt(local + DAY_MS, tz),
  ]);
  const valid: number[] = [];
  for (const off of offsets) {
    const t = local - off * MINUTE_MS;
    if (offsetMinutesAt(t, tz) === off) valid.push(t);
  }
  if (valid.length > 0) return new Date(Math.min(...valid));
  // A gap: no offset maps to this wall-clock time. The transition lies between the instants the
  // offsets before and after would give; find it and return it.
  const candidates = [...offsets].map((off) => local - off * MINUTE_MS);
  let lo = Math.min(...candidates);
  let hi = Math.max(...candidates);
  const before = offsetMinutesAt(lo, tz);
  // Invariant: offset(lo) === before, offset(hi) !== before. Search to the millisecond.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMinutesAt(mid, tz) === before) lo = mid;
    else hi = mid;
  }
  return new Date(hi);
}

/** The local calendar date of `instant` in `tz`. */
export function localDateOf(instant: Date, tz: string): LocalDate {
  const p = zonedParts(instant, tz);
  return { year: p.year, month: p.month, day: p.day };
}

/** Calendar arithmetic on a local date (no time zone involved). */
export function addLocalDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(utcMs(date.year, date.month, date.day + days, 0, 0, 0));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** 0 = Sunday ... 6 = Saturday. */
export function weekdayOfDate(date: LocalDate): number {
  return new Date(utcMs(date.year, date.month, date.day, 0, 0, 0)).getUTCDay();
}

/** Whole days from `a` to `b` (positive when b is later). */
export function daysBetween(a: LocalDate, b: LocalDate): number {
  return Math.round((utcMs(b.year, b.month, b.day, 0, 0) - utcMs(a.year, a.month, a.day, 0, 0)) / DAY_MS);
}

export function compareLocalDates(a: LocalDate, b: LocalDate): number {
  return daysBetween(b, a);
}

export const weekdayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type WeekdayName = (typeof weekdayNames)[number];

export function weekdayNumber(name: WeekdayName): number {
  return weekdayNames.indexOf(name);
}

function asDaySet(weekdays: number | readonly number[]): Set<number> {
  const list = typeof weekdays === 'number' ? [weekdays] : weekdays;
  const set = new Set(list.filter((w) => Number.isInteger(w) && w >= 0 && w <= 6));
  if (set.size === 0) throw new RangeError('no valid weekday given (0 = Sunday ... 6 = Saturday)');
  return set;
}

/**
 * The first instant at or after `notBefore` that is local time `minuteOfDay` on one of `weekdays`
 * in `tz`, looking at local dates from `fromDate` on (default: the local date of `notBefore`).
 * In a spring-forward gap the slot moves forward as `fromLocal` does.
 */
export function slotOnOrAfter(
  tz: string,
  fromDate: LocalDate,
  weekdays: number | readonly number[],
  minuteOfDay: number,
  notBefore: Date,
): Date {
  if (!Number.isInteger(minuteOfDay) || minuteOfDay < 0 || minuteOfDay >= 1440) {
    throw new RangeError(`minuteOfDay out of range: ${minuteOfDay}`);
  }
  const days = asDaySet(weekdays);
  // Nothing before the local date of notBefore minus one day can qualify (offsets are < 1 day).
  const earliestUseful = addLocalDays(localDateOf(notBefore, tz), -1);
  let date = compareLocalDates(fromDate, earliestUseful) < 0 ? earliestUseful : fromDate;
  const hh = Math.floor(minuteOfDay / 60);
  const mm = minuteOfDay % 60;
  for (let i = 0; i < 16; i++, date = addLocalDays(date, 1)) {
    if (!days.has(weekdayOfDate(date))) continue;
    const t = fromLocal(tz, date.year, date.month, date.day, hh, mm);
    if (t.getTime() >= notBefore.getTime()) return t;
  }
  /* c8 ignore next */
  throw new Error('slotOnOrAfter: no slot found within 16 days');
}

/**
 * The first instant at or after `after` that falls on one of `weekdays` at local time
 * `minuteOfDay` in `tz`.
 */
export function nextLocalSlot(
  after: Date,
  tz: string,
  weekdays: number | readonly number[],
  minuteOfDay: number,
): Date {
  return slotOnOrAfter(tz, localDateOf(after, tz), weekdays, minuteOfDay, after);
}

/** "HH:MM" (24-hour, 00:00-23:59; "24:00" allowed as an end of day) to minutes since midnight. */
export function parseClock(value: string): number | undefined {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(value);
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes > 1440 ? undefined : minutes;
}

export function formatClock(minuteOfDay: number): string {
  const h = Math.floor(minuteOfDay / 60);
  const m = minuteOfDay % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}
