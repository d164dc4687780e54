/**
 * The cadence planner (DESIGN.md §1, §4): fills the `Planner` port from `config/cadence.yaml`.
 * Deterministic and pure: the next touch depends only on the config, the state and `now`.
 *
 * The cadence, per track (`tracks[]`, the first whose `when` holds for the entering event (a lost
 * deal or a referral), the lost reason and the contact):
 *   step 0   a thank-you note task for the owner, `thankYou.after` (2 days) after the loss, on a
 *            window day in the owner's zone;
 *   then, with e-mail consent: `weekly.count` (8) value e-mails, one a week on the same local
 *            weekday and time in the contact's zone; then `skipWeeks` (1) week left out (the 9th
 *            e-mail comes 14 days after the 8th); then one every `monthly.every` (4 weeks), on the
 *            same weekday and time. E-mail ends when `stopEmailAfterQuiet` (6 months) has passed
 *            since the later of the loss and the last human signal, or when the content runs out;
 *   without consent: one permission-ask task for the owner, then no e-mail until consent arrives
 *            (then the weekly e-mails start). No ask when the contact denied consent or a
 *            suppression blocks e-mail.
 *   an imported old loss (`nurture.permissionAskOnly`, `cultivate import`): no thank-you; only the
 *            permission-ask task (even with consent on record, and past the quiet cutoff) until
 *            the contact opts in; then the e-mails above.
 *   beside all of it, after the thank-you: the track's human touches on a rhythm (`humanTouches`:
 *            calls, notes, meetings, requalification, research), tasks in the owner's zone, the
 *            first `first` after the loss, then `every` after the last was done. They need no
 *            consent and outlive the e-mail sunset; the next touch is whichever comes first, except
 *            that a task due within the minimum gap before the next cadence touch waits for it.
 *
 * Engine contract (`advance` in touch.ts does it): after a rhythm's touch is done the caller counts
 * it in `history.recurring[kind]`; after any other touch it increments `history.cadenceStep` (and for an
 * e-mail `emailsSent`, pushes `contentId` to `sentContent`, sets `lastEmailAt`), then calls
 * `planNext` again. The next due instant is derived from history (the local date of
 * `lastEmailAt`, `lastTouchAt`, `lostAt`), never from wall-clock drift, so a person's weekday and
 * minute stay put week after week, across daylight-saving changes too. Position in the cadence:
 *   cadenceStep = (thank-you done ? 1 : 0) + (permission-ask done ? 1 : 0) + emailsSent,
 * so the permission ask counts as done when cadenceStep exceeds the thank-you plus e-mails sent,
 * and the e-mail number is `emailsSent + 1` (cadence e-mails only). A send whose outcome is
 * unknown (`recordTouch` 'unknown': step and content recorded, no `emailsSent`) keeps its number,
 * with new content, at the next weekly slot.
 *
 * Timing: each person gets a stable minute inside each window (a 32-bit FNV-1a hash of the
 * relationship id, mixed), and, when the value-email window lists several weekdays, a stable
 * weekday among them. The last 15 minutes of a window are kept free so a sweep running a little
 * late still sends inside it. Nothing is planned before `now`: a slot already past moves to the
 * next valid slot.
 */
import type { CultivateConfig, HumanTouchKind, TrackConfig, TrackEntry, WindowConfig } from '#config/schema';
import { cityTouchKinds, parseDuration, postalTouchKinds, type Duration } from '#config/schema';
import { resolveOwner } from '#config/owners';
import { canEmail, hasSuppression } from './consent.ts';
import { fnv1a32 } from './hash.ts';
import { pickContent } from './content.ts';
import { touchIdFor } from './identity.ts';
import {
  addLocalDays,
  isValidTimeZone,
  localDateOf,
  parseClock,
  slotOnOrAfter,
  weekdayNumber,
  zonedParts,
  type LocalDate,
} from './local-time.ts';
import { mayBeTouched, planningNow, type Planner } from './planner.ts';
import { createWorkingCalendar } from './calendar.ts';
import { compileGuardrails, moveCodes, movesText, placeTouch } from './guardrails.ts';
import type { PlannedTouch, RelationshipState, TouchChannel } from './types.ts';

/** A send window in numbers: local weekdays (0 = Sunday) and [startMinute, endMinute) of the day. */
export interface SendWindow {
  days: readonly number[];
  startMinute: number;
  endMinute: number;
}

/** Minutes at the end of a window the planner leaves free (a late sweep still sends inside it). */
export const WINDOW_TAIL_MINUTES = 15;

const DAY_MS = 86_400_000;

function compileWindow(w: WindowConfig): SendWindow {
  const startMinute = parseClock(w.start) ?? 0;
  const endMinute = parseClock(w.end) ?? 1440;
  const days = [...new Set(w.days.map((d) => weekdayNumber(d)))].sort((a, b) => a - b);
  return { days, startMinute, endMinute };
}

/**
 * The send window for a kind of touch (default `value-email`, the one the sender re-checks):
 * `windows[kind]` in cadence.yaml, else `windows.default`.
 */
export function windowFor(config: CultivateConfig, kind = 'value-email'): SendWindow {
  const windows = config.cadence.windows;
  const w = (Object.hasOwn(windows, kind) ? windows[kind] : undefined) ?? (Object.hasOwn(windows, 'default') ? windows.default : undefined);
  if (!w) throw new Error('cadence config has no default window');
  return compileWindow(w);
}

/** Is `instant` inside `window` in local time `tz` (weekday listed, start <= time < end)? */
export function isInsideWindow(instant: Date, tz: string, window: SendWindow): boolean {
  const p = zonedParts(instant, tz);
  return window.days.includes(p.weekday) && p.minuteOfDay >= window.startMinute && p.minuteOfDay < window.endMinute;
}

// ---------------------------------------------------------------------------------------------
// Stable per-person spreading

/** 32-bit FNV-1a over the UTF-16 code units of `text`, with a final avalanche (murmur3 fmix32). */
export function stableHash(text: string): number {
  let h = fnv1a32(text);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The person's minute of the day inside `window` (stable; keeps the window's tail free). */
export function personMinute(id: string, window: SendWindow): number {
  const span = window.endMinute - window.startMinute;
  const usable = span > 2 * WINDOW_TAIL_MINUTES ? span - WINDOW_TAIL_MINUTES : Math.max(1, span);
  return Math.min(window.startMinute + (stableHash(`${id}#minute`) % usable), 1439);
}

/** The person's weekday among the window's days (stable). */
export function personWeekday(id: string, window: SendWindow): number {
  const days = window.days;
  return days[stableHash(`${id}#weekday`) % days.length] ?? days[0] ?? 2;
}

// ---------------------------------------------------------------------------------------------
// Who, where, which track

/**
 * What a track's `when` is matched against: how the relationship entered nurture, the lost reason
 * and what the CRM says about the contact.
 */
export interface TrackSubject {
  /** The entering event; absent: a lost deal. */
  entry?: TrackEntry;
  /** Absent for a referral: no deal was lost. */
  lostReason?: string;
  role?: string;
  horizon?: string;
  country?: string;
  tags?: readonly string[];
}

/** What the track of a relationship depends on (the contact may be left out: no conditions but the lost reason hold). */
export type TrackedState = Pick<RelationshipState, 'nurture'> & Partial<Pick<RelationshipState, 'contact'>>;

/** The subject of a relationship in nurture (undefined when it is not in nurture: no track). */
export function trackSubjectOf(state: TrackedState): TrackSubject | undefined {
  if (!state.nurture) return undefined;
  const c = state.contact ?? {};
  return {
    ...(state.nurture.entry !== undefined && { entry: state.nurture.entry }),
    ...(state.nurture.lostReason !== undefined && { lostReason: state.nurture.lostReason }),
    ...(c.role !== undefined && { role: c.role }),
    ...(c.horizon !== undefined && { horizon: c.horizon }),
    ...(c.country !== undefined && { country: c.country }),
    ...(c.tags !== undefined && { tags: c.tags }),
  };
}

/**
 * Does `track` take `subject`? Every condition its `when` lists must hold (AND), any value of one
 * list will do (OR); `tags` holds when the contact has any listed tag (CRM tags are compared as
 * slugs, as track tags are: `tagSlug`). A contact without a role (horizon, country, tags) does not
 * match a track that requires one, and a referral (no lost reason) none that lists lost reasons.
 * A track that lists no `entries` takes lost deals only, so a track without `when` takes every
 * lost deal and no referral: referrals go only where a track asks for them.
 */
export function trackMatches(track: Pick<TrackConfig, 'when'>, subject: TrackSubject): boolean {
  const w = track.when;
  const entries: readonly TrackEntry[] = w?.entries ?? ['lost-deal'];
  if (!entries.includes(subject.entry ?? 'lost-deal')) return false;
  if (!w) return true;
  const has = (list: readonly string[] | undefined, value: string | undefined) => list === undefined || (value !== undefined && list.includes(value));
  if (!has(w.lostReasons, subject.lostReason) || !has(w.roles, subject.role) || !has(w.horizons, subject.horizon) || !has(w.countries, subject.country)) return false;
  if (w.tags === undefined) return true;
  const tags = w.tags;
  return (subject.tags ?? []).some((t) => tags.includes(tagSlug(t)));
}

/** A CRM tag as a track tag (a slug): "Key Account" and "key_account" are `key-account`, "Über Uns" `uber-uns`. */
export function tagSlug(tag: string): string {
  return tag
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * The contact's city (their postal address's), as a key: the country in capitals and the city as
 * a slug ("Frankfurt am Main" `frankfurt-am-main`, "Zürich" `zurich`); a name with no Latin letters
 * or digits ("東京") is kept as written, lower case, spaces as dashes. Undefined without a city.
 */
export function cityOf(contact: Pick<RelationshipState['contact'], 'postalAddress'>): { country: string; slug: string; name: string } | undefined {
  const a = contact.postalAddress;
  const name = a?.city?.trim();
  if (!a || !name) return undefined;
  const slug = tagSlug(name) || name.normalize('NFKC').toLowerCase().replace(/[\s#/]+/g, '-');
  return { country: a.country.trim().toUpperCase(), slug, name };
}

/** The track a relationship in nurture takes: the first, in file order, whose conditions all hold (a track without `when` takes every lost deal that reaches it). */
export function trackFor(config: CultivateConfig, subject: TrackSubject): TrackConfig | undefined {
  return config.cadence.tracks.find((t) => trackMatches(t, subject));
}

/** The track of a relationship (undefined when it is not in nurture or no track takes it). */
export function trackOfState(config: CultivateConfig, state: TrackedState): TrackConfig | undefined {
  const subject = trackSubjectOf(state);
  return subject ? trackFor(config, subject) : undefined;
}

/**
 * The same rules without the human rhythms (`humanTouches`): the e-mail cadence alone, for telling
 * when and why it ends (`preview`), since the rhythms go on after it.
 */
export function withoutHumanTouches(config: CultivateConfig): CultivateConfig {
  return { ...config, cadence: { ...config.cadence, tracks: config.cadence.tracks.map(({ humanTouches: _rhythms, ...track }) => track) } };
}

/** The time zone of whoever does the owner's tasks (after inactive-owner routing). */
export function ownerTimeZone(config: CultivateConfig, state: Pick<RelationshipState, 'owner'>): string {
  const tz = resolveOwner(config.owners, state.owner).owner.timezone;
  return isValidTimeZone(tz) ? tz : config.cadence.timezone.default;
}

/** The contact's time zone: their own; else (if configured) their owner's; else the default. */
export function contactTimeZone(config: CultivateConfig, state: Pick<RelationshipState, 'owner' | 'contact'>): string {
  const own = state.contact.timezone;
  if (own !== undefined && isValidTimeZone(own)) return own;
  if (config.cadence.timezone.useOwnerWhenMissing) return ownerTimeZone(config, state);
  return config.cadence.timezone.default;
}

function durationOf(text: string | undefined): Duration {
  return (text !== undefined && parseDuration(text)) || { amount: 0, unit: 'day' };
}

function addMonthsClamped(date: LocalDate, months: number): LocalDate {
  const index = date.year * 12 + (date.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  const last = new Date(Date.UTC(2000, month, 0)).getUTCDate();
  const lastDay = month === 2 && !isLeap(year) ? 28 : last;
  return { year, month, day: Math.min(date.day, lastDay) };
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Calendar arithmetic: days and weeks as local days, months as calendar months (day clamped). */
export function addDurationToDate(date: LocalDate, d: Duration): LocalDate {
  if (d.unit === 'month') return addMonthsClamped(date, d.amount);
  return addLocalDays(date, d.unit === 'week' ? 7 * d.amount : d.amount);
}

/** The instant after which no more automated e-mail is planned (quiet since the loss or the last human signal). */
export function quietCutoff(track: TrackConfig, state: Pick<RelationshipState, 'nurture' | 'history'>): Date | undefined {
  if (!state.nurture) return undefined;
  // The quiet clock starts when nurture does: at the loss, or at the revisit floor when later.
  const floor = revisitFloor(state)?.at.getTime();
  const start = floor !== undefined && floor > Date.parse(state.nurture.lostAt) ? floor : Date.parse(state.nurture.lostAt);
  // It starts again when nurture resumes after the loss of the deal that paused it (that may take months).
  const resumed = state.nurture.resumedAt ? Date.parse(state.nurture.resumedAt) : Number.NaN;
  const lost = Number.isFinite(resumed) ? Math.max(start, resumed) : start;
  const signal = state.history.lastHumanSignalAt ? Date.parse(state.history.lastHumanSignalAt) : Number.NaN;
  const since = Number.isFinite(signal) ? Math.max(lost, signal) : lost;
  if (!Number.isFinite(since)) return undefined;
  const d = durationOf(track.stopEmailAfterQuiet);
  const sinceDate = new Date(since);
  const date = addDurationToDate(
    { year: sinceDate.getUTCFullYear(), month: sinceDate.getUTCMonth() + 1, day: sinceDate.getUTCDate() },
    d,
  );
  return new Date(Date.UTC(date.year, date.month - 1, date.day) + (since % DAY_MS + DAY_MS) % DAY_MS);
}

// ---------------------------------------------------------------------------------------------
// The planner

function laterDate(a: LocalDate, b: LocalDate): LocalDate {
  const ka = a.year * 10_000 + a.month * 100 + a.day;
  const kb = b.year * 10_000 + b.month * 100 + b.day;
  return ka >= kb ? a : b;
}

/** First slot from `fromDate` on, and whether `now` pushed it later (`cadenceSlot`: the slot before it did). */
function scheduleAt(
  tz: string,
  fromDate: LocalDate,
  days: number | readonly number[],
  minute: number,
  now: Date,
): { at: Date; moved: boolean; cadenceSlot: Date } {
  const anyTime = new Date(Date.UTC(fromDate.year, fromDate.month - 1, fromDate.day) - 2 * DAY_MS);
  const ideal = slotOnOrAfter(tz, fromDate, days, minute, anyTime);
  if (ideal.getTime() >= now.getTime()) return { at: ideal, moved: false, cadenceSlot: ideal };
  return { at: slotOnOrAfter(tz, fromDate, days, minute, now), moved: true, cadenceSlot: ideal };
}

const BLOCKING: readonly Parameters<typeof hasSuppression>[1][] = ['all-email', 'do-not-contact', 'hard-bounce', 'complaint'];

export function createCadencePlanner(config: CultivateConfig): Planner {
  const taskWindow = (kind: string) => windowFor(config, kind);
  const emailWindow = windowFor(config, 'value-email');
  const calendar = createWorkingCalendar(config.cadence.calendar);
  const rules = compileGuardrails(config.cadence.guardrails);

  return {
    /**
     * What the plan reads besides history: the track, both zones, the country (holidays), the
     * city of the postal address (letters need an address, lunches a city; a move replans).
     */
    planInputs(state) {
      const city = cityOf(state.contact);
      return {
        track: trackOfState(config, state)?.id ?? 'none',
        'contact zone': contactTimeZone(config, state),
        'owner zone': ownerTimeZone(config, state),
        country: state.contact.country ?? 'none',
        city: city ? `${city.country}/${city.slug}` : 'none',
      };
    },

    /** E-mails only go inside the value-email window in the contact's zone; tasks go any time. */
    insideSendWindow(state, touch, at) {
      if (touch.channel !== 'email') return true;
      return isInsideWindow(at, contactTimeZone(config, state), windowFor(config, touch.kind));
    },

    planNext(state, ctx): PlannedTouch | null {
      if (!mayBeTouched(state) || !state.nurture) return null;
      // Paused (an out-of-office until a return date): plan as if it were then.
      const now = planningNow(state, ctx.now);
      const lostMs = Date.parse(state.nurture.lostAt);
      if (!Number.isFinite(lostMs)) return null;
      const track = trackOfState(config, state);
      if (!track) return null;
      const lostAt = new Date(lostMs);
      const h = state.history;
      const step = h.cadenceStep;
      const base = { touchId: touchIdFor(state.id, state.planVersion), status: 'planned' as const, step };
      const late = (moved: boolean, at: Date) => (moved ? `; the planned slot had passed, moved to ${at.toISOString()}` : '');
      const contactTz = contactTimeZone(config, state);
      // The cadence's slot, then the per-person guardrails (calendar, gap, caps) move it later if
      // they must; a moved touch may take any day of its window, at the same local minute.
      // `sayLate`: name a slot already past. A rhythm's task passes its slot as a matter of course
      // (it waits for an e-mail due within the gap), so there it would only be noise.
      const place = (tz: string, from: LocalDate, idealDays: number | readonly number[], pushDays: readonly number[], minute: number, channel: TouchChannel, sayLate = true) => {
        const { at: ideal, moved, cadenceSlot } = scheduleAt(tz, from, idealDays, minute, now);
        const placeFrom = (at: Date) => placeTouch({ ideal: at, tz, days: pushDays, minute, contactTz, country: state.contact.country, channel, history: h }, calendar, rules);
        // A slot already past whose guardrail moves land after `now` (a holiday Tuesday, planned
        // after a task on the Thursday before it) keeps its true reason: the same day either way,
        // since the guardrails take the first free day on or after the slot.
        const fromSlot = moved ? placeFrom(cadenceSlot) : undefined;
        if (fromSlot && fromSlot.at.getTime() >= now.getTime()) {
          const codes = moveCodes(fromSlot.moves);
          return { at: fromSlot.at, note: movesText(fromSlot.moves), extra: codes.length > 0 ? { pushedBy: codes } : {} };
        }
        const placed = placeFrom(ideal);
        if (!placed) return undefined;
        const pushedBy = moveCodes(placed.moves);
        return { at: placed.at, note: (sayLate ? late(moved, ideal) : '') + movesText(placed.moves), extra: pushedBy.length > 0 ? { pushedBy } : {} };
      };

      // Honour the rep's "come back after" and a competitor's contract end: nurture touches after the
      // thank-you start no earlier than revisitAfter, or two months before the contract ends.
      const notBefore = revisitFloor(state);
      const honour = (tz: string, from: LocalDate): LocalDate => (notBefore ? laterDate(from, localDateOf(notBefore.at, tz)) : from);
      const honourNote = notBefore ? `; not before ${notBefore.at.toISOString().slice(0, 10)} (${notBefore.why})` : '';

      // An imported old loss (`permissionAskOnly` set at all): a thank-you years late reads oddly,
      // and until the contact says yes only the owner's personal permission ask may go.
      const oldLoss = state.nurture.permissionAskOnly !== undefined;
      const askOnly = state.nurture.permissionAskOnly === true;
      const thankYou = oldLoss ? undefined : track.thankYou;
      const thankYouAfter = durationOf(thankYou?.after);

      // The e-mail cadence's next touch (thank-you, permission ask, value e-mail), or null.
      const cadenceTouch = (): PlannedTouch | null => {
        // Step 0: the thank-you note, a task for the owner in the owner's zone.
        if (thankYou && step === 0) {
          const tz = ownerTimeZone(config, state);
          const w = taskWindow('thank-you-note');
          const from = addDurationToDate(localDateOf(lostAt, tz), thankYouAfter);
          const p = place(tz, from, w.days, w.days, personMinute(state.id, w), 'task');
          if (!p) return null;
          const touch: PlannedTouch = {
            ...base,
            at: p.at.toISOString(),
            channel: 'task',
            kind: 'thank-you-note',
            rule: `${track.id}: thank-you note task for the owner, ${thankYou.after} after the ${state.nurture?.entry === 'referral' ? 'referral' : 'loss'}${p.note}`,
            ...p.extra,
          };
          return touch;
        }

        const cutoff = quietCutoff(track, state);
        const beforeCutoff = (at: Date) => cutoff === undefined || at.getTime() < cutoff.getTime();
        const thankYouSteps = thankYou ? 1 : 0;
        const emailsSent = h.emailsSent;
        const askDone = step - thankYouSteps - emailsSent >= 1;
        // Earliest local date for the touch after the thank-you: from the last touch when known,
        // and never before the thank-you's own date plus the gap.
        const afterPrevious = (tz: string, gap: Duration): LocalDate => {
          const fromLoss = addDurationToDate(addDurationToDate(localDateOf(lostAt, tz), thankYouAfter), gap);
          const lastTouch = h.lastTouchAt ? new Date(h.lastTouchAt) : undefined;
          if (!lastTouch || !Number.isFinite(lastTouch.getTime())) return fromLoss;
          return laterDate(fromLoss, addDurationToDate(localDateOf(lastTouch, tz), gap));
        };

        if (askOnly || !canEmail(state)) {
          const mayAsk =
            track.permissionAsk !== undefined &&
            emailsSent === 0 &&
            !askDone &&
            state.consent?.email !== 'denied' &&
            !BLOCKING.some((scope) => hasSuppression(state, scope));
          if (!mayAsk || !track.permissionAsk) return null;
          const tz = ownerTimeZone(config, state);
          const w = taskWindow('permission-ask');
          const p = place(tz, honour(tz, afterPrevious(tz, durationOf(track.permissionAsk.after))), w.days, w.days, personMinute(state.id, w), 'task');
          // The quiet cutoff ends automated e-mail; an old loss is past it by nature, and its one ask is the point.
          if (!p || (!askOnly && !beforeCutoff(p.at))) return null;
          const why = askOnly
            ? "an imported old loss, so only the owner's personal permission ask until they say yes"
            : 'no e-mail consent on record, so the owner asks permission personally instead of e-mails';
          const touch: PlannedTouch = {
            ...base,
            at: p.at.toISOString(),
            channel: 'task',
            kind: 'permission-ask',
            rule: `${track.id}: ${why}${honourNote}${p.note}`,
            ...p.extra,
          };
          return touch;
        }

        // The e-mail phase.
        const weeklyCount = track.weekly?.count ?? 0;
        const monthlyWeeks = track.monthly ? durationOf(track.monthly.every).amount : undefined;
        if (emailsSent >= weeklyCount && monthlyWeeks === undefined) return null;
        const tz = contactTimeZone(config, state);
        const weekday = personWeekday(state.id, emailWindow);
        const minute = personMinute(state.id, emailWindow);
        const n = emailsSent + 1;
        const lastEmail = h.lastEmailAt ? new Date(h.lastEmailAt) : undefined;

        let from: LocalDate;
        let rule: string;
        if (emailsSent === 0 || !lastEmail || !Number.isFinite(lastEmail.getTime())) {
          from = honour(tz, afterPrevious(tz, durationOf(track.weekly?.after)));
          rule = (n <= weeklyCount ? `weekly value e-mail ${n} of ${weeklyCount}` : `monthly value e-mail (every ${monthlyWeeks} weeks)`) + honourNote;
        } else {
          let weeks: number;
          if (n <= weeklyCount) {
            weeks = 1;
            rule = `weekly value e-mail ${n} of ${weeklyCount}`;
          } else if (n === weeklyCount + 1 && weeklyCount > 0) {
            weeks = 1 + track.skipWeeks;
            rule =
              track.skipWeeks > 0
                ? `skip-week test: ${track.skipWeeks} week${track.skipWeeks === 1 ? '' : 's'} skipped after ${weeklyCount} weekly e-mails; monthly value e-mail 1 (then every ${monthlyWeeks} weeks)`
                : `monthly value e-mail 1 (every ${monthlyWeeks} weeks after ${weeklyCount} weekly e-mails)`;
          } else {
            weeks = monthlyWeeks ?? 4;
            const monthlyIndex = n - weeklyCount;
            rule = `monthly value e-mail ${monthlyIndex} (every ${weeks} weeks${weeklyCount > 0 && track.skipWeeks > 0 ? ', after the skip week' : ''})`;
          }
          // The person's weekday in the `weeks`-th week after the last e-mail: its local date lies in
          // [last + 7*weeks - 6, last + 7*weeks] (exactly last + 7*weeks when the last was on time).
          from = addLocalDays(localDateOf(lastEmail, tz), 7 * weeks - 6);
        }

        const p = place(tz, from, weekday, emailWindow.days, minute, 'email');
        if (!p || !beforeCutoff(p.at)) return null;
        // Content that paused itself (autoPause) only when nothing else is left: the sender holds it.
        const item = pickContent(config.content, state, { ...(track.topics && { topics: track.topics }), ...(config.paused && { paused: config.paused.content }) });
        if (!item) return null;
        const touch: PlannedTouch = {
          ...base,
          at: p.at.toISOString(),
          channel: 'email',
          kind: 'value-email',
          contentId: item.id,
          topic: item.topic,
          rule: `${track.id}: ${rule}${p.note}`,
          ...p.extra,
        };
        return touch;
      };

      const cadence = cadenceTouch();
      // The thank-you comes first, and an imported old loss gets nothing but its permission ask.
      if ((thankYou && step === 0) || askOnly) return cadence;
      // The rhythms count from the loss; for an imported old loss, from the contact's yes (a call
      // "six weeks after" a loss years ago would fall due the moment they opted in).
      const signal = h.lastHumanSignalAt ? Date.parse(h.lastHumanSignalAt) : Number.NaN;
      const rhythmStart = oldLoss && Number.isFinite(signal) && signal > lostMs ? new Date(signal) : lostAt;
      const rhythms = recurringTouches(track, state, {
        place,
        honour,
        honourNote,
        start: rhythmStart,
        startWords: rhythmStart !== lostAt ? 'they opted in' : state.nurture.entry === 'referral' ? 'the referral' : 'the loss',
        taskWindow,
        // A thinking-of-you note comes with a piece the owner may share (the draft in the task).
        pickContent: () => pickContent(config.content, state, { ...(track.topics && { topics: track.topics }), ...(config.paused && { paused: config.paused.content }) }),
        tz: ownerTimeZone(config, state),
        ...(cadence && { notAfter: Date.parse(cadence.at) }),
      });
      return earliest(cadence, rhythms, {
        contactTz,
        gapDays: rules.minimumGapDays,
      });
    },
  };
}

/** What the planner lends the rhythm of human touches: its placement (calendar, gap, caps) and the revisit floor. */
interface RhythmTools {
  place: (tz: string, from: LocalDate, idealDays: readonly number[], pushDays: readonly number[], minute: number, channel: TouchChannel, sayLate?: boolean) => { at: Date; note: string; extra: { pushedBy?: PlannedTouch['pushedBy'] } } | undefined;
  honour: (tz: string, from: LocalDate) => LocalDate;
  honourNote: string;
  /** What `first` counts from: the loss (for an imported old loss, the contact's yes). */
  start: Date;
  startWords: string;
  taskWindow: (kind: string) => SendWindow;
  /** The content the person would get next (never one sent before, interests and language first). */
  pickContent: () => { id: string; topic: string } | null;
  /** The owner's zone: a human touch is the owner's task. */
  tz: string;
  /**
   * The cadence touch's instant: a rhythm that cannot come before it is not placed at all (it
   * would lose to it anyway), which spares most plans the calendar and cap work for every rhythm.
   */
  notAfter?: number;
}

/** At least this long (a month is at least 28 days), in ms. */
function shortestMs(d: Duration): number {
  return d.amount * (d.unit === 'month' ? 28 : d.unit === 'week' ? 7 : 1) * DAY_MS;
}

const HUMAN_TOUCH_WORDS: Record<HumanTouchKind, string> = {
  'courtesy-call': 'courtesy call',
  'thinking-of-you': 'thinking-of-you note drafted for the owner',
  'handwritten-note': 'handwritten note',
  'item-of-value': 'item of value by post',
  'referral-exchange': 'referral-exchange meeting',
  introduction: 'introduction to an expert in our network',
  requalification: 'requalification call',
  research: 'research their pain or gain',
  'personal-message': 'a message the owner writes to what the research found',
  'ask-why': '"what could we have done better?" asked by the owner',
  lunch: 'lunch in their city',
};

/**
 * The next touch of each human rhythm of `track` (cadence.yaml `humanTouches`), in the owner's
 * zone: the first `first` after the loss (not before the revisit floor), then `every` after the
 * last one was done. Not bound by the e-mail sunset or by e-mail consent; a postal touch needs an
 * address on record, a lunch a city.
 */
function recurringTouches(track: TrackConfig, state: RelationshipState, tools: RhythmTools): PlannedTouch[] {
  const out: PlannedTouch[] = [];
  for (const rhythm of track.humanTouches ?? []) {
    const done = state.history.recurring?.[rhythm.kind];
    const n = done?.n ?? 0;
    if (rhythm.count !== undefined && n >= rhythm.count) continue;
    if (n > 0 && rhythm.every === undefined) continue;
    if (postalTouchKinds.includes(rhythm.kind) && state.contact.postalAddress === undefined) continue;
    if (cityTouchKinds.includes(rhythm.kind) && cityOf(state.contact) === undefined) continue;
    const last = done ? new Date(done.lastAt) : undefined;
    const fromLast = last !== undefined && Number.isFinite(last.getTime()) && rhythm.every !== undefined;
    // A lower bound of its instant (local dates are within a day of UTC ones; the floor, the
    // calendar and the caps only move it later): no sooner than the cadence's touch, it cannot win.
    const earliestMs = (fromLast ? (last as Date).getTime() + shortestMs(durationOf(rhythm.every)) : tools.start.getTime() + shortestMs(durationOf(rhythm.first))) - 2 * DAY_MS;
    if (tools.notAfter !== undefined && earliestMs >= tools.notAfter) continue;
    const from = fromLast ? addDurationToDate(localDateOf(last, tools.tz), durationOf(rhythm.every)) : addDurationToDate(localDateOf(tools.start, tools.tz), durationOf(rhythm.first));
    const w = tools.taskWindow(rhythm.kind);
    const p = tools.place(tools.tz, tools.honour(tools.tz, from), w.days, w.days, personMinute(state.id, w), 'task', false);
    if (!p) continue;
    const draft = rhythm.kind === 'thinking-of-you' ? tools.pickContent() : null;
    const of = rhythm.count !== undefined ? ` of ${rhythm.count}` : '';
    const timing = fromLast ? `every ${rhythm.every}` : `${rhythm.first} after ${tools.startWords}${rhythm.every ? `, then every ${rhythm.every}` : ''}`;
    out.push({
      touchId: touchIdFor(state.id, state.planVersion),
      status: 'planned',
      step: state.history.cadenceStep,
      recurring: true,
      at: p.at.toISOString(),
      channel: 'task',
      kind: rhythm.kind,
      ...(draft && { contentId: draft.id, topic: draft.topic }),
      rule: `${track.id}: ${HUMAN_TOUCH_WORDS[rhythm.kind]} ${n + 1}${of} (${timing}), a task for the owner${tools.honourNote}${p.note}`,
      ...p.extra,
    });
  }
  return out;
}

/**
 * The touch that comes first. A human touch that would land within the minimum gap before the next
 * cadence touch waits until after it: placed first, it would push that e-mail off its weekday by
 * the gap (to the next week, with a one-day window), while the task moves a day or two at no loss.
 * Ties go to the cadence, then to the order of `humanTouches`.
 */
function earliest(cadence: PlannedTouch | null, human: readonly PlannedTouch[], o: { contactTz: string; gapDays: number }): PlannedTouch | null {
  const dayOf = (t: PlannedTouch) => {
    const d = localDateOf(new Date(t.at), o.contactTz);
    return Date.UTC(d.year, d.month - 1, d.day) / DAY_MS;
  };
  let best = cadence;
  for (const t of human) {
    if (cadence && dayOf(cadence) - dayOf(t) < o.gapDays) continue;
    if (best === null || Date.parse(t.at) < Date.parse(best.at)) best = t;
  }
  return best;
}

const CONTRACT_LEAD_DAYS = 60;

/** The earliest instant nurture may start, from the loss's hints (revisitAfter, contractEndsAt). */
export function revisitFloor(state: Pick<RelationshipState, 'nurture'>): { at: Date; why: string } | undefined {
  const n = state.nurture;
  if (!n) return undefined;
  const candidates: { at: Date; why: string }[] = [];
  if (n.revisitAfter) candidates.push({ at: new Date(n.revisitAfter), why: 'the rep asked to come back then' });
  if (n.contractEndsAt) candidates.push({ at: new Date(Date.parse(n.contractEndsAt) - CONTRACT_LEAD_DAYS * 86_400_000), why: `${CONTRACT_LEAD_DAYS} days before their contract ends` });
  const valid = candidates.filter((c) => Number.isFinite(c.at.getTime()));
  return valid.sort((a, b) => b.at.getTime() - a.at.getTime())[0];
}

// ---------------------------------------------------------------------------------------------
// Kill switches and dry-run (controls.yaml), as the sender's final claim reads them

/** What controls.yaml (and what paused itself, cadence.yaml `autoPause`) says about a relationship's touch right now. */
export interface TouchControl {
  /** The track the relationship is on now, if any. */
  trackId: string | undefined;
  /**
   * Held, not sent: `paused` (everything), `track-paused` (its track, controls.yaml) or
   * `auto-paused` (its track paused itself). A pause wins over dry-run; a switch over an auto-pause.
   */
  hold?: 'paused' | 'track-paused' | 'auto-paused';
  /** The planned e-mail's content paused itself: replanned with other content, not sent. */
  contentPaused?: string;
  /** Planned and recorded, but no e-mail and no task leaves Cultivate. */
  dryRun: boolean;
}

export function controlFor(config: CultivateConfig, state: TrackedState & Partial<Pick<RelationshipState, 'nextTouch'>>): TouchControl {
  const c = config.controls;
  const trackId = trackOfState(config, state)?.id;
  const own = trackId !== undefined && Object.hasOwn(c.tracks, trackId) ? c.tracks[trackId] : undefined;
  const autoPaused = trackId !== undefined && config.paused?.tracks.includes(trackId) === true;
  const hold = c.paused ? 'paused' : own?.paused ? 'track-paused' : autoPaused ? 'auto-paused' : undefined;
  const contentId = state.nextTouch?.channel === 'email' ? state.nextTouch.contentId : undefined;
  const contentPaused = contentId !== undefined && config.paused?.content.includes(contentId) === true ? contentId : undefined;
  return { trackId, ...(hold && { hold }), ...(contentPaused !== undefined && { contentPaused }), dryRun: c.dryRun || own?.dryRun === true };
}
