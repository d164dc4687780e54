/**
 * Checks across entries and files that a per-field schema cannot express: unique ids, known
 * managers and fallback owner, topics that exist, window names. They read the raw YAML data
 * defensively, so they run even when the schema found problems elsewhere: a file with a typo
 * in one place still reports its unknown manager in another, all in one pass.
 */
import { lostReasons } from '#catalog/events';
import { touchKinds, trackEntries } from './schema.ts';

export type ConfigFileKey = 'cadence' | 'content' | 'owners' | 'controls';

export interface RawProblem {
  file: ConfigFileKey;
  path: (string | number)[];
  message: string;
  /** Report at the last path element's key rather than its value (a map key that is wrong). */
  atKey?: boolean;
}

export interface RawConfig {
  cadence: unknown;
  content: unknown;
  owners: unknown;
  /** Absent when there is no controls.yaml. */
  controls?: unknown;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function semanticChecks(raw: RawConfig): RawProblem[] {
  return [...cadenceChecks(raw.cadence), ...contentChecks(raw.content), ...ownersChecks(raw.owners), ...crossChecks(raw), ...controlsChecks(raw)];
}

/** A switch for a track that does not exist would silently control nothing. */
function controlsChecks(raw: RawConfig): RawProblem[] {
  const tracks = obj(obj(raw.controls)?.tracks);
  const cadenceTracks = obj(raw.cadence)?.tracks;
  if (!tracks || !Array.isArray(cadenceTracks)) return [];
  const ids = cadenceTracks.map((t) => str(obj(t)?.id)).filter((id): id is string => id !== undefined);
  return Object.keys(tracks)
    .filter((id) => !ids.includes(id))
    .map((id) => ({ file: 'controls' as const, path: ['tracks', id], atKey: true, message: `unknown track "${id}": cadence.yaml has ${ids.map((i) => `"${i}"`).join(', ')}` }));
}

function cadenceChecks(raw: unknown): RawProblem[] {
  const out: RawProblem[] = [];
  const c = obj(raw);
  if (!c) return out;
  const windows = obj(c.windows);
  if (windows) {
    if (!Object.hasOwn(windows, 'default')) out.push({ file: 'cadence', path: ['windows'], message: 'a `default` window is required' });
    for (const key of Object.keys(windows)) {
      if (key !== 'default' && !(touchKinds as readonly string[]).includes(key)) {
        out.push({ file: 'cadence', path: ['windows', key], message: `unknown window "${key}": use default or a touch kind (${touchKinds.join(', ')})` });
      }
    }
  }
  out.push(...workingDayChecks(c));
  const ids = new Set<string>();
  arr(c.tracks).forEach((t, i) => {
    const id = str(obj(t)?.id);
    if (id !== undefined) {
      if (ids.has(id)) out.push({ file: 'cadence', path: ['tracks', i, 'id'], message: `track id "${id}" is used twice` });
      ids.add(id);
    }
  });
  out.push(...shadowedTracks(arr(c.tracks)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tracks that can never match (first match wins, so an earlier track may take everyone a later
// one would)

const conditionKeys = ['entries', 'lostReasons', 'roles', 'horizons', 'countries', 'tags'] as const;
type ConditionKey = (typeof conditionKeys)[number];
/**
 * A track's `when` as sets per key, `entries` always among them: a track that lists none (or has
 * no `when`) takes lost deals only, so a track without `when` is a catch-all for lost deals, not
 * for referrals.
 */
type Conditions = Map<ConditionKey, Set<string>>;

/**
 * A track's conditions, or undefined when its `when` is malformed (the schema reports that; a
 * track we cannot read is neither reported as shadowed nor taken to shadow others). So is a track
 * that takes referrals and lists lost reasons (a referral has none: the schema says so).
 */
function conditionsOf(track: Obj): Conditions | undefined {
  const out: Conditions = new Map();
  if (track.when !== undefined) {
    const when = obj(track.when);
    if (!when) return undefined;
    const keys = Object.keys(when);
    if (keys.length === 0 || !keys.every((k) => (conditionKeys as readonly string[]).includes(k))) return undefined;
    for (const key of keys as ConditionKey[]) {
      const values = when[key];
      if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) return undefined;
      out.set(key, new Set(values as string[]));
    }
  }
  const entries = out.get('entries') ?? new Set<string>(['lost-deal']);
  if (![...entries].every((e) => (trackEntries as readonly string[]).includes(e))) return undefined;
  if (entries.has('referral') && out.has('lostReasons')) return undefined;
  out.set('entries', entries);
  return out;
}

/** Witnesses beyond this many are not enumerated (then only single-track shadowing is found). */
const MAX_WITNESSES = 20_000;

/**
 * Track j can never match when the tracks before it take every contact it would. Matching is
 * monotone (more tags can only match more tracks; a missing role, horizon, country or tag fails
 * every track that lists one), so it is enough to try the least contacts j takes: one per
 * combination of one value from each list j has (one tag each), for each entering event j takes,
 * with nothing else set. A lost deal has a lost reason (one of j's, or any when j lists none); a
 * referral has none, so it fails every track that lists lost reasons. Only earlier tracks whose
 * keys j also has (entering event and lost reasons aside) can take those. Each is a "witness"; j
 * is shadowed when every witness matches an earlier track. When one earlier track takes them all it
 * is named alone.
 */
function shadowedTracks(tracks: unknown[]): RawProblem[] {
  const out: RawProblem[] = [];
  const read = tracks.map((t, i) => {
    const track = obj(t);
    return { i, name: str(track?.id) ?? `#${i}`, conditions: track ? conditionsOf(track) : undefined, hasWhen: track?.when !== undefined };
  });
  read.forEach((j, index) => {
    const jc = j.conditions;
    if (jc === undefined) return;
    const before = read.slice(0, index).filter((i): i is typeof i & { conditions: Conditions } => i.conditions !== undefined);
    const candidates = before.filter((i) => [...i.conditions.keys()].every((k) => k === 'entries' || k === 'lostReasons' || jc.has(k)));
    if (candidates.length === 0) return;
    // One product of dimensions per entering event j takes (their witnesses together are j's least contacts).
    const groups: [ConditionKey, string[]][][] = [...(jc.get('entries') ?? [])].map((entry) =>
      conditionKeys
        .filter((k) => k !== 'entries' && (k === 'lostReasons' ? entry === 'lost-deal' : jc.has(k)))
        .reduce<[ConditionKey, string[]][]>((dims, k) => [...dims, [k, [...(jc.get(k) ?? lostReasons)]]], [['entries', [entry]]]),
    );
    const witnessCount = groups.reduce((sum, dims) => sum + dims.reduce((n, [, values]) => n * values.length, 1), 0);
    const takes = (c: Conditions, witness: Map<ConditionKey, string>) => [...c].every(([k, values]) => values.has(witness.get(k) ?? ''));
    const witnesses = witnessCount <= MAX_WITNESSES ? groups.flatMap(product) : undefined;
    // Without the witnesses: one track takes a product of values exactly when each of its lists
    // holds every value of that dimension (a dimension the product lacks, it fails).
    const takesAll = (c: Conditions) =>
      witnesses ? witnesses.every((w) => takes(c, w)) : groups.every((dims) => [...c].every(([k, values]) => dims.find(([d]) => d === k)?.[1].every((v) => values.has(v)) ?? false));
    const alone = candidates.find((i) => takesAll(i.conditions));
    let by: string[] | undefined = alone ? [alone.name] : undefined;
    if (!by && witnesses) {
      const firsts = witnesses.map((w) => candidates.find((i) => takes(i.conditions, w)));
      if (firsts.every((f) => f !== undefined)) by = [...new Set(firsts.map((f) => f.name))];
    }
    if (!by) return;
    const who = by.length === 1 ? `track "${by[0]}" before it takes` : `tracks ${by.map((n) => `"${n}"`).join(', ')} before it take`;
    out.push({
      file: 'cadence',
      path: ['tracks', j.i, j.hasWhen ? 'when' : 'id'],
      atKey: true,
      message: `track "${j.name}" can never match: ${who} everyone it would (the first track that matches wins: move it up, or narrow the earlier one)`,
    });
  });
  return out;
}

/** Every combination of one value per dimension. */
function product(dims: [ConditionKey, string[]][]): Map<ConditionKey, string>[] {
  let out: Map<ConditionKey, string>[] = [new Map()];
  for (const [key, values] of dims) out = out.flatMap((partial) => values.map((v) => new Map(partial).set(key, v)));
  return out;
}

function contentChecks(raw: unknown): RawProblem[] {
  const out: RawProblem[] = [];
  const c = obj(raw);
  if (!c) return out;
  const topics = obj(c.topics);
  const ids = new Set<string>();
  arr(c.items).forEach((it, i) => {
    const item = obj(it);
    const id = str(item?.id);
    if (id !== undefined) {
      if (ids.has(id)) out.push({ file: 'content', path: ['items', i, 'id'], message: `content id "${id}" is used twice` });
      ids.add(id);
    }
    const topic = str(item?.topic);
    if (topics && topic !== undefined && !Object.hasOwn(topics, topic)) {
      out.push({ file: 'content', path: ['items', i, 'topic'], message: `unknown topic "${topic}": declare it under topics` });
    }
  });
  return out;
}

function ownersChecks(raw: unknown): RawProblem[] {
  const out: RawProblem[] = [];
  const o = obj(raw);
  if (!o) return out;
  const owners = arr(o.owners).map(obj);
  const byEmail = new Map<string, Obj>();
  owners.forEach((owner, i) => {
    const email = str(owner?.email)?.toLowerCase();
    if (email === undefined || !owner) return;
    if (byEmail.has(email)) out.push({ file: 'owners', path: ['owners', i, 'email'], message: `owner ${email} is listed twice` });
    else byEmail.set(email, owner);
  });
  owners.forEach((owner, i) => {
    const manager = str(owner?.manager);
    if (manager === undefined) return;
    if (!byEmail.has(manager.toLowerCase())) {
      out.push({ file: 'owners', path: ['owners', i, 'manager'], message: `unknown manager ${manager}: not an owner in this file` });
    } else if (manager.toLowerCase() === str(owner?.email)?.toLowerCase()) {
      out.push({ file: 'owners', path: ['owners', i, 'manager'], message: 'an owner cannot be their own manager' });
    }
  });
  const fallback = str(o.fallbackOwner);
  if (fallback !== undefined) {
    const owner = byEmail.get(fallback.toLowerCase());
    if (!owner) out.push({ file: 'owners', path: ['fallbackOwner'], message: `unknown fallback owner ${fallback}: not an owner in this file` });
    else if (owner.active === false) out.push({ file: 'owners', path: ['fallbackOwner'], message: `fallback owner ${fallback} is not active` });
  }
  return out;
}

/** Every content topic a cadence track names exists in the content library and has items. */
function crossChecks(raw: RawConfig): RawProblem[] {
  const out: RawProblem[] = [];
  const content = obj(raw.content);
  const topics = obj(content?.topics);
  if (!topics) return out;
  const used = new Set(arr(content?.items).map((it) => str(obj(it)?.topic)));
  arr(obj(raw.cadence)?.tracks).forEach((t, i) => {
    arr(obj(t)?.topics).forEach((tp, j) => {
      const topic = str(tp);
      if (topic === undefined) return;
      if (!Object.hasOwn(topics, topic)) {
        out.push({ file: 'cadence', path: ['tracks', i, 'topics', j], message: `unknown content topic "${topic}": not a topic in content.yaml` });
      } else if (!used.has(topic)) {
        out.push({ file: 'cadence', path: ['tracks', i, 'topics', j], message: `content topic "${topic}" has no items in content.yaml` });
      }
    });
  });
  return out;
}

/**
 * Every window keeps at least one working day under every weekend in `calendar` (else a touch of
 * that kind could never be placed for those contacts), and company holidays are not listed twice.
 */
function workingDayChecks(c: Obj): RawProblem[] {
  const out: RawProblem[] = [];
  const calendar = obj(c.calendar);
  const weekend = obj(calendar?.weekend);
  const weekends: [string, unknown[]][] = [['contacts with the default weekend', arr(weekend?.default)]];
  for (const [code, days] of Object.entries(obj(weekend?.byCountry) ?? {})) weekends.push([`contacts in ${code}`, arr(days)]);
  for (const [name, w] of Object.entries(obj(c.windows) ?? {})) {
    const days = arr(obj(w)?.days).map(str);
    if (days.length === 0) continue;
    for (const [who, off] of weekends) {
      if (off.length > 0 && days.every((d) => off.includes(d))) {
        out.push({ file: 'cadence', path: ['windows', name, 'days'], message: `window "${name}" has no working day for ${who} (weekend ${off.map(String).join(', ')}): such touches could never be planned` });
      }
    }
  }
  const seen = new Map<string, number>();
  arr(calendar?.companyHolidays).forEach((h, i) => {
    const date = str(obj(h)?.date);
    if (date === undefined) return;
    const countries = arr(obj(h)?.countries).map(String).sort().join(',');
    const key = `${date}|${countries}`;
    if (seen.has(key)) out.push({ file: 'cadence', path: ['calendar', 'companyHolidays', i, 'date'], message: `company holiday ${date} is already listed (entry ${(seen.get(key) ?? 0) + 1})` });
    else seen.set(key, i);
  });
  return out;
}
