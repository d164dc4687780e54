/**
 * Schemas of what sales ops edit in `config/` (DESIGN.md §2): cadence rules, the content library
 * and the owners. Every object is strict, so a misspelt key is an error rather than a silent
 * default. `load.ts` reads the YAML and maps each problem back to file, line and column.
 */
import { z } from 'zod';
import { contactRoles, emailAddress, Horizon, lostReasons, timeZone } from '#catalog/events';
import { parseClock, weekdayNames } from '#domain/local-time';
import { isKnownCountry } from '#domain/calendar';

// ---------------------------------------------------------------------------------------------
// Building blocks

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes, e.g. pipeline-hygiene');

/** "HH:MM", 24-hour. "24:00" is accepted as the end of a day. */
export const clockTime = z
  .string()
  .refine((v) => parseClock(v) !== undefined, { message: 'must be a time "HH:MM" between 00:00 and 24:00, e.g. "09:30"' });

export const weekdayName = z.enum(weekdayNames, { message: `must be one of ${weekdayNames.join(', ')}` });

export const durationUnits = ['day', 'week', 'month'] as const;
export type DurationUnit = (typeof durationUnits)[number];
export interface Duration {
  amount: number;
  unit: DurationUnit;
}

const DURATION_RE = /^(\d{1,4})\s*(d|days?|w|weeks?|mo|months?)$/;

/** "2 days", "1 week", "6 months" (or "2d", "1w", "6mo"). */
export function parseDuration(text: string): Duration | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const amount = Number(m[1]);
  const u = m[2] as string;
  const unit: DurationUnit = u.startsWith('mo') ? 'month' : u.startsWith('w') ? 'week' : 'day';
  return { amount, unit };
}

export const duration = z
  .string()
  .refine((v) => parseDuration(v) !== undefined, { message: 'must be a duration such as "2 days", "1 week" or "6 months"' });

const weeksDuration = duration.refine((v) => parseDuration(v)?.unit !== 'day' && parseDuration(v)?.unit !== 'month', {
  message: 'must be in weeks (e.g. "4 weeks"), so the weekday stays the same',
});

/** A function (hoisted) so the track conditions above the calendar schemas can use it too. */
function calendarCountryCode() {
  return z.string().superRefine((code, ctx) => {
    if (!/^[A-Z]{2}$/.test(code)) ctx.addIssue({ code: 'custom', message: 'must be an ISO 3166-1 alpha-2 country code in capitals, such as DE' });
    else if (!isKnownCountry(code)) ctx.addIssue({ code: 'custom', message: 'unknown country code: not an ISO 3166-1 alpha-2 country (e.g. GB, not UK)' });
  });
}

const languageTag = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag such as en or pt-BR');

// ---------------------------------------------------------------------------------------------
// cadence.yaml

/**
 * The human touches a track may repeat on a rhythm (`humanTouches`): each becomes a task for the
 * owner in the CRM and comes back as `touch-completed` with an outcome. They need no e-mail
 * consent and go on after the e-mail sunset; a do-not-contact, a retirement or a hand-back ends them.
 */
export const humanTouchKinds = [
  // "What could we have done better?": early, once; the answer may correct the lost reason.
  'ask-why',
  'courtesy-call',
  'thinking-of-you',
  'handwritten-note',
  'item-of-value',
  'referral-exchange',
  'introduction',
  'requalification',
  'research',
  'personal-message',
  'lunch',
] as const;
export type HumanTouchKind = (typeof humanTouchKinds)[number];

/** Human touches that go by post: planned only for contacts with a postal address on record. */
export const postalTouchKinds: readonly HumanTouchKind[] = ['handwritten-note', 'item-of-value'];

/** Human touches that meet in the contact's city: planned only for contacts with a city on record (`postalAddress.city`). */
export const cityTouchKinds: readonly HumanTouchKind[] = ['lunch'];

/** The kinds of touch the cadence planner issues; a window may be named after any of them. */
export const touchKinds = ['thank-you-note', 'permission-ask', 'value-email', ...humanTouchKinds] as const;
export type TouchKind = (typeof touchKinds)[number];

export const WindowSchema = z
  .strictObject({
    days: z.array(weekdayName).min(1, 'list at least one weekday'),
    start: clockTime,
    end: clockTime,
  })
  .superRefine((w, ctx) => {
    const start = parseClock(w.start);
    const end = parseClock(w.end);
    if (start !== undefined && end !== undefined && start >= end) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: `window end ${w.end} must be after its start ${w.start}` });
    }
    if (start === 1440) ctx.addIssue({ code: 'custom', path: ['start'], message: 'a window cannot start at 24:00' });
    if (new Set(w.days).size !== w.days.length) ctx.addIssue({ code: 'custom', path: ['days'], message: 'a weekday is listed twice' });
  });
export type WindowConfig = z.infer<typeof WindowSchema>;

/** A list in `when`: at least one value, none twice (a value listed twice is a typo or a merge slip). */
const conditionList = <T extends z.ZodType<string>>(value: T) =>
  z
    .array(value)
    .min(1, 'list at least one value, or leave the key out')
    .superRefine((list, ctx) => {
      list.forEach((v, i) => {
        if (list.indexOf(v) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `"${v}" is listed twice` });
      });
    });

const listed = (values: readonly string[]) => values.join(', ');

/**
 * How a relationship enters nurture (issue #4, "tracks chosen by the entering event"): a lost deal
 * (`lead-closed-lost`), or a referral received for someone not yet in nurture (`referral-received`).
 */
export const trackEntries = ['lost-deal', 'referral'] as const;
export type TrackEntry = (typeof trackEntries)[number];

/**
 * The conditions of a track (issue #4: entering event, lost reason, role, horizon, country, segment
 * tags). Every key listed must hold (AND); within one list any value will do (OR); `tags` holds
 * when the contact has any of them. A contact without a role (horizon, country, tags) does not
 * match a track that requires one. A track that lists no `entries` takes lost deals only, so every
 * config written before referrals entered nurture keeps its meaning. There is no tag registry, so
 * tags are checked for their form only.
 */
export const TrackWhenSchema = z
  .strictObject({
    entries: conditionList(z.enum(trackEntries, { message: `must be an entering event: ${listed(trackEntries)}` })).optional(),
    lostReasons: conditionList(z.enum(lostReasons, { message: `must be a lost reason: ${listed(lostReasons)}` })).optional(),
    roles: conditionList(z.enum(contactRoles, { message: `must be a contact role: ${listed(contactRoles)}` })).optional(),
    horizons: conditionList(z.enum(Horizon.options, { message: `must be a horizon: ${listed(Horizon.options)}` })).optional(),
    countries: conditionList(calendarCountryCode()).optional(),
    tags: conditionList(slug).optional(),
  })
  .refine((w) => Object.values(w).some((v) => v !== undefined), {
    message: 'list at least one condition (entries, lostReasons, roles, horizons, countries, tags); for a track that takes every lost deal, leave `when` out',
  })
  // Every condition must hold, and a referral has no lost reason: such a track would silently take
  // no referral at all.
  .refine((w) => !(w.lostReasons !== undefined && w.entries?.includes('referral')), {
    message: 'a referral has no lost reason, so a track that lists lostReasons takes no referral: give referrals a track of their own, without lostReasons',
    path: ['lostReasons'],
  });
export type TrackWhen = z.infer<typeof TrackWhenSchema>;

/**
 * A human touch on a rhythm: the first `first` after nurture starts (the loss, or the revisit
 * floor when later), then one every `every`, `count` in all (without `count`, for as long as
 * nurture lasts; without `every`, once).
 */
export const HumanTouchSchema = z
  .strictObject({
    kind: z.enum(humanTouchKinds, { message: `must be a human touch: ${humanTouchKinds.join(', ')}` }),
    first: duration,
    every: duration
      .refine((v) => (parseDuration(v)?.amount ?? 0) > 0, { message: 'must be longer than 0, e.g. "3 months"' })
      .optional(),
    count: z.int().min(1, 'must be at least 1; to turn the touch off, remove it').max(100).optional(),
  })
  .superRefine((t, ctx) => {
    if (t.every === undefined && t.count !== undefined && t.count > 1) {
      ctx.addIssue({ code: 'custom', path: ['count'], message: `count ${t.count} needs \`every\` (how long between them); without it the touch happens once` });
    }
  });
export type HumanTouchConfig = z.infer<typeof HumanTouchSchema>;

export const TrackSchema = z.strictObject({
  id: slug,
  description: z.string().max(500).optional(),
  /** Whom this track takes; the first track whose `when` holds wins. Without `when`, every lost deal that reaches it. */
  when: TrackWhenSchema.optional(),
  /** Content topics this track may send. Without it, any topic in the library. */
  topics: z.array(slug).min(1).optional(),
  /** Step 0: a thank-you note task for the owner, this long after the loss. */
  thankYou: z.strictObject({ after: duration }).optional(),
  /** Without e-mail consent: one permission-ask task for the owner, this long after the previous touch. */
  permissionAsk: z.strictObject({ after: duration }).optional(),
  /** Weekly value e-mails: the first this long after the previous touch, then `count` in all, one a week. */
  weekly: z.strictObject({ after: duration, count: z.int().min(0).max(52) }).optional(),
  /** Weeks deliberately skipped after the last weekly e-mail (the skip-week test). */
  skipWeeks: z.int().min(0).max(8).default(0),
  /** Then a lighter rhythm: one value e-mail every N weeks, same weekday and time. */
  monthly: z.strictObject({ every: weeksDuration }).optional(),
  /** No automated e-mail once this long has passed with no human signal (since the loss or the last signal). */
  stopEmailAfterQuiet: duration,
  /** Human touches on a rhythm (tasks for the owner), next to the e-mails and after them. One entry per kind. */
  humanTouches: z
    .array(HumanTouchSchema)
    .max(humanTouchKinds.length)
    .superRefine((list, ctx) => {
      list.forEach((t, i) => {
        if (list.findIndex((o) => o.kind === t.kind) !== i) ctx.addIssue({ code: 'custom', path: [i, 'kind'], message: `"${t.kind}" is listed twice in this track; give it one rhythm` });
      });
    })
    .optional(),
});
export type TrackConfig = z.infer<typeof TrackSchema>;

// ---------------------------------------------------------------------------------------------
// Guardrails across all tracks (cadence.yaml `calendar` and `guardrails`)

/** A country date-holidays knows (its calendar is what "public holiday" means for that country). */
export const calendarCountry = calendarCountryCode();

/** "2026-12-24": a real calendar date (2026-02-30 is refused). */
export const calendarDate = z.iso.date({ message: 'must be a real date such as 2026-12-24' });

const weekendDays = z
  .array(weekdayName)
  .max(6, 'a weekend cannot take the whole week')
  .refine((d) => new Set(d).size === d.length, { message: 'a weekday is listed twice' });

export const CompanyHolidaySchema = z.strictObject({
  date: calendarDate,
  name: z.string().min(1).max(100),
  /** Only for contacts in these countries; without it, for everyone. */
  countries: z.array(calendarCountry).min(1).optional(),
});
export type CompanyHoliday = z.infer<typeof CompanyHolidaySchema>;

export const CalendarSchema = z.strictObject({
  /** Public holidays of the contact's country (date-holidays, type "public") are not working days. */
  publicHolidays: z.boolean(),
  weekend: z.strictObject({
    /** Weekend days for contacts without a country, or whose country is not under `byCountry`. */
    default: weekendDays,
    /** Countries whose weekend differs, e.g. SA: [fri, sat]. */
    byCountry: z.record(z.string(), weekendDays).superRefine((map, ctx) => {
      for (const code of Object.keys(map)) {
        const r = calendarCountry.safeParse(code);
        if (!r.success) ctx.addIssue({ code: 'custom', path: [code], message: r.error.issues[0]?.message ?? 'unknown country code' });
      }
    }),
  }),
  /** The company's own days off (e.g. a year-end shutdown), for everyone or for some countries. */
  companyHolidays: z.array(CompanyHolidaySchema),
});
export type CalendarConfig = z.infer<typeof CalendarSchema>;

const cap = z.int().min(1, 'a cap must be at least 1').max(1000);

/** A cap over rolling 7 and 30 days; 30 days can never allow fewer than 7 days do. */
export const RollingCapSchema = z
  .strictObject({ per7Days: cap, per30Days: cap })
  .superRefine((c, ctx) => {
    if (c.per30Days < c.per7Days) {
      ctx.addIssue({ code: 'custom', path: ['per30Days'], message: `the 30-day cap (${c.per30Days}) is below the 7-day cap (${c.per7Days}): the 7-day cap could never be reached; raise per30Days or lower per7Days` });
    }
  });
export type RollingCap = z.infer<typeof RollingCapSchema>;

const dayDuration = duration.refine((v) => parseDuration(v)?.unit === 'day', { message: 'must be in days, e.g. "2 days"' });

export const GuardrailsSchema = z
  .strictObject({
    /** Local days (the contact's zone) between any two touches to one person. */
    minimumGap: dayDuration,
    perPerson: z.strictObject({ touches: RollingCapSchema, emails: RollingCapSchema }),
    /** Touches to everyone at one account (company), checked and reserved when a touch goes out. */
    perAccount: z.strictObject({ touches: RollingCapSchema }),
    /** Human tasks one owner gets per ISO week (Monday to Sunday in the owner's zone). */
    ownerTasksPerWeek: z.int().min(1).max(1000),
    /** An open task not completed within this many days goes to the owner's manager. */
    taskSla: dayDuration,
  })
  .superRefine((g, ctx) => {
    const t = g.perPerson.touches;
    const e = g.perPerson.emails;
    if (e.per7Days > t.per7Days) ctx.addIssue({ code: 'custom', path: ['perPerson', 'emails', 'per7Days'], message: `e-mails per 7 days (${e.per7Days}) exceed touches per 7 days (${t.per7Days}); every e-mail is a touch, so this cap could never be reached` });
    if (e.per30Days > t.per30Days) ctx.addIssue({ code: 'custom', path: ['perPerson', 'emails', 'per30Days'], message: `e-mails per 30 days (${e.per30Days}) exceed touches per 30 days (${t.per30Days}); every e-mail is a touch, so this cap could never be reached` });
    const gap = parseDuration(g.minimumGap)?.amount ?? 0;
    // With a gap of N days, at most ceil(7 / N) touches fit in 7 days.
    if (gap > 0 && t.per7Days > Math.ceil(7 / gap)) {
      ctx.addIssue({ code: 'custom', path: ['perPerson', 'touches', 'per7Days'], message: `${t.per7Days} touches per 7 days can never happen with a minimumGap of ${g.minimumGap} (at most ${Math.ceil(7 / gap)} fit); lower per7Days or the gap` });
    }
  });
export type GuardrailsConfig = z.infer<typeof GuardrailsSchema>;

const percent = z.number().gt(0, 'must be more than 0 (to turn a check off, remove `autoPause`)').max(100, 'a percentage: at most 100');

/**
 * Content items and tracks that pause themselves (issue #4): once `minEmails` e-mails of one have
 * gone out (since it started, or since it was last resumed), an unsubscribe or complaint rate at or
 * above its threshold pauses it. Absent: nothing pauses itself.
 */
export const AutoPauseSchema = z.strictObject({
  /** No judgement before this many e-mails of the item (or track) since it started or was resumed. */
  minEmails: z.int().min(1, 'must be at least 1').max(1_000_000),
  /** Unsubscribes (stop all e-mail, stop this topic) per e-mail sent, in percent. */
  unsubscribePercent: percent,
  /** Spam complaints per e-mail sent, in percent. */
  complaintPercent: percent,
});
export type AutoPauseConfig = z.infer<typeof AutoPauseSchema>;

/**
 * Lunches (issue #4, `lunch` in `humanTouches`): one owner's people in one city who are not
 * competitors share one table. At the final claim of one person's lunch, others of the same owner
 * in the same city whose own lunch is due within `groupWithin` join it. "Not competitors": never
 * two of one account, never two sharing a CRM tag listed in `competitorTags`. Absent: the defaults.
 */
export const LunchesSchema = z.strictObject({
  /** Guests are people whose own lunch is due by the host's due time plus this (overdue ones too). */
  groupWithin: duration.refine((v) => (parseDuration(v)?.amount ?? 1) > 0, { message: 'must be longer than 0, e.g. "6 weeks"' }).default('6 weeks'),
  /** People at the table besides the host: 1 or 2 (two or three people with the owner). */
  maxGuests: z.int().min(1, 'at least 1 guest; to stop grouping, remove `lunch` from the tracks').max(2, 'at most 2 guests: two or three people at the table with the owner').default(2),
  /** CRM tags (as slugs) that mark a line of business: two people sharing one of them are competitors and never grouped. */
  competitorTags: z
    .array(slug)
    .max(100)
    .refine((list) => new Set(list).size === list.length, { message: 'a tag is listed twice' })
    .default([]),
});
export type LunchesConfig = z.infer<typeof LunchesSchema>;

export const CadenceFileSchema = z
  .strictObject({
    version: z.literal(1),
    timezone: z.strictObject({
      /** A contact without a time zone gets their owner's (when true), else `default`. */
      useOwnerWhenMissing: z.boolean(),
      default: timeZone,
    }),
    /** Send windows by touch kind (`default` for every other kind). Local time of the recipient. */
    windows: z.record(z.string(), WindowSchema),
    /** Which local days are working days, per contact country. */
    calendar: CalendarSchema,
    /** Gaps and caps across all tracks. */
    guardrails: GuardrailsSchema,
    /** Content items and tracks that pause themselves when too many unsubscribe or complain. Absent: off. */
    autoPause: AutoPauseSchema.optional(),
    /** How lunches group one owner's people in one city. Absent: the defaults (6 weeks, 2 guests, no competitor tags). */
    lunches: LunchesSchema.optional(),
    tracks: z.array(TrackSchema).min(1),
  });
export type CadenceConfig = z.infer<typeof CadenceFileSchema>;

// ---------------------------------------------------------------------------------------------
// content.yaml

export const ContentItemSchema = z.strictObject({
  id: slug,
  title: z.string().min(1).max(200),
  topic: slug,
  summary: z.string().min(1).max(1000),
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
  /** BCP 47; without it, the library's `defaultLanguage`. */
  language: languageTag.optional(),
});
export type ContentItem = z.infer<typeof ContentItemSchema>;

export const ContentFileSchema = z
  .strictObject({
    defaultLanguage: languageTag,
    /** Topic id -> what the topic covers. Items and cadence tracks may only use these. */
    topics: z.record(slug, z.string().min(1).max(300)),
    items: z.array(ContentItemSchema).min(1),
  });
export type ContentLibrary = z.infer<typeof ContentFileSchema>;

// ---------------------------------------------------------------------------------------------
// owners.yaml

export const OwnerSchema = z.strictObject({
  email: emailAddress,
  name: z.string().min(1).max(200),
  /** Plain-text signature for the owner's e-mails and notes. */
  signature: z.string().min(1).max(1000),
  bookingLink: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
  timezone: timeZone,
  /** Who takes this owner's touches while they are inactive. */
  manager: emailAddress.optional(),
  active: z.boolean(),
});
export type Owner = z.infer<typeof OwnerSchema>;

export const OwnersFileSchema = z
  .strictObject({
    /** Takes the touches of unknown owners, and of inactive owners with no active manager. */
    fallbackOwner: emailAddress,
    owners: z.array(OwnerSchema).min(1),
  });
export type OwnersConfig = z.infer<typeof OwnersFileSchema>;

// ---------------------------------------------------------------------------------------------
// controls.yaml: the kill switches and dry-run, apart from the rules (flipped in an emergency,
// without touching the reviewed cadence; see config/README.md)

export const TrackControlSchema = z.strictObject({
  /** Hold this track's touches at the sender's final claim (nothing sent, no task). */
  paused: z.boolean().default(false),
  /** Plan and record this track's touches, but send no e-mail and assign no task. */
  dryRun: z.boolean().default(false),
});
export type TrackControl = z.infer<typeof TrackControlSchema>;

export const ControlsFileSchema = z.strictObject({
  version: z.literal(1),
  /** Hold every touch of every track. */
  paused: z.boolean(),
  /** Every track in dry-run. */
  dryRun: z.boolean(),
  /** Per track id (cadence.yaml `tracks[].id`). */
  tracks: z.record(slug, TrackControlSchema).default({}),
});
export type ControlsConfig = z.infer<typeof ControlsFileSchema>;

/** What a missing controls.yaml means: nothing paused, nothing in dry-run. */
export const NO_CONTROLS: ControlsConfig = { version: 1, paused: false, dryRun: false, tracks: {} };

// ---------------------------------------------------------------------------------------------

/** Everything the domain reads from `config/`, validated and cross-checked. */
export interface CultivateConfig {
  cadence: CadenceConfig;
  content: ContentLibrary;
  owners: OwnersConfig;
  controls: ControlsConfig;
  /**
   * What paused itself (cadence.yaml `autoPause`), merged in at run time from the table, never from
   * YAML: content the planner picks only when nothing else is left and the sender holds, and
   * tracks whose touches the sender holds. Absent: nothing.
   */
  paused?: PauseSet;
}

/** Content item ids and track ids that paused themselves (functions/domain/auto-pause.ts). */
export interface PauseSet {
  content: readonly string[];
  tracks: readonly string[];
}
