/**
 * The one read-decide-write loop of the handlers: decide from the state read (pure domain), write
 * conditionally on its version, and on a conflict read again after a jittered pause. The timeline
 * entries go only after the write succeeded, so none can outlive an erasure that won the race.
 */
import type { RelationshipState, TimelineEntry } from '#domain/types';
import type { RelationshipStore } from '#ports/ports';

export interface Decided {
  state: RelationshipState;
  timeline: readonly TimelineEntry[];
}

const MAX_ATTEMPTS = 20;

/**
 * Returns the saved state, or `undefined` when the decision was to change nothing (or the
 * relationship is gone). Throws after MAX_ATTEMPTS conflicts, so the invocation is retried and
 * then dead-lettered rather than silently dropped.
 */
export async function updateRelationship(
  store: Pick<RelationshipStore, 'save' | 'appendTimeline'>,
  read: () => Promise<RelationshipState | undefined>,
  decide: (state: RelationshipState) => Decided | undefined,
  what: string,
  first?: RelationshipState,
): Promise<RelationshipState | undefined> {
  let state = first ?? (await read());
  for (let attempt = 0; attempt < MAX_ATTEMPTS && state; attempt++) {
    const decision = decide(state);
    if (!decision) return undefined;
    if ((await store.save(decision.state, state.version)) === 'saved') {
      if (decision.timeline.length > 0) await store.appendTimeline(decision.state.id, decision.timeline);
      return decision.state;
    }
    await new Promise((res) => setTimeout(res, Math.random() * 20 * (attempt + 1)));
    state = await read();
  }
  if (state) throw new Error(`could not ${what} after ${MAX_ATTEMPTS} conflicting attempts`);
  return undefined;
}
