/**
 * HubSpot property values → catalog fields. HubSpot stores what people typed (country names,
 * `america_slash_chicago` time zones, `pt-br`); the catalog wants ISO codes and IANA zones. A value
 * that cannot be made valid is left out rather than failing the whole event.
 */
import { contactRoles, countryCode, emailAddress, timeZone, type ContactRole } from '#catalog/events';
import { fnv1a32 } from '#domain/hash';

const clean = (v: string | null | undefined): string | undefined => {
  const t = v?.trim();
  return t ? t : undefined;
};

let zonesByLowerName: Map<string, string> | undefined;

/** `america_slash_argentina_slash_buenos_aires` → `America/Argentina/Buenos_Aires`; IANA names pass through. */
export function timeZoneOf(value: string | null | undefined): string | undefined {
  const v = clean(value);
  if (!v) return undefined;
  const candidate = v.replace(/_slash_/g, '/');
  if (timeZone.safeParse(candidate).success && candidate.includes('/') && candidate !== candidate.toLowerCase()) return candidate;
  zonesByLowerName ??= new Map(Intl.supportedValuesOf('timeZone').map((z) => [z.toLowerCase(), z]));
  const found = zonesByLowerName.get(candidate.toLowerCase());
  if (found) return found;
  return timeZone.safeParse(candidate).success ? candidate : undefined;
}

let countryNames: Map<string, string> | undefined;
function countryByName(name: string): string | undefined {
  if (!countryNames) {
    countryNames = new Map();
    const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    for (let a = 65; a <= 90; a++)
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        const n = names.of(code);
        if (n) countryNames.set(n.toLowerCase(), code);
      }
    for (const [alias, code] of [
      ['usa', 'US'],
      ['united states of america', 'US'],
      ['uk', 'GB'],
      ['england', 'GB'],
      ['great britain', 'GB'],
    ] as const)
      countryNames.set(alias, code);
  }
  return countryNames.get(name.toLowerCase());
}

/** An ISO 3166-1 alpha-2 code from a code or an English country name. */
export function countryOf(...values: (string | null | undefined)[]): string | undefined {
  for (const value of values) {
    const v = clean(value);
    if (!v) continue;
    const code = /^[A-Za-z]{2}$/.test(v) ? v.toUpperCase() : countryByName(v);
    if (code && countryCode.safeParse(code).success) return code;
  }
  return undefined;
}

/** `pt-br` → `pt-BR`; anything that is not a BCP 47 tag the catalog accepts is dropped. */
export function languageOf(value: string | null | undefined): string | undefined {
  const v = clean(value);
  if (!v) return undefined;
  const [primary, ...rest] = v.replace(/_/g, '-').split('-');
  const tag = [primary?.toLowerCase(), ...rest.map((r) => (r.length === 2 ? r.toUpperCase() : r))].join('-');
  return /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(tag) ? tag : undefined;
}

export const emailOf = (value: string | null | undefined): string | undefined => {
  const v = clean(value);
  return v && emailAddress.safeParse(v).success ? v : undefined;
};

export const text = (value: string | null | undefined, max: number): string | undefined => clean(value)?.slice(0, max);

export function nameOf(first: string | null | undefined, last: string | null | undefined): string | undefined {
  return text([clean(first), clean(last)].filter(Boolean).join(' '), 200);
}

export function amountOf(value: string | null | undefined): number | undefined {
  const v = clean(value);
  if (!v) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export const currencyOf = (value: string | null | undefined): string | undefined => {
  const v = clean(value)?.toUpperCase();
  return v && /^[A-Z]{3}$/.test(v) ? v : undefined;
};

/** A date or instant the catalog accepts (`revisitAfter`, `contractEndsAt`), from HubSpot's date (midnight UTC ms or ISO) values. */
export function dateOf(value: string | null | undefined): string | undefined {
  const v = clean(value);
  if (!v) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(ms) && ms > 0 && ms < 8.64e15 ? new Date(ms).toISOString() : undefined;
}

export const isContactRole = (v: unknown): v is ContactRole => typeof v === 'string' && (contactRoles as readonly string[]).includes(v);

const EVENT_ID = /^[\w.:\-/@]+$/;

/** A catalog event id derived from the notification id; hashed when it would not fit the catalog's 128 characters or alphabet. */
export function eventIdOf(notificationId: string, suffix: string): string {
  const id = `${notificationId}:${suffix}`;
  if (id.length <= 128 && EVENT_ID.test(id)) return id;
  const h = (s: string) => fnv1a32(s).toString(16).padStart(8, '0');
  const safe = notificationId.replace(/[^\w.:\-/@]/g, '_').slice(0, 100);
  return `${safe}:${h(id)}${h(`${id}#`)}`;
}
