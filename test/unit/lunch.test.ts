/**
 * Lunches (issue #4): two or three of one owner's people in one city who are not competitors, at
 * one table. The pure choice of guests, the planner's lunch (only with a city), the host's task, and
 * the sparse lunch-index keys the state item carries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { CadenceFileSchema } from '#config/schema';
import { cityOf, createCadencePlanner } from '#domain/cadence';
import { describeTask } from '#domain/email';
import { competitors, groupUntil, LUNCH_DEFAULTS, lunchSeatOf, lunchSettings, pickGuests, type LunchSeat, type LunchSettings } from '#domain/lunch';
import { lunchKeys, stateItem } from '#adapters/dynamo-store';
import type { PlannedTouch, RelationshipState } from '#domain/types';

const config = loadConfig('config');
const planner = createCadencePlanner(config);
const LOST = '2026-11-24T11:00:00.000Z';
const HOST_AT = '2027-03-24T15:00:00.000Z';
const settings: LunchSettings = { groupWithin: '6 weeks', maxGuests: 2, competitorTags: ['logistics', 'retail-banking'] };

const seat = (id: string, at: string, over: Partial<LunchSeat> = {}): LunchSeat => ({ id, at, tags: [], ...over });
const host = seat('rel_host', HOST_AT, { accountId: 'acct-h', tags: ['logistics'] });

describe('pickGuests', () => {
  it('seats the earliest due first, overdue ones too, and nobody due after the host plus groupWithin', () => {
    const guests = pickGuests(
      host,
      [seat('rel_late', '2027-05-06T15:00:01.000Z'), seat('rel_soon', '2027-04-20T09:00:00.000Z'), seat('rel_overdue', '2027-02-01T09:00:00.000Z')],
      settings,
    );
    expect(groupUntil(host, settings)).toBe('2027-05-05T15:00:00.000Z');
    expect(guests.map((g) => g.id)).toEqual(['rel_overdue', 'rel_soon']);
  });

  it('never the host, never one of the same account, never one sharing a competitor tag; others fill in', () => {
    const guests = pickGuests(
      host,
      [
        seat('rel_host', '2027-03-01T00:00:00.000Z'),
        seat('rel_same_acct', '2027-03-02T00:00:00.000Z', { accountId: 'acct-h' }),
        seat('rel_rival', '2027-03-03T00:00:00.000Z', { tags: ['logistics', 'vip'] }),
        seat('rel_ok', '2027-03-04T00:00:00.000Z', { accountId: 'acct-1', tags: ['vip'] }),
      ],
      settings,
    );
    expect(guests.map((g) => g.id)).toEqual(['rel_ok']);
  });

  it('guests are not competitors of each other either, and a tag not listed keeps nobody apart', () => {
    const guests = pickGuests(
      host,
      [
        seat('rel_a', '2027-03-01T00:00:00.000Z', { accountId: 'acct-1', tags: ['retail-banking', 'vip'] }),
        seat('rel_b', '2027-03-02T00:00:00.000Z', { accountId: 'acct-2', tags: ['retail-banking'] }),
        seat('rel_c', '2027-03-03T00:00:00.000Z', { accountId: 'acct-1' }),
        seat('rel_d', '2027-03-04T00:00:00.000Z', { accountId: 'acct-3', tags: ['vip'] }),
      ],
      settings,
    );
    expect(guests.map((g) => g.id)).toEqual(['rel_a', 'rel_d']);
  });

  it('at most maxGuests', () => {
    const many = ['1', '2', '3', '4'].map((n) => seat(`rel_${n}`, `2027-03-0${n}T00:00:00.000Z`));
    expect(pickGuests(host, many, { ...settings, maxGuests: 1 }).map((g) => g.id)).toEqual(['rel_1']);
    expect(pickGuests(host, many, settings)).toHaveLength(2);
  });

  it('competitors: the same account, or a shared listed tag', () => {
    expect(competitors({ tags: [] }, { tags: [] }, settings)).toBe(false);
    expect(competitors({ accountId: 'a', tags: [] }, { accountId: 'a', tags: [] }, settings)).toBe(true);
    expect(competitors({ tags: ['vip'] }, { tags: ['vip'] }, settings)).toBe(false);
    expect(competitors({ tags: ['logistics'] }, { tags: ['logistics'] }, settings)).toBe(true);
  });
});

describe('pickGuests over random tables', () => {
  const TAGS = ['logistics', 'retail-banking', 'vip', 'dach'];
  const arbSeat = (id: string) =>
    fc.record({
      at: fc.integer({ min: Date.parse('2027-01-01T00:00:00Z'), max: Date.parse('2027-07-01T00:00:00Z') }).map((n) => new Date(n).toISOString()),
      accountId: fc.option(fc.constantFrom('a1', 'a2', 'a3', 'a4'), { nil: undefined }),
      tags: fc.subarray(TAGS),
    }).map((r): LunchSeat => ({ id, at: r.at, tags: r.tags, ...(r.accountId !== undefined && { accountId: r.accountId }) }));
  const arbTable = fc.tuple(
    arbSeat('rel_host'),
    fc.integer({ min: 0, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbSeat(`rel_${i}`)))),
    fc.record({ groupWithin: fc.constantFrom('2 weeks', '6 weeks', '2 months'), maxGuests: fc.integer({ min: 1, max: 2 }), competitorTags: fc.subarray(TAGS) }),
  );

  it('never the same account or a shared competitor tag among all at the table, never more than maxGuests, the same guests in any order', () => {
    fc.assert(
      fc.property(arbTable, fc.integer(), ([h, candidates, s], seed) => {
        const guests = pickGuests(h, candidates, s);
        expect(guests.length).toBeLessThanOrEqual(s.maxGuests);
        const table = [h, ...guests];
        for (let i = 0; i < table.length; i++) {
          for (let j = i + 1; j < table.length; j++) {
            const a = table[i] as LunchSeat;
            const b = table[j] as LunchSeat;
            expect(a.id).not.toBe(b.id);
            if (a.accountId !== undefined) expect(a.accountId).not.toBe(b.accountId);
            for (const tag of s.competitorTags) expect(a.tags.includes(tag) && b.tags.includes(tag)).toBe(false);
          }
        }
        for (const g of guests) expect(Date.parse(g.at)).toBeLessThanOrEqual(Date.parse(groupUntil(h, s)));
        // Deterministic: a shuffle of the candidates seats the same guests.
        const shuffled = [...candidates].sort((a, b) => ((a.id.length * 31 + seed) % 7) - ((b.id.length * 17 + seed) % 5) || (seed % 2 === 0 ? 1 : -1) * (a.id < b.id ? -1 : 1));
        expect(pickGuests(h, shuffled, s)).toEqual(guests);
        // Greedy: a candidate left out while there was room was a competitor of someone seated, or due too late.
        if (guests.length < s.maxGuests) {
          for (const c of candidates) {
            if (c.id === h.id || guests.some((g) => g.id === c.id)) continue;
            const excluded = Date.parse(c.at) > Date.parse(groupUntil(h, s)) || table.some((t) => competitors(t, c, s));
            expect(excluded).toBe(true);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

const BERLIN = { lines: ['Hauptstraße 1'], city: 'Berlin', country: 'DE' };

function person(over: Partial<RelationshipState> = {}): RelationshipState {
  return {
    id: 'rel_00000000-0000-4000-8000-0000000000l1',
    version: 1,
    createdAt: LOST,
    updatedAt: LOST,
    stage: 'nurturing',
    nurture: { lostReason: 'timing', lostAt: LOST },
    owner: 'Jordan@Seller.example',
    contact: { timezone: 'Europe/Berlin', country: 'DE' },
    fieldTimes: {},
    crmIds: ['hubspot:1:101'],
    consent: { email: 'unknown', at: LOST },
    suppressions: [],
    applied: [],
    planVersion: 1,
    nextTouch: null,
    history: { emailsSent: 0, tasksAssigned: 1, sentContent: [], cadenceStep: 2, lastTouchAt: '2026-12-01T16:00:00.000Z' },
    ...over,
  };
}

const lunchTouch: PlannedTouch = { touchId: 'rel_x.4', at: HOST_AT, channel: 'task', kind: 'lunch', status: 'planned', rule: 'lost-deal: lunch', recurring: true };

describe('the planner plans a lunch only with a city on record', () => {
  /** Every rhythm's touch, recorded as done, until the first lunch or `until`. */
  const firstLunch = (s: RelationshipState) => {
    let state = s;
    for (let i = 0; i < 40; i++) {
      const t = planner.planNext(state, { now: new Date(state.history.lastTouchAt ?? LOST) });
      if (!t || t.at > '2027-12-01') return undefined;
      if (t.kind === 'lunch') return t;
      const rec = state.history.recurring ?? {};
      state = { ...state, history: { ...state.history, lastTouchAt: t.at, ...(t.recurring ? { recurring: { ...rec, [t.kind]: { n: (rec[t.kind]?.n ?? 0) + 1, lastAt: t.at } } } : { cadenceStep: state.history.cadenceStep + 1 }) } };
    }
    return undefined;
  };

  it('four months after the loss for the shipped lost-deal track, and never without a city', () => {
    const lunch = firstLunch(person({ contact: { timezone: 'Europe/Berlin', country: 'DE', postalAddress: BERLIN } }));
    expect(lunch?.rule).toMatch(/^lost-deal: lunch in their city 1 \(4 months after the loss, then every 6 months\)/);
    expect(lunch?.at.slice(0, 7)).toBe('2027-03');
    expect(firstLunch(person())).toBeUndefined();
    expect(firstLunch(person({ contact: { timezone: 'Europe/Berlin', country: 'DE', postalAddress: { ...BERLIN, city: '  ' } } }))).toBeUndefined();
  });

  it('a move to another city is a plan input (it replans); a new street in the same city is not', () => {
    const inputs = (a: typeof BERLIN | undefined) => planner.planInputs?.(person({ contact: { timezone: 'Europe/Berlin', ...(a && { postalAddress: a }) } }))?.city;
    expect(inputs(undefined)).toBe('none');
    expect(inputs(BERLIN)).toBe('DE/berlin');
    expect(inputs({ ...BERLIN, lines: ['Unter den Linden 5'] })).toBe('DE/berlin');
    expect(inputs({ ...BERLIN, city: 'Zürich', country: 'ch' })).toBe('CH/zurich');
    expect(cityOf({ postalAddress: { lines: [], city: '東京', country: 'JP' } })?.slug).toBe('東京');
  });
});

describe("the host's task", () => {
  const owner = { name: 'Jordan', email: 'jordan@seller.example', timezone: 'Europe/Berlin' };
  const host = person({ contact: { timezone: 'Europe/Berlin', postalAddress: BERLIN, name: 'Dana Example' } });

  it('names the guests by CRM ids, nothing else about them, and not the city either (the task rides the bus)', () => {
    const guests = [
      { relationshipId: 'rel_g1', crmIds: ['hubspot:1:201'] },
      { relationshipId: 'rel_g2', crmIds: [] },
    ];
    const task = describeTask(host, lunchTouch, owner, new Date(HOST_AT), { guests });
    expect(task.title).toBe('Lunch in their city with 3 of your people');
    expect(task.talkingPoints[0]).toBe('At the table with them: hubspot:1:201 (rel_g1); rel_g2. Their own lunches are recorded as joining this one; invite them too.');
    expect(task.talkingPoints.length).toBeLessThanOrEqual(10);
    expect(JSON.stringify(task)).not.toMatch(/Hauptstraße|Dana/);
    expect(task.title).not.toContain('Berlin');
    expect(task.talkingPoints.join(' ')).not.toContain('Berlin');
  });

  it('alone, it is the plain lunch task', () => {
    const task = describeTask(host, lunchTouch, owner, new Date(HOST_AT), { guests: [] });
    expect(task.title).toBe('Lunch in their city');
    expect(task.talkingPoints.join(' ')).not.toContain('At the table');
  });
});

describe('the state item carries the sparse lunch-index keys', () => {
  const withLunch = person({ accountId: 'acct-9', contact: { timezone: 'Europe/Berlin', postalAddress: BERLIN, tags: ['Retail Banking', 'VIP', 'vip'] }, nextTouch: lunchTouch });

  it('while the next touch is a lunch of a person with an owner and a city', () => {
    const item = stateItem(withLunch);
    expect(item.lunchPk).toMatch(/^LUNCH#[A-Za-z0-9_-]{22}#DE#berlin$/);
    expect(item.lunchPk).not.toContain('jordan');
    expect(item).toMatchObject({ lunchSk: `${HOST_AT}#${withLunch.id}`, lunchAcct: 'acct-9', lunchTags: ['retail-banking', 'vip'] });
    // The owner as the CRM wrote it or in lower case: one table.
    expect(lunchKeys({ ...withLunch, owner: 'jordan@seller.example' }).lunchPk).toBe(item.lunchPk);
    expect(lunchKeys({ ...withLunch, contact: { ...withLunch.contact, postalAddress: { ...BERLIN, city: 'Hamburg' } } }).lunchPk).not.toBe(item.lunchPk);
    expect(lunchSeatOf(withLunch)).toEqual({ id: withLunch.id, at: HOST_AT, accountId: 'acct-9', tags: ['retail-banking', 'vip'] });
  });

  it('removed when the next touch is something else, or the owner or the city is missing', () => {
    const none = (s: RelationshipState) => {
      const item = stateItem(s);
      for (const k of ['lunchPk', 'lunchSk', 'lunchAcct', 'lunchTags']) expect(item).not.toHaveProperty(k);
    };
    none({ ...withLunch, nextTouch: { ...lunchTouch, kind: 'courtesy-call' } });
    none({ ...withLunch, nextTouch: null });
    none({ ...withLunch, owner: undefined });
    none({ ...withLunch, contact: { timezone: 'Europe/Berlin' } });
  });
});

describe('lunches settings', () => {
  it('defaults when cadence.yaml has no lunches block; the shipped file says the same', () => {
    const { lunches: _shipped, ...rest } = config.cadence;
    expect(lunchSettings({ cadence: rest })).toEqual(LUNCH_DEFAULTS);
    expect(lunchSettings(config)).toEqual(LUNCH_DEFAULTS);
    expect(CadenceFileSchema.shape.lunches.parse({})).toEqual(LUNCH_DEFAULTS);
  });
});
