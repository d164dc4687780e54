/**
 * Property tests of the guardrails (issue #4): run the engine loop (plan, do the touch at its `at`,
 * note it in the history as the sender does, plan again) over random contacts, countries (from
 * date-holidays' list and the weekend map), time zones and start instants, with the shipped rules
 * and with a tight variant (wider window, longer gap, low caps, company holidays), and check every
 * planned touch independently of the planner (Intl and date-holidays directly):
 * inside its send window, on a working day of the contact's calendar, at least the minimum gap
 * after every earlier touch, and within the per-person caps.
 */
import Holidays from 'date-holidays';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import type { CultivateConfig } from '#config/schema';
import { createCadencePlanner } from '#domain/cadence';
import { noteTouch } from '#domain/guardrails';
import { advance } from '#domain/touch';
import type { PlannedTouch, RelationshipState } from '#domain/types';

const shipped = loadConfig('config');
const tight: CultivateConfig = {
  ...shipped,
  cadence: {
    ...shipped.cadence,
    windows: { ...shipped.cadence.windows, 'value-email': { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sun'], start: '08:00', end: '18:00' } },
    calendar: {
      ...shipped.cadence.calendar,
      companyHolidays: [
        { date: '2026-12-29', name: 'Year-end shutdown' },
        { date: '2027-03-02', name: 'Offsite' },
        { date: '2027-06-15', name: 'Summer day', countries: ['DE', 'US', 'SA'] },
        { date: '2028-01-04', name: 'Kick-off' },
      ],
    },
    guardrails: {
      ...shipped.cadence.guardrails,
      minimumGap: '3 days',
      perPerson: { touches: { per7Days: 2, per30Days: 5 }, emails: { per7Days: 1, per30Days: 3 } },
    },
  },
};
const variants = { shipped, tight } as const;
const planners = { shipped: createCadencePlanner(shipped), tight: createCadencePlanner(tight) };

const DAY = 86_400_000;
const COUNTRIES = [...new Set([...Object.keys(new Holidays().getCountries()), ...Object.keys(shipped.cadence.calendar.weekend.byCountry)])].sort();
const ZONES = ['America/New_York', 'America/Los_Angeles', 'America/Sao_Paulo', 'Europe/London', 'Europe/Berlin', 'Asia/Riyadh', 'Asia/Jerusalem', 'Asia/Kolkata', 'Asia/Tokyo', 'Australia/Sydney', 'Pacific/Auckland', 'Africa/Cairo'];
const OWNER_ZONE: Record<string, string> = { 'sam@seller.example': 'America/New_York', 'riley@seller.example': 'America/Chicago', 'jordan@seller.example': 'America/Denver' };
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

const formats = new Map<string, Intl.DateTimeFormat>();
function local(instant: string, tz: string) {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    formats.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  const date = `${p.year}-${p.month}-${p.day}`;
  return { date, weekday: (p.weekday as string).toLowerCase().slice(0, 3), minute: Number(p.hour) * 60 + Number(p.minute), day: Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day)) / DAY };
}

const holidayCalendars = new Map<string, Holidays>();
function isPublicHoliday(country: string, date: string): boolean {
  if (!(country in new Holidays().getCountries())) return false;
  let hd = holidayCalendars.get(country);
  if (!hd) {
    // In UTC, a holiday's start and end are its local dates' midnights: noon UTC of a date is inside it.
    hd = new Holidays(country, { types: ['public'], timezone: 'UTC' });
    holidayCalendars.set(country, hd);
  }
  const hit = hd.isHoliday(new Date(`${date}T12:00:00Z`));
  return Array.isArray(hit) && hit.some((h) => h.type === 'public');
}

const scenario = fc.record({
  uuid: fc.uuid(),
  variant: fc.constantFrom('shipped', 'tight', 'tight'),
  tz: fc.constantFrom(...ZONES),
  country: fc.option(fc.constantFrom(...COUNTRIES, 'DE', 'SA', 'US', 'IL', 'EG'), { freq: 8 }),
  owner: fc.constantFrom(...Object.keys(OWNER_ZONE)),
  lostAt: fc.integer({ min: Date.parse('2025-06-01T00:00:00Z'), max: Date.parse('2029-06-30T23:59:59Z') }),
  reason: fc.constantFrom('timing', 'budget', 'competitor', 'no-decision', 'unresponsive'),
  consent: fc.constantFrom('granted', 'granted', 'granted', 'unknown'),
  // A task the rep completes (touch-completed sets lastTouchAt) some days after a touch.
  completedAfter: fc.option(fc.record({ index: fc.integer({ min: 0, max: 12 }), days: fc.integer({ min: 0, max: 4 }) }), { freq: 3 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function initial(s: Scenario): RelationshipState {
  const lostAt = new Date(s.lostAt).toISOString();
  return {
    id: `rel_${s.uuid}`,
    version: 1,
    createdAt: lostAt,
    updatedAt: lostAt,
    stage: 'nurturing',
    nurture: { lostReason: s.reason as never, lostAt },
    owner: s.owner,
    contact: { timezone: s.tz, ...(s.country !== null && { country: s.country }) },
    fieldTimes: {},
    crmIds: [],
    consent: { email: s.consent as 'granted' | 'unknown', basis: 'opt-in', at: lostAt },
    suppressions: [],
    applied: [],
    planVersion: 0,
    nextTouch: null,
    history: { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 },
  };
}

function run(s: Scenario) {
  const planner = planners[s.variant as keyof typeof planners];
  let state = initial(s);
  let now = s.lostAt;
  const done: { at: string; channel: 'email' | 'task'; gapOnly?: true }[] = [];
  const planned: { touch: PlannedTouch; now: number; before: { at: string; channel: 'email' | 'task'; gapOnly?: true }[] }[] = [];
  for (let i = 0; i < 30; i++) {
    state = { ...state, planVersion: state.planVersion + 1 };
    const touch = planner.planNext(state, { now: new Date(now) });
    if (!touch) break;
    planned.push({ touch, now, before: [...done] });
    now = Date.parse(touch.at);
    done.push({ at: touch.at, channel: touch.channel });
    const h = noteTouch(state.history, touch.channel, new Date(now));
    advance(h, touch, touch.at);
    state = {
      ...state,
      history: {
        ...h,
        lastTouchAt: touch.at,
        ...(touch.channel === 'email' ? { emailsSent: h.emailsSent + 1, sentContent: [...h.sentContent, touch.contentId as string], lastEmailAt: touch.at } : { tasksAssigned: h.tasksAssigned + 1 }),
      },
    };
    if (s.completedAfter?.index === i) {
      // The rep logs a call: a touch on record for the gap (not a planned one).
      now += s.completedAfter.days * DAY;
      const at = new Date(now).toISOString();
      // It counts for the gap (lastTouchAt), not for the caps: the caps counted that task when it
      // was handed out (noteTouch at assignment), and counting its completion too would count
      // one call twice.
      if (s.completedAfter.days > 0) done.push({ at, channel: 'task', gapOnly: true });
      state = { ...state, history: { ...state.history, lastTouchAt: at } };
    }
  }
  return planned;
}

function check(s: Scenario) {
  const config = variants[s.variant as keyof typeof variants];
  const g = config.cadence.guardrails;
  const gap = Number.parseInt(g.minimumGap, 10);
  const weekend = (s.country !== null ? config.cadence.calendar.weekend.byCountry[s.country] : undefined) ?? config.cadence.calendar.weekend.default;
  const ownerTz = OWNER_ZONE[s.owner] as string;
  const planned = run(s);
  expect(planned.length).toBeGreaterThan(0);
  for (const { touch, now, before } of planned) {
    expect(Date.parse(touch.at)).toBeGreaterThanOrEqual(now);
    const tz = touch.channel === 'email' ? s.tz : ownerTz;
    const l = local(touch.at, tz);
    // Inside its send window (days and minutes, local time of the recipient).
    const w = config.cadence.windows[touch.kind] ?? config.cadence.windows.default;
    const [sh, sm] = (w?.start ?? '').split(':').map(Number) as [number, number];
    const [eh, em] = (w?.end ?? '').split(':').map(Number) as [number, number];
    expect(w?.days).toContain(l.weekday);
    expect(l.minute).toBeGreaterThanOrEqual(sh * 60 + sm);
    expect(l.minute).toBeLessThan(eh * 60 + em);
    // A working day of the contact's calendar.
    expect(weekend).not.toContain(l.weekday as (typeof WEEKDAYS)[number]);
    if (s.country !== null) expect(isPublicHoliday(s.country, l.date), `${l.date} is a public holiday in ${s.country}`).toBe(false);
    for (const h of config.cadence.calendar.companyHolidays) {
      if (h.countries === undefined || (s.country !== null && h.countries.includes(s.country))) expect(l.date).not.toBe(h.date);
    }
    // Gap and caps, in the contact's local days.
    const day = local(touch.at, s.tz).day;
    const prevDays = before.map((b) => local(b.at, s.tz).day);
    for (const p of prevDays) expect(day - p).toBeGreaterThanOrEqual(gap);
    const within = (days: number[], n: number) => days.filter((d) => d > day - n && d <= day).length;
    const counted = before.filter((b) => !b.gapOnly).map((b) => local(b.at, s.tz).day);
    expect(within(counted, 7) + 1).toBeLessThanOrEqual(g.perPerson.touches.per7Days);
    expect(within(counted, 30) + 1).toBeLessThanOrEqual(g.perPerson.touches.per30Days);
    if (touch.channel === 'email') {
      const emailDays = before.filter((b) => b.channel === 'email').map((b) => local(b.at, s.tz).day);
      expect(within(emailDays, 7) + 1).toBeLessThanOrEqual(g.perPerson.emails.per7Days);
      expect(within(emailDays, 30) + 1).toBeLessThanOrEqual(g.perPerson.emails.per30Days);
    }
  }
}

describe('guardrails: simulated loop over random contacts, countries, zones and start instants', () => {
  it('every planned touch is in its window, on a working day, after the gap and within the caps', () => {
    fc.assert(fc.property(scenario, check), { numRuns: 200 });
  }, 120_000);

  it('the tight rules really move touches (the property above is not vacuous)', () => {
    const moved = new Set<string>();
    fc.assert(
      fc.property(scenario, (s) => {
        for (const p of run({ ...s, variant: 'tight', consent: 'granted', reason: 'timing' })) for (const code of p.touch.pushedBy ?? []) moved.add(code);
      }),
      { numRuns: 80 },
    );
    for (const code of ['weekend', 'min-gap', 'person-emails-30d']) expect(moved).toContain(code);
  }, 120_000);
});
