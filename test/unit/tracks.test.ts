/**
 * Which track a relationship in nurture takes (issue #4): the first track, in file order, whose
 * `when` holds for how it entered nurture (a lost deal or a referral), the lost reason and the
 * contact's role, horizon, country and tags; and the check that a track can never match because
 * earlier tracks take everyone it would.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lostReasons } from '../../functions/catalog/events.ts';
import { semanticChecks } from '../../functions/config/checks.ts';
import { loadConfig } from '../../functions/config/load.ts';
import { TrackWhenSchema, type CultivateConfig, type TrackConfig, type TrackWhen } from '../../functions/config/schema.ts';
import { controlFor, tagSlug, trackFor, trackMatches, trackSubjectOf, type TrackSubject } from '../../functions/domain/cadence.ts';

const shipped = loadConfig('config');
const base: TrackConfig = { id: 'x', skipWeeks: 0, stopEmailAfterQuiet: '6 months' };
const withTracks = (tracks: { id: string; when?: TrackWhen }[]): CultivateConfig => ({
  ...shipped,
  cadence: { ...shipped.cadence, tracks: tracks.map((t) => ({ ...base, ...t })) },
});

// Small pools, so random tracks and subjects overlap often.
const ROLES = ['champion', 'evaluator', 'customer'] as const;
const HORIZONS = ['reason', 'season', 'lifetime'] as const;
const COUNTRIES = ['DE', 'FR'] as const;
const TAGS = ['enterprise', 'partner'] as const;
// Tracks list few lost reasons, so earlier tracks often cover a later one only together.
const REASONS = ['timing', 'budget', 'bad-fit'] as const;
const ENTRIES = ['lost-deal', 'referral'] as const;

const list = <T extends string>(values: readonly T[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: values.length });
// The schema refuses a track that takes referrals and lists lost reasons (a referral has none), so
// no valid config has one: `validWhen` leaves them out, as the schema does.
const validWhen = (w: TrackWhen) => TrackWhenSchema.safeParse(w).success;
const anyWhen = fc
  .record({ entries: list(ENTRIES), lostReasons: list(REASONS), roles: list(ROLES), horizons: list(HORIZONS), countries: list(COUNTRIES), tags: list(TAGS) }, { requiredKeys: [] })
  .filter((w) => Object.keys(w).length > 0 && validWhen(w));
// Mostly lost reasons alone or with one more key: then earlier tracks cover later ones, alone or
// together. Referral tracks with and without more conditions, so referrals are shadowed too.
const when: fc.Arbitrary<TrackWhen | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ lostReasons: list(REASONS) }) },
  { weight: 2, arbitrary: fc.record({ lostReasons: list(REASONS), roles: list(ROLES) }) },
  { weight: 1, arbitrary: fc.record({ tags: list(TAGS) }) },
  { weight: 2, arbitrary: fc.record({ entries: list(ENTRIES) }) },
  { weight: 1, arbitrary: fc.record({ entries: list(ENTRIES), roles: list(ROLES) }) },
  { weight: 3, arbitrary: anyWhen },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const tracksArb = fc.array(when, { minLength: 1, maxLength: 7 }).map((ws) => ws.map((w, i) => ({ id: `t${i}`, ...(w && { when: w }) })));
const contactArb = fc.record(
  { role: fc.constantFrom(...ROLES), horizon: fc.constantFrom(...HORIZONS), country: fc.constantFrom(...COUNTRIES), tags: fc.subarray([...TAGS, 'other']) },
  { requiredKeys: [] },
);
// A lost deal (its entry left out, or named) has a lost reason; a referral has none.
const subjectArb: fc.Arbitrary<TrackSubject> = fc.oneof(
  fc.tuple(fc.constantFrom(...lostReasons), fc.boolean(), contactArb).map(([lostReason, named, c]) => ({ ...(named && { entry: 'lost-deal' as const }), lostReason, ...c })),
  contactArb.map((c) => ({ entry: 'referral' as const, ...c })),
);

/** The rule in words, written apart from the implementation: every listed condition holds. */
function holds(w: TrackWhen | undefined, s: TrackSubject): boolean {
  // Tracks that do not say take lost deals only (a subject that does not say is a lost deal).
  if (!(w?.entries ?? ['lost-deal']).some((e) => e === (s.entry ?? 'lost-deal'))) return false;
  if (w === undefined) return true;
  if (w.lostReasons && !w.lostReasons.some((r) => r === s.lostReason)) return false;
  if (w.roles && (s.role === undefined || !(w.roles as string[]).includes(s.role))) return false;
  if (w.horizons && (s.horizon === undefined || !(w.horizons as string[]).includes(s.horizon))) return false;
  if (w.countries && (s.country === undefined || !w.countries.includes(s.country))) return false;
  if (w.tags && !(s.tags ?? []).some((t) => w.tags?.includes(t))) return false;
  return true;
}

/**
 * Every subject the pools allow: a lost deal with each lost reason, or a referral (no lost reason);
 * role, horizon, country each absent or one value; any set of tags.
 */
function everySubject(): TrackSubject[] {
  const out: TrackSubject[] = [];
  const tagSets = [[], ['enterprise'], ['partner'], ['enterprise', 'partner']];
  const entering: TrackSubject[] = [...lostReasons.map((lostReason) => ({ lostReason })), { entry: 'referral' }];
  for (const e of entering)
    for (const role of [undefined, ...ROLES])
      for (const horizon of [undefined, ...HORIZONS])
        for (const country of [undefined, ...COUNTRIES])
          for (const tags of tagSets) out.push({ ...e, ...(role && { role }), ...(horizon && { horizon }), ...(country && { country }), ...(tags.length > 0 && { tags }) });
  return out;
}

describe('trackFor', () => {
  it('chooses the first track whose conditions all hold; undefined when none does and there is no catch-all', () => {
    fc.assert(
      fc.property(tracksArb, subjectArb, (tracks, subject) => {
        const chosen = trackFor(withTracks(tracks), subject);
        const expected = tracks.find((t) => holds(t.when, subject));
        expect(chosen?.id).toBe(expected?.id);
        // A track without `when` catches every lost deal, never a referral.
        if (expected === undefined && subject.entry !== 'referral') {
          expect(tracks.every((t) => t.when !== undefined)).toBe(true);
          expect(chosen).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });

  it('chooses by the entering event: a track without `entries` takes lost deals only, one that lists them exactly those', () => {
    const referral: TrackSubject = { entry: 'referral', role: 'champion' };
    expect(trackMatches({}, referral)).toBe(false);
    expect(trackMatches({ when: { roles: ['champion'] } }, referral)).toBe(false);
    expect(trackMatches({ when: { entries: ['referral'] } }, referral)).toBe(true);
    expect(trackMatches({ when: { entries: ['referral'], roles: ['champion'] } }, referral)).toBe(true);
    expect(trackMatches({ when: { entries: ['referral'], roles: ['customer'] } }, referral)).toBe(false);
    expect(trackMatches({ when: { entries: ['lost-deal', 'referral'] } }, referral)).toBe(true);
    // A referral has no lost reason, so a track that asks for one never takes it.
    expect(trackMatches({ when: { lostReasons: ['timing'] } }, referral)).toBe(false);
    // A lost deal: with or without its entry named, the same.
    for (const lost of [{ lostReason: 'timing' }, { entry: 'lost-deal', lostReason: 'timing' }] as TrackSubject[]) {
      expect(trackMatches({}, lost)).toBe(true);
      expect(trackMatches({ when: { entries: ['referral'] } }, lost)).toBe(false);
      expect(trackMatches({ when: { entries: ['lost-deal'] } }, lost)).toBe(true);
      expect(trackMatches({ when: { entries: ['lost-deal', 'referral'], lostReasons: ['timing'] } }, lost)).toBe(true);
    }
  });

  it('the schema refuses a track for referrals that lists lost reasons, and an unknown entering event', () => {
    const refused = TrackWhenSchema.safeParse({ entries: ['referral'], lostReasons: ['unresponsive'] });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['lostReasons', 'a referral has no lost reason, so a track that lists lostReasons takes no referral: give referrals a track of their own, without lostReasons'],
    ]);
    expect(TrackWhenSchema.safeParse({ entries: ['lost-deal'], lostReasons: ['unresponsive'] }).success).toBe(true);
    expect(TrackWhenSchema.safeParse({ entries: ['referal'] }).error?.issues.map((i) => i.message)).toEqual(['must be an entering event: lost-deal, referral']);
  });

  it('keeps the shipped playbook: lost-deal and lost-no-weekly by lost reason, whatever else the contact has', () => {
    for (const lostReason of lostReasons) {
      const expected = lostReason === 'unresponsive' || lostReason === 'bad-fit' ? 'lost-no-weekly' : 'lost-deal';
      expect(trackFor(shipped, { lostReason })?.id).toBe(expected);
      expect(trackFor(shipped, { lostReason, role: 'champion', horizon: 'season', country: 'DE', tags: ['enterprise'] })?.id).toBe(expected);
      // The CRM tag `referral` once stood in for a referral; now it is a tag like any other.
      expect(trackFor(shipped, { lostReason, tags: ['referral'] })?.id).toBe(expected);
    }
  });

  it('sends every referral to referral-unreachable in the shipped playbook, whatever the contact\'s role', () => {
    expect(trackFor(shipped, { entry: 'referral' })?.id).toBe('referral-unreachable');
    for (const role of ['referral-partner', 'customer', 'past-customer', 'champion'])
      expect(trackFor(shipped, { entry: 'referral', role, tags: ['enterprise'] })?.id).toBe('referral-unreachable');
    expect(trackFor(shipped, { lostReason: 'unresponsive', role: 'referral-partner' })?.id).toBe('referral-partners');
  });

  it('a role track before lost-deal takes champions with that horizon only; a contact without a role or horizon falls through', () => {
    const config = withTracks([{ id: 'champions', when: { roles: ['champion'], horizons: ['reason'] } }, ...shipped.cadence.tracks]);
    expect(trackFor(config, { lostReason: 'timing', role: 'champion', horizon: 'reason' })?.id).toBe('champions');
    // Not restricted by lost reason: an unresponsive champion takes it too.
    expect(trackFor(config, { lostReason: 'unresponsive', role: 'champion', horizon: 'reason' })?.id).toBe('champions');
    expect(trackFor(config, { lostReason: 'timing', role: 'champion' })?.id).toBe('lost-deal');
    expect(trackFor(config, { lostReason: 'timing', horizon: 'reason' })?.id).toBe('lost-deal');
    expect(trackFor(config, { lostReason: 'timing', role: 'evaluator', horizon: 'reason' })?.id).toBe('lost-deal');
  });

  it('tags match when the contact has any listed tag, in any case (CRM tags are free text); no tags match nothing', () => {
    const track = { when: { tags: ['enterprise', 'strategic'] } };
    expect(trackMatches(track, { lostReason: 'timing', tags: ['smb', 'Strategic'] })).toBe(true);
    expect(trackMatches(track, { lostReason: 'timing', tags: ['smb'] })).toBe(false);
    expect(trackMatches(track, { lostReason: 'timing' })).toBe(false);
    expect(trackMatches({}, { lostReason: 'timing' })).toBe(true);
  });

  it('trackSubjectOf reads the lost reason from nurture and the rest from the contact; no nurture, no track', () => {
    const nurture = { lostReason: 'timing' as const, lostAt: '2026-11-24T11:00:00.000Z' };
    expect(trackSubjectOf({ nurture, contact: { role: 'champion', horizon: 'season', country: 'DE', tags: ['a'], timezone: 'Europe/Berlin' } })).toEqual({
      lostReason: 'timing',
      role: 'champion',
      horizon: 'season',
      country: 'DE',
      tags: ['a'],
    });
    expect(trackSubjectOf({ nurture, contact: {} })).toEqual({ lostReason: 'timing' });
    expect(trackSubjectOf({ contact: { role: 'champion' } })).toBeUndefined();
    // A referral episode: its entering event, and no lost reason.
    const referral = { entry: 'referral' as const, lostAt: '2026-11-24T11:00:00.000Z' };
    expect(trackSubjectOf({ nurture: referral, contact: { role: 'champion' } })).toEqual({ entry: 'referral', role: 'champion' });
    expect(controlFor(shipped, { nurture: referral, contact: {} }).trackId).toBe('referral-unreachable');
    // Kill switches follow the same choice.
    const config = withTracks([{ id: 'champions', when: { roles: ['champion'] } }, ...shipped.cadence.tracks]);
    expect(controlFor(config, { nurture, contact: { role: 'champion' } }).trackId).toBe('champions');
    expect(controlFor(config, { nurture, contact: {} }).trackId).toBe('lost-deal');
  });
});

describe('config check: a track that can never match', () => {
  const neverMatching = (tracks: { id: string; when?: TrackWhen }[]) =>
    semanticChecks({ cadence: { tracks }, content: undefined, owners: undefined })
      .filter((p) => p.message.includes('can never match'))
      .map((p) => p.path[1]);

  it('reports exactly the tracks no contact ever reaches (all contacts over small pools of values)', () => {
    const subjects = everySubject();
    fc.assert(
      fc.property(tracksArb, (tracks) => {
        const config = withTracks(tracks);
        const reached = new Set(subjects.map((s) => trackFor(config, s)?.id));
        const unreachable = tracks.map((t, i) => (reached.has(t.id) ? undefined : i)).filter((i) => i !== undefined);
        expect(neverMatching(tracks)).toEqual(unreachable);
      }),
      { numRuns: 1000 },
    );
  });

  it('names the one earlier track that takes everyone, or the several that do together', () => {
    const problems = semanticChecks({
      cadence: {
        tracks: [
          { id: 'timing', when: { lostReasons: ['timing'] } },
          { id: 'budget', when: { lostReasons: ['budget'] } },
          { id: 'both-champions', when: { lostReasons: ['timing', 'budget'], roles: ['champion'] } },
          { id: 'de', when: { countries: ['DE'] } },
          { id: 'de-enterprise', when: { countries: ['DE'], tags: ['enterprise'] } },
          { id: 'everyone' },
          { id: 'late', when: { roles: ['customer'] } },
          // Tracks that take referrals: the catch-all above takes none of them.
          { id: 'referred-customers', when: { entries: ['referral'], roles: ['customer'] } },
          { id: 'referrals', when: { entries: ['referral'] } },
          { id: 'referred-champions', when: { entries: ['referral'], roles: ['champion'] } },
          { id: 'late-both', when: { entries: ['lost-deal', 'referral'], roles: ['evaluator'] } },
        ],
      },
      content: undefined,
      owners: undefined,
    });
    expect(problems.map((p) => [p.path.join('.'), p.atKey, p.message.split(' (')[0]])).toEqual([
      ['tracks.2.when', true, 'track "both-champions" can never match: tracks "timing", "budget" before it take everyone it would'],
      ['tracks.4.when', true, 'track "de-enterprise" can never match: track "de" before it takes everyone it would'],
      ['tracks.6.when', true, 'track "late" can never match: track "everyone" before it takes everyone it would'],
      ['tracks.9.when', true, 'track "referred-champions" can never match: track "referrals" before it takes everyone it would'],
      ['tracks.10.when', true, 'track "late-both" can never match: tracks "timing", "budget", "everyone", "referrals" before it take everyone it would'],
    ]);
  });
});

describe('CRM tags against track tags', () => {
  it('compares them as slugs: case, spaces, underscores and accents do not keep a tag from matching', () => {
    expect(['Key Account', 'key_account', '  KEY-ACCOUNT ', 'Über Uns', 'a--b', 'Q3/2026'].map(tagSlug)).toEqual(['key-account', 'key-account', 'key-account', 'uber-uns', 'a-b', 'q3-2026']);
    const track = { when: { tags: ['key-account'] } } as Pick<TrackConfig, 'when'>;
    expect(trackMatches(track, { lostReason: 'timing', tags: ['Key Account'] })).toBe(true);
    expect(trackMatches(track, { lostReason: 'timing', tags: ['Key Accounts'] })).toBe(false);
  });

  it('a slug is its own slug, so track tags (slugs) compare unchanged (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (raw) => {
        const slug = tagSlug(raw);
        expect(tagSlug(slug)).toBe(slug);
        expect(slug).toMatch(/^([a-z0-9]+(-[a-z0-9]+)*)?$/);
      }),
    );
  });
});
