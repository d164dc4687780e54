/**
 * Property tests of the cadence planner: simulate the engine loop (plan, do the touch at its
 * `at`, update history as the sender does, plan again) over random contacts, zones and dates,
 * and check the playbook's promises on every run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config/load.ts';
import { emailCadenceOnly } from '../helpers/config.ts';
import { createCadencePlanner } from '../../functions/domain/cadence.ts';
import { canEmail } from '../../functions/domain/consent.ts';
import { pickContent } from '../../functions/domain/content.ts';
import { touchIdFor } from '../../functions/domain/identity.ts';
import type { PlannedTouch, RelationshipState } from '../../functions/domain/types.ts';

// The e-mail cadence's promises; the human rhythms have their own property test (test/helpers/config.ts).
const config = emailCadenceOnly(loadConfig('config'));
const planner = createCadencePlanner(config);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const ZONES = [
  'America/New_York',
  'America/Chicago',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'America/St_Johns',
  'Europe/London',
  'Europe/Berlin',
  'Europe/Helsinki',
  'Africa/Johannesburg',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tokyo',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Pacific/Auckland',
];

/** Owner -> the zone their touches follow (inactive Lena -> manager Riley; unknown -> fallback Jordan). */
const OWNER_ZONE: Record<string, string> = {
  'sam@seller.example': 'America/New_York',
  'lena@seller.example': 'America/Chicago',
  'riley@seller.example': 'America/Chicago',
  'jordan@seller.example': 'America/Denver',
  'ghost@elsewhere.example': 'America/Denver',
  none: 'America/Denver',
};

const lostDealTrack = config.cadence.tracks.find((t) => t.id === 'lost-deal');
const TOPICS = Object.keys(config.content.topics);

const formats = new Map<string, Intl.DateTimeFormat>();
/** Independent local wall-clock reading (not the module under test). */
function local(instant: string | number, tz: string) {
  const f = formats.get(tz) ?? new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  formats.set(tz, f);
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  const dayNumber = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day)) / DAY;
  return { weekday: p.weekday as string, minute: Number(p.hour) * 60 + Number(p.minute), dayNumber };
}

/** The latest instant e-mail may be planned for: 6 calendar months after `since` (day clamped). */
function sixMonthsAfter(since: number): number {
  const d = new Date(since);
  const index = d.getUTCFullYear() * 12 + d.getUTCMonth() + 6;
  const y = Math.floor(index / 12);
  const m = index % 12;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

const scenario = fc.record({
  uuid: fc.uuid(),
  tz: fc.option(fc.constantFrom(...ZONES), { freq: 6 }),
  owner: fc.constantFrom(...Object.keys(OWNER_ZONE)),
  lostAt: fc.integer({ min: Date.parse('2025-01-01T00:00:00Z'), max: Date.parse('2028-12-31T23:59:59Z') }),
  firstPlanDelay: fc.integer({ min: 0, max: 5 * DAY }),
  reason: fc.constantFrom('timing', 'budget', 'no-decision', 'competitor', 'no-need', 'other', 'timing', 'budget', 'unresponsive', 'bad-fit'),
  consent: fc.constantFrom('granted', 'granted', 'granted', 'unknown', 'none', 'denied'),
  grantConsentAfterDays: fc.option(fc.integer({ min: 0, max: 60 }), { freq: 2 }),
  language: fc.constantFrom(undefined, 'en', 'en-GB', 'de'),
  interests: fc.subarray(TOPICS, { maxLength: 3 }),
  stopped: fc.subarray(TOPICS, { maxLength: 2 }),
  signalsAt: fc.uniqueArray(fc.integer({ min: 0, max: 39 }), { maxLength: 3 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

interface Planned {
  touch: PlannedTouch;
  now: number;
  emailNumber: number;
  cutoff: number;
  couldEmail: boolean;
}

function initialState(s: Scenario): RelationshipState {
  const lostAt = new Date(s.lostAt).toISOString();
  return {
    id: `rel_${s.uuid}`,
    version: 1,
    createdAt: lostAt,
    updatedAt: lostAt,
    stage: 'nurturing',
    nurture: { lostReason: s.reason as never, lostAt },
    ...(s.owner !== 'none' && { owner: s.owner }),
    contact: {
      ...(s.tz !== null && { timezone: s.tz }),
      ...(s.language !== undefined && { language: s.language }),
      interests: s.interests,
    },
    fieldTimes: {},
    crmIds: [],
    ...(s.consent !== 'none' && { consent: { email: s.consent as 'granted' | 'unknown' | 'denied', basis: 'opt-in', at: lostAt } }),
    suppressions: s.stopped.map((topic) => ({ scope: 'topic' as const, topic, at: lostAt })),
    applied: [],
    planVersion: 0,
    nextTouch: null,
    history: { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 },
  };
}

/** The engine loop, 40 iterations at most. */
function simulate(s: Scenario) {
  let state = initialState(s);
  let now = s.lostAt + s.firstPlanDelay;
  let granted = false;
  const planned: Planned[] = [];
  let end: { state: RelationshipState; now: number } | undefined;
  for (let i = 0; i < 40; i++) {
    state = { ...state, planVersion: state.planVersion + 1 };
    const touch = planner.planNext(state, { now: new Date(now) });
    if (touch === null) {
      if (!canEmail(state) && s.grantConsentAfterDays !== null && !granted && s.consent !== 'denied') {
        granted = true;
        now += s.grantConsentAfterDays * DAY;
        state = { ...state, consent: { email: 'granted', basis: 'opt-in', at: new Date(now).toISOString() } };
        continue;
      }
      end = { state, now };
      break;
    }
    expect(touch.touchId).toBe(touchIdFor(state.id, state.planVersion));
    const since = Math.max(s.lostAt, state.history.lastHumanSignalAt ? Date.parse(state.history.lastHumanSignalAt) : 0);
    planned.push({ touch, now, emailNumber: state.history.emailsSent + 1, cutoff: sixMonthsAfter(since), couldEmail: canEmail(state) });
    // The touch is done at its due instant; the sender updates history and plans again.
    now = Date.parse(touch.at);
    const h = state.history;
    state = {
      ...state,
      history: {
        ...h,
        cadenceStep: h.cadenceStep + 1,
        lastTouchAt: touch.at,
        ...(s.signalsAt.includes(i) && { lastHumanSignalAt: touch.at }),
        ...(touch.channel === 'email'
          ? { emailsSent: h.emailsSent + 1, sentContent: [...h.sentContent, touch.contentId as string], lastEmailAt: touch.at }
          : { tasksAssigned: h.tasksAssigned + 1 }),
      },
    };
  }
  return { planned, end, granted };
}

function check(s: Scenario) {
  const { planned, end } = simulate(s);
  const contactTz = s.tz ?? (OWNER_ZONE[s.owner] as string);
  const ownerTz = OWNER_ZONE[s.owner] as string;
  const emailWindow = config.cadence.windows['value-email'];
  const emails = planned.filter((p) => p.touch.channel === 'email');

  // The loop always comes to rest well within 40 iterations.
  expect(end).toBeDefined();

  planned.forEach((p, i) => {
    expect(p.touch.status).toBe('planned');
    expect(p.touch.step).toBe(i);
    expect(p.touch.rule.length).toBeGreaterThan(10);
    // Never planned in the past.
    expect(Date.parse(p.touch.at)).toBeGreaterThanOrEqual(p.now);
  });

  // Step 0 is the thank-you task, two or more days after the loss, on a weekday in the owner's hours.
  const first = planned[0];
  expect(first?.touch).toMatchObject({ channel: 'task', kind: 'thank-you-note', step: 0 });
  const ty = local(first?.touch.at as string, ownerTz);
  expect(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']).toContain(ty.weekday);
  expect(ty.minute).toBeGreaterThanOrEqual(9 * 60);
  expect(ty.minute).toBeLessThan(17 * 60);
  expect(ty.dayNumber - local(s.lostAt, ownerTz).dayNumber).toBeGreaterThanOrEqual(2);

  // Unresponsive and bad-fit: never weekly mail (this cadence: no mail at all).
  if (s.reason === 'unresponsive' || s.reason === 'bad-fit') {
    expect(planned).toHaveLength(1);
    return;
  }

  // No e-mail without consent; instead exactly one permission-ask task (never after a "denied").
  for (const p of planned) if (p.touch.channel === 'email') expect(p.couldEmail).toBe(true);
  const asks = planned.filter((p) => p.touch.kind === 'permission-ask');
  if (s.consent === 'granted') expect(asks).toHaveLength(0);
  else if (s.consent === 'denied') {
    expect(asks).toHaveLength(0);
    expect(emails).toHaveLength(0);
  } else if (asks.length === 0) {
    // Only possible if the ask would fall after the quiet cutoff.
    expect(emails).toHaveLength(0);
  } else {
    expect(asks).toHaveLength(1);
    expect(asks[0]?.touch.step).toBe(1);
    expect(asks[0]?.couldEmail).toBe(false);
    const a = local(asks[0]?.touch.at as string, ownerTz);
    expect(['Mon', 'Tue', 'Wed', 'Thu', 'Fri']).toContain(a.weekday);
  }

  // Every e-mail: on the window's weekday, inside the window, in the contact's zone.
  const start = 9 * 60;
  const endMinute = 16 * 60;
  expect(emailWindow?.days).toEqual(['tue']);
  for (const e of emails) {
    const l = local(e.touch.at, contactTz);
    expect(l.weekday).toBe('Tue');
    expect(l.minute).toBeGreaterThanOrEqual(start);
    expect(l.minute).toBeLessThan(endMinute);
    expect(e.touch.kind).toBe('value-email');
  }

  // Same local weekday and time every time; 7 days apart for the 8 weekly e-mails, 14 days
  // (one skipped week) between the 8th and 9th, then 28 days.
  for (let i = 1; i < emails.length; i++) {
    const prev = emails[i - 1] as Planned;
    const cur = emails[i] as Planned;
    expect(cur.emailNumber).toBe(prev.emailNumber + 1);
    const a = local(prev.touch.at, contactTz);
    const b = local(cur.touch.at, contactTz);
    expect(b.minute).toBe(a.minute);
    const expectedDays = cur.emailNumber <= 8 ? 7 : cur.emailNumber === 9 ? 14 : 28;
    expect(b.dayNumber - a.dayNumber).toBe(expectedDays);
    const utcGap = Date.parse(cur.touch.at) - Date.parse(prev.touch.at);
    expect(Math.abs(utcGap - expectedDays * DAY)).toBeLessThanOrEqual(HOUR);
  }

  // Never the same item twice; never a stopped topic; only the track's topics.
  const ids = emails.map((e) => e.touch.contentId);
  expect(new Set(ids).size).toBe(ids.length);
  for (const e of emails) {
    expect(e.touch.topic).toBeDefined();
    expect(s.stopped).not.toContain(e.touch.topic);
    expect(lostDealTrack?.topics).toContain(e.touch.topic);
    expect(config.content.items.find((c) => c.id === e.touch.contentId)?.topic).toBe(e.touch.topic);
  }

  // Nothing after six quiet months (quiet since the loss or the last human signal).
  for (const p of planned.slice(1)) expect(Date.parse(p.touch.at)).toBeLessThan(p.cutoff);

  // And e-mail does not stop early: when the loop ended with consent and content left, the next
  // e-mail would have fallen on or after the cutoff.
  const last = emails.at(-1);
  if (end && last && canEmail(end.state) && pickContent(config.content, end.state, { topics: lostDealTrack?.topics ?? [] })) {
    const n = last.emailNumber + 1;
    const gap = (n <= 8 ? 7 : n === 9 ? 14 : 28) * DAY;
    const signal = end.state.history.lastHumanSignalAt;
    const cutoff = sixMonthsAfter(Math.max(s.lostAt, signal ? Date.parse(signal) : 0));
    expect(Date.parse(last.touch.at) + gap + HOUR).toBeGreaterThanOrEqual(cutoff);
  }
}

describe('cadence planner: simulated loop over random contacts', () => {
  it('keeps every promise of the playbook', () => {
    fc.assert(
      fc.property(scenario, (s) => check(s)),
      { numRuns: 300 },
    );
  });

  it('keeps them for the commonest case too (consent granted, timing, a zone of their own)', () => {
    fc.assert(
      fc.property(
        scenario.map((s): Scenario => ({ ...s, reason: 'timing', consent: 'granted', stopped: [], signalsAt: [] })),
        (s) => {
          check(s);
          const { planned } = simulate(s);
          // With the full library and no stops, the weekly run and the skip week always happen.
          expect(planned.filter((p) => p.touch.channel === 'email').length).toBeGreaterThanOrEqual(9);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('cadence planner: spreading across the window', () => {
  it('spreads 1,000 random people fairly over the send window', () => {
    const ids = fc.sample(fc.uuid(), 1000);
    const buckets = new Map<number, number>();
    for (const uuid of ids) {
      const state = initialState({
        uuid,
        tz: 'UTC',
        owner: 'sam@seller.example',
        lostAt: Date.parse('2026-05-04T10:00:00Z'),
        firstPlanDelay: 0,
        reason: 'timing',
        consent: 'granted',
        grantConsentAfterDays: null,
        language: undefined,
        interests: [],
        stopped: [],
        signalsAt: [],
      });
      const s = { ...state, planVersion: 2, history: { ...state.history, cadenceStep: 1, lastTouchAt: '2026-05-06T14:00:00Z' } };
      const t = planner.planNext(s, { now: new Date('2026-05-06T14:00:00Z') });
      expect(t?.channel).toBe('email');
      const minute = local(t?.at as string, 'UTC').minute;
      expect(minute).toBeGreaterThanOrEqual(9 * 60);
      expect(minute).toBeLessThan(16 * 60);
      const b = Math.floor((minute - 9 * 60) / 15);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    }
    // The planner keeps the last 15 minutes free: 27 buckets of 15 minutes in 09:00-15:45.
    const counts = [...Array(27).keys()].map((b) => buckets.get(b) ?? 0);
    expect(buckets.get(27) ?? 0).toBe(0);
    const mean = 1000 / 27;
    expect(Math.max(...counts)).toBeLessThanOrEqual(3 * mean);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(mean / 3);
  });
});
