/**
 * `cultivate preview`: what the cadence would do to one contact, touch by touch.
 *
 * Nothing here re-implements the cadence. The contact is created the way production creates it
 * (a `lead-closed-lost` event, or with `--entry referral` a `referral-received` one, validated by
 * the catalog schema, applied by `applyInbound`, which plans the first touch with the cadence planner); each planned touch is then marked done at its
 * own instant by `recordTouch`, exactly as the sender does for a sent e-mail or an assigned task,
 * which also plans the next one. So preview and production cannot drift apart.
 *
 * The contact is an ideal one: every e-mail is delivered, nobody replies, clicks, books or
 * unsubscribes. The minute inside the send window is spread per person (a stable hash of the
 * relationship id); `--id` shows a real person's minute.
 */
import { z } from 'zod';
import { contactRoles, countryCode, emailAddress, Horizon, InboundEvent, lostReasons, timeZone, type ConsentRecord } from '#catalog/events';
import { parseDuration, trackEntries, type CultivateConfig, type TrackConfig, type TrackEntry } from '#config/schema';
import { resolveOwner } from '#config/owners';
import { contactTimeZone, createCadencePlanner, ownerTimeZone, quietCutoff, trackOfState, trackSubjectOf, withoutHumanTouches, type TrackSubject } from '#domain/cadence';
import { canEmail } from '#domain/consent';
import { pickContent } from '#domain/content';
import { noteTouch } from '#domain/guardrails';
import { fromLocal, zonedParts } from '#domain/local-time';
import { applyInbound } from '#domain/relationship';
import { recordTouch } from '#domain/touch';
import type { PlannedTouch, RelationshipState } from '#domain/types';

const isoDate = /^\d{4}-\d{2}-\d{2}$/;

/** The flags of `cultivate preview`, validated. */
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { message: `must be one of ${values.join(', ')}` });

export const PreviewOptions = z
  .strictObject({
    /** How the contact enters nurture: a lost deal (the default) or a referral. */
    entry: oneOf(trackEntries).default('lost-deal'),
    /** The lost reason: required for a lost deal; a referral has none. */
    reason: oneOf(lostReasons).optional(),
    role: oneOf(contactRoles).optional(),
    horizon: z.enum(Horizon.options, { message: `must be one of ${Horizon.options.join(', ')}` }).optional(),
    /** Segment tags (repeatable `--tag`), as a CRM record carries them. */
    tag: z.array(z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters')).max(20, 'at most 20 tags').optional(),
    tz: timeZone.optional(),
    country: countryCode.optional(),
    language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag such as en or de').optional(),
    consent: oneOf(['granted', 'unknown', 'denied']).default('granted'),
    owner: emailAddress.optional(),
    from: z
      .string()
      .refine((v) => (isoDate.test(v) ? z.iso.date() : z.iso.datetime({ offset: true })).safeParse(v).success, {
        message: 'must be a date (2026-11-24) or an ISO instant (2026-11-24T15:04:05Z)',
      })
      .optional(),
    months: z
      .string()
      .regex(/^\d{1,3}$/, 'must be a whole number of months, e.g. 24')
      .transform(Number)
      .pipe(z.number().min(1, 'must be at least 1').max(120, 'must be at most 120'))
      .default(24),
    'revisit-after': z.iso.date({ message: 'must be a date such as 2027-06-01' }).optional(),
    'contract-ends-at': z.iso.date({ message: 'must be a date such as 2027-09-30' }).optional(),
    /** The contact has a postal address on record: handwritten notes and items of value are planned. */
    'postal-address': z.boolean().optional(),
    id: z.string().min(1).max(128).default('rel_preview'),
  })
  .superRefine((o, ctx) => {
    if (o.entry === 'lost-deal') {
      if (o.reason === undefined) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'is required for a lost deal (--entry lost-deal, the default)' });
      return;
    }
    // A referral-received event carries none of a loss's data: each of these would be ignored.
    for (const key of ['reason', 'revisit-after', 'contract-ends-at'] as const) {
      if (o[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'belongs to a lost deal; a referral has none (leave it out with --entry referral)' });
    }
  });
export type PreviewOptions = z.infer<typeof PreviewOptions>;

export interface PreviewRow {
  /** Due instant, UTC ISO. */
  at: string;
  /** Local wall-clock time of the touch: the contact's zone for e-mail, the task owner's for tasks. */
  localTime: string;
  channel: PlannedTouch['channel'];
  kind: string;
  /** The content title of an e-mail; null for a task. */
  content: string | null;
  /** The planner's rule for this touch. */
  reason: string;
}

export interface PreviewResult {
  /** How the contact entered nurture. */
  entry: TrackEntry;
  /** When nurture started: the loss, or the referral's arrival. */
  lostAt: string;
  horizon: string;
  trackId: string | undefined;
  /** Why that track: the conditions of its `when` that this contact meets, in words (empty: a catch-all). */
  trackChosenBy: string[];
  contactZone: string;
  /** Who does the tasks (after inactive-owner routing), and their zone. */
  taskOwner: { email: string; via: string; zone: string };
  rows: PreviewRow[];
  /** The touches behind `rows`, as planned (send-test renders their e-mails). */
  touches: PlannedTouch[];
  /** The simulated relationship after the last touch. */
  state: RelationshipState;
  /** Why the simulation stopped, in words. */
  stop: string;
}

const MAX_TOUCHES = 1000;

function addMonthsUtc(instant: Date, months: number): Date {
  const d = new Date(instant.getTime());
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const pad = (n: number) => String(n).padStart(2, '0');

/** "Tue 2026-12-01 10:47 Europe/Berlin". */
export function localTimeText(instant: Date, tz: string): string {
  const p = zonedParts(instant, tz);
  return `${WEEKDAYS[p.weekday]} ${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)} ${tz}`;
}

function consentRecord(consent: PreviewOptions['consent'], at: string): ConsentRecord {
  if (consent === 'granted') return { email: 'granted', basis: 'opt-in', source: 'cultivate-preview', capturedAt: at };
  return { email: consent, source: 'cultivate-preview' };
}

/** The loss (or referral) instant: `--from` (a plain date means 12:00 in the contact's zone that day), else `now`. */
function lossInstant(config: CultivateConfig, options: PreviewOptions, owner: string, now: Date): Date {
  if (options.from === undefined) return now;
  if (!isoDate.test(options.from)) return new Date(options.from);
  const tz = contactTimeZone(config, { owner, contact: options.tz ? { timezone: options.tz } : {} });
  const [y, m, d] = options.from.split('-').map(Number) as [number, number, number];
  return fromLocal(tz, y, m, d, 12, 0);
}

/** Runs the cadence for one simulated contact. `now` is the default loss instant. */
export function simulate(config: CultivateConfig, options: PreviewOptions, now = new Date()): PreviewResult {
  const planner = createCadencePlanner(config);
  const emailPlanner = createCadencePlanner(withoutHumanTouches(config));
  const owner = options.owner ?? config.owners.fallbackOwner;
  const lostAt = lossInstant(config, options, owner, now);
  const lostIso = lostAt.toISOString();
  const horizon = addMonthsUtc(lostAt, options.months);

  // The contact enters nurture exactly as a CRM's lost deal (or referral) makes it.
  const entering =
    options.entry === 'referral'
      ? { id: 'preview-referral', type: 'referral-received', data: {} }
      : {
          id: 'preview-lost-deal',
          type: 'lead-closed-lost',
          data: {
            reason: options.reason,
            ...(options['revisit-after'] && { revisitAfter: options['revisit-after'] }),
            ...(options['contract-ends-at'] && { contractEndsAt: options['contract-ends-at'] }),
          },
        };
  const event = InboundEvent.parse({
    ...entering,
    occurredAt: lostIso,
    contact: {
      externalId: 'preview',
      owner,
      consent: consentRecord(options.consent, lostIso),
      ...(options.tz && { timezone: options.tz }),
      ...(options.country && { country: options.country }),
      ...(options.role && { role: options.role }),
      ...(options.horizon && { horizon: options.horizon }),
      ...(options.tag && { tags: options.tag }),
      ...(options.language && { language: options.language }),
      // Only its presence matters to the planner; the address itself never shows in a preview.
      ...(options['postal-address'] && { postalAddress: { lines: ['(preview)'], city: '(preview)', country: options.country ?? 'US' } }),
    },
  });
  const decision = applyInbound(undefined, `preview:${options.entry}`, event, { now: lostAt, relationshipId: options.id, crmIds: [], fromCrm: true, planner });
  if (decision.kind !== 'applied') throw new Error(`preview: the ${options.entry === 'referral' ? 'referral' : 'lost deal'} was not applied (${decision.kind})`);
  let state: RelationshipState = decision.state;

  const titles = new Map(config.content.items.map((i) => [i.id, i.title]));
  const routed = resolveOwner(config.owners, owner);
  const ownerZone = ownerTimeZone(config, state);
  const contactZone = contactTimeZone(config, state);
  const rows: PreviewRow[] = [];
  const touches: PlannedTouch[] = [];
  let stop: string | undefined;

  for (let i = 0; i < MAX_TOUCHES; i++) {
    const touch = state.nextTouch;
    if (!touch) break;
    const at = new Date(touch.at);
    if (at.getTime() >= horizon.getTime()) {
      stop = `the preview horizon (${options.months} month${options.months === 1 ? '' : 's'}, to ${horizon.toISOString().slice(0, 10)}) is reached; the cadence goes on, next: ${touch.kind} on ${localTimeText(at, touch.channel === 'email' ? contactZone : ownerZone)}`;
      break;
    }
    const title = touch.contentId ? (titles.get(touch.contentId) ?? touch.contentId) : null;
    touches.push(touch);
    rows.push({
      at: touch.at,
      localTime: localTimeText(at, touch.channel === 'email' ? contactZone : ownerZone),
      channel: touch.channel,
      kind: touch.kind,
      content: title,
      reason: touch.rule,
    });
    // Mark it done at its own instant, as the sender does; recordTouch plans the next touch.
    const result =
      touch.channel === 'email'
        ? ({ kind: 'email-sent', messageId: `preview-${i + 1}`, title: title ?? touch.kind } as const)
        : ({ kind: 'task-assigned', title: touch.kind } as const);
    // The sender notes each done touch in the history the gap and caps count (send.ts does the same).
    const noted = { ...state, history: noteTouch(state.history, touch.channel, at) };
    const recorded = recordTouch(noted, touch, result, at, planner);
    if (!recorded) throw new Error(`preview: touch ${touch.touchId} was already recorded`);
    state = recorded.state;
  }
  if (state.nextTouch && stop === undefined) stop = `stopped after ${MAX_TOUCHES} touches (preview limit)`;
  // The human rhythms go on after the e-mails end; say when and why the e-mails ended all the same.
  if (stop !== undefined && emailPlanner.planNext({ ...state, nextTouch: null }, { now: horizon }) === null) {
    stop += `; e-mail has ended: ${whyNothingNext(config, state, options)}`;
  }
  const track = trackOfState(config, state);
  const subject = trackSubjectOf(state);

  return {
    entry: options.entry,
    lostAt: lostIso,
    horizon: horizon.toISOString(),
    trackId: track?.id,
    trackChosenBy: track && subject ? chosenBy(track, subject) : [],
    contactZone,
    taskOwner: { email: routed.owner.email, via: routed.via, zone: ownerZone },
    rows,
    touches,
    state,
    stop: stop ?? whyNothingNext(config, state, options),
  };
}

/** The conditions of `track`'s `when` that `subject` meets, e.g. ["lost reason timing", "role champion"]. */
export function chosenBy(track: Pick<TrackConfig, 'when'>, subject: TrackSubject): string[] {
  const w = track.when;
  if (!w) return [];
  const listed = new Set((w.tags ?? []) as readonly string[]);
  const tags = (subject.tags ?? []).filter((t) => listed.has(t.toLowerCase()));
  return [
    w.entries && `entry ${subject.entry ?? 'lost-deal'}`,
    w.lostReasons && `lost reason ${subject.lostReason}`,
    w.roles && `role ${subject.role}`,
    w.horizons && `horizon ${subject.horizon}`,
    w.countries && `country ${subject.country}`,
    w.tags && `tag${tags.length === 1 ? '' : 's'} ${tags.join(', ')}`,
  ].filter((c): c is string => typeof c === 'string');
}

/** Why the planner has nothing more for this contact, in sales-ops words. */
function whyNothingNext(config: CultivateConfig, state: RelationshipState, options: PreviewOptions): string {
  if (state.stage !== 'nurturing' || !state.nurture) return `the contact is not in nurture (stage ${state.stage})`;
  const track = trackOfState(config, state);
  if (!track && options.entry === 'referral') return 'no track in cadence.yaml takes referrals (a track takes them only when its when.entries lists referral)';
  if (!track) return `no track in cadence.yaml takes this contact (lost reason "${state.nurture.lostReason ?? options.reason}"${options.role ? `, role ${options.role}` : ''}${options.horizon ? `, horizon ${options.horizon}` : ''}${options.country ? `, country ${options.country}` : ''}${options.tag ? `, tags ${options.tag.join(', ')}` : ''})`;
  const sendsEmail = (track.weekly?.count ?? 0) > 0 || track.monthly !== undefined;
  if (!sendsEmail) return `track "${track.id}" sends no e-mail (no weekly or monthly): only its tasks`;
  if (!canEmail(state)) {
    if (options.consent === 'denied') return 'e-mail consent is denied: no e-mail, and no permission ask';
    return track.permissionAsk
      ? 'no e-mail without consent: after the permission ask, nothing more is planned until the contact says yes (a consent-changed event starts the weekly e-mails)'
      : `no e-mail consent on record, and track "${track.id}" has no permissionAsk`;
  }
  if (state.history.emailsSent >= (track.weekly?.count ?? 0) && track.monthly === undefined) {
    return `the ${track.weekly?.count ?? 0} weekly e-mails are done and track "${track.id}" has no monthly rhythm`;
  }
  if (!pickContent(config.content, state, track.topics ? { topics: track.topics } : {})) {
    return `the content ran out: every item in track "${track.id}"'s topics has been sent (add items to content.yaml)`;
  }
  const cutoff = quietCutoff(track, state);
  const d = parseDuration(track.stopEmailAfterQuiet);
  const quiet = d ? `${d.amount} quiet ${d.unit}${d.amount === 1 ? '' : 's'}` : `${track.stopEmailAfterQuiet} of quiet`;
  return `e-mail ends after ${quiet} (stopEmailAfterQuiet: no reply, meeting or other human signal since the loss; cutoff ${cutoff ? cutoff.toISOString().slice(0, 10) : 'reached'})`;
}

// ---------------------------------------------------------------------------------------------
// Output

export function previewJson(result: PreviewResult): string {
  return `${JSON.stringify(result.rows, null, 2)}\n`;
}

/** "lost-deal (first match in cadence.yaml, by lost reason timing)", or why none / a catch-all. */
function trackLine(result: PreviewResult): string {
  if (result.trackId === undefined) return `(none: no track in cadence.yaml takes ${result.entry === 'referral' ? 'referrals' : 'this contact'})`;
  if (result.trackChosenBy.length === 0) return `${result.trackId} (a catch-all without \`when\`: no track before it takes this contact)`;
  return `${result.trackId} (first match in cadence.yaml, by ${result.trackChosenBy.join(' and ')})`;
}

export function previewTable(result: PreviewResult, options: PreviewOptions): string {
  const who = [
    options.reason && `lost reason ${options.reason}`,
    options.role && `role ${options.role}`,
    options.horizon && `horizon ${options.horizon}`,
    options.tag && `tag${options.tag.length === 1 ? '' : 's'} ${options.tag.join(', ')}`,
    `time zone ${result.contactZone}${options.tz ? '' : ' (none given: from cadence.yaml timezone)'}`,
    options.country && `country ${options.country}`,
    `consent ${options.consent}`,
    options['postal-address'] && 'a postal address on record',
  ].filter(Boolean);
  const lines = [
    `Preview: a contact with ${who.join(', ')}, ${result.entry === 'referral' ? 'referred' : 'lost'} ${localTimeText(new Date(result.lostAt), result.contactZone)}.`,
    `Track: ${trackLine(result)}. Tasks go to ${result.taskOwner.email}${result.taskOwner.via === 'owner' ? '' : ` (${result.taskOwner.via})`}, in ${result.taskOwner.zone}.`,
    `Minutes are spread per person (relationship id "${options.id}"); every e-mail is taken as delivered and nobody replies.`,
    '',
  ];
  const header = ['#', 'date', 'local time', 'zone', 'channel', 'kind', 'content', 'why'];
  const body = result.rows.map((r, i) => {
    const [weekday, date, time, zone] = r.localTime.split(' ') as [string, string, string, string];
    return [String(i + 1), `${weekday} ${date}`, time, zone, r.channel, r.kind, r.content ?? '-', r.reason];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => (c === header.length - 1 ? 0 : (row[c] ?? '').length))));
  const fmt = (row: string[]) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header), fmt(widths.map((w, c) => (c === header.length - 1 ? '---' : '-'.repeat(w)))));
  for (const row of body) lines.push(fmt(row));
  if (body.length === 0) lines.push('(no touches)');
  const emails = result.rows.filter((r) => r.channel === 'email').length;
  lines.push('', `${result.rows.length} touch${result.rows.length === 1 ? '' : 'es'} (${emails} e-mail${emails === 1 ? '' : 's'}, ${result.rows.length - emails} task${result.rows.length - emails === 1 ? '' : 's'}).`);
  lines.push(`Stopped: ${result.stop}.`);
  return `${lines.join('\n')}\n`;
}
