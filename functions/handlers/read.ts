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
  lostReason: string | null;
  accountId: string | null;
  owner: string | null;
  consent: (NonNullable<RelationshipState['consent']> & { suppressions: RelationshipState['suppressions'] }) | { email: 'unknown'; suppressions: RelationshipState['suppressions'] };
  nextTouch: { at: string; channel: string; kind: string; status: string } | null;
  timeline: TimelineEntry[];
}

export function viewOf(state: RelationshipState, timeline: TimelineEntry[]): RelationshipView {
  const t = state.nextTouch;
  return {
    id: state.id,
    stage: state.stage,
    lostReason: state.nurture?.lostReason ?? null,
    accountId: state.accountId ?? null,
    owner: state.owner ?? null,
    consent: { ...(state.consent ?? { email: 'unknown' as const }), suppressions: state.suppressions },
    nextTouch: t ? { at: t.at, channel: t.channel, kind: t.kind, status: t.status } : null,
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
