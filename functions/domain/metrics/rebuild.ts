/**
 * Every aggregate recomputed from the relationship items and their timelines (pure, given the
 * items). It applies the same facts, guards and deltas as the live stream: each timeline entry is
 * read with the profile the live path saw (the final state's dimensions, the nurture episode and
 * last content as of that entry), and the stage gauge from the final state.
 */
import { deltasOf, keyString, mergeDeltas } from './deltas.ts';
import { factsOf, type FactContext, type Image } from './facts.ts';
import { GuardLedger } from './guards.ts';
import { profileOf, type MetricsState } from './profile.ts';
import type { Delta, Fact, ItemKey, Profile, TaskInfo } from './types.ts';

export interface RelationshipItems {
  state: MetricsState;
  /** Timeline items as stored (`sk` = TL#<at>#<eventId>, `e` = the entry), any order. */
  timeline: readonly Image[];
}

export type RebuildContext = Omit<FactContext, 'at' | 'profile' | 'task'>;

export interface Rebuilt {
  deltas: Delta[];
  guards: ItemKey[];
  relationships: number;
  entries: number;
}

/** The facts of one relationship, oldest entry first, then its stage. */
export function relationshipFacts(items: RelationshipItems, ctx: RebuildContext): Fact[] {
  const state = items.state;
  const base: Profile = { ...profileOf(state, ctx.holdout) };
  delete base.episode;
  delete base.lastContentId;
  let episode: Profile['episode'];
  let lastContentId: string | undefined;
  const tasks = new Map<string, TaskInfo>();
  const facts: Fact[] = [];
  const sorted = [...items.timeline].sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : String(a.sk) > String(b.sk) ? 1 : 0));
  for (const image of sorted) {
    const e = image.e as { at: string; type: string; superseded?: boolean; detail?: Record<string, unknown> };
    // The state saved before this entry already held the new episode (timeline after the save).
    // A loss that resumed a paused episode (`detail.resumed`) keeps its start, as the live stream does.
    if (e.type === 'lead-closed-lost' && !e.superseded) {
      episode = (e.detail?.resumed === true || e.detail?.corrected === true) && episode ? { ...episode, reason: String(e.detail?.reason ?? episode.reason) } : { lostAt: e.at, reason: String(e.detail?.reason ?? 'other') };
    }
    if (e.type === 'email-sent' && typeof e.detail?.contentId === 'string') lastContentId = e.detail.contentId;
    const task = e.type === 'touch-completed' ? tasks.get(String(e.detail?.touchId)) : undefined;
    const profile: Profile = { ...base, ...(episode && { episode }), ...(lastContentId && { lastContentId }) };
    facts.push(...factsOf(undefined, image, { ...ctx, at: e.at, profile, ...(task && { task }) }));
    if (e.type === 'task-assigned' && typeof e.detail?.touchId === 'string') {
      tasks.set(e.detail.touchId, { dueAt: String(e.detail.dueAt ?? e.at), kind: String(e.detail.kind ?? 'unknown') });
    }
  }
  facts.push(...factsOf(undefined, { pk: `REL#${state.id}`, sk: 'STATE', s: state, v: state.version }, { ...ctx, at: state.updatedAt }));
  return facts;
}

export async function rebuildAggregates(source: AsyncIterable<RelationshipItems> | Iterable<RelationshipItems>, ctx: RebuildContext): Promise<Rebuilt> {
  const ledger = new GuardLedger();
  const deltas: Delta[] = [];
  // An account's first entry is the earliest across its people, whatever order the scan yields them in.
  const firstAccountEntry = new Map<string, Fact>();
  let relationships = 0;
  let entries = 0;
  for await (const items of source) {
    relationships++;
    entries += items.timeline.length;
    for (const fact of relationshipFacts(items, ctx)) {
      const account = fact.metric === 'nurture.accounts-entered' ? fact.guard?.once : undefined;
      if (account) {
        const cur = firstAccountEntry.get(keyString(account));
        if (!cur || fact.at < cur.at) firstAccountEntry.set(keyString(account), fact);
        continue;
      }
      if (ledger.admit(fact)) deltas.push(...deltasOf(fact));
    }
  }
  for (const fact of firstAccountEntry.values()) if (ledger.admit(fact)) deltas.push(...deltasOf(fact));
  return { deltas: mergeDeltas(deltas), guards: ledger.recorded, relationships, entries };
}
