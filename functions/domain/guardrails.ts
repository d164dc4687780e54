/**
 * Guardrails across all tracks (cadence.yaml `calendar` and `guardrails`), the pure half: where a
 * touch the cadence wants may actually land for one person. A touch is never dropped by a
 * guardrail, only moved later, to the next slot of its window (same local minute) that is
 *   - a working day of the contact's calendar (weekend, public holiday, company holiday),
 *   - at least `minimumGap` local days after the person's previous touch,
 *   - within the per-person caps (touches and e-mails per rolling 7 and 30 days).
 * Each move is recorded with a stable code (`GuardrailCode`) and words for `explain`/`preview`.
 *
 * Days are local days in the contact's zone (a "rolling 7 days" is the touch's local day and the
 * six before it), so a weekly e-mail stays inside a 1-per-7-days cap across daylight-saving
 * changes, when the UTC gap between two Tuesdays 09:30 is 6 days 23 hours.
 *
 * The shared-state guardrails (per-account caps, owner task capacity) cannot be decided here:
 * the sender reserves them at its final claim (functions/adapters/dynamo-capacity.ts), and the
 * sweep the global daily e-mail cap (it stamps `daily-cap` on the touch it defers).
 */
import type { GuardrailsConfig, RollingCap } from '#config/schema';
import { parseDuration } from '#config/schema';
import type { WorkingCalendar } from './calendar.ts';
import { addLocalDays, fromLocal, localDateOf, slotOnOrAfter, zonedParts, type LocalDate } from './local-time.ts';
import type { TouchChannel, TouchHistory } from './types.ts';

/** Stable reason codes (metrics count touches moved or held back by each). */
export const guardrailCodes = [
  'weekend',
  'holiday',
  'company-holiday',
  'min-gap',
  'person-touches-7d',
  'person-touches-30d',
  'person-emails-7d',
  'person-emails-30d',
  'account-touches-7d',
  'account-touches-30d',
  'owner-capacity',
  'task-sla',
  // The global daily e-mail cap (the sweep defers the touch by a day): shared state, like the account caps.
  'daily-cap',
] as const;
export type GuardrailCode = (typeof guardrailCodes)[number];

export interface Move {
  code: GuardrailCode;
  why: string;
}

export interface GuardrailRules {
  minimumGapDays: number;
  person: { touches: RollingCap; emails: RollingCap };
  account: RollingCap;
  ownerTasksPerWeek: number;
  taskSlaDays: number;
}

export function compileGuardrails(g: GuardrailsConfig): GuardrailRules {
  return {
    minimumGapDays: parseDuration(g.minimumGap)?.amount ?? 0,
    person: g.perPerson,
    account: g.perAccount.touches,
    ownerTasksPerWeek: g.ownerTasksPerWeek,
    taskSlaDays: parseDuration(g.taskSla)?.amount ?? 0,
  };
}

/** The largest window any cap looks back over, in days (what `recentTouches` must keep). */
export const LOOKBACK_DAYS = 30;
const RECENT_LIMIT = 64;
const DAY_MS = 86_400_000;

/**
 * The history after a touch was done (sent, assigned, or lost in `unknown`: it may have gone),
 * so the next plan counts it. Keeps the last 31 days, at most 64 entries.
 */
export function noteTouch(history: TouchHistory, channel: TouchChannel, at: Date): TouchHistory {
  const floor = at.getTime() - (LOOKBACK_DAYS + 1) * DAY_MS;
  const kept = (history.recentTouches ?? []).filter((t) => Date.parse(t.at) >= floor);
  const recentTouches = [...kept, { at: at.toISOString(), channel }].sort((a, b) => a.at.localeCompare(b.at)).slice(-RECENT_LIMIT);
  return { ...history, recentTouches };
}

/** Days since 1970-01-01 of a local date (for counting local days). */
export function dayNumber(date: LocalDate): number {
  return Math.round(Date.UTC(date.year, date.month - 1, date.day) / DAY_MS);
}

function dateOfDayNumber(n: number): LocalDate {
  const d = new Date(n * DAY_MS);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

const SHORT = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const pad = (n: number) => String(n).padStart(2, '0');
/** "Tue 2028-10-03". */
export function dayText(date: LocalDate): string {
  const weekday = new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
  return `${SHORT[weekday]} ${date.year}-${pad(date.month)}-${pad(date.day)}`;
}

export interface PlaceInput {
  /** Where the cadence would put the touch (a slot of its window). */
  ideal: Date;
  /** The zone the touch is planned in (the contact's for e-mail, the owner's for tasks). */
  tz: string;
  /** The window's weekdays (0 = Sunday) a moved touch may take, and its local minute. */
  days: readonly number[];
  minute: number;
  /** The contact's zone and country: whose calendar and local days count. */
  contactTz: string;
  country: string | undefined;
  channel: TouchChannel;
  history: TouchHistory;
}

/**
 * Past touch instants to count: `recentTouches`, plus `lastTouchAt` when it is another instant (a
 * `touch-completed` sets it: the rep's call happened then, so it counts as a touch, conservatively).
 */
function pastTouches(h: TouchHistory): { at: number; channel: TouchChannel | undefined }[] {
  const list: { at: number; channel: TouchChannel | undefined }[] = (h.recentTouches ?? []).map((t) => ({ at: Date.parse(t.at), channel: t.channel }));
  const last = h.lastTouchAt ? Date.parse(h.lastTouchAt) : Number.NaN;
  if (Number.isFinite(last) && !list.some((t) => t.at === last)) list.push({ at: last, channel: undefined });
  return list.filter((t) => Number.isFinite(t.at));
}

/**
 * The earliest local day (day number) a new touch on day `day` may take under a rolling cap of
 * `cap` per `window` days, given the days of earlier touches; undefined when `day` is fine.
 */
export function capFreeDay(pastDays: readonly number[], day: number, cap: number, window: number): number | undefined {
  const inWindow = pastDays.filter((d) => d > day - window && d <= day).sort((a, b) => a - b);
  if (inWindow.length + 1 <= cap) return undefined;
  // The (count - cap + 1) oldest must fall out of the window: the last of them leaves `window` days later.
  return (inWindow[inWindow.length - cap] as number) + window;
}

const MAX_MOVES = 80;

/**
 * The first slot at or after `ideal` that every per-person guardrail allows, and the moves that
 * led there. Undefined only if none is found within 80 moves (a config without working window
 * days, which `cultivate config check` refuses).
 */
export function placeTouch(input: PlaceInput, calendar: WorkingCalendar, rules: GuardrailRules): { at: Date; moves: Move[] } | undefined {
  const { tz, days, minute, contactTz, country, channel } = input;
  const past = pastTouches(input.history);
  const dayIn = (ms: number) => dayNumber(localDateOf(new Date(ms), contactTz));
  const touchDays = past.map((t) => dayIn(t.at));
  const emailDays = past.filter((t) => t.channel === 'email').map((t) => dayIn(t.at));
  const lastDay = touchDays.length > 0 ? Math.max(...touchDays) : undefined;
  const moves: Move[] = [];
  const startOf = (day: number) => {
    const d = dateOfDayNumber(day);
    return fromLocal(contactTz, d.year, d.month, d.day, 0, 0);
  };
  const slotFrom = (notBefore: Date) => slotOnOrAfter(tz, localDateOf(notBefore, tz), days, minute, notBefore);

  let at = input.ideal;
  for (let i = 0; i < MAX_MOVES; i++) {
    // The calendar: the touch's own local day (where the recipient reads or does it).
    const local = localDateOf(at, tz);
    const off = calendar.nonWorking(country, local);
    if (off) {
      moves.push({ code: off.code, why: `${dayText(local)} is not a working day: ${off.why}` });
      at = slotOnOrAfter(tz, addLocalDays(local, 1), days, minute, at);
      continue;
    }
    const day = dayIn(at.getTime());
    if (lastDay !== undefined && rules.minimumGapDays > 0 && day < lastDay + rules.minimumGapDays) {
      moves.push({ code: 'min-gap', why: `minimum gap: ${rules.minimumGapDays} day${rules.minimumGapDays === 1 ? '' : 's'} after the previous touch (${dayText(dateOfDayNumber(lastDay))})` });
      at = slotFrom(startOf(lastDay + rules.minimumGapDays));
      continue;
    }
    const caps: [GuardrailCode, readonly number[], number, number, string][] = [
      ['person-touches-7d', touchDays, rules.person.touches.per7Days, 7, 'touches'],
      ['person-touches-30d', touchDays, rules.person.touches.per30Days, 30, 'touches'],
      ...(channel === 'email'
        ? ([
            ['person-emails-7d', emailDays, rules.person.emails.per7Days, 7, 'e-mails'],
            ['person-emails-30d', emailDays, rules.person.emails.per30Days, 30, 'e-mails'],
          ] as [GuardrailCode, readonly number[], number, number, string][])
        : []),
    ];
    let capped = false;
    for (const [code, list, cap, window, what] of caps) {
      const free = capFreeDay(list, day, cap, window);
      if (free === undefined) continue;
      moves.push({ code, why: `cap: ${cap} ${what} per ${window} days for one person, reached; the next may go from ${dayText(dateOfDayNumber(free))}` });
      at = slotFrom(startOf(free));
      capped = true;
      break;
    }
    if (capped) continue;
    return { at, moves };
  }
  return undefined;
}

/** The moves as a clause for the touch's rule: "; moved: ...; ..." (the first three, then a count). */
export function movesText(moves: readonly Move[]): string {
  if (moves.length === 0) return '';
  const shown = moves.slice(0, 3).map((m) => m.why);
  const more = moves.length > 3 ? `; and ${moves.length - 3} more move${moves.length - 3 === 1 ? '' : 's'}` : '';
  return `; moved later: ${shown.join('; ')}${more}`;
}

/** The distinct codes of `moves`, in first-seen order. */
export function moveCodes(moves: readonly Move[]): GuardrailCode[] {
  return [...new Set(moves.map((m) => m.code))];
}

/** The ISO week ("2026-W49") of a local date, and the local date its next week starts (Monday). */
export function isoWeek(date: LocalDate): { week: string; nextMonday: LocalDate } {
  const weekday = (new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = addLocalDays(date, 3 - weekday);
  const jan1 = Date.UTC(thursday.year, 0, 1);
  const week = Math.floor((Date.UTC(thursday.year, thursday.month - 1, thursday.day) - jan1) / DAY_MS / 7) + 1;
  return { week: `${thursday.year}-W${pad(week)}`, nextMonday: addLocalDays(date, 7 - weekday) };
}

/** The owner's ISO week at `instant` in `tz`, and when the next one starts (Monday 00:00 local). */
export function ownerWeek(instant: Date, tz: string): { week: string; nextWeekStart: Date } {
  const { week, nextMonday } = isoWeek(localDateOf(instant, tz));
  return { week, nextWeekStart: fromLocal(tz, nextMonday.year, nextMonday.month, nextMonday.day, 0, 0) };
}

/** The local day of `instant` in `tz`, "YYYY-MM-DD" (what the per-account counter buckets by). */
export function localDayKey(instant: Date, tz: string): string {
  const p = zonedParts(instant, tz);
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}
