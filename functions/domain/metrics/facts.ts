/**
 * From one stream record of the single table (old and new image of a relationship's state item or
 * of a timeline entry), the metric facts it implies. Pure.
 *
 * Flows come from timeline entries (append-only, the same for the live stream and a rebuild), read
 * with the relationship's profile; the state item only moves the stage gauge (a level: the live
 * sum of -old +new telescopes to the rebuild's count of current stages) and censors at erasure.
 */
import type { TrackSubject } from '../cadence.ts';
import { guardrailCodes } from '../guardrails.ts';
import type { MetricsState } from './profile.ts';
import { groupOf } from './profile.ts';
import type { HoldoutSettings } from './holdout.ts';
import { daysBetween } from './periods.ts';
import type { Fact, ItemKey, Profile, TaskInfo } from './types.ts';

export interface FactContext {
  /** When the stream record was written (its ApproximateCreationDateTime), ISO. */
  at: string;
  holdout: HoldoutSettings;
  /** The cadence track a lost reason takes (config/cadence.yaml). */
  /** The track a loss with this subject takes under the rules (cadence.yaml: first match wins). */
  trackOf(subject: TrackSubject): string;
  /** The content series (topic) of a content item (config/content.yaml). */
  seriesOf(contentId: string | undefined): string;
  /** A task completed within this many hours after its due instant is on time. */
  onTimeGraceHours: number;
  /** For a timeline record: the relationship as it stood when the entry was written. */
  profile?: Profile;
  /** For a touch-completed entry: the task it completes, when found. */
  task?: TaskInfo;
}

/** A stream image, unmarshalled: the table's own item shape. */
export type Image = Record<string, unknown> & { pk?: unknown; sk?: unknown };

interface Entry {
  at: string;
  eventId: string;
  type: string;
  summary: string;
  superseded?: boolean;
  detail?: Record<string, string | number | boolean>;
}

export type RecordKind = 'state' | 'timeline' | 'other';

export function recordKind(image: Image | undefined): RecordKind {
  if (!image || typeof image.pk !== 'string' || !image.pk.startsWith('REL#')) return 'other';
  if (image.sk === 'STATE') return 'state';
  if (typeof image.sk === 'string' && image.sk.startsWith('TL#')) return 'timeline';
  return 'other';
}

export function stateOf(image: Image): MetricsState {
  return { ...(image.s as MetricsState), version: Number(image.v ?? 0) };
}

export const relationshipIdOf = (image: Image): string => String(image.pk).slice('REL#'.length);

/** Guard keys live under the person's own partition, so an erasure deletes them with the person. */
export const guardKey = (relationshipId: string, what: string, lostAt: string): ItemKey => ({ pk: `REL#${relationshipId}`, sk: `MX#${what}#${lostAt}` });
/** Recorded by a person's first completed introduction (any episode): their outcomes after it are its results. */
export const introducedKey = (relationshipId: string): ItemKey => ({ pk: `REL#${relationshipId}`, sk: 'MX#intro' });
/** Accounts are not people: their first-entry marker outlives erasure of any one contact. */
export const accountKey = (accountId: string): ItemKey => ({ pk: `ACCT#${accountId}`, sk: 'MX#entered' });

export function factsOf(oldImage: Image | undefined, newImage: Image | undefined, ctx: FactContext): Fact[] {
  const kind = recordKind(newImage ?? oldImage);
  if (kind === 'state') return stateFacts(oldImage && stateOf(oldImage), newImage && stateOf(newImage), ctx);
  // Timeline entries are append-only: a rewrite of the same entry (a retried outbox) is no news.
  if (kind === 'timeline' && newImage && !oldImage && ctx.profile) return entryFacts(newImage.e as Entry, ctx.profile, ctx);
  return [];
}

function stateFacts(old: MetricsState | undefined, next: MetricsState | undefined, ctx: FactContext): Fact[] {
  const facts: Fact[] = [];
  const gauge = (s: MetricsState, sign: 1 | -1): Fact => ({ metric: 'relationships', at: ctx.at, dims: { stage: s.stage, group: groupOf(s, ctx.holdout) }, gauge: sign });
  const oldGroup = old && groupOf(old, ctx.holdout);
  const newGroup = next && groupOf(next, ctx.holdout);
  if (old?.stage !== next?.stage || oldGroup !== newGroup) {
    if (old) facts.push(gauge(old, -1));
    if (next) facts.push(gauge(next, 1));
  }
  // Erasure: the person leaves observation. If their episode had not re-engaged, they are
  // censored on this day (the survival curve must not count them as at risk for ever).
  if (old && !next && old.nurture && oldGroup) {
    const lostAt = old.nurture.lostAt;
    facts.push({
      metric: 'nurture.left-observation',
      at: ctx.at,
      dims: { reason: 'erased', group: oldGroup },
      survival: { lostAt, group: oldGroup, event: 'censored', day: daysBetween(lostAt, ctx.at) },
      guard: { requires: guardKey(old.id, 'in', lostAt), unless: guardKey(old.id, 're', lostAt) },
    });
  }
  return facts;
}

const SIGNALS: Record<string, string> = {
  'meeting-booked': 'meeting',
  'deal-created': 'deal-created',
  'deal-reopened': 'deal-reopened',
  'deal-won': 'deal-won',
};

function skipCode(reason: string): string {
  if (reason.startsWith('suppressed')) return 'suppressed';
  if (reason.startsWith('no longer allowed')) return 'not-allowed';
  if (/^content .* not in the library/.test(reason)) return 'content-missing';
  if (reason.startsWith('auto-paused')) return 'auto-paused';
  return 'other';
}

/**
 * Entry types that end a touch id: its outcome (sent, assigned, skipped at send time, unknown), or
 * its push at send time (the successor is a new plan with moves of its own).
 */
const OUTCOME_CHANNEL = new Map<string, string | undefined>([
  ['email-sent', 'email'],
  ['task-assigned', 'task'],
  ['touch-skipped', undefined],
  ['touch-unknown', undefined],
  ['touch-pushed', undefined],
]);
const KNOWN_MOVES: ReadonlySet<string> = new Set(guardrailCodes);

/**
 * The distinct guardrail codes an outcome entry says moved its touch (`pushedBy: "holiday,min-gap"`).
 * A code this version does not know reads as `other`, so a stray value cannot grow the dimension.
 */
function movesOf(d: Record<string, string | number | boolean>): string[] {
  const raw = d.pushedBy;
  if (typeof raw !== 'string') return [];
  const codes = raw
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((c) => (KNOWN_MOVES.has(c) ? c : 'other'));
  return [...new Set(codes)];
}

function entryFacts(e: Entry, p: Profile, ctx: FactContext): Fact[] {
  if (e.superseded) return [];
  const d = e.detail ?? {};
  const str = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
  const num = (k: string) => (typeof d[k] === 'number' ? (d[k] as number) : undefined);
  const fact = (metric: string, dims: Record<string, string>, extra: Partial<Fact> = {}): Fact => ({ metric, at: e.at, dims, ...extra });
  const facts: Fact[] = [];
  const episode = p.episode && p.episode.lostAt <= e.at ? p.episode : undefined;

  // Re-engagement: a human signal after the loss, once per episode. Opens are never events and
  // scanner clicks never reach here: only replies a human wrote, meetings and deals do.
  const reEngage = (signal: string) => {
    if (!episode) return;
    const days = daysBetween(episode.lostAt, e.at);
    const guard = { requires: guardKey(p.relationshipId, 'in', episode.lostAt), once: guardKey(p.relationshipId, 're', episode.lostAt) };
    facts.push(
      fact('nurture.re-engaged', { signal, reason: episode.reason, owner: p.owner, group: p.group }, { days, guard, survival: { lostAt: episode.lostAt, group: p.group, event: 'event', day: days } }),
    );
  };
  // Both groups are measured the same way, from CRM outcomes only (the holdout gets no e-mail to reply to).
  const crmOutcome = (signal: string) => {
    if (!episode) return;
    facts.push(
      // Counted in the entry cohort's period (at the loss), like its denominator `nurture.entered`.
      { metric: 'holdout.converted', at: episode.lostAt, dims: { group: p.group, signal, reason: episode.reason }, guard: { requires: guardKey(p.relationshipId, 'in', episode.lostAt), once: guardKey(p.relationshipId, 'conv', episode.lostAt) } },
    );
    const amount = num('amount');
    if (signal === 'deal-won' && amount !== undefined) {
      facts.push({ metric: 'holdout.won', at: episode.lostAt, dims: { group: p.group }, amount, guard: { requires: guardKey(p.relationshipId, 'in', episode.lostAt) } });
    }
  };

  switch (e.type) {
    case 'lead-closed-lost': {
      // Lost with do-not-contact on record: straight to retired, never nurtured.
      if (e.summary.includes('do-not-contact')) break;
      // The loss of the deal that paused a nurture resumes that episode (same lostAt): not a new entry.
      if (d.resumed === true) break;
      // A corrected lost reason of the deal already in nurture: the same episode, no new entry.
      if (d.corrected === true) break;
      const reason = str('reason') ?? p.episode?.reason ?? 'other';
      const dims = { reason, track: ctx.trackOf({ ...p.trackSubject, lostReason: reason }), role: p.role, horizon: p.horizon, owner: p.owner, group: p.group };
      facts.push(fact('nurture.entered', dims, { survival: { lostAt: e.at, group: p.group, event: 'entered' }, guard: { once: guardKey(p.relationshipId, 'in', e.at) } }));
      if (p.accountId) facts.push(fact('nurture.accounts-entered', { reason, group: p.group }, { guard: { once: accountKey(p.accountId) } }));
      break;
    }
    case 'contact-replied': {
      const cls = str('classification') ?? (e.summary.includes('missed the weekly') ? 'missed-me' : 'human');
      facts.push(fact('reply', { class: cls, group: p.group }));
      if (cls === 'missed-me') facts.push(fact('reply.missed-me', { series: ctx.seriesOf(p.lastContentId) }));
      reEngage(cls === 'missed-me' ? 'missed-me' : 'reply');
      break;
    }
    case 'meeting-booked':
    case 'deal-created':
    case 'deal-reopened':
    case 'deal-won': {
      const signal = SIGNALS[e.type] as string;
      // After a loss: nurture's; else after a referral arrived: the referral's (compared by time, so
      // a rebuild from the final state agrees with the live count).
      const source = episode ? 'nurture' : p.referredAt !== undefined && p.referredAt <= e.at ? 'referral' : 'other';
      const amount = num('amount');
      facts.push(fact(`crm.${signal}`, { group: p.group, source }, amount !== undefined ? { amount } : {}));
      // What introductions led to: outcomes of people an introduction was made for, after it.
      facts.push(fact('introduction.led-to', { signal }, { ...(amount !== undefined && { amount }), guard: { requires: introducedKey(p.relationshipId) } }));
      // A new deal on a customer is pipeline, not a return from nurture.
      if (!e.summary.startsWith('New deal on a customer')) {
        reEngage(signal);
        crmOutcome(signal);
      }
      break;
    }
    case 'email-sent': {
      facts.push(fact('touch.sent', { channel: 'email', owner: p.owner, group: p.group }, { crossGroup: false }));
      const contentId = str('contentId');
      facts.push(fact('email.sent', { provider: p.provider, series: ctx.seriesOf(contentId) }, contentId !== undefined ? { rate: { counter: 'sent', contentId } } : {}));
      break;
    }
    case 'task-assigned':
      facts.push(fact('touch.sent', { channel: 'task', owner: p.owner, group: p.group }, { crossGroup: false }));
      facts.push(fact('task.assigned', { owner: p.owner, kind: str('kind') ?? 'unknown' }));
      break;
    case 'touch-joined':
      // A lunch guest: touched (the owner's lunch), but the host's task is the one to complete.
      facts.push(fact('touch.sent', { channel: 'task', owner: p.owner, group: p.group }, { crossGroup: false }));
      break;
    case 'touch-skipped': {
      const reason = skipCode(e.summary.replace(/^Touch skipped: /, ''));
      facts.push(fact('touch.skipped', { channel: str('channel') ?? 'unknown', reason }));
      break;
    }
    case 'touch-pushed':
      // Pushed to a later slot: by the send window, or by a cap (the send path names its code).
      facts.push(fact('touch.skipped', { channel: str('channel') ?? 'unknown', reason: str('reason') ?? 'send-window' }));
      break;
    case 'touch-unknown':
      facts.push(fact('touch.unknown', { channel: str('channel') ?? 'unknown' }));
      break;
    case 'touch-completed': {
      const outcome = str('outcome') ?? 'unknown';
      const task = ctx.task;
      const timeliness = !task ? 'unknown' : Date.parse(e.at) <= Date.parse(task.dueAt) + ctx.onTimeGraceHours * 3_600_000 ? 'on-time' : 'late';
      facts.push(fact('task.completed', { owner: p.owner, kind: task?.kind ?? unplannedTaskKind(str('touchId')), timeliness }));
      // Per owner and timeliness at once ("are the notes and calls happening on time?").
      facts.push(fact(`task.completed.${timeliness}`, { owner: p.owner }));
      if (outcome === 'no-future' || outcome === 'future-opportunity' || outcome === 'next-step') facts.push(fact('requalification', { outcome }));
      if (task?.kind === 'introduction' && outcome === 'done') {
        facts.push(fact('introduction.made', { owner: p.owner }));
        // The person's first introduction leaves a mark their later CRM outcomes look for (below).
        facts.push(fact('introduction.people', { group: p.group }, { guard: { once: introducedKey(p.relationshipId) } }));
      }
      break;
    }
    case 'email-hard-bounce':
      facts.push(fact('email.bounced', { provider: p.provider }));
      break;
    case 'email-complaint':
      // About the last content e-mailed (SES names the message, not the content; it is nearly always the last).
      facts.push(fact('email.complained', { provider: p.provider }, p.lastContentId !== undefined ? { rate: { counter: 'complained', contentId: p.lastContentId } } : {}));
      break;
    case 'email-clicked':
      facts.push(fact('email.clicked', { by: d.likelyScanner === true ? 'scanner' : 'human', provider: p.provider }));
      break;
    case 'consent-changed': {
      const action = str('action');
      if (action === 'stop-all-email' || action === 'stop-topic') {
        // Counted against the last content e-mailed, where the unsubscribe link or the reply came from.
        const rate = p.lastContentId !== undefined ? { rate: { counter: 'unsubscribed' as const, contentId: p.lastContentId } } : {};
        facts.push(fact('email.unsubscribed', { provider: p.provider, scope: action === 'stop-topic' ? 'topic' : 'all' }, rate));
      }
      if (action === 'do-not-contact') facts.push(fact('consent.do-not-contact', { group: p.group }));
      break;
    }
    case 'referral-received':
      facts.push(fact('referral.received', { group: p.group }));
      break;
  }
  // A touch the guardrails moved later (the planner's calendar, gap and per-person caps; the sweep's
  // daily cap) was pushed to a later slot: counted once per move code, by the entry that ends it.
  if (OUTCOME_CHANNEL.has(e.type)) {
    const channel = OUTCOME_CHANNEL.get(e.type) ?? str('channel') ?? 'unknown';
    for (const reason of movesOf(d)) facts.push(fact('touch.skipped', { channel, reason }));
  }
  return facts;
}

/**
 * The kind of a completed task no planned touch assigned (no `task-assigned` entry to read it from):
 * the research task after "left the company" carries `.moved.` in its touch id (relationship.ts
 * `researchTask`); anything else is `unknown`.
 */
export function unplannedTaskKind(touchId: string | undefined): string {
  return touchId?.includes('.moved.') ? 'research' : 'unknown';
}
