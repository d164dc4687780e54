/**
 * Which track a lost deal takes (issue #4): the first track, in file order, whose `when` holds for
 * the lost reason and the contact's role, horizon, country and tags; and the check that a track
 * can never match because earlier tracks take everyone it would.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lostReasons } from '../../functions/catalog/events.ts';
import { semanticChecks } from '../../functions/config/checks.ts';
import { loadConfig } from '../../functions/config/load.ts';
import type { CultivateConfig, TrackConfig, TrackWhen } from '../../functions/config/schema.ts';
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

const list = <T extends string>(values: readonly T[]) => fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: values.length });
const anyWhen = fc
  .record({ lostReasons: list(REASONS), roles: list(ROLES), horizons: list(HORIZONS), countries: list(COUNTRIES), tags: list(TAGS) }, { requiredKeys: [] })
  .filter((w) => Object.keys(w).length > 0);
// Mostly lost reasons alone or with one more key: then earlier tracks cover later ones, alone or together.
const when: fc.Arbitrary<TrackWhen | undefined> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ lostReasons: list(REASONS) }) },
  { weight: 2, arbitrary: fc.record({ lostReasons: list(REASONS), roles: list(ROLES) }) },
  { weight: 1, arbitrary: fc.record({ tags: list(TAGS) }) },
  { weight: 3, arbitrary: anyWhen },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const tracksArb = fc.array(when, { minLength: 1, maxLength: 7 }).map((ws) => ws.map((w, i) => ({ id: `t${i}`, ...(w && { when: w }) })));
const subjectArb: fc.Arbitrary<TrackSubject> = fc.record(
  {
    lostReason: fc.constantFrom(...lostReasons),
    role: fc.constantFrom(...ROLES),
    horizon: fc.constantFrom(...HORIZONS),
    country: fc.constantFrom(...COUNTRIES),
    tags: fc.subarray([...TAGS, 'other']),
  },
  { requiredKeys: ['lostReason'] },
);

/** The rule in words, written apart from the implementation: every listed condition holds. */
function holds(w: TrackWhen | undefined, s: TrackSubject): boolean {
  if (w === undefined) return true;
  if (w.lostReasons && !w.lostReasons.some((r) => r === s.lostReason)) return false;
  if (w.roles && (s.role === undefined || !(w.roles as string[]).includes(s.role))) return false;
  if (w.horizons && (s.horizon === undefined || !(w.horizons as string[]).includes(s.horizon))) return false;
  if (w.countries && (s.country === undefined || !w.countries.includes(s.country))) return false;
  if (w.tags && !(s.tags ?? []).some((t) => w.tags?.includes(t))) return false;
  return true;
}

/** Every subject the pools allow (role, horizon, country each absent or one value; any set of tags). */
function everySubject(): TrackSubject[] {
  const out: TrackSubject[] = [];
  const tagSets = [[], ['enterprise'], ['partner'], ['enterprise', 'partner']];
  for (const lostReason of lostReasons)
    for (const role of [undefined, ...ROLES])
      for (const horizon of [undefined, ...HORIZONS])
        for (const country of [undefined, ...COUNTRIES])
          for (const tags of tagSets) out.push({ lostReason, ...(role && { role }), ...(horizon && { horizon }), ...(country && { country }), ...(tags.length > 0 && { tags }) });
  return out;
}

describe('trackFor', () => {
  it('chooses the first track whose conditions all hold; undefined when none does and there is no catch-all', () => {
    fc.assert(
      fc.property(tracksArb, subjectArb, (tracks, subject) => {
        const chosen = trackFor(withTracks(tracks), subject);
        const expected = tracks.find((t) => holds(t.when, subject));
        expect(chosen?.id).toBe(expected?.id);
        if (expected === undefined) {
          expect(tracks.every((t) => t.when !== undefined)).toBe(true);
          expect(chosen).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps the shipped playbook: lost-deal and lost-no-weekly by lost reason, whatever else the contact has', () => {
    for (const lostReason of lostReasons) {
      const expected = lostReason === 'unresponsive' || lostReason === 'bad-fit' ? 'lost-no-weekly' : 'lost-deal';
      expect(trackFor(shipped, { lostReason })?.id).toBe(expected);
      expect(trackFor(shipped, { lostReason, role: 'champion', horizon: 'season', country: 'DE', tags: ['enterprise'] })?.id).toBe(expected);
    }
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
        ],
      },
      content: undefined,
      owners: undefined,
    });
    expect(problems.map((p) => [p.path.join('.'), p.atKey, p.message.split(' (')[0]])).toEqual([
      ['tracks.2.when', true, 'track "both-champions" can never match: tracks "timing", "budget" before it take everyone it would'],
      ['tracks.4.when', true, 'track "de-enterprise" can never match: track "de" before it takes everyone it would'],
      ['tracks.6.when', true, 'track "late" can never match: track "everyone" before it takes everyone it would'],
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
