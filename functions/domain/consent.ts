/** Consent and suppression rules (DESIGN.md §1, §3): pure functions over the relationship state. */
import type { ConsentRecord } from '#catalog/events';
import type { RelationshipState, Suppression, SuppressionScope } from './types.ts';

/** Sticky: only an explicit new opt-in lifts these. */
const STICKY: readonly SuppressionScope[] = ['all-email', 'do-not-contact'];
/** Deliverability suppressions: even an opt-in does not make a bouncing address deliverable. */
const BLOCKS_EMAIL: readonly SuppressionScope[] = ['all-email', 'do-not-contact', 'hard-bounce', 'complaint'];
const EXPLICIT_BASES = new Set(['opt-in', 'double-opt-in', 'express']);

export function isExplicitOptIn(record: ConsentRecord): boolean {
  return record.email === 'granted' && record.basis !== undefined && EXPLICIT_BASES.has(record.basis);
}

/** May Cultivate send this person automated e-mail now (topic aside)? */
export function canEmail(state: RelationshipState): boolean {
  return state.consent?.email === 'granted' && !state.suppressions.some((s) => BLOCKS_EMAIL.includes(s.scope));
}

export function topicStopped(state: RelationshipState, topic: string | undefined): boolean {
  return topic !== undefined && state.suppressions.some((s) => s.scope === 'topic' && s.topic === topic);
}

export function hasSuppression(state: Pick<RelationshipState, 'suppressions'>, scope: SuppressionScope): boolean {
  return state.suppressions.some((s) => s.scope === scope);
}

export function addSuppression(list: readonly Suppression[], s: Suppression): Suppression[] {
  const exists = list.some((x) => x.scope === s.scope && x.topic === s.topic);
  return exists ? [...list] : [...list, s];
}

export type ConsentOutcome = 'applied' | 'older' | 'blocked-by-suppression';

/**
 * Apply a consent record observed at `at`. The newest decision wins; a grant does not lift a
 * sticky suppression unless it is an explicit opt-in captured after it.
 */
export function applyConsentRecord(
  state: RelationshipState,
  record: ConsentRecord,
  at: string,
): { state: RelationshipState; outcome: ConsentOutcome } {
  const t = record.capturedAt && record.capturedAt < at ? record.capturedAt : at;
  if (state.consent && t < state.consent.at) return { state, outcome: 'older' };
  let suppressions = state.suppressions;
  if (record.email === 'granted') {
    const sticky = suppressions.filter((s) => STICKY.includes(s.scope));
    if (sticky.length > 0) {
      const lifts = isExplicitOptIn(record) && sticky.every((s) => s.at < t);
      if (!lifts) return { state, outcome: 'blocked-by-suppression' };
      suppressions = suppressions.filter((s) => !STICKY.includes(s.scope) && s.scope !== 'topic');
    }
  }
  return { state: { ...state, consent: { ...record, at: t }, suppressions }, outcome: 'applied' };
}
