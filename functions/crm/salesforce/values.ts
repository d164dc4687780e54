/**
 * Field values arrive as strings (SOAP), JSON scalars (flows, CDC) or API JSON: one tolerant
 * reading of each, and the catalog's own checks, so an odd value drops that field, never the event.
 */
import { countryCode, emailAddress } from '#catalog/events';

export type Fields = Record<string, unknown>;

export function str(v: unknown, max = 200): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t ? t.slice(0, max) : undefined;
}

/** true/false from a boolean or its text; undefined when absent or unreadable. */
export function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (t === 'true' || t === '1') return true;
    if (t === 'false' || t === '0') return false;
  }
  return undefined;
}

export function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export function email(v: unknown): string | undefined {
  const s = str(v, 254);
  return s && emailAddress.safeParse(s).success ? s : undefined;
}

let byName: Map<string, string> | undefined;
/** Salesforce's MailingCountry is free text unless State and Country picklists are on: accept codes and English names. */
export function country(v: unknown): string | undefined {
  const s = str(v, 100);
  if (!s) return undefined;
  if (/^[A-Za-z]{2}$/.test(s)) {
    const code = s.toUpperCase();
    return countryCode.safeParse(code).success ? code : undefined;
  }
  if (!byName) {
    byName = new Map();
    const names = new Intl.DisplayNames(['en'], { type: 'region' });
    for (let a = 65; a <= 90; a++)
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        const name = names.of(code);
        if (name && name !== code) byName.set(name.toLowerCase(), code);
      }
    for (const [alias, code] of [['usa', 'US'], ['united states of america', 'US'], ['uk', 'GB'], ['england', 'GB']] as const) byName.set(alias, code);
  }
  return byName.get(s.toLowerCase());
}

export function fullName(first: unknown, last: unknown): string | undefined {
  const name = [str(first, 100), str(last, 100)].filter(Boolean).join(' ');
  return name ? name.slice(0, 200) : undefined;
}

/** Reads `key` from a flat record, or a dotted relationship path (`Account.Name`) from API JSON. */
export function get(record: Fields | undefined, key: string): unknown {
  let cur: unknown = record;
  for (const part of key.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Fields)[part];
  }
  return cur;
}
