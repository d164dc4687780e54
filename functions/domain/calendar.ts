/**
 * Working days per contact country (cadence.yaml `calendar`): weekends (Friday-Saturday where
 * that is the norm, from config), public holidays from `date-holidays` (type "public" only: bank,
 * school and observance days are working days for B2B mail), and the company's own holidays.
 *
 * Pure apart from a memo: the holiday table of a country and year is computed once per process
 * (date-holidays evaluates its rules on every call, far too slow for the planner's inner loop).
 * Holidays are plain local dates, so the caller decides in which zone a touch's day is read.
 */
import Holidays from 'date-holidays';
import type { CalendarConfig } from '#config/schema';
import { addLocalDays, weekdayNumber, weekdayOfDate, type LocalDate, type WeekdayName } from './local-time.ts';

export type NonWorkingCode = 'weekend' | 'holiday' | 'company-holiday';

export interface NonWorkingDay {
  code: NonWorkingCode;
  /** Sales-ops words: "holiday: Tag der Deutschen Einheit", "weekend (Fri–Sat)". */
  why: string;
}

export interface WorkingCalendar {
  /** Why `date` is not a working day for a contact in `country` (undefined: it is one). */
  nonWorking(country: string | undefined, date: LocalDate): NonWorkingDay | undefined;
  /** The contact's weekend, as weekday numbers (0 = Sunday). */
  weekend(country: string | undefined): readonly number[];
}

let countryList: Set<string> | undefined;

/** Country codes date-holidays has a calendar for (207 in 3.37). */
export function knownCountries(): ReadonlySet<string> {
  countryList ??= new Set(Object.keys(new Holidays().getCountries()));
  return countryList;
}

/** CLDR region codes that are not countries ("UK" is not ISO 3166: the code is GB). */
const NOT_COUNTRIES = new Set(['EU', 'EZ', 'UN', 'QO', 'ZZ', 'UK']);
let regionNames: Intl.DisplayNames | undefined;

/**
 * An ISO 3166-1 alpha-2 country: one with a public-holiday calendar, or one the runtime's region
 * names know (Kuwait has a Friday-Saturday weekend but no date-holidays calendar).
 */
export function isKnownCountry(code: string): boolean {
  if (!/^[A-Z]{2}$/.test(code)) return false;
  if (knownCountries().has(code)) return true;
  regionNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  return !NOT_COUNTRIES.has(code) && regionNames.of(code) !== undefined;
}

/** Whether date-holidays has public holidays for `code` (otherwise: weekends and company holidays only). */
export function hasPublicHolidays(code: string): boolean {
  return knownCountries().has(code);
}

const holidayMemo = new Map<string, Map<string, string>>();
const DAY_MS = 86_400_000;

const key = (d: LocalDate) => `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;

/** Public holidays of `country` in `year`: local date "YYYY-MM-DD" -> the holiday's local name. */
export function publicHolidays(country: string, year: number): ReadonlyMap<string, string> {
  const memoKey = `${country}#${year}`;
  let days = holidayMemo.get(memoKey);
  if (days) return days;
  days = new Map();
  if (isKnownCountry(country)) {
    for (const h of new Holidays(country, { types: ['public'] }).getHolidays(year)) {
      // `date` is the first local day ("2026-10-03 00:00:00"); a holiday may last several days (Eid).
      const [y, m, d] = h.date.slice(0, 10).split('-').map(Number) as [number, number, number];
      const span = Math.max(1, Math.round((h.end.getTime() - h.start.getTime()) / DAY_MS));
      for (let i = 0; i < span; i++) {
        const k = key(addLocalDays({ year: y, month: m, day: d }, i));
        if (!days.has(k)) days.set(k, h.name);
      }
    }
  }
  holidayMemo.set(memoKey, days);
  return days;
}

const SHORT = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** "Fri–Sat", "Sat–Sun", "Fri" (days in week order starting Monday). */
export function weekendText(days: readonly number[]): string {
  const order = [...days].sort((a, b) => ((a + 6) % 7) - ((b + 6) % 7));
  return order.map((d) => SHORT[d]).join('–');
}

export function createWorkingCalendar(config: CalendarConfig): WorkingCalendar {
  const toDays = (names: readonly WeekdayName[]) => [...new Set(names.map(weekdayNumber))];
  const defaultWeekend = toDays(config.weekend.default);
  const byCountry = new Map(Object.entries(config.weekend.byCountry).map(([c, d]) => [c, toDays(d)]));
  const company = new Map<string, { name: string; countries?: readonly string[] }[]>();
  for (const h of config.companyHolidays) {
    const list = company.get(h.date) ?? [];
    list.push({ name: h.name, ...(h.countries && { countries: h.countries }) });
    company.set(h.date, list);
  }
  const weekend = (country: string | undefined) => (country !== undefined ? byCountry.get(country) : undefined) ?? defaultWeekend;

  return {
    weekend,
    nonWorking(country, date) {
      const days = weekend(country);
      if (days.includes(weekdayOfDate(date))) return { code: 'weekend', why: `weekend (${weekendText(days)})` };
      const k = key(date);
      const own = company.get(k)?.find((h) => h.countries === undefined || (country !== undefined && h.countries.includes(country)));
      if (own) return { code: 'company-holiday', why: `company holiday: ${own.name}` };
      if (config.publicHolidays && country !== undefined) {
        const name = publicHolidays(country, date.year).get(k);
        if (name !== undefined) return { code: 'holiday', why: `holiday: ${name}` };
      }
      return undefined;
    },
  };
}

/** For config checks: the weekdays of a window that are working days under `weekend`. */
export function workingWindowDays(windowDays: readonly WeekdayName[], weekend: readonly WeekdayName[]): WeekdayName[] {
  return windowDays.filter((d) => !weekend.includes(d));
}
