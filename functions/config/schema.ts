/**
 * Schemas of what sales ops edit in `config/` (DESIGN.md §2): cadence rules, the content library
 * and the owners. Every object is strict, so a misspelt key is an error rather than a silent
 * default. `load.ts` reads the YAML and maps each problem back to file, line and column.
 */
import { z } from 'zod';
import { emailAddress, LostReason, timeZone } from '#catalog/events';
import { parseClock, weekdayNames } from '#domain/local-time';

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

const languageTag = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag such as en or pt-BR');

// ---------------------------------------------------------------------------------------------
// cadence.yaml

/** The kinds of touch the cadence planner issues; a window may be named after any of them. */
export const touchKinds = ['thank-you-note', 'permission-ask', 'value-email'] as const;
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

export const TrackSchema = z.strictObject({
  id: slug,
  description: z.string().max(500).optional(),
  /** Which lost deals this track takes. Without `when`, the track takes any lost deal. */
  when: z.strictObject({ lostReasons: z.array(LostReason).min(1) }).optional(),
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
});
export type TrackConfig = z.infer<typeof TrackSchema>;

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

/** Everything the domain reads from `config/`, validated and cross-checked. */
export interface CultivateConfig {
  cadence: CadenceConfig;
  content: ContentLibrary;
  owners: OwnersConfig;
}
