/**
 * Checks across entries and files that a per-field schema cannot express: unique ids, known
 * managers and fallback owner, topics that exist, window names. They read the raw YAML data
 * defensively, so they run even when the schema found problems elsewhere: a file with a typo
 * in one place still reports its unknown manager in another, all in one pass.
 */
import { touchKinds } from './schema.ts';

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
  const claimed = new Map<string, string>();
  arr(c.tracks).forEach((t, i) => {
    const track = obj(t);
    const id = str(track?.id);
    if (id !== undefined) {
      if (ids.has(id)) out.push({ file: 'cadence', path: ['tracks', i, 'id'], message: `track id "${id}" is used twice` });
      ids.add(id);
    }
    arr(obj(track?.when)?.lostReasons).forEach((r, j) => {
      const reason = str(r);
      if (reason === undefined) return;
      const other = claimed.get(reason);
      if (other !== undefined) {
        out.push({ file: 'cadence', path: ['tracks', i, 'when', 'lostReasons', j], message: `lost reason "${reason}" is already taken by track "${other}"` });
      } else claimed.set(reason, id ?? `#${i}`);
    });
  });
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
