/** Reporting periods (UTC): ISO 8601 weeks (`2026-W47`) and calendar months (`2026-11`). */

const DAY_MS = 86_400_000;

export type PeriodKind = 'week' | 'month';

/** The ISO week of a UTC instant, e.g. `2026-W47` (weeks start on Monday; week 1 holds the first Thursday). */
export function isoWeek(at: string | Date): string {
  const d = new Date(typeof at === 'string' ? Date.parse(at) : at.getTime());
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3);
  const year = new Date(thursday).getUTCFullYear();
  // The week's Thursday lies in the ISO year; its day of the year gives the week.
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

export function month(at: string | Date): string {
  return (typeof at === 'string' ? new Date(Date.parse(at)) : at).toISOString().slice(0, 7);
}

export function periodOf(kind: PeriodKind, at: string | Date): string {
  return kind === 'week' ? isoWeek(at) : month(at);
}

/** Every period of `kind` that overlaps [from, to] (inclusive, UTC dates), oldest first. */
export function periodsBetween(kind: PeriodKind, from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(to);
  for (let t = Date.parse(from); t <= end; t += DAY_MS) {
    const p = periodOf(kind, new Date(t));
    if (out[out.length - 1] !== p) out.push(p);
  }
  return out;
}

/** Whole days from `from` to `to` (floored; 0 on the same day-length span). */
export function daysBetween(from: string, to: string): number {
  return Math.max(0, Math.floor((Date.parse(to) - Date.parse(from)) / DAY_MS));
}
