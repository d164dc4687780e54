/**
 * Human touches on a rhythm (cadence.yaml `humanTouches`, issue #4), with the shipped playbook:
 * calls, notes, referral exchanges, requalification and research as tasks for the owner, next to
 * the e-mails and after them. Driven the way production drives the planner: `recordTouch` after
 * each touch, at its own instant, with the history noted as the sender notes it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { parseDuration, type HumanTouchConfig } from '#config/schema';
import { createCadencePlanner } from '#domain/cadence';
import { describeTask } from '#domain/email';
import { noteTouch } from '#domain/guardrails';
import { recordTouch } from '#domain/touch';
import type { PlannedTouch, RelationshipState } from '#domain/types';

const config = loadConfig('config');
const planner = createCadencePlanner(config);
const DAY = 86_400_000;
const LOST = '2026-11-24T11:00:00.000Z';
const ADDRESS = { lines: ['Hauptstraße 1'], city: 'Berlin', country: 'DE' };

function person(over: Partial<RelationshipState> = {}, nurture: Partial<NonNullable<RelationshipState['nurture']>> = {}): RelationshipState {
  return {
    id: 'rel_00000000-0000-4000-8000-0000000000h1',
    version: 1,
    createdAt: LOST,
    updatedAt: LOST,
    stage: 'nurturing',
    nurture: { lostReason: 'timing', lostAt: LOST, ...nurture },
    owner: 'jordan@seller.example',
    contact: { timezone: 'Europe/Berlin', country: 'DE' },
    fieldTimes: {},
    crmIds: [],
    consent: { email: 'granted', basis: 'opt-in', at: LOST },
    suppressions: [],
    applied: [],
    planVersion: 1,
    nextTouch: null,
    history: { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 },
    ...over,
  };
}

/** Every touch done on time until `until`, as the sender records it. */
function run(start: RelationshipState, until: string, p = planner): { touches: PlannedTouch[]; state: RelationshipState } {
  let s: RelationshipState = { ...start, nextTouch: p.planNext(start, { now: new Date(start.nurture?.lostAt ?? LOST) }) };
  const touches: PlannedTouch[] = [];
  for (let i = 0; i < 200 && s.nextTouch && s.nextTouch.at < until; i++) {
    const t = s.nextTouch;
    touches.push(t);
    const at = new Date(t.at);
    const result = t.channel === 'email' ? ({ kind: 'email-sent', messageId: `m${i}`, title: 'x' } as const) : ({ kind: 'task-assigned', title: t.kind } as const);
    const decided = recordTouch({ ...s, history: noteTouch(s.history, t.channel, at) }, t, result, at, p);
    if (!decided) throw new Error(`touch ${t.touchId} recorded twice`);
    s = decided.state;
  }
  return { touches, state: s };
}

const kinds = (ts: PlannedTouch[]) => ts.map((t) => t.kind);
const tasksOf = (ts: PlannedTouch[], kind: string) => ts.filter((t) => t.kind === kind);

describe('human touches on a rhythm', () => {
  it('go on after e-mail ends (six quiet months), quarterly, in the owner\'s zone', () => {
    const { touches } = run(person(), '2028-11-24');
    const emails = touches.filter((t) => t.channel === 'email');
    expect(emails).toHaveLength(12);
    expect(emails.every((e) => e.at < '2027-05-24')).toBe(true);
    const late = touches.filter((t) => t.at >= '2027-05-24');
    expect(late.length).toBeGreaterThan(0);
    expect(new Set(kinds(late))).toEqual(new Set(['courtesy-call', 'requalification']));
    // Quarterly: each call about three months after the one before (a gap or a weekend moves it a few days).
    for (const kind of ['courtesy-call', 'requalification']) {
      const at = tasksOf(touches, kind).map((t) => Date.parse(t.at));
      expect(at.length).toBeGreaterThanOrEqual(7);
      for (let i = 1; i < at.length; i++) {
        const days = ((at[i] as number) - (at[i - 1] as number)) / DAY;
        expect(days).toBeGreaterThanOrEqual(88); // 89 local days, one hour short across a clock change
        expect(days).toBeLessThan(96);
      }
    }
    expect(touches.every((t) => t.channel === 'email' || t.recurring || t.kind === 'thank-you-note')).toBe(true);
  });

  it('need no e-mail consent: without it, the permission ask and then the calls', () => {
    const { touches } = run(person({ consent: { email: 'unknown', at: LOST } }), '2027-12-01');
    expect(kinds(touches).slice(0, 3)).toEqual(['thank-you-note', 'permission-ask', 'courtesy-call']);
    expect(touches.some((t) => t.channel === 'email')).toBe(false);
    expect(tasksOf(touches, 'requalification').length).toBeGreaterThanOrEqual(3);
  });

  it('go on after "stop all e-mail", and stop at "do not contact"', () => {
    const stopped = person({ suppressions: [{ scope: 'all-email', at: LOST }] });
    expect(run(stopped, '2027-12-01').touches.filter((t) => t.recurring).length).toBeGreaterThan(3);
    expect(planner.planNext(person({ suppressions: [{ scope: 'do-not-contact', at: LOST }] }), { now: new Date(LOST) })).toBeNull();
  });

  it('by post only to a contact with a postal address on record', () => {
    const without = run(person(), '2028-06-01').touches;
    expect(tasksOf(without, 'handwritten-note')).toEqual([]);
    const withAddress = run(person({ contact: { timezone: 'Europe/Berlin', country: 'DE', postalAddress: ADDRESS } }), '2028-06-01').touches;
    const notes = tasksOf(withAddress, 'handwritten-note');
    // Five months after the loss, then yearly.
    expect(notes.map((t) => t.at.slice(0, 7))).toEqual(['2027-04', '2028-04']);
    // Due Mon 2027-04-26 (24th: a Saturday), within the gap before Tuesday's e-mail: it waits for it.
    expect(notes[0]?.rule).toBe('lost-deal: handwritten note 1 (5 months after the loss, then every 12 months), a task for the owner; moved later: minimum gap: 2 days after the previous touch (Tue 2027-04-27)');
  });

  it('a touch with `count` stops after it; without `every` it happens once (the unreachable referral)', () => {
    // Entered by a referral (no deal lost): the shipped referral-unreachable track.
    const referral = person({ nurture: { entry: 'referral', lostAt: LOST, referredBy: 'crm-contact-42' }, contact: { timezone: 'Europe/Berlin' } });
    const { touches } = run(referral, '2028-01-01');
    expect(kinds(touches)).toEqual(['research', 'personal-message', 'requalification', 'requalification']);
    const [research, message, requal] = touches as [PlannedTouch, PlannedTouch, PlannedTouch];
    expect(research.rule).toBe('referral-unreachable: research their pain or gain 1 of 1 (2 days after the referral), a task for the owner');
    expect(Date.parse(message.at)).toBeGreaterThan(Date.parse(research.at));
    // Then the patient wait: nothing for six months.
    expect(Date.parse(requal.at) - Date.parse(message.at)).toBeGreaterThan(150 * DAY);
    // The rep reads who referred them and when, not a loss that never was.
    const owner = { name: 'Jordan', email: 'jordan@seller.example', timezone: 'America/Denver' };
    const task = describeTask(referral, research, owner, new Date(research.at));
    expect(task.why).toMatch(/^referred by crm-contact-42 \d+ days ago; find out what they are working on/);
    expect(task.why).not.toContain('lost');
    // The same contact lost as unresponsive and tagged `referral` (the old stand-in) is a lost deal: no research.
    const tagged = person({ contact: { timezone: 'Europe/Berlin', tags: ['Referral'] } }, { lostReason: 'unresponsive' });
    expect(kinds(run(tagged, '2028-01-01').touches)).not.toContain('research');
  });

  it('a referral partner gets exchange meetings and no e-mail', () => {
    const partner = person({ contact: { timezone: 'Europe/Berlin', role: 'referral-partner' } });
    const { touches } = run(partner, '2027-12-01');
    expect(touches.some((t) => t.channel === 'email')).toBe(false);
    expect(kinds(touches)).toEqual(['thank-you-note', 'referral-exchange', 'referral-exchange', 'referral-exchange', 'referral-exchange']);
  });

  it('wait for revisitAfter like every nurture touch after the thank-you', () => {
    const { touches } = run(person({}, { revisitAfter: '2027-09-01T00:00:00.000Z' }), '2028-01-01');
    expect(touches[0]?.kind).toBe('thank-you-note');
    // The floor is the instant 2027-09-01T00:00Z; the owner's tasks (Denver) may start on its local date, Aug 31.
    const denver = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Denver' });
    for (const t of touches.slice(1)) expect(denver.format(new Date(t.at)) >= '2027-08-31').toBe(true);
    expect(tasksOf(touches, 'courtesy-call')[0]?.rule).toContain('not before 2027-09-01 (the rep asked to come back then)');
  });

  it('count for their own kind: the e-mail cadence keeps its place, and a replay records nothing twice', () => {
    let s = person();
    s = { ...s, nextTouch: planner.planNext(s, { now: new Date(LOST) }) };
    const before = run(s, '2027-01-06').state;
    const call = before.nextTouch as PlannedTouch;
    expect(call).toMatchObject({ kind: 'courtesy-call', recurring: true });
    const decided = recordTouch(before, call, { kind: 'task-assigned', title: 'call' }, new Date(call.at), planner);
    if (!decided) throw new Error('not recorded');
    expect(decided.state.history.cadenceStep).toBe(before.history.cadenceStep);
    expect(decided.state.history.recurring).toEqual({ 'courtesy-call': { n: 1, lastAt: call.at } });
    expect(decided.state.history.tasksAssigned).toBe(before.history.tasksAssigned + 1);
    expect(decided.state.nextTouch?.kind).toBe('value-email');
    expect(recordTouch(decided.state, call, { kind: 'task-assigned', title: 'call' }, new Date(call.at), planner)).toBeUndefined();
  });

  it('an imported old loss: the rhythms count from the yes, not from the loss years ago', () => {
    const yes = '2026-11-20T10:00:00.000Z';
    const old = person(
      { history: { emailsSent: 0, tasksAssigned: 1, sentContent: [], cadenceStep: 1, lastTouchAt: '2026-11-10T16:00:00.000Z', lastHumanSignalAt: yes } },
      { lostAt: '2024-03-01T10:00:00.000Z', permissionAskOnly: false },
    );
    const first = tasksOf(run(old, '2027-06-01').touches, 'courtesy-call')[0];
    expect(first?.rule).toContain('6 weeks after they opted in');
    expect(Date.parse(first?.at ?? '') - Date.parse(yes)).toBeGreaterThanOrEqual(42 * DAY);
  });

  it('a thinking-of-you note comes drafted with a piece the contact has not had, which is then not e-mailed to them again', () => {
    const lostDeal = config.cadence.tracks.find((t) => t.id === 'lost-deal');
    if (!lostDeal) throw new Error('lost-deal');
    const withNote = { ...config, cadence: { ...config.cadence, tracks: config.cadence.tracks.map((t) => (t.id === 'lost-deal' ? { ...t, humanTouches: [{ kind: 'thinking-of-you' as const, first: '10 weeks', every: '3 months' }] } : t)) } };
    const p = createCadencePlanner(withNote);
    const { touches, state } = run(person({ contact: { timezone: 'Europe/Berlin', country: 'DE', interests: ['pricing'] } }), '2027-03-01', p);
    const note = touches.find((t) => t.kind === 'thinking-of-you');
    expect(note).toMatchObject({ channel: 'task', recurring: true, topic: expect.any(String), contentId: expect.any(String) });
    const emailed = touches.filter((t) => t.channel === 'email').map((t) => t.contentId);
    expect(emailed).not.toContain(note?.contentId);
    expect(state.history.sentContent).toContain(note?.contentId);
    const item = config.content.items.find((i) => i.id === note?.contentId);
    if (!item || !note) throw new Error('no content');
    const task = describeTask(state, note, { name: 'Jordan', email: 'jordan@seller.example', timezone: 'America/Denver' }, new Date(note.at), undefined, item);
    expect(task.talkingPoints[0]).toBe(`A draft to adapt and send from your own mailbox: "I came across ${item.title} and thought of you: ${item.url}"`);
  });

  it("tell the rep what to do, with no personal data in the task", () => {
    const s = person({ contact: { timezone: 'Europe/Berlin', country: 'DE', postalAddress: ADDRESS, name: 'Dana Example' } });
    const owner = { name: 'Jordan', email: 'jordan@seller.example', timezone: 'America/Denver' };
    const requal = { touchId: 't.1', at: '2027-02-24T17:36:00.000Z', channel: 'task', kind: 'requalification', status: 'planned', rule: 'r', recurring: true } as const;
    const task = describeTask(s, requal, owner, new Date(requal.at));
    expect(task.title).toBe('Requalification call');
    expect(task.why).toContain('no future (retire it), future opportunity (keep cultivating) or next step (take it back now)');
    expect(task.outcomes).toEqual(['no-future', 'future-opportunity', 'next-step']);
    const note = describeTask(s, { ...requal, kind: 'handwritten-note' }, owner, new Date(requal.at));
    expect(note.title).toBe('Handwritten note');
    expect(note.talkingPoints).toContain('The postal address is on the contact in your CRM.');
    expect(JSON.stringify(note)).not.toMatch(/Hauptstraße|Berlin|Dana/);
  });
});

// ---------------------------------------------------------------------------------------------
// Property: over random zones, countries, owners, losses and consent, the rhythms keep their
// spacing and never disturb the e-mails' weekday and minute.

const ZONES = ['America/New_York', 'America/Los_Angeles', 'Europe/London', 'Europe/Berlin', 'Asia/Kolkata', 'Asia/Tokyo', 'Australia/Sydney', 'Pacific/Auckland', 'Asia/Riyadh'];
const OWNER_ZONE: Record<string, string> = { 'sam@seller.example': 'America/New_York', 'riley@seller.example': 'America/Chicago', 'jordan@seller.example': 'America/Denver' };

function localDay(instant: string, tz: string): { day: number; weekday: string; minute: number; ym: number } {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' })
      .formatToParts(new Date(instant))
      .map((x) => [x.type, x.value]),
  );
  const y = Number(p.year);
  const m = Number(p.month);
  return { day: Date.UTC(y, m - 1, Number(p.day)) / DAY, weekday: String(p.weekday), minute: Number(p.hour) * 60 + Number(p.minute), ym: y * 12 + m - 1 };
}

/** Months (whole calendar months, day clamped) or days a rhythm's duration stands for, at least. */
function atLeast(d: string): { months: number; days: number } {
  const x = parseDuration(d);
  if (!x) throw new Error(d);
  return x.unit === 'month' ? { months: x.amount, days: 0 } : { months: 0, days: x.amount * (x.unit === 'week' ? 7 : 1) };
}

describe('human touches: simulated over random contacts', () => {
  it('every rhythm keeps its spacing, and the e-mails keep their weekday, minute and 7/14/28-day steps', () => {
    const scenario = fc.record({
      tz: fc.constantFrom(...ZONES),
      country: fc.option(fc.constantFrom('DE', 'US', 'GB', 'SA', 'JP', 'IN'), { nil: undefined }),
      owner: fc.constantFrom(...Object.keys(OWNER_ZONE)),
      lostAt: fc.integer({ min: Date.parse('2025-06-01T00:00:00Z'), max: Date.parse('2029-06-30T00:00:00Z') }),
      reason: fc.constantFrom('timing', 'budget', 'competitor', 'unresponsive'),
      consent: fc.constantFrom('granted', 'granted', 'unknown'),
      postal: fc.boolean(),
    });
    fc.assert(
      fc.property(scenario, (s) => {
        const lostAt = new Date(s.lostAt).toISOString();
        const start = person(
          {
            id: `rel_h_${s.lostAt}`,
            owner: s.owner,
            contact: { timezone: s.tz, ...(s.country && { country: s.country }), ...(s.postal && { postalAddress: ADDRESS }) },
            consent: { email: s.consent as 'granted' | 'unknown', basis: 'opt-in', at: lostAt },
          },
          { lostReason: s.reason as 'timing', lostAt },
        );
        const until = new Date(s.lostAt + 730 * DAY).toISOString();
        const { touches } = run(start, until);
        const ownerTz = OWNER_ZONE[s.owner] as string;
        const track = config.cadence.tracks.find((t) => t.id === (s.reason === 'unresponsive' ? 'lost-no-weekly' : 'lost-deal'));
        const rhythms = new Map<string, HumanTouchConfig>((track?.humanTouches ?? []).map((h) => [h.kind, h]));

        // E-mails: one weekday and minute, 7 days apart for eight, then 14, then 28.
        const emails = touches.filter((t) => t.channel === 'email').map((t) => localDay(t.at, s.tz));
        // Only the contact's calendar may move an e-mail (a holiday on its Tuesday: a week later),
        // never a task: a task due within the gap before an e-mail waits for it.
        const emailTouches = touches.filter((t) => t.channel === 'email');
        for (const e of emailTouches) for (const code of e.pushedBy ?? []) expect(['weekend', 'holiday', 'company-holiday']).toContain(code);
        for (let i = 1; i < emails.length; i++) {
          const a = emails[i - 1] as ReturnType<typeof localDay>;
          const b = emails[i] as ReturnType<typeof localDay>;
          expect(b.weekday).toBe(a.weekday);
          expect(b.minute).toBe(a.minute);
          const step = i < 8 ? 7 : i === 8 ? 14 : 28;
          if (emailTouches[i]?.pushedBy) expect((b.day - a.day - step) % 7).toBe(0);
          else expect(b.day - a.day).toBe(step);
        }

        // Rhythms: only the track's kinds; postal ones and lunches only with an address; the first not before
        // `first` after the loss; each next not before `every` after the one before.
        const lost = localDay(lostAt, ownerTz);
        for (const [kind, rhythm] of rhythms) {
          const done = touches.filter((t) => t.kind === kind).map((t) => localDay(t.at, ownerTz));
          // A note goes by post, a lunch to their city: neither without an address on record.
          if ((kind === 'handwritten-note' || kind === 'lunch') && !s.postal) {
            expect(done).toEqual([]);
            continue;
          }
          expect(done.length).toBeGreaterThan(0);
          const first = atLeast(rhythm.first);
          const f = done[0] as ReturnType<typeof localDay>;
          expect(f.ym - lost.ym >= first.months && f.day - lost.day >= first.days).toBe(true);
          const every = atLeast(rhythm.every ?? '0 days');
          for (let i = 1; i < done.length; i++) {
            const a = done[i - 1] as ReturnType<typeof localDay>;
            const b = done[i] as ReturnType<typeof localDay>;
            expect(b.ym - a.ym).toBeGreaterThanOrEqual(every.months);
            expect(b.day - a.day).toBeGreaterThanOrEqual(Math.max(every.days, every.months * 28));
          }
          // And they go on to the end of the two years (no quiet sunset for people).
          expect(Date.parse(until) - Date.parse(touches.filter((t) => t.kind === kind).at(-1)?.at ?? '')).toBeLessThan((every.months * 31 + every.days + 14) * DAY);
        }
        for (const t of touches) if (t.recurring) expect(rhythms.has(t.kind)).toBe(true);
      }),
      { numRuns: 120 },
    );
  }, 120_000);
});
