/**
 * Auto-pause (cadence.yaml `autoPause`, functions/domain/auto-pause.ts): the judge, in examples and
 * as properties (never below `minEmails`, monotone in the rate), the baseline of a resume, the
 * schema, and how the pause set reaches the planner (content picked last) and the sender's
 * controls (a track held, an e-mail's content flagged).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, readConfigSources, ConfigError } from '#config/load';
import type { CultivateConfig } from '#config/schema';
import { RulesSource } from '#config/rules-source';
import { loadSendingConfig } from '#config/sending';
import {
  type AutoPauseSettings,
  baselineKey,
  formatPercent,
  judge,
  pauseKey,
  pauseSetKey,
  pauseSetOf,
  rateDelta,
  sinceResume,
  sumCounters,
  withPauses,
} from '#domain/auto-pause';
import { controlFor, createCadencePlanner } from '#domain/cadence';
import { pickContent } from '#domain/content';
import { newRelationship } from '#domain/relationship';
import type { RelationshipState } from '#domain/types';

const settings: AutoPauseSettings = { minEmails: 200, unsubscribePercent: 1, complaintPercent: 0.1 };
const shipped = loadConfig('config');

describe('judge', () => {
  it('pauses at the threshold, in words with the numbers', () => {
    expect(judge({ sent: 240, unsubscribed: 5, complained: 0 }, settings, '2026-12-01T09:00:00.000Z')).toEqual({
      pause: true,
      crossed: ['unsubscribed'],
      reason: '2.1% unsubscribed (5 of 240 e-mails since 2026-12-01; threshold 1%)',
    });
    // Exactly at the threshold pauses: 2 of 200 is 1 %.
    expect(judge({ sent: 200, unsubscribed: 2, complained: 0 }, settings).pause).toBe(true);
    expect(judge({ sent: 201, unsubscribed: 2, complained: 0 }, settings).pause).toBe(false);
    // 1 complaint in 1,000 is 0.1 %; both crossed say so both.
    expect(judge({ sent: 1000, unsubscribed: 10, complained: 1 }, settings)).toEqual({
      pause: true,
      crossed: ['unsubscribed', 'complained'],
      reason: '1% unsubscribed (10 of 1000 e-mails; threshold 1%); 0.1% complained (1 of 1000 e-mails; threshold 0.1%)',
    });
  });

  it('never judges before minEmails, however high the rate', () => {
    expect(judge({ sent: 199, unsubscribed: 199, complained: 199 }, settings)).toEqual({ pause: false });
    expect(judge({ sent: 0, unsubscribed: 3, complained: 0 }, { ...settings, minEmails: 1 })).toEqual({ pause: false });
  });

  it('formats percentages in few digits', () => {
    expect([formatPercent(2.0833), formatPercent(0.10001), formatPercent(0.2), formatPercent(12.5), formatPercent(1)]).toEqual(['2.1', '0.1', '0.2', '13', '1']);
  });

  const counts = fc.record({ sent: fc.integer({ min: 0, max: 100_000 }), unsubscribed: fc.integer({ min: 0, max: 5_000 }), complained: fc.integer({ min: 0, max: 500 }) });
  const anySettings = fc.record({
    minEmails: fc.integer({ min: 1, max: 5_000 }),
    unsubscribePercent: fc.double({ min: 0.01, max: 100, noNaN: true }),
    complaintPercent: fc.double({ min: 0.001, max: 100, noNaN: true }),
  });

  it('property: never pauses below minEmails', () => {
    fc.assert(
      fc.property(counts, anySettings, (c, s) => {
        fc.pre(c.sent < s.minEmails);
        expect(judge(c, s).pause).toBe(false);
      }),
    );
  });

  it('property: monotone in the rate (more unsubscribes or complaints over the same e-mails never un-pause)', () => {
    fc.assert(
      fc.property(counts, anySettings, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (c, s, moreU, moreC) => {
        const worse = { ...c, unsubscribed: c.unsubscribed + moreU, complained: c.complained + moreC };
        if (judge(c, s).pause) expect(judge(worse, s).pause).toBe(true);
      }),
    );
  });

  it('property: pauses exactly when past minEmails and a rate reaches its threshold', () => {
    fc.assert(
      fc.property(counts, anySettings, (c, s) => {
        const rateU = c.sent > 0 ? (100 * c.unsubscribed) / c.sent : 0;
        const rateC = c.sent > 0 ? (100 * c.complained) / c.sent : 0;
        const clear = (r: number, t: number) => Math.abs(r - t) > 1e-9 * Math.max(1, t);
        // Away from the thresholds (float rounding), the judge agrees with the rule as written.
        fc.pre(clear(rateU, s.unsubscribePercent) && clear(rateC, s.complaintPercent));
        const expected = c.sent >= s.minEmails && c.sent > 0 && (rateU >= s.unsubscribePercent || rateC >= s.complaintPercent);
        expect(judge(c, s).pause).toBe(expected);
      }),
    );
  });
});

describe('counters and baselines', () => {
  it('sums counters and measures from the resume, never below zero', () => {
    const total = sumCounters([{ sent: 150, unsubscribed: 2 }, { sent: 90, unsubscribed: 3, complained: 1 }]);
    expect(total).toEqual({ sent: 240, unsubscribed: 5, complained: 1 });
    expect(sinceResume(total)).toEqual(total);
    expect(sinceResume(total, { sent: 200, unsubscribed: 5, complained: 0 })).toEqual({ sent: 40, unsubscribed: 0, complained: 1 });
    expect(sinceResume(total, { sent: 300, unsubscribed: 9, complained: 2 })).toEqual({ sent: 0, unsubscribed: 0, complained: 0 });
    // After a resume at 240/5, 200 more e-mails and 1 more unsubscribe: 0.5 %, no pause.
    const later = sinceResume({ sent: 440, unsubscribed: 6, complained: 0 }, { sent: 240, unsubscribed: 5, complained: 0 });
    expect(judge(later, settings).pause).toBe(false);
  });

  it('keys: one counter item per (track, content), pauses and baselines in one partition', () => {
    expect(rateDelta('lost-deal', 'stale-deal-audit', 'unsubscribed')).toEqual({ key: { pk: 'RATE#lost-deal', sk: 'stale-deal-audit' }, add: { unsubscribed: 1 } });
    expect(pauseKey('content', 'x')).toEqual({ pk: 'PAUSE', sk: 'content#x' });
    expect(baselineKey('track', 'y')).toEqual({ pk: 'PAUSE', sk: 'baseline#track#y' });
  });
});

describe('cadence.yaml autoPause', () => {
  it('the shipped file turns it on; without the key it is off', () => {
    expect(shipped.cadence.autoPause).toEqual({ minEmails: 200, unsubscribePercent: 1, complaintPercent: 0.1 });
    const sources = readConfigSources('config');
    const without = sources.cadence.text.replace(/\nautoPause:\n(?: {2}.*\n)+/, '\n');
    expect(without).not.toMatch(/^autoPause:/m);
    expect(parseConfig({ ...sources, cadence: { ...sources.cadence, text: without } }).cadence.autoPause).toBeUndefined();
  });

  it('refuses a zero threshold, a fraction of an e-mail and unknown keys, at their line', () => {
    const sources = readConfigSources('config');
    const text = sources.cadence.text.replace('minEmails: 200', 'minEmails: 20.5').replace('complaintPercent: 0.1', 'complaintPercent: 0').replace('unsubscribePercent: 1 ', 'unsubscribePercent: 1\n  unsubscribeRate: 2 ');
    let message = '';
    try {
      parseConfig({ ...sources, cadence: { ...sources.cadence, text } });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/cadence\.yaml:\d+:\d+: autoPause\.minEmails/);
    expect(message).toMatch(/cadence\.yaml:\d+:\d+: autoPause\.complaintPercent: must be more than 0/);
    expect(message).toMatch(/unsubscribeRate/);
  });
});

/** Someone on the shipped `lost-deal` track (timing) with e-mail consent, `sent` already e-mailed. */
function person(sent: string[] = []): RelationshipState {
  const base = newRelationship('rel_auto-pause', '2026-11-01T10:00:00.000Z');
  return {
    ...base,
    stage: 'nurturing',
    nurture: { lostReason: 'timing', lostAt: '2026-11-01T10:00:00.000Z' },
    contact: { ...base.contact, email: 'dana@customer.example', timezone: 'Europe/Berlin', country: 'DE' },
    consent: { email: 'granted', basis: 'opt-in', source: 'form', capturedAt: '2026-03-02T10:00:00Z', at: '2026-03-02T10:00:00.000Z' },
    history: { ...base.history, emailsSent: sent.length, sentContent: sent, cadenceStep: 1 + sent.length, ...(sent.length > 0 && { lastEmailAt: '2026-11-10T09:00:00.000Z', lastTouchAt: '2026-11-10T09:00:00.000Z' }) },
  };
}

describe('using the pauses', () => {
  const paused = (content: string[], tracks: string[] = []): CultivateConfig => withPauses(shipped, { content, tracks });

  it('withPauses merges the set (the YAML never holds it) and removes it when empty', () => {
    expect(paused(['stale-deal-audit']).paused).toEqual({ content: ['stale-deal-audit'], tracks: [] });
    expect(withPauses(shipped, { content: [], tracks: [] })).toBe(shipped);
    expect(withPauses(paused(['x']), { content: [], tracks: [] }).paused).toBeUndefined();
    expect(pauseSetOf([{ kind: 'track', id: 'b' }, { kind: 'content', id: 'z' }, { kind: 'content', id: 'a' }])).toEqual({ content: ['a', 'z'], tracks: ['b'] });
  });

  it('pickContent takes paused content last: only when nothing else is left', () => {
    const first = pickContent(shipped.content, person());
    expect(first?.id).toBe('stale-deal-audit');
    expect(pickContent(shipped.content, person(), { paused: ['stale-deal-audit'] })?.id).not.toBe('stale-deal-audit');
    const others = shipped.content.items.map((i) => i.id).filter((id) => id !== 'stale-deal-audit');
    expect(pickContent(shipped.content, person(others), { paused: ['stale-deal-audit'] })?.id).toBe('stale-deal-audit');
  });

  it('the planner plans other content when the next item paused itself', () => {
    const now = { now: new Date('2026-11-12T09:00:00.000Z') };
    const plain = createCadencePlanner(shipped).planNext(person(['exit-criteria-template']), now);
    expect(plain?.channel).toBe('email');
    const next = plain?.contentId as string;
    const replanned = createCadencePlanner(paused([next])).planNext(person(['exit-criteria-template']), now);
    expect(replanned).toMatchObject({ channel: 'email', at: plain?.at });
    expect(replanned?.contentId).not.toBe(next);
  });

  it('controlFor holds a track that paused itself (a switch wins), and flags a planned e-mail whose content paused itself', () => {
    const p = { ...person(), nextTouch: { touchId: 't', at: '2026-11-17T09:00:00.000Z', channel: 'email' as const, kind: 'value-email', contentId: 'stale-deal-audit', status: 'sending' as const, rule: 'lost-deal: weekly' } };
    expect(controlFor(shipped, p)).toEqual({ trackId: 'lost-deal', dryRun: false });
    expect(controlFor(paused([], ['lost-deal']), p)).toEqual({ trackId: 'lost-deal', hold: 'auto-paused', dryRun: false });
    expect(controlFor(paused([], ['lost-no-weekly']), p).hold).toBeUndefined();
    const switched = { ...paused([], ['lost-deal']), controls: { ...shipped.controls, tracks: { 'lost-deal': { paused: true, dryRun: false } } } };
    expect(controlFor(switched, p).hold).toBe('track-paused');
    expect(controlFor(paused(['stale-deal-audit']), p)).toEqual({ trackId: 'lost-deal', contentPaused: 'stale-deal-audit', dryRun: false });
    expect(controlFor(paused(['first-90-days']), p).contentPaused).toBeUndefined();
  });
});

describe('RulesSource and the pause set', () => {
  it('merges what paused itself into the rules in force, and rebuilds the planner only when the set changes', async () => {
    let set = { content: [] as string[], tracks: [] as string[] };
    let reads = 0;
    const source = new RulesSource({
      bundled: () => readConfigSources('config'),
      sending: loadSendingConfig('config'),
      publicBaseUrl: 'https://api.seller.example',
      paused: async () => {
        reads++;
        return set;
      },
    });
    await source.refresh();
    expect(reads).toBe(1);
    expect(source.pipeline.rules.paused).toBeUndefined();
    const before = source.current.pipeline;

    await source.refresh();
    expect(source.current.pipeline).toBe(before);

    set = { content: ['stale-deal-audit'], tracks: ['lost-deal'] };
    await source.refreshPauses();
    expect(source.pipeline.rules.paused).toEqual(set);
    expect(source.current.pipeline).not.toBe(before);
    expect(source.current.version).toBe(0);
    const withSet = source.current.pipeline;
    // The same ids again (a new array): no rebuild.
    set = { content: ['stale-deal-audit'], tracks: ['lost-deal'] };
    await source.refreshPauses();
    expect(source.current.pipeline).toBe(withSet);
    expect(pauseSetKey(set)).toBe(pauseSetKey({ content: ['stale-deal-audit'], tracks: ['lost-deal'] }));
    // The live view's planner follows: the next e-mail is not the paused item.
    const planned = source.pipeline.planner.planNext(person(['exit-criteria-template']), { now: new Date('2026-11-12T09:00:00.000Z') });
    expect(planned?.contentId).toBeDefined();
    expect(planned?.contentId).not.toBe('stale-deal-audit');

    set = { content: [], tracks: [] };
    await source.refreshPauses();
    expect(source.pipeline.rules.paused).toBeUndefined();
  });
});
