/** The profile of a relationship for its metric facts, from its state item. Pure. */
import { type TrackSubject, trackSubjectOf } from '../cadence.ts';
import type { RelationshipState } from '../types.ts';
import { assignHoldout, type Group, type HoldoutSettings } from './holdout.ts';
import type { Profile, Provider } from './types.ts';

/**
 * The state as the metrics read it. Its `holdout` decision (taken once at nurture entry) wins over
 * re-hashing when present, so a later change of percent or salt cannot move anyone.
 */
export type MetricsState = RelationshipState;

const PROVIDERS: Record<string, Provider> = {
  'gmail.com': 'gmail',
  'googlemail.com': 'gmail',
  'outlook.com': 'outlook',
  'hotmail.com': 'outlook',
  'live.com': 'outlook',
  'msn.com': 'outlook',
  'yahoo.com': 'yahoo',
  'ymail.com': 'yahoo',
  'aol.com': 'yahoo',
};

/**
 * The mailbox provider class of an address, from its domain only (consumer domains by name,
 * national variants such as hotmail.de or yahoo.co.uk by their first label). A company domain
 * hosted by Google or Microsoft reads as `other`: telling those apart needs an MX lookup at send
 * time (docs/metrics.md). Only the class leaves this function, never the address.
 */
export function providerOf(email: string | undefined): Provider {
  if (!email) return 'unknown';
  const domain = email.slice(email.lastIndexOf('@') + 1).trim().toLowerCase();
  const exact = PROVIDERS[domain];
  if (exact) return exact;
  const first = domain.split('.')[0] ?? '';
  if (['hotmail', 'outlook', 'live'].includes(first)) return 'outlook';
  if (['yahoo', 'ymail'].includes(first)) return 'yahoo';
  if (first === 'gmail' || first === 'googlemail') return 'gmail';
  return 'other';
}

export function groupOf(state: Pick<MetricsState, 'id' | 'accountId' | 'holdout'>, holdout: HoldoutSettings): Group {
  // No account: the person is their own unit, so they still get a stable group.
  return state.holdout?.group ?? assignHoldout(state.accountId ?? state.id, holdout);
}

/**
 * The contact's fields a track's `when` may ask for, as the planner reads them (trackSubjectOf).
 * Neither the lost reason nor the entering event: the one fact that reads them, a lost deal's
 * `nurture.entered`, takes both from its own timeline entry (a loss is a lost-deal entry whatever
 * episode the state holds by now).
 */
function trackConditionsOf(state: MetricsState): Omit<TrackSubject, 'lostReason' | 'entry'> {
  const { lostReason: _reason, entry: _entry, ...rest } = trackSubjectOf(state) ?? {};
  return rest;
}

export function profileOf(state: MetricsState, holdout: HoldoutSettings): Profile {
  const sent = state.history?.sentContent ?? [];
  return {
    relationshipId: state.id,
    ...(state.accountId && { accountId: state.accountId }),
    group: groupOf(state, holdout),
    owner: state.owner ?? 'unassigned',
    role: state.contact?.role ?? 'unknown',
    horizon: state.contact?.horizon ?? 'unknown',
    provider: providerOf(state.contact?.email),
    // The episode the metrics follow starts with a loss (`nurture.entered`, from lead-closed-lost
    // only, as the rebuild reads it): a referral episode is none, and outcomes after a referral
    // count as the referral's (`referredAt`).
    ...(state.nurture && state.nurture.entry !== 'referral' && { episode: { lostAt: state.nurture.lostAt, reason: state.nurture.lostReason ?? 'other' } }),
    ...(state.nurture && { trackSubject: trackConditionsOf(state) }),
    ...(state.referredAt && { referredAt: state.referredAt }),
    ...(sent.length > 0 && { lastContentId: sent[sent.length - 1] }),
  };
}
