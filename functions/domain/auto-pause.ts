/**
 * Content items and tracks that pause themselves (issue #4, cadence.yaml `autoPause`). Pure.
 *
 * The metrics stream counts, per (track, content item), the e-mails sent, the unsubscribes (stop
 * all e-mail, stop this topic) and the spam complaints, lifetime, in the same transaction as the
 * aggregates. When it counts an unsubscribe or a complaint it judges that content item (summed over
 * the tracks) and that track (summed over its items): from `minEmails` e-mails on, a rate at or
 * above its threshold pauses the subject. A resume stores the counters of that moment as the
 * baseline, so the rate after a resume counts only what came after it.
 *
 *   RATE#<trackId>   <contentId>                 sent, unsubscribed, complained (ADD)
 *   PAUSE            content#<id> | track#<id>    what paused itself: when, why, the numbers
 *   PAUSE            baseline#content#<id> | ...  the counters when it was last resumed, and when
 */
import type { AutoPauseConfig, CultivateConfig, PauseSet } from '#config/schema';
import type { Delta, ItemKey } from './metrics/types.ts';

export type AutoPauseSettings = AutoPauseConfig;
export type { PauseSet };

export type RateCounter = 'sent' | 'unsubscribed' | 'complained';

export interface RateCounters {
  sent: number;
  unsubscribed: number;
  complained: number;
}

export const pauseKinds = ['content', 'track'] as const;
export type PauseKind = (typeof pauseKinds)[number];

/** The counters of a subject when it was resumed: what its later rate is measured from. */
export interface Baseline extends RateCounters {
  /** When it was resumed (ISO). */
  since: string;
}

/** A subject that paused itself, as stored and shown (`GET /config/pauses`). */
export interface AutoPause {
  kind: PauseKind;
  id: string;
  /** When it paused itself (ISO). */
  pausedAt: string;
  /** The reason in words, with the numbers. */
  reason: string;
  /** The counts it was judged on (since `since`, or since counting began). */
  counts: RateCounters;
  /** The resume its counts start from, if it was resumed before. */
  since?: string;
  /** What crossed its threshold. */
  crossed: ('unsubscribed' | 'complained')[];
}

export const NO_PAUSES: PauseSet = { content: [], tracks: [] };
export const ZERO: RateCounters = { sent: 0, unsubscribed: 0, complained: 0 };

// ---------------------------------------------------------------------------------------------
// Keys (the single table)

export const RATE_PK_PREFIX = 'RATE#';
export const PAUSE_PK = 'PAUSE';
export const ratePk = (trackId: string) => `${RATE_PK_PREFIX}${trackId}`;
export const rateKey = (trackId: string, contentId: string): ItemKey => ({ pk: ratePk(trackId), sk: contentId });
export const pauseKey = (kind: PauseKind, id: string): ItemKey => ({ pk: PAUSE_PK, sk: `${kind}#${id}` });
export const baselineKey = (kind: PauseKind, id: string): ItemKey => ({ pk: PAUSE_PK, sk: `baseline#${kind}#${id}` });

/** One counted e-mail, unsubscribe or complaint of `contentId` on `trackId`: one ADD on one item. */
export function rateDelta(trackId: string, contentId: string, counter: RateCounter): Delta {
  return { key: rateKey(trackId, contentId), add: { [counter]: 1 } };
}

// ---------------------------------------------------------------------------------------------
// Judging

export function sumCounters(list: Iterable<Partial<RateCounters>>): RateCounters {
  const out = { ...ZERO };
  for (const c of list) {
    out.sent += c.sent ?? 0;
    out.unsubscribed += c.unsubscribed ?? 0;
    out.complained += c.complained ?? 0;
  }
  return out;
}

/** The counts since the last resume (lifetime without one). Never below zero. */
export function sinceResume(total: RateCounters, baseline?: RateCounters): RateCounters {
  if (!baseline) return total;
  return {
    sent: Math.max(0, total.sent - baseline.sent),
    unsubscribed: Math.max(0, total.unsubscribed - baseline.unsubscribed),
    complained: Math.max(0, total.complained - baseline.complained),
  };
}

export type Judgement = { pause: false } | { pause: true; crossed: ('unsubscribed' | 'complained')[]; reason: string };

/** A percentage in few digits: 2.1, 0.21, 12 (never "0.10000001"). */
export function formatPercent(p: number): string {
  const text = p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1) : p.toPrecision(2);
  return String(Number(text));
}

/**
 * Pause when at least `minEmails` e-mails were sent and unsubscribes or complaints per e-mail reach
 * their threshold. Compared as `count * 100 >= percent * sent`, so a rate exactly at the threshold
 * pauses and no division rounds it below.
 */
export function judge(counts: RateCounters, settings: AutoPauseSettings, since?: string): Judgement {
  if (counts.sent < settings.minEmails || counts.sent <= 0) return { pause: false };
  const crossed: ('unsubscribed' | 'complained')[] = [];
  if (counts.unsubscribed * 100 >= settings.unsubscribePercent * counts.sent) crossed.push('unsubscribed');
  if (counts.complained * 100 >= settings.complaintPercent * counts.sent) crossed.push('complained');
  if (crossed.length === 0) return { pause: false };
  const of = `of ${counts.sent} e-mails${since ? ` since ${since.slice(0, 10)}` : ''}`;
  const words = crossed.map((what) => {
    const n = what === 'unsubscribed' ? counts.unsubscribed : counts.complained;
    const threshold = what === 'unsubscribed' ? settings.unsubscribePercent : settings.complaintPercent;
    return `${formatPercent((100 * n) / counts.sent)}% ${what === 'unsubscribed' ? 'unsubscribed' : 'complained'} (${n} ${of}; threshold ${formatPercent(threshold)}%)`;
  });
  return { pause: true, crossed, reason: words.join('; ') };
}

// ---------------------------------------------------------------------------------------------
// Using the pauses

/** The ids that paused themselves, sorted (a stable key: the planner is rebuilt only when it changes). */
export function pauseSetOf(pauses: Iterable<Pick<AutoPause, 'kind' | 'id'>>): PauseSet {
  const content = new Set<string>();
  const tracks = new Set<string>();
  for (const p of pauses) (p.kind === 'content' ? content : tracks).add(p.id);
  return { content: [...content].sort(), tracks: [...tracks].sort() };
}

export const pauseSetKey = (set: PauseSet): string => JSON.stringify([set.content, set.tracks]);

export const isEmptyPauseSet = (set: PauseSet): boolean => set.content.length === 0 && set.tracks.length === 0;

/** The rules with what paused itself merged in (the YAML never says it); the same object when nothing did. */
export function withPauses(config: CultivateConfig, set: PauseSet): CultivateConfig {
  if (isEmptyPauseSet(set)) {
    if (config.paused === undefined) return config;
    const { paused: _none, ...rest } = config;
    return rest;
  }
  return { ...config, paused: { content: [...set.content], tracks: [...set.tracks] } };
}
