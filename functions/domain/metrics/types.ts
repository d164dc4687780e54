/** The vocabulary of the metrics core: profiles, facts, guards and aggregate deltas. Pure. */
import type { TrackSubject } from '../cadence.ts';
import type { Group } from './holdout.ts';

export type Provider = 'gmail' | 'outlook' | 'yahoo' | 'other' | 'unknown';

/** What a fact needs to know about its relationship (ids, classes and config names only: no personal data). */
export interface Profile {
  relationshipId: string;
  accountId?: string;
  group: Group;
  /** The owner's id as the config knows it (the rep's work address), or `unassigned`. */
  owner: string;
  role: string;
  horizon: string;
  provider: Provider;
  /** The current nurture episode: it starts with the loss. */
  episode?: { lostAt: string; reason: string };
  /** When a referral for this person first arrived: their deals after it are the referral's. */
  referredAt?: string;
  /** What a track's `when` may ask besides the lost reason (cadence.yaml): which track an entry counts under. */
  trackSubject?: Omit<TrackSubject, 'lostReason'>;
  /** The last content item e-mailed (for "missed me" per content series). */
  lastContentId?: string;
}

/** The task a `touch-completed` completes, from its `task-assigned` entry. */
export interface TaskInfo {
  dueAt: string;
  kind: string;
}

/** A key in the table: aggregates, markers and guards all live in the single table. */
export interface ItemKey {
  pk: string;
  sk: string;
}

/**
 * Guards make a fact count once per episode, or only while something is (not) on record. The
 * keys are items in the table, written in the same transaction as the counts, so live updates
 * and the rebuild apply the same rule.
 */
export interface Guard {
  /** Count only if this key is not on record yet, and record it. */
  once?: ItemKey;
  /** Count only if this key is on record (or recorded earlier in the same run). */
  requires?: ItemKey;
  /** Count only if this key is not on record. */
  unless?: ItemKey;
}

export type Dims = Readonly<Record<string, string>>;

/** One survival input: a subject entering its cohort, re-engaging, or leaving observation. */
export interface SurvivalInput {
  /** The episode start (the loss): cohort month and entry date come from it. */
  lostAt: string;
  group: Group;
  event: 'entered' | 'event' | 'censored';
  /** Whole days since lostAt (events and censoring). */
  day?: number;
}

export interface Fact {
  metric: string;
  at: string;
  dims: Dims;
  /** Money (deal amounts), summed alongside the count. */
  amount?: number;
  /** A level, not a flow: +1/-1 on the current-state gauge (e.g. relationships by stage). */
  gauge?: 1 | -1;
  /** Days from the loss to re-engagement: feeds the fixed-bucket histogram. */
  days?: number;
  survival?: SurvivalInput;
  guard?: Guard;
  /**
   * false: the group is a dimension of its own but not crossed with the others. For touches: the
   * holdout gets none, so every `group+<dim>` would repeat `<dim>` at two write units a counter;
   * `group` alone still shows a holdout touch if one ever happened.
   */
  crossGroup?: false;
  /**
   * What the auto-pause counts (cadence.yaml `autoPause`): an e-mail sent, an unsubscribe or a
   * complaint, and the content item it is about (the e-mail's own, or the last one e-mailed). The
   * stream adds the track and counts it next to the aggregates; the rebuild does not (docs/metrics.md).
   */
  rate?: { counter: 'sent' | 'unsubscribed' | 'complained'; contentId: string };
}

/** An aggregate update: numbers added to attributes of one item. */
export interface Delta {
  key: ItemKey;
  add: Record<string, number>;
}
