/**
 * Per-person guardrails (functions/domain/guardrails.ts) and how the cadence planner applies them:
 * holidays and weekends of the contact's calendar, the minimum gap, the caps; each move recorded
 * with a stable code and words.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { emailCadenceOnly } from '../helpers/config.ts';
import type { CultivateConfig } from '#config/schema';
import { createCadencePlanner } from '#domain/cadence';
import { createWorkingCalendar } from '#domain/calendar';
import { capFreeDay, compileGuardrails, isoWeek, noteTouch, ownerWeek, placeTouch } from '#domain/guardrails';
import type { PlannedTouch, RelationshipState, TouchHistory } from '#domain/types';

const config = loadConfig('config');
// The e-mail cadence on its own: these cases place e-mails (test/helpers/config.ts says why).
const planner = createCadencePlanner(emailCadenceOnly(config));
const DAY = 86_400_000;

function state(over: Omit<Partial<RelationshipState>, 'history'> & { history?: Partial<TouchHistory> } = {}): RelationshipState {
  const { history, ...rest } = over;
  return {
    id: 'rel_0f8e2d3c-1111-4222-8333-944455556666',
    version: 1,
    createdAt: '2028-08-01T10:00:00.000Z',
    updatedAt: '2028-08-01T10:00:00.000Z',
    stage: 'nurturing',
    nurture: { lostReason: 'timing', lostAt: '2028-08-01T10:00:00.000Z' },
    owner: 'sam@seller.example',
    contact: { timezone: 'Europe/Berlin', country: 'DE' },
    fieldTimes: {},
    crmIds: [],
    consent: { email: 'granted', basis: 'opt-in', at: '2028-08-01T10:00:00.000Z' },
    suppressions: [],
    applied: [],
    planVersion: 7,
    nextTouch: null,
    ...rest,
    history: { emailsSent: 0, tasksAssigned: 1, sentContent: [], cadenceStep: 1, ...history },
  };
}

const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const ny = new Intl.DateTimeFormat('en-GB', { timeZone: 'America/New_York', weekday: 'short', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

describe('the planner and the contact calendar', () => {
  it('a weekly e-mail due on Tag der Deutschen Einheit (Tue 2028-10-03) moves to the next Tuesday, at the same minute, and says why', () => {
    const lastEmail = '2028-09-26T08:51:00.000Z';
    const s = state({ history: { emailsSent: 3, cadenceStep: 4, sentContent: [], lastEmailAt: lastEmail, lastTouchAt: lastEmail } });
    const t = planner.planNext(s, { now: new Date(lastEmail) }) as PlannedTouch;
    expect(t.kind).toBe('value-email');
    expect(berlin.format(new Date(t.at)).startsWith('Tue, 10/10/2028')).toBe(true);
    expect(t.rule).toContain('Tue 2028-10-03 is not a working day: holiday: Tag der Deutschen Einheit');
    expect(t.pushedBy).toEqual(['holiday']);
    // The same contact without a country: no public holidays, so it stays on 2028-10-03.
    const plain = planner.planNext({ ...s, contact: { timezone: 'Europe/Berlin' } }, { now: new Date(lastEmail) }) as PlannedTouch;
    expect(berlin.format(new Date(plain.at)).startsWith('Tue, 03/10/2028')).toBe(true);
    expect(plain.pushedBy).toBeUndefined();
    // Moved a week, at the person's same minute.
    expect(Date.parse(t.at) - Date.parse(plain.at)).toBe(7 * DAY);
  });

  it('a thank-you task due on a Friday for a contact in Saudi Arabia (Fri-Sat weekend) moves to Monday', () => {
    const lostAt = '2026-12-02T15:00:00.000Z'; // Wed 10:00 New York: two days later is Friday
    const s = state({ nurture: { lostReason: 'timing', lostAt }, contact: { timezone: 'Asia/Riyadh', country: 'SA' }, history: { tasksAssigned: 0, cadenceStep: 0 } });
    const t = planner.planNext(s, { now: new Date(lostAt) }) as PlannedTouch;
    expect(t.kind).toBe('thank-you-note');
    expect(ny.format(new Date(t.at)).startsWith('Mon, 07/12/2026')).toBe(true);
    expect(t.rule).toContain('Fri 2026-12-04 is not a working day: weekend (Fri–Sat)');
    expect(t.pushedBy).toEqual(['weekend']);
    // In the UAE (Sat-Sun since 2022) the Friday stays.
    const ae = planner.planNext({ ...s, contact: { timezone: 'Asia/Dubai', country: 'AE' } }, { now: new Date(lostAt) }) as PlannedTouch;
    expect(ny.format(new Date(ae.at)).startsWith('Fri, 04/12/2026')).toBe(true);
  });

  it('the minimum gap pushes an e-mail past a task the rep completed the day before', () => {
    const emailOnly = emailCadenceOnly(config);
    const strict: CultivateConfig = { ...emailOnly, cadence: { ...emailOnly.cadence, guardrails: { ...emailOnly.cadence.guardrails, minimumGap: '3 days' } } };
    const lastEmail = '2028-11-07T09:51:00.000Z';
    const completed = '2028-11-13T16:00:00.000Z'; // Monday: a call logged by the rep
    const s = state({ history: { emailsSent: 3, cadenceStep: 4, lastEmailAt: lastEmail, lastTouchAt: completed } });
    const t = createCadencePlanner(strict).planNext(s, { now: new Date(completed) }) as PlannedTouch;
    expect(berlin.format(new Date(t.at)).startsWith('Tue, 21/11/2028')).toBe(true);
    expect(t.pushedBy).toEqual(['min-gap']);
    expect(t.rule).toContain('minimum gap: 3 days after the previous touch (Mon 2028-11-13)');
  });
});

describe('placeTouch', () => {
  const rules = compileGuardrails(config.cadence.guardrails);
  const cal = createWorkingCalendar({ publicHolidays: false, weekend: { default: [], byCountry: {} }, companyHolidays: [] });
  const everyDay = [0, 1, 2, 3, 4, 5, 6];
  const base = { tz: 'UTC', days: everyDay, minute: 600, contactTz: 'UTC', country: undefined };
  const ideal = new Date('2027-03-10T10:00:00.000Z');
  const history = (at: string[], channel: 'email' | 'task' = 'email'): TouchHistory => ({
    emailsSent: 0,
    tasksAssigned: 0,
    sentContent: [],
    cadenceStep: 0,
    recentTouches: at.map((a) => ({ at: a, channel })),
  });

  it('holds an e-mail until the oldest e-mail leaves the rolling 7 days (cap 1 per 7 days)', () => {
    const r = placeTouch({ ...base, ideal, channel: 'email', history: history(['2027-03-06T10:00:00.000Z']) }, cal, rules);
    expect(r?.at.toISOString()).toBe('2027-03-13T10:00:00.000Z');
    expect(r?.moves.map((m) => m.code)).toEqual(['person-emails-7d']);
    expect(r?.moves[0]?.why).toBe('cap: 1 e-mails per 7 days for one person, reached; the next may go from Sat 2027-03-13');
  });

  it('a task is not held by the e-mail cap, but by the touch caps', () => {
    const past = ['2027-03-04T10:00:00.000Z', '2027-03-06T10:00:00.000Z', '2027-03-08T10:00:00.000Z'];
    const r = placeTouch({ ...base, ideal, channel: 'task', history: history(past.slice(1)) }, cal, rules);
    expect(r?.at.toISOString()).toBe(ideal.toISOString());
    const full = placeTouch({ ...base, ideal, channel: 'task', history: history(past, 'task') }, cal, rules);
    expect(full?.moves.map((m) => m.code)).toEqual(['person-touches-7d']);
    expect(full?.at.toISOString()).toBe('2027-03-11T10:00:00.000Z');
  });

  it('the 30-day e-mail cap (5) holds the sixth e-mail in 30 days', () => {
    const past = ['2027-02-09', '2027-02-15', '2027-02-21', '2027-02-27', '2027-03-02'].map((d) => `${d}T10:00:00.000Z`);
    const r = placeTouch({ ...base, ideal, channel: 'email', history: history(past) }, cal, rules);
    // The oldest (2027-02-09) leaves the window [d-29, d] on 2027-03-11.
    expect(r?.moves.map((m) => m.code)).toEqual(['person-emails-30d']);
    expect(r?.at.toISOString()).toBe('2027-03-11T10:00:00.000Z');
  });

  it('capFreeDay: the first day the window has room again', () => {
    expect(capFreeDay([], 100, 1, 7)).toBeUndefined();
    expect(capFreeDay([99], 100, 2, 7)).toBeUndefined();
    expect(capFreeDay([94, 99], 100, 2, 7)).toBe(101);
    expect(capFreeDay([93, 99], 100, 2, 7)).toBeUndefined();
    expect(capFreeDay([95, 96, 97], 100, 2, 7)).toBe(103);
  });

  it('noteTouch keeps 31 days and at most 64 entries, oldest first', () => {
    let h: TouchHistory = { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 };
    const start = Date.parse('2027-01-01T00:00:00.000Z');
    for (let i = 0; i < 100; i++) h = noteTouch(h, i % 2 ? 'email' : 'task', new Date(start + i * 12 * 3_600_000));
    const list = h.recentTouches ?? [];
    expect(list.length).toBe(63);
    expect(list.at(-1)?.at).toBe(new Date(start + 99 * 12 * 3_600_000).toISOString());
    expect(Date.parse(list[0]!.at)).toBeGreaterThanOrEqual(start + 99 * 12 * 3_600_000 - 31 * DAY);
    expect([...list].sort((a, b) => a.at.localeCompare(b.at))).toEqual(list);
  });

  it('ISO weeks in the owner zone (2026 has 53 weeks)', () => {
    expect(isoWeek({ year: 2026, month: 12, day: 31 }).week).toBe('2026-W53');
    expect(isoWeek({ year: 2027, month: 1, day: 1 }).week).toBe('2026-W53');
    expect(isoWeek({ year: 2027, month: 1, day: 4 }).week).toBe('2027-W01');
    expect(isoWeek({ year: 2027, month: 1, day: 3 }).nextMonday).toEqual({ year: 2027, month: 1, day: 4 });
    // Sunday 23:30 in New York is already Monday in UTC; the owner's week is still the old one.
    const w = ownerWeek(new Date('2027-01-11T04:30:00.000Z'), 'America/New_York');
    expect(w.week).toBe('2027-W01');
    expect(w.nextWeekStart.toISOString()).toBe('2027-01-11T05:00:00.000Z');
  });
});
