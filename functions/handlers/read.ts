/** The read side: a relationship as a rep or an integrator sees it. */
import type { RelationshipState, TimelineEntry } from '#domain/types';
import type { KeyedHasher, RelationshipStore } from '#ports/ports';

export interface ReadDeps {
  store: RelationshipStore;
  hasher: () => Promise<KeyedHasher>;
}

export interface RelationshipView {
  id: string;
  stage: RelationshipState['stage'];
  /** How the nurture episode began: a lost deal or a referral (null when never in nurture). */
  entry: 'lost-deal' | 'referral' | null;
  /** The lost deal's reason (null for a referral episode, or when never in nurture). */
  lostReason: string | null;
  accountId: string | null;
  owner: string | null;
  consent: (NonNullable<RelationshipState['consent']> & { suppressions: RelationshipState['suppressions'] }) | { email: 'unknown'; suppressions: RelationshipState['suppressions'] };
  nextTouch: { at: string; channel: string; kind: string; status: string; rule: string } | null;
  /** Each touch sent, assigned, skipped or lost, and the one planned, with the rule that decided it. */
  decisions: TouchDecision[];
  timeline: TimelineEntry[];
}

export interface TouchDecision {
  at: string;
  touchId: string;
  kind: string;
  channel: string;
  outcome: 'planned' | 'queued' | 'sending' | 'sent' | 'task-assigned' | 'joined' | 'skipped' | 'unknown' | 'pushed' | 'dry-run' | 'escalated' | 'replanned';
  rule: string;
  note?: string;
}

const OUTCOME_OF: Record<string, TouchDecision['outcome']> = {
  'email-sent': 'sent',
  'task-assigned': 'task-assigned',
  // A lunch guest: their lunch is the host's task (functions/handlers/send.ts, lunches).
  'touch-joined': 'joined',
  'touch-skipped': 'skipped',
  'touch-unknown': 'unknown',
  'touch-pushed': 'pushed',
  'touch-dry-run': 'dry-run',
  'task-escalated': 'escalated',
  // A published rules version moved, added or removed the planned touch (functions/domain/replan.ts).
  'touch-replanned': 'replanned',
};

export function decisionsOf(state: RelationshipState, timeline: readonly TimelineEntry[]): TouchDecision[] {
  const done = timeline.flatMap((e): TouchDecision[] => {
    const outcome = OUTCOME_OF[e.type];
    const d = e.detail;
    if (!outcome || !d || typeof d.touchId !== 'string') return [];
    return [
      {
        at: e.at,
        touchId: d.touchId,
        kind: String(d.kind ?? ''),
        channel: String(d.channel ?? (e.type === 'email-sent' ? 'email' : 'task')),
        outcome,
        rule: String(d.rule ?? '(recorded before rules were kept)'),
        ...(outcome !== 'sent' && outcome !== 'task-assigned' ? { note: e.summary } : {}),
      },
    ];
  });
  const t = state.nextTouch;
  return t ? [...done, { at: t.at, touchId: t.touchId, kind: t.kind, channel: t.channel, outcome: t.status, rule: t.rule }] : done;
}

export function viewOf(state: RelationshipState, timeline: TimelineEntry[]): RelationshipView {
  const t = state.nextTouch;
  return {
    id: state.id,
    stage: state.stage,
    entry: state.nurture ? (state.nurture.entry ?? 'lost-deal') : null,
    lostReason: state.nurture?.lostReason ?? null,
    accountId: state.accountId ?? null,
    owner: state.owner ?? null,
    consent: { ...(state.consent ?? { email: 'unknown' as const }), suppressions: state.suppressions },
    nextTouch: t ? { at: t.at, channel: t.channel, kind: t.kind, status: t.status, rule: t.rule } : null,
    decisions: decisionsOf(state, timeline),
    timeline,
  };
}

export async function readRelationship(deps: ReadDeps, id: string): Promise<RelationshipView | undefined> {
  const state = await deps.store.get(id);
  if (!state) return undefined;
  return viewOf(state, await deps.store.timeline(id));
}

export async function findRelationshipByEmail(deps: ReadDeps, email: string): Promise<RelationshipView | undefined> {
  const hasher = await deps.hasher();
  const id = await deps.store.resolve({ emailHash: hasher.emailHash(email), crmIds: [] });
  return id ? readRelationship(deps, id) : undefined;
}
