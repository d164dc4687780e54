/** Consent and suppression rules (DESIGN.md §1, §3): pure functions over the relationship state. */
import type { ConsentRecord, InboundEvent } from '#catalog/events';
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
 * Consent is decided from a short, time-ordered log of consent facts, folded in time order, so the
 * decision is the same whatever order deliveries arrive in. The log is bounded: what falls off the
 * front is kept as a snapshot, and a fact older than the snapshot can no longer be placed (older).
 */
export type ConsentFact =
  | { at: string; kind: 'record'; record: ConsentRecord }
  | { at: string; kind: 'stop-all-email' | 'do-not-contact'; source?: string }
  | { at: string; kind: 'snapshot'; consent?: ConsentState; sticky: Suppression[]; optInAt?: string };
type ConsentState = ConsentRecord & { at: string };

const MAX_FACTS = 16;

interface Folded {
  consent?: ConsentState;
  sticky: Suppression[];
  /** Index of facts that were blocked (a grant against a sticky suppression). */
  blocked: Set<number>;
  /** Index of the fact that last set the consent record. */
  lastSetter: number;
  /** The latest explicit opt-in folded (it lifts stops older than it). */
  optInAt?: string;
}

export function foldConsent(facts: readonly ConsentFact[]): Folded {
  let consent: ConsentState | undefined;
  let sticky: Suppression[] = [];
  const blocked = new Set<number>();
  let lastSetter = -1;
  let optInAt: string | undefined;
  facts.forEach((f, i) => {
    switch (f.kind) {
      case 'snapshot':
        consent = f.consent;
        sticky = [...f.sticky];
        optInAt = f.optInAt;
        lastSetter = i;
        break;
      case 'record':
        if (isExplicitOptIn(f.record) && (optInAt === undefined || f.at > optInAt)) optInAt = f.at;
        if (f.record.email === 'granted' && sticky.length > 0) {
          // Only an explicit opt-in captured strictly after a stop lifts it.
          const remaining = isExplicitOptIn(f.record) ? sticky.filter((x) => x.at >= f.at) : sticky;
          if (remaining.length > 0) {
            blocked.add(i);
            return;
          }
          sticky = [];
        }
        consent = { ...f.record, at: f.at };
        lastSetter = i;
        break;
      default: {
        const scope = f.kind === 'stop-all-email' ? 'all-email' : 'do-not-contact';
        if (!sticky.some((x) => x.scope === scope)) sticky.push({ scope, at: f.at });
        const source = f.source ?? consent?.source;
        consent = { ...(consent ?? {}), email: 'denied', basis: 'withdrawn', ...(source && { source }), at: f.at };
        lastSetter = i;
      }
    }
  });
  return { ...(consent && { consent }), sticky, blocked, lastSetter, ...(optInAt && { optInAt }) };
}

/** When the latest explicit opt-in on record was captured, if any. */
export function latestOptIn(state: RelationshipState): string | undefined {
  return foldConsent(factsOf(state)).optInAt;
}

function factsOf(state: RelationshipState): ConsentFact[] {
  if (state.consentFacts) return state.consentFacts;
  // A state from before the log (or built by hand): what it holds is the starting snapshot.
  const sticky = state.suppressions.filter((x) => STICKY.includes(x.scope));
  if (!state.consent && sticky.length === 0) return [];
  const times = [state.consent?.at, ...sticky.map((x) => x.at)].filter((t): t is string => t !== undefined).sort();
  return [{ at: times[times.length - 1] as string, kind: 'snapshot', ...(state.consent && { consent: state.consent }), sticky }];
}

/** Adds one consent fact and re-derives the consent record and the sticky suppressions. */
export function addConsentFact(state: RelationshipState, fact: Exclude<ConsentFact, { kind: 'snapshot' }>): { state: RelationshipState; outcome: ConsentOutcome } {
  let facts = factsOf(state);
  const snapshot = facts[0]?.kind === 'snapshot' ? facts[0] : undefined;
  if (snapshot && fact.at < snapshot.at) {
    // Older than what the log still holds. A record that old cannot win; a stop that old still
    // stands unless an explicit opt-in newer than it is on record (stops are never lost to age).
    if (fact.kind === 'record') return { state, outcome: 'older' };
    const lifted = foldConsent(facts).optInAt;
    if (lifted !== undefined && lifted > fact.at) return { state, outcome: 'older' };
    const scope = fact.kind === 'stop-all-email' ? 'all-email' : 'do-not-contact';
    const sticky = snapshot.sticky.some((x) => x.scope === scope) ? snapshot.sticky : [...snapshot.sticky, { scope, at: fact.at } as Suppression];
    const consent: ConsentState = { ...(snapshot.consent ?? {}), email: 'denied', basis: 'withdrawn', at: snapshot.consent?.at ?? fact.at };
    facts = [{ ...snapshot, sticky, consent }, ...facts.slice(1)];
    const folded = foldConsent(facts);
    const next: RelationshipState = { ...state, consentFacts: facts, suppressions: [...state.suppressions.filter((x) => !STICKY.includes(x.scope)), ...folded.sticky] };
    if (folded.consent) next.consent = folded.consent;
    return { state: next, outcome: 'applied' };
  }

  // Stable insert after facts of the same instant: ties keep arrival order.
  let idx = facts.length;
  while (idx > 0 && (facts[idx - 1] as ConsentFact).at > fact.at) idx--;
  facts = [...facts.slice(0, idx), fact, ...facts.slice(idx)];
  let folded = foldConsent(facts);
  const outcome: ConsentOutcome = folded.blocked.has(idx) ? 'blocked-by-suppression' : fact.kind === 'record' && folded.lastSetter !== idx && folded.consent?.at !== fact.at ? 'older' : 'applied';
  if (facts.length > MAX_FACTS) {
    const cut = facts.length - MAX_FACTS + 1;
    const head = foldConsent(facts.slice(0, cut));
    const last = facts[cut - 1] as ConsentFact;
    facts = [{ at: last.at, kind: 'snapshot', ...(head.consent && { consent: head.consent }), sticky: head.sticky, ...(head.optInAt && { optInAt: head.optInAt }) }, ...facts.slice(cut)];
    folded = foldConsent(facts);
  }
  // An explicit opt-in also lifts the topic stops it postdates: the person asked for the mail again.
  const optIn = fact.kind === 'record' && outcome === 'applied' && isExplicitOptIn(fact.record);
  const others = state.suppressions.filter((x) => !STICKY.includes(x.scope) && !(optIn && x.scope === 'topic' && x.at < fact.at));
  const next: RelationshipState = { ...state, consentFacts: facts, suppressions: [...others, ...folded.sticky] };
  if (folded.consent) next.consent = folded.consent;
  else delete next.consent;
  return { state: next, outcome };
}

/** A consent record observed at `at` (captured then, or earlier if it says so). */
export function applyConsentRecord(
  state: RelationshipState,
  record: ConsentRecord,
  at: string,
): { state: RelationshipState; outcome: ConsentOutcome } {
  const t = record.capturedAt && record.capturedAt < at ? record.capturedAt : at;
  return addConsentFact(state, { at: t, kind: 'record', record });
}

/** A suppression learned by keyed hash (an unsubscribe click, a bounce, an earlier erasure). */
export interface HashedSuppression {
  scope: string;
  topic?: string;
  at?: string;
}

/**
 * The sender's last look at the keyed-hash suppressions, which can arrive before the bus brings
 * them to the relationship. An explicit opt-in newer than an unsubscribe (all e-mail or a topic)
 * lifts it; bounces, complaints, do-not-contact and erasure stand. Returns what blocks this e-mail
 * (empty: send) and how to bring the suppressions onto the state.
 */
export function hashedSuppressionsAtSend(
  state: RelationshipState,
  onRecord: readonly HashedSuppression[],
  topic: string | undefined,
  now: Date,
): { blocking: string[]; bringOn: (s: RelationshipState) => RelationshipState } {
  const optIn = latestOptIn(state);
  const lifted = (s: HashedSuppression) => (s.scope === 'all-email' || s.scope === 'topic') && optIn !== undefined && s.at !== undefined && s.at < optIn;
  const blocking = onRecord
    .filter((s) => !lifted(s))
    .filter((s) => ['all-email', 'do-not-contact', 'hard-bounce', 'complaint', 'erased'].includes(s.scope) || (s.scope === 'topic' && s.topic === topic))
    .map((s) => (s.scope === 'topic' ? `topic:${s.topic}` : s.scope));
  const bringOn = (st: RelationshipState): RelationshipState => {
    let x = st;
    for (const s of onRecord) {
      if (s.scope === 'erased' || lifted(s)) continue;
      const at = s.at ?? now.toISOString();
      if (s.scope === 'all-email' || s.scope === 'do-not-contact') x = addConsentFact(x, { at, kind: s.scope === 'all-email' ? 'stop-all-email' : 'do-not-contact' }).state;
      else x = { ...x, suppressions: addSuppression(x.suppressions, { scope: s.scope as SuppressionScope, ...(s.topic && { topic: s.topic }), at }) };
    }
    return x;
  };
  return { blocking, bringOn };
}

/**
 * Someone erased is not re-added by the next CRM sync; only their own explicit opt-in, captured
 * after the erasure, brings them back.
 */
export function optsBackInAfterErasure(event: InboundEvent, erasedAt: string): boolean {
  return (
    event.type === 'consent-changed' &&
    event.data.action === 'grant-email' &&
    event.data.consent !== undefined &&
    isExplicitOptIn(event.data.consent) &&
    (event.data.consent.capturedAt ?? event.occurredAt) > erasedAt
  );
}
