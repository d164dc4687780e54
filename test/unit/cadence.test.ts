import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config/load.ts';
import { emailCadenceOnly } from '../helpers/config.ts';
import type { CultivateConfig } from '../../functions/config/schema.ts';
import {
  contactTimeZone,
  createCadencePlanner,
  isInsideWindow,
  ownerTimeZone,
  personMinute,
  personWeekday,
  stableHash,
  windowFor,
} from '../../functions/domain/cadence.ts';
import { pickContent } from '../../functions/domain/content.ts';
import type { PlannedTouch, RelationshipState } from '../../functions/domain/types.ts';

// The e-mail cadence on its own (test/helpers/config.ts says why).
const config = emailCadenceOnly(loadConfig('config'));
const planner = createCadencePlanner(config);

const formats = new Map<string, Intl.DateTimeFormat>();
/** "2026-11-23 Mon 09:49" in `tz`, read independently of the module under test. */
function local(instant: string, tz: string): string {
  const f =
    formats.get(tz) ??
    new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
  formats.set(tz, f);
  const p = Object.fromEntries(f.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.weekday} ${p.hour}:${p.minute}`;
}

function state(over: Partial<RelationshipState> = {}): RelationshipState {
  const lostAt = '2026-11-20T15:04:05Z'; // a Friday
  return {
    id: 'rel_5f0c7a8e-1111-4a2b-9c3d-000000000001',
    version: 3,
    createdAt: lostAt,
    updatedAt: lostAt,
    stage: 'nurturing',
    nurture: { lostReason: 'timing', lostAt },
    owner: 'sam@seller.example',
    contact: { timezone: 'America/Chicago', interests: ['pricing'] },
    fieldTimes: {},
    crmIds: ['hubspot:1:hs-501'],
    consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', at: '2026-03-02T10:00:00Z' },
    suppressions: [],
    applied: [],
    planVersion: 1,
    nextTouch: null,
    history: { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 },
    ...over,
  };
}

/** What the sender does after a touch: update history, bump the plan version. */
function done(s: RelationshipState, t: PlannedTouch): RelationshipState {
  const h = s.history;
  return {
    ...s,
    planVersion: s.planVersion + 1,
    history: {
      ...h,
      cadenceStep: h.cadenceStep + 1,
      lastTouchAt: t.at,
      ...(t.channel === 'email'
        ? { emailsSent: h.emailsSent + 1, sentContent: [...h.sentContent, t.contentId as string], lastEmailAt: t.at }
        : { tasksAssigned: h.tasksAssigned + 1 }),
    },
  };
}

function run(s0: RelationshipState, now0: string, max = 40): { touches: PlannedTouch[]; last: RelationshipState } {
  let s = s0;
  let now = new Date(now0);
  const touches: PlannedTouch[] = [];
  for (let i = 0; i < max; i++) {
    const t = planner.planNext(s, { now });
    if (!t) break;
    touches.push(t);
    s = done(s, t);
    now = new Date(t.at);
  }
  return { touches, last: s };
}

describe('the first cadence, end to end for one contact', () => {
  const { touches } = run(state(), '2026-11-20T15:04:05Z');
  const minute = local(touches[1]?.at as string, 'America/Chicago').slice(-5);

  it('thank-you task, 8 weekly e-mails on Tuesdays, a skipped week, monthly, then stops after 6 quiet months', () => {
    expect(touches.map((t) => `${t.step} ${t.channel} ${t.kind}`)).toEqual([
      '0 task thank-you-note',
      ...Array.from({ length: 12 }, (_, i) => `${i + 1} email value-email`),
    ]);
    // Thank-you: Sunday 22nd is two days after the loss; the first window day is Monday in Sam's zone.
    expect(local(touches[0]?.at as string, 'America/New_York')).toMatch(/^2026-11-23 Mon (09|1[0-6]):/);
    const days = touches.slice(1).map((t) => local(t.at, 'America/Chicago').slice(0, 14));
    expect(days).toEqual([
      '2026-12-01 Tue',
      '2026-12-08 Tue',
      '2026-12-15 Tue',
      '2026-12-22 Tue',
      '2026-12-29 Tue',
      '2027-01-05 Tue',
      '2027-01-12 Tue',
      '2027-01-19 Tue',
      '2027-02-02 Tue', // the skipped week: 26 January
      '2027-03-02 Tue',
      '2027-03-30 Tue', // after the DST change of 14 March: same local time
      '2027-04-27 Tue',
    ]);
    // The next would be 25 May 2027, after 20 May (six quiet months): e-mail ends.
    for (const t of touches.slice(1)) expect(local(t.at, 'America/Chicago').slice(-5)).toBe(minute);
  });

  it('names the rule that decided each touch', () => {
    expect(touches[0]?.rule).toContain('thank-you note');
    expect(touches[3]?.rule).toBe('lost-deal: weekly value e-mail 3 of 8');
    expect(touches[9]?.rule).toContain('skip-week test: 1 week skipped');
    expect(touches[10]?.rule).toContain('monthly value e-mail 2');
  });

  it('carries content: first the contact\'s interest (pricing), never twice', () => {
    expect(touches[1]).toMatchObject({ topic: 'pricing', contentId: 'discount-guardrails' });
    expect(touches[2]).toMatchObject({ topic: 'pricing', contentId: 'value-based-pricing-primer' });
    const ids = touches.slice(1).map((t) => t.contentId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).not.toContain('rabattfreigabe-de');
  });

  it('uses the plan version for the touch id, and marks every touch planned', () => {
    const s = state({ planVersion: 7 });
    expect(planner.planNext(s, { now: new Date('2026-11-20T15:04:05Z') })).toMatchObject({ touchId: `${s.id}.t7`, status: 'planned' });
  });
});

describe('consent', () => {
  const noConsent = state({ consent: { email: 'unknown', at: '2026-11-20T15:04:05Z' } });

  it('without consent: thank-you, one permission-ask task, then nothing until consent arrives', () => {
    const { touches, last } = run(noConsent, '2026-11-20T15:04:05Z');
    expect(touches.map((t) => `${t.step} ${t.channel} ${t.kind}`)).toEqual(['0 task thank-you-note', '1 task permission-ask']);
    expect(touches[1]?.rule).toContain('no e-mail consent');
    // Three days after the thank-you (Mon 23rd) is Thursday 26th, in Sam's business hours.
    expect(local(touches[1]?.at as string, 'America/New_York')).toMatch(/^2026-11-26 Thu (09|1[0-6]):/);
    expect(planner.planNext(last, { now: new Date('2027-01-01T00:00:00Z') })).toBeNull();

    // Consent arrives on Wednesday 6 January 2027: the weekly e-mails start the next Tuesday.
    const granted = { ...last, consent: { email: 'granted' as const, basis: 'opt-in', at: '2027-01-06T12:00:00Z' } };
    const rest = run(granted, '2027-01-06T12:00:00Z');
    expect(rest.touches[0]).toMatchObject({ channel: 'email', step: 2 });
    expect(rest.touches[0]?.rule).toMatch(/^lost-deal: weekly value e-mail 1 of 8/);
    expect(local(rest.touches[0]?.at as string, 'America/Chicago')).toMatch(/^2027-01-12 Tue/);
    expect(rest.touches.filter((t) => t.kind === 'permission-ask')).toHaveLength(0);
    // Six quiet months from the loss end it on 20 May 2027.
    expect(rest.touches.every((t) => t.at < '2027-05-20T15:04:05Z')).toBe(true);
    expect(rest.touches.length).toBeGreaterThanOrEqual(9);
  });

  it('no consent record at all is the same as unknown', () => {
    const { consent: _drop, ...rest } = noConsent;
    expect(run(rest, '2026-11-20T15:04:05Z').touches.map((t) => t.kind)).toEqual(['thank-you-note', 'permission-ask']);
  });

  it('a denied consent or an e-mail suppression: no ask, no e-mail', () => {
    const denied = state({ consent: { email: 'denied', at: '2026-11-20T15:04:05Z' } });
    expect(run(denied, '2026-11-20T15:04:05Z').touches.map((t) => t.kind)).toEqual(['thank-you-note']);
    const bounced = state({ consent: { email: 'unknown', at: '2026-11-20T15:04:05Z' }, suppressions: [{ scope: 'hard-bounce', at: '2026-11-20T15:04:05Z' }] });
    expect(run(bounced, '2026-11-20T15:04:05Z').touches.map((t) => t.kind)).toEqual(['thank-you-note']);
  });

  it('consent withdrawn mid-cadence: e-mail stops, and no permission ask follows', () => {
    const { last } = run(state(), '2026-11-20T15:04:05Z', 4);
    const stopped = { ...last, suppressions: [{ scope: 'all-email' as const, at: '2026-12-20T00:00:00Z' }] };
    expect(planner.planNext(stopped, { now: new Date('2026-12-20T00:00:00Z') })).toBeNull();
  });

  it('a stopped topic is never sent', () => {
    const s = state({ suppressions: [{ scope: 'topic', topic: 'pricing', at: '2026-11-20T15:04:05Z' }] });
    const { touches } = run(s, '2026-11-20T15:04:05Z');
    expect(touches.filter((t) => t.topic === 'pricing')).toHaveLength(0);
    expect(touches.filter((t) => t.channel === 'email').length).toBeGreaterThan(8);
  });
});

describe('who is planned for, and when', () => {
  it('nothing for someone not in nurture, marked do-not-contact, or without nurture info', () => {
    const now = { now: new Date('2026-11-20T15:04:05Z') };
    expect(planner.planNext(state({ stage: 'in-deal' }), now)).toBeNull();
    expect(planner.planNext(state({ suppressions: [{ scope: 'do-not-contact', at: '2026-11-20T00:00:00Z' }] }), now)).toBeNull();
    const { nurture: _n, ...noNurture } = state();
    expect(planner.planNext(noNurture, now)).toBeNull();
  });

  it('unresponsive and bad-fit never get weekly mail: a thank-you note only', () => {
    for (const lostReason of ['unresponsive', 'bad-fit'] as const) {
      const s = state({ nurture: { lostReason, lostAt: '2026-11-20T15:04:05Z' } });
      expect(run(s, '2026-11-20T15:04:05Z').touches.map((t) => t.kind)).toEqual(['thank-you-note']);
    }
  });

  it('a human signal restarts the six quiet months', () => {
    const s = state({ history: { ...state().history, lastHumanSignalAt: '2027-03-01T12:00:00Z' } });
    const { touches } = run(s, '2026-11-20T15:04:05Z');
    const lastEmail = touches.at(-1)?.at as string;
    expect(lastEmail > '2027-05-20T15:04:05Z').toBe(true);
    expect(lastEmail < '2027-09-01T12:00:00Z').toBe(true);
  });

  it('never plans in the past: a late first plan takes the next slot', () => {
    // The loss reaches Cultivate a week late.
    const t = planner.planNext(state(), { now: new Date('2026-11-27T20:00:00Z') });
    expect(Date.parse(t?.at as string)).toBeGreaterThanOrEqual(Date.parse('2026-11-27T20:00:00Z'));
    expect(t?.rule).toContain('had passed');
    expect(local(t?.at as string, 'America/New_York')).toMatch(/^2026-11-30 Mon/);
  });

  it('a replan before the due instant gives the same slot', () => {
    const { last } = run(state(), '2026-11-20T15:04:05Z', 3);
    const a = planner.planNext(last, { now: new Date(last.history.lastEmailAt as string) });
    const b = planner.planNext({ ...last, planVersion: last.planVersion + 5 }, { now: new Date(Date.parse(a?.at as string) - 60_000) });
    expect(b?.at).toBe(a?.at);
    expect(b?.contentId).toBe(a?.contentId);
  });

  it('an e-mail sent late (on Wednesday) still keeps the Tuesday rhythm', () => {
    const { last, touches } = run(state(), '2026-11-20T15:04:05Z', 3);
    const wednesday = new Date(Date.parse(touches.at(-1)?.at as string) + 86_400_000 + 3_600_000).toISOString();
    const late = { ...last, history: { ...last.history, lastEmailAt: wednesday, lastTouchAt: wednesday } };
    const t = planner.planNext(late, { now: new Date(wednesday) });
    expect(local(t?.at as string, 'America/Chicago').slice(0, 14)).toBe(local(new Date(Date.parse(touches.at(-1)?.at as string) + 7 * 86_400_000).toISOString(), 'America/Chicago').slice(0, 14));
  });

  it("an inactive owner's tasks follow the manager's zone; a contact without a zone takes the owner's", () => {
    const s = state({ owner: 'lena@seller.example', contact: {} });
    expect(ownerTimeZone(config, s)).toBe('America/Chicago');
    expect(contactTimeZone(config, s)).toBe('America/Chicago');
    const t = planner.planNext(s, { now: new Date('2026-11-20T15:04:05Z') });
    expect(local(t?.at as string, 'America/Chicago')).toMatch(/^2026-11-23 Mon (09|1[0-6]):/);
    const utcConfig: CultivateConfig = { ...config, cadence: { ...config.cadence, timezone: { useOwnerWhenMissing: false, default: 'UTC' } } };
    expect(contactTimeZone(utcConfig, s)).toBe('UTC');
    expect(contactTimeZone(config, state({ contact: { timezone: 'Not/AZone' } }))).toBe('America/New_York');
  });
});

describe('windows and spreading', () => {
  it('windowFor reads the kind\'s window, else the default', () => {
    expect(windowFor(config)).toEqual({ days: [2], startMinute: 540, endMinute: 960 });
    expect(windowFor(config, 'thank-you-note')).toEqual({ days: [1, 2, 3, 4, 5], startMinute: 540, endMinute: 1020 });
  });

  it('isInsideWindow checks weekday and [start, end) in the given zone', () => {
    const w = windowFor(config);
    expect(isInsideWindow(new Date('2027-01-05T15:00:00Z'), 'America/Chicago', w)).toBe(true); // Tue 09:00
    expect(isInsideWindow(new Date('2027-01-05T14:59:00Z'), 'America/Chicago', w)).toBe(false); // Tue 08:59
    expect(isInsideWindow(new Date('2027-01-05T22:00:00Z'), 'America/Chicago', w)).toBe(false); // Tue 16:00
    expect(isInsideWindow(new Date('2027-01-05T21:59:00Z'), 'America/Chicago', w)).toBe(true); // Tue 15:59
    expect(isInsideWindow(new Date('2027-01-06T15:00:00Z'), 'America/Chicago', w)).toBe(false); // Wed
    expect(isInsideWindow(new Date('2027-01-05T15:00:00Z'), 'Asia/Tokyo', w)).toBe(false); // Wed 00:00 in Tokyo
  });

  it("the planner's insideSendWindow re-checks e-mails in the contact's zone, and lets tasks through", () => {
    const s = state();
    const email = { touchId: 'x', at: '2027-01-05T15:00:00Z', channel: 'email', kind: 'value-email', status: 'planned', rule: 'r' } as const;
    expect(planner.insideSendWindow?.(s, email, new Date('2027-01-05T15:30:00Z'))).toBe(true); // Tue 09:30 Chicago
    expect(planner.insideSendWindow?.(s, email, new Date('2027-01-06T05:00:00Z'))).toBe(false); // Tue 23:00 Chicago
    expect(planner.insideSendWindow?.(s, { ...email, channel: 'task', kind: 'thank-you-note' }, new Date('2027-01-06T05:00:00Z'))).toBe(true);
  });

  it('the hash is stable and the minute leaves the last quarter hour free', () => {
    expect(stableHash('rel_a')).toBe(stableHash('rel_a'));
    expect(stableHash('rel_a')).not.toBe(stableHash('rel_b'));
    const w = { days: [2], startMinute: 540, endMinute: 960 };
    for (let i = 0; i < 2000; i++) {
      const m = personMinute(`rel_${i}`, w);
      expect(m).toBeGreaterThanOrEqual(540);
      expect(m).toBeLessThan(945);
    }
  });

  it('with several weekdays in the e-mail window, each person keeps one, and people spread over them', () => {
    const multi: CultivateConfig = {
      ...config,
      cadence: { ...config.cadence, windows: { ...config.cadence.windows, 'value-email': { days: ['tue', 'wed', 'thu'], start: '09:00', end: '16:00' } } },
    };
    const p = createCadencePlanner(multi);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const id = `rel_00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const s0 = state({ id });
      let s = s0;
      let now = new Date('2026-11-20T15:04:05Z');
      const days = new Set<string>();
      for (let k = 0; k < 6; k++) {
        const t = p.planNext(s, { now });
        if (!t) break;
        if (t.channel === 'email') days.add(local(t.at, 'America/Chicago').slice(11, 14) + local(t.at, 'America/Chicago').slice(-5));
        s = done(s, t);
        now = new Date(t.at);
      }
      expect(days.size).toBe(1);
      const day = [...days][0]?.slice(0, 3) as string;
      counts[day] = (counts[day] ?? 0) + 1;
      expect(['Tue', 'Wed', 'Thu'][personWeekday(id, windowFor(multi)) - 2]).toBe(day);
    }
    for (const d of ['Tue', 'Wed', 'Thu']) expect(counts[d]).toBeGreaterThan(60);
  });
});

describe('pickContent', () => {
  const lib = config.content;
  it('never repeats, prefers interests, then library order; null when exhausted', () => {
    const s = state({ contact: { interests: ['onboarding'] } });
    expect(pickContent(lib, s)?.id).toBe('sales-to-cs-handover');
    const s2 = { ...s, history: { ...s.history, sentContent: ['sales-to-cs-handover', 'first-90-days'] } };
    expect(pickContent(lib, s2)?.id).toBe('stale-deal-audit');
    const all = { ...s, history: { ...s.history, sentContent: lib.items.map((i) => i.id) } };
    expect(pickContent(lib, all)).toBeNull();
  });

  it('prefers the contact\'s language; English content without a language', () => {
    expect(pickContent(lib, state({ contact: { language: 'de' } }))?.id).toBe('pipeline-review-de');
    expect(pickContent(lib, state({ contact: { language: 'de-AT', interests: ['pricing'] } }))?.id).toBe('rabattfreigabe-de');
    expect(pickContent(lib, state({ contact: { language: 'en-GB' } }))?.id).toBe('stale-deal-audit');
    expect(pickContent(lib, state({ contact: {} }))?.language ?? 'en').toBe('en');
  });

  it('skips stopped topics and topics outside the allowed list', () => {
    const s = state({ contact: {}, suppressions: [{ scope: 'topic', topic: 'pipeline-hygiene', at: '2026-01-01T00:00:00Z' }] });
    expect(pickContent(lib, s)?.topic).toBe('forecasting');
    expect(pickContent(lib, state({ contact: {} }), { topics: ['customer-stories'] })?.id).toBe('northwind-forecast-story');
  });
});
