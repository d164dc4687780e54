/** Working days per contact country (functions/domain/calendar.ts) against the shipped cadence.yaml calendar. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import type { CalendarConfig } from '#config/schema';
import { createWorkingCalendar, isKnownCountry, publicHolidays, weekendText } from '#domain/calendar';

const shipped = loadConfig('config').cadence.calendar;
const cal = createWorkingCalendar(shipped);
const d = (text: string) => {
  const [year, month, day] = text.split('-').map(Number) as [number, number, number];
  return { year, month, day };
};

describe('working calendar', () => {
  it('names a German public holiday in the local language, and keeps the next Monday a working day', () => {
    expect(cal.nonWorking('DE', d('2028-10-03'))).toEqual({ code: 'holiday', why: 'holiday: Tag der Deutschen Einheit' });
    expect(cal.nonWorking('DE', d('2028-10-04'))).toBeUndefined();
    // Another country's holiday is a working day in Germany, and Germany's is one elsewhere.
    expect(cal.nonWorking('US', d('2028-10-03'))).toBeUndefined();
    expect(cal.nonWorking('DE', d('2028-07-04'))).toBeUndefined();
    expect(cal.nonWorking('US', d('2028-07-04'))?.code).toBe('holiday');
  });

  it('uses public holidays only: a bank or observance day is a working day (DE Heiligabend, 2026-12-24)', () => {
    expect(cal.nonWorking('DE', d('2026-12-24'))).toBeUndefined();
    expect(cal.nonWorking('DE', d('2026-12-25'))?.why).toBe('holiday: 1. Weihnachtstag');
  });

  it('Friday-Saturday weekends where that is the norm; the UAE has had Saturday-Sunday since 2022', () => {
    // 2026-12-04 is a Friday, 2026-12-05 a Saturday, 2026-12-06 a Sunday.
    expect(cal.nonWorking('SA', d('2026-12-04'))).toEqual({ code: 'weekend', why: 'weekend (Fri–Sat)' });
    expect(cal.nonWorking('SA', d('2026-12-06'))).toBeUndefined();
    expect(cal.nonWorking('AE', d('2026-12-04'))).toBeUndefined();
    expect(cal.nonWorking('AE', d('2026-12-06'))).toEqual({ code: 'weekend', why: 'weekend (Sat–Sun)' });
    // Kuwait has no date-holidays calendar, but its weekend is still known.
    expect(cal.nonWorking('KW', d('2026-12-04'))?.code).toBe('weekend');
    expect(cal.weekend(undefined)).toEqual([6, 0]);
  });

  it('a contact without a country gets the default weekend and no public holidays', () => {
    expect(cal.nonWorking(undefined, d('2028-10-03'))).toBeUndefined();
    expect(cal.nonWorking(undefined, d('2028-10-07'))?.code).toBe('weekend');
  });

  it('a holiday lasting several days blocks each of them (Eid al-Fitr in Saudi Arabia, 2026)', () => {
    const days = publicHolidays('SA', 2026);
    const eid = [...days].filter(([, name]) => name === 'عيد الفطر').map(([date]) => date);
    expect(eid).toEqual(['2026-03-19', '2026-03-20', '2026-03-21', '2026-03-22']);
    expect(cal.nonWorking('SA', d('2026-03-22'))?.code).toBe('holiday');
  });

  it('company holidays: for everyone, or for the countries listed; public holidays can be switched off', () => {
    const config: CalendarConfig = {
      ...shipped,
      publicHolidays: false,
      companyHolidays: [
        { date: '2026-12-29', name: 'Year-end shutdown' },
        { date: '2026-11-27', name: 'Day after Thanksgiving', countries: ['US'] },
      ],
    };
    const c = createWorkingCalendar(config);
    expect(c.nonWorking(undefined, d('2026-12-29'))).toEqual({ code: 'company-holiday', why: 'company holiday: Year-end shutdown' });
    expect(c.nonWorking('DE', d('2026-12-29'))?.code).toBe('company-holiday');
    expect(c.nonWorking('US', d('2026-11-27'))?.why).toBe('company holiday: Day after Thanksgiving');
    expect(c.nonWorking('DE', d('2026-11-27'))).toBeUndefined();
    expect(c.nonWorking(undefined, d('2026-11-27'))).toBeUndefined();
    expect(c.nonWorking('DE', d('2026-12-25'))).toBeUndefined();
  });

  it('knows ISO countries and refuses non-countries', () => {
    for (const code of ['DE', 'US', 'SA', 'KW', 'OM', 'GB']) expect(isKnownCountry(code)).toBe(true);
    for (const code of ['UK', 'EU', 'XX', 'de', 'DEU', 'ZZ']) expect(isKnownCountry(code)).toBe(false);
    expect(weekendText([5, 6])).toBe('Fri–Sat');
    expect(weekendText([0, 6])).toBe('Sat–Sun');
  });
});
