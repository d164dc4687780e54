/**
 * Choosing the next piece of content for a person (pure). Never the same item twice to one
 * person; never a topic they stopped. Among what is left, the planner prefers, in order:
 * 0. content that has not paused itself (cadence.yaml `autoPause`): a paused item is picked only
 *    when nothing else is left, and the sender holds it until it is resumed, so a person whose
 *    remaining content all paused waits instead of losing their e-mails,
 * 1. the contact's language (exact tag, then the same primary language; a contact without a
 *    language is taken to read the library's default language; other languages come last),
 * 2. topics in the contact's interests,
 * 3. the library's own order (so sales ops decide what a new contact sees first).
 */
import type { ContentItem, ContentLibrary } from '#config/schema';
import { topicStopped } from './consent.ts';
import type { RelationshipState } from './types.ts';

export interface PickOptions {
  /** Only these topics (a track's `topics`); default: any topic. */
  topics?: readonly string[];
  /** Content ids that paused themselves: last choice (see above). */
  paused?: readonly string[];
}

function primary(tag: string): string {
  return tag.split('-')[0]?.toLowerCase() ?? '';
}

function languageRank(itemLanguage: string, wanted: string): number {
  if (itemLanguage.toLowerCase() === wanted.toLowerCase()) return 0;
  if (primary(itemLanguage) === primary(wanted)) return 1;
  return 2;
}

/** The content item to send next, or null when nothing suitable is left. */
export function pickContent(
  library: ContentLibrary,
  state: Pick<RelationshipState, 'history' | 'suppressions' | 'contact'>,
  options: PickOptions = {},
): ContentItem | null {
  const sent = new Set(state.history.sentContent);
  const interests = new Set(state.contact.interests ?? []);
  const wanted = state.contact.language ?? library.defaultLanguage;
  const allowed = options.topics ? new Set(options.topics) : undefined;
  const paused = options.paused && options.paused.length > 0 ? new Set(options.paused) : undefined;
  let best: { item: ContentItem; rank: readonly [number, number, number, number] } | null = null;
  library.items.forEach((item, index) => {
    if (sent.has(item.id)) return;
    if (allowed && !allowed.has(item.topic)) return;
    if (topicStopped(state as RelationshipState, item.topic)) return;
    const rank = [paused?.has(item.id) ? 1 : 0, languageRank(item.language ?? library.defaultLanguage, wanted), interests.has(item.topic) ? 0 : 1, index] as const;
    if (best === null || compareRank(rank, best.rank) < 0) best = { item, rank };
  });
  return (best as { item: ContentItem } | null)?.item ?? null;
}

function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
