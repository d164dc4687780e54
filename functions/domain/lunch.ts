/**
 * Lunches (issue #4, DESIGN "lunches that bring two or three cultivated people of one owner
 * together"): a `lunch` in a track's `humanTouches` is planned per person, like any human touch.
 * When one person's lunch reaches the sender's final claim (the host), others of the same owner in
 * the same city whose own lunch is due by then plus `groupWithin` (overdue ones too) join it, as
 * long as nobody at the table is a competitor of anybody else there: one lunch, one task.
 *
 * "Competitors" is what the CRM can tell us, nothing more: two people of one account (`accountId`),
 * or two who share a CRM tag listed in cadence.yaml `lunches.competitorTags` (tags compared as
 * slugs, `tagSlug`), which is how sales ops mark a line of business. Pure: no I/O.
 */
import { parseDuration, type CultivateConfig, type LunchesConfig } from '#config/schema';
import { addDurationToDate, cityOf, tagSlug } from './cadence.ts';
import type { RelationshipState } from './types.ts';

export type LunchSettings = Readonly<Pick<LunchesConfig, 'groupWithin' | 'maxGuests'>> & { readonly competitorTags: readonly string[] };

/** What cadence.yaml without a `lunches` block means. */
export const LUNCH_DEFAULTS: LunchSettings = { groupWithin: '6 weeks', maxGuests: 2, competitorTags: [] };

export function lunchSettings(config: Pick<CultivateConfig, 'cadence'>): LunchSettings {
  return config.cadence.lunches ?? LUNCH_DEFAULTS;
}

/** One person whose lunch is planned: when it is due, and what makes two people competitors. */
export interface LunchSeat {
  id: string;
  /** Their own lunch's due instant (UTC ISO). */
  at: string;
  accountId?: string;
  /** Their CRM tags as slugs. */
  tags: readonly string[];
}

/** Where a person's lunch is held: their owner (address in lower case) and their city. Undefined when either is missing. */
export interface LunchTable {
  owner: string;
  country: string;
  city: string;
  /** The city as written on the address, for the owner's task. */
  cityName: string;
}

export function lunchTableOf(state: Pick<RelationshipState, 'owner' | 'contact'>): LunchTable | undefined {
  const owner = state.owner?.trim().toLowerCase();
  const city = cityOf(state.contact);
  if (!owner || !city) return undefined;
  return { owner, country: city.country, city: city.slug, cityName: city.name };
}

export function sameTable(a: LunchTable | undefined, b: LunchTable | undefined): boolean {
  return a !== undefined && b !== undefined && a.owner === b.owner && a.country === b.country && a.city === b.city;
}

/** The seat of a person whose next touch is a lunch at a table (owner and city known), else undefined. */
export function lunchSeatOf(state: Pick<RelationshipState, 'id' | 'owner' | 'contact' | 'accountId' | 'nextTouch'>): LunchSeat | undefined {
  const t = state.nextTouch;
  if (t?.kind !== 'lunch' || !lunchTableOf(state)) return undefined;
  return { id: state.id, at: t.at, ...(state.accountId !== undefined && { accountId: state.accountId }), tags: tagSlugs(state.contact.tags) };
}

/** CRM tags as slugs, each once, sorted (so the same tags always read the same). */
export function tagSlugs(tags: readonly string[] | undefined): string[] {
  return [...new Set((tags ?? []).map(tagSlug).filter((t) => t !== ''))].sort();
}

/** Never at one table: the same account, or a shared line of business (a listed competitor tag). */
export function competitors(a: Pick<LunchSeat, 'accountId' | 'tags'>, b: Pick<LunchSeat, 'accountId' | 'tags'>, settings: Pick<LunchSettings, 'competitorTags'>): boolean {
  if (a.accountId !== undefined && a.accountId === b.accountId) return true;
  return settings.competitorTags.some((tag) => a.tags.includes(tag) && b.tags.includes(tag));
}

const DAY_MS = 86_400_000;

/** The latest due instant a guest's own lunch may have: the host's plus `groupWithin` (months as calendar months). */
export function groupUntil(host: Pick<LunchSeat, 'at'>, settings: Pick<LunchSettings, 'groupWithin'>): string {
  const at = new Date(host.at);
  const d = parseDuration(settings.groupWithin) ?? { amount: 0, unit: 'day' as const };
  const date = addDurationToDate({ year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() }, d);
  const timeOfDay = ((at.getTime() % DAY_MS) + DAY_MS) % DAY_MS;
  return new Date(Date.UTC(date.year, date.month - 1, date.day) + timeOfDay).toISOString();
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const seatKey = (s: LunchSeat) => `${s.accountId ?? ''}|${s.tags.join(',')}`;

/**
 * The host's guests among `candidates` (people of the same owner in the same city with a lunch
 * planned): those whose own lunch is due by `groupUntil` (already overdue ones included), not the
 * host, earliest due first (ties by id), each taken only if no one already at the table is their
 * competitor, up to `maxGuests`. The same candidates in any order give the same guests.
 */
export function pickGuests(host: LunchSeat, candidates: readonly LunchSeat[], settings: LunchSettings): LunchSeat[] {
  const until = Date.parse(groupUntil(host, settings));
  const seen = new Set<string>([host.id]);
  const due = [...candidates]
    .filter((c) => Date.parse(c.at) <= until)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || compare(a.id, b.id) || compare(seatKey(a), seatKey(b)));
  const table: LunchSeat[] = [host];
  const guests: LunchSeat[] = [];
  for (const c of due) {
    if (guests.length >= settings.maxGuests) break;
    // One id once: the first (earliest) reading of it decides, so a duplicate cannot sneak past a conflict.
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    if (table.some((s) => competitors(s, c, settings))) continue;
    table.push(c);
    guests.push(c);
  }
  return guests;
}
