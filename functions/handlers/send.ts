/**
 * The send path: the sweep claims due touches into the send queue; the sender makes the final
 * claim, re-checks what could have changed, sends at most once, records, plans the next touch.
 * At the final claim the kill switches and dry-run of controls.yaml apply: a paused touch is held
 * (planned again later, same step), a dry-run touch is recorded as done but never leaves Cultivate.
 * What paused itself (cadence.yaml `autoPause`) applies there too: a track's touches are held like
 * a track switch's, and an e-mail whose content paused itself is planned again with other content.
 */
import { EventSources } from '#catalog/routing';
import type { ClaimResult, DueRef, DynamoTouchStore } from '#adapters/dynamo-touches';
import type { CapacityStore } from '#adapters/dynamo-capacity';
import { type GuardrailCode, type GuardrailRules, localDayKey, noteTouch, ownerWeek } from '#domain/guardrails';
import { fromLocal } from '#domain/local-time';
import { type ContentItem, describeTask, type LunchGuests, type OwnerProfile, renderValueEmail, type SenderSettings } from '#domain/email';
import { competitors, groupUntil, lunchSeatOf, lunchTableOf, pickGuests, sameTable, tagSlugs, type LunchSeat, type LunchSettings, type LunchTable } from '#domain/lunch';
import type { Planner } from '#domain/planner';
import type { TouchControl } from '#domain/cadence';
import { movesDetail, pushTouch, recordTouch, type TouchResult } from '#domain/touch';
import type { PlannedTouch, RelationshipState, TimelineEntry } from '#domain/types';
import { hashedSuppressionsAtSend } from '#domain/consent';
import {
  type Clock,
  type EventPublisher,
  type Logger,
  type Mailer,
  MailerThrottledError,
  type RelationshipStore,
  type SendQueue,
  type TouchMessage,
} from '#ports/ports';
import { signUnsubscribeToken } from '#shared/unsubscribe-token';
import { replyAddress } from '#shared/reply-token';
import { DUE_SHARDS } from '#adapters/table';
import { updateRelationship } from './conditional-update.ts';

export interface SweepDeps {
  clock: Clock;
  touches: DynamoTouchStore;
  store: RelationshipStore;
  queue: SendQueue;
  planner: Planner;
  logger: Logger;
  /** How long a claim holds before the sweep looks at it again. */
  leaseSeconds: number;
  /** E-mails the sweep may still queue today (the ramped daily cap), or Infinity. */
  emailBudget?: () => Promise<{ remaining: number; reserve(n: number): Promise<number> }>;
  batchSize?: number;
}

export interface SweepReport {
  queued: TouchMessage[];
  requeued: number;
  unknown: number;
  deferredByCap: number;
  /** Age in seconds of the oldest due touch left after this sweep (the alarm's metric). */
  oldestDueAgeSeconds: number;
}

const DAY_MS = 86_400_000;

function messageOf(state: RelationshipState): TouchMessage {
  const t = state.nextTouch as PlannedTouch;
  return { relationshipId: state.id, touchId: t.touchId, planVersion: state.planVersion, channel: t.channel, kind: t.kind, dueAt: t.at };
}

/** One sweep over every shard of the due index. Safe to run twice at once: every claim is conditional. */
export async function sweepDue(deps: SweepDeps): Promise<SweepReport> {
  const now = deps.clock.now();
  const lease = new Date(now.getTime() + deps.leaseSeconds * 1000);
  const report: SweepReport = { queued: [], requeued: 0, unknown: 0, deferredByCap: 0, oldestDueAgeSeconds: 0 };
  const budget = deps.emailBudget ? await deps.emailBudget() : undefined;
  let emailsQueued = 0;
  for (let shard = 0; shard < DUE_SHARDS; shard++) {
    const refs = await deps.touches.dueBatch(shard, now, deps.batchSize ?? 200);
    const batch: TouchMessage[] = [];
    const deferred: TouchMessage[] = [];
    const claimedEmails: TouchMessage[] = [];
    // Touches the daily cap already deferred on an earlier day (their claim says so): not stamped twice.
    const capStamped = new Set<string>();
    for (const ref of refs) {
      if (ref.lease && ref.lease > now.toISOString()) continue; // a claim still running: not ours to touch
      if (ref.slaTouchId) {
        // An open task's SLA fell due: the sender decides (done meanwhile, or escalate).
        const sla = await deps.touches.claimTaskSla(ref, lease);
        if (sla) batch.push({ relationshipId: sla.relationshipId, touchId: sla.touchId, planVersion: 0, channel: 'task', kind: TASK_SLA_KIND, dueAt: sla.slaAt });
        continue;
      }
      const r = await deps.touches.claimDue(ref, lease);
      if (r.ok) {
        const msg = messageOf(r.state);
        if (r.state.nextTouch?.pushedBy?.includes('daily-cap')) capStamped.add(msg.touchId);
        if (msg.channel === 'email' && budget && emailsQueued >= budget.remaining) deferred.push(msg);
        else {
          if (msg.channel === 'email') {
            emailsQueued++;
            claimedEmails.push(msg);
          }
          batch.push(msg);
        }
      } else {
        await handleLapsed(deps, ref, r, lease, now, report, batch);
      }
    }
    if (budget) {
      // Reserve this shard's e-mails against the cap before they go (another sweep may be running).
      const emails = claimedEmails; // re-queued lapsed claims were reserved when first queued
      const granted = emails.length > 0 ? await budget.reserve(emails.length) : 0;
      for (const m of emails.slice(granted)) {
        batch.splice(batch.indexOf(m), 1);
        deferred.push(m);
      }
    }
    for (const msg of deferred) {
      // Over today's cap: give the touch back, a day later (the sender re-checks the window), and
      // note the move on the touch, in the same write, so its outcome counts it.
      await deps.touches.release(msg, 'queued', new Date(Date.parse(msg.dueAt) + DAY_MS).toISOString(), capStamped.has(msg.touchId) ? undefined : 'daily-cap');
      report.deferredByCap++;
    }
    if (batch.length > 0) await deps.queue.enqueue(batch);
    report.queued.push(...batch);
  }
  const oldest = await deps.touches.oldestDue(now);
  report.oldestDueAgeSeconds = oldest ? Math.max(0, Math.round((now.getTime() - oldest.getTime()) / 1000)) : 0;
  deps.logger.info('sweep done', {
    queued: report.queued.length,
    requeued: report.requeued,
    unknown: report.unknown,
    deferredByCap: report.deferredByCap,
    oldestDueAgeSeconds: report.oldestDueAgeSeconds,
  });
  return report;
}

async function handleLapsed(deps: SweepDeps, ref: DueRef, r: Extract<ClaimResult, { ok: false }>, lease: Date, now: Date, report: SweepReport, batch: TouchMessage[]) {
  const t = r.current?.nextTouch;
  if (!r.current || !t || r.currentDueSk !== ref.dueSk) return; // moved on since the query: not ours
  if (t.status === 'queued') {
    const again = await deps.touches.reclaimQueued(ref, lease);
    if (again.ok) {
      batch.push(messageOf(again.state));
      report.requeued++;
    }
    return;
  }
  // The lease is still running (the index lags a claim, or a sender claimed after the query): not lapsed.
  if (t.leaseUntil && t.leaseUntil > now.toISOString()) return;
  if (t.status === 'sending') {
    if (t.channel === 'task') {
      // Tasks are delivered idempotently on the touch id: sending again is safe.
      const back = await deps.touches.release({ relationshipId: r.current.id, touchId: t.touchId }, 'sending', now.toISOString());
      if (back.ok) report.requeued++;
      return;
    }
    // An e-mail whose sender lost its lease: SES may have sent it. At most once: record unknown.
    await recordWithRetry(deps.store, deps.touches, r.current.id, t, { kind: 'unknown' }, now, deps.planner);
    deps.logger.warn('touch outcome unknown: lease lapsed while sending', { relationshipId: r.current.id, touchId: t.touchId, metric: 'TouchUnknown' });
    report.unknown++;
  }
}

/** Read-modify-write of a touch's outcome, conditional on the version; idempotent on the touch id. */
export async function recordWithRetry(
  store: RelationshipStore,
  touches: DynamoTouchStore,
  relationshipId: string,
  touch: PlannedTouch,
  result: TouchResult,
  at: Date,
  planner: Planner,
  base?: RelationshipState,
  /** Applied to the state on every attempt, re-reads included (e.g. suppressions learned at send time). */
  transform: (s: RelationshipState) => RelationshipState = (s) => s,
): Promise<RelationshipState | undefined> {
  // A touch that went (or may have) counts for the minimum gap and the per-person caps.
  const done = result.kind === 'email-sent' || result.kind === 'task-assigned' || result.kind === 'unknown';
  const noted = (s: RelationshipState) => (done ? { ...s, history: noteTouch(s.history, touch.channel, at) } : s);
  return updateRelationship(
    store,
    () => touches.get(relationshipId),
    (state) => recordTouch(noted(transform(state)), touch, result, at, planner),
    `record touch ${touch.touchId}`,
    base,
  );
}

/** The send-queue message kind of an overdue task's SLA check (not a touch). */
export const TASK_SLA_KIND = 'task-sla';

// ------------------------------------------------------------------------------------------------

export interface SendDeps {
  clock: Clock;
  touches: DynamoTouchStore;
  store: RelationshipStore;
  mailer: Mailer;
  publisher: EventPublisher;
  planner: Planner;
  logger: Logger;
  leaseSeconds: number;
  settings: SenderSettings;
  owner: (email: string | undefined) => OwnerProfile;
  content: (id: string | undefined) => ContentItem | undefined;
  unsubscribeKey: () => Promise<string>;
  /** Suppressions by keyed hash (they outlive erasure and arrive from bounces): scopes on record. */
  suppressionsFor: (state: RelationshipState) => Promise<{ scope: string; topic?: string; at?: string }[]>;
  onSent?: (record: { relationshipId: string; touchId: string; messageId: string; sentAt: string }) => void;
  /** Shared-state guardrails (per-account caps, owner task capacity, task SLA). Absent: not enforced. */
  guardrails?: GuardrailDeps;
  /** Kill switches and dry-run for a relationship's touch (`controlFor(config, state)`). Absent: none. */
  controls?: (state: RelationshipState) => TouchControl;
  /** Lunches that group one owner's people in one city (cadence.yaml `lunches`). Absent: every lunch is its host's alone. */
  lunches?: LunchDeps;
}

export interface LunchDeps {
  /** The lunch index (`DynamoLunchIndex`): people at the host's table whose lunch is due by `until`, earliest first. */
  index: { candidates(host: RelationshipState, until: string, limit: number): Promise<LunchSeat[]> };
  /** The settings in force at each send (`lunchSettings(config)`). */
  settings(): LunchSettings;
}

/** One small query per lunch: more people than this due at one owner's table in one city is not a lunch. */
export const LUNCH_CANDIDATES = 20;

export interface GuardrailDeps {
  capacity: CapacityStore;
  rules: GuardrailRules;
  /** The contact's zone (the account cap counts their local days) and the task owner's (ISO weeks). */
  contactZone(state: RelationshipState): string;
  ownerZone(state: RelationshipState): string;
  /** Who an overdue task of `ownerEmail` goes to (owners.yaml `manager`), if anyone. */
  managerOf(ownerEmail: string): OwnerProfile | undefined;
}

export type SendOutcome =
  | 'sent'
  | 'task-assigned'
  | 'not-current'
  | 'suppressed'
  | 'pushed-outside-window'
  | 'pushed-by-cap'
  | 'held-paused'
  | 'dry-run'
  | 'skipped'
  | 'escalated';

/** Why a touch went to a later slot instead of out: a guardrail, the send window, a kill switch or an auto-pause. */
type PushCode = GuardrailCode | 'send-window' | 'paused' | 'track-paused' | 'auto-paused';

interface Held {
  code: GuardrailCode;
  why: string;
  /** The touch is planned again from this instant on. */
  notBefore: Date;
}

/**
 * Reserve the shared-state guardrails for a touch about to go: the owner's weekly task capacity
 * (tasks), then the account's rolling caps. Returns why it must wait, having released what it took.
 */
async function reserveCapacity(g: GuardrailDeps, state: RelationshipState, touch: PlannedTouch, ownerEmail: string, now: Date): Promise<Held | undefined> {
  let ownerWeekTaken: string | undefined;
  if (touch.channel === 'task') {
    const week = ownerWeek(now, g.ownerZone(state));
    const ok = await g.capacity.reserveOwnerTask(ownerEmail, touch.touchId, week.week, g.rules.ownerTasksPerWeek, new Date(week.nextWeekStart.getTime() + 14 * DAY_MS));
    if (!ok) return { code: 'owner-capacity', why: `owner capacity: ${g.rules.ownerTasksPerWeek} tasks in ISO week ${week.week} reached, so next week`, notBefore: week.nextWeekStart };
    ownerWeekTaken = week.week;
  }
  if (state.accountId) {
    const tz = g.contactZone(state);
    const r = await g.capacity.reserveAccountTouch(state.accountId, touch.touchId, localDayKey(now, tz), g.rules.account);
    if (!r.ok) {
      if (ownerWeekTaken) await g.capacity.releaseOwnerTask(ownerEmail, touch.touchId, ownerWeekTaken);
      const [y, m, d] = r.freeDay.split('-').map(Number) as [number, number, number];
      const window = r.code === 'account-touches-7d' ? 7 : 30;
      return { code: r.code, why: `account cap: ${r.cap} touches per ${window} days for everyone at this account reached; the next may go from ${r.freeDay}`, notBefore: fromLocal(tz, y, m, d, 0, 0) };
    }
  }
  return undefined;
}

/** Plan the same step again from `held.notBefore` (never dropped), with the reason on the timeline. */
async function pushTouchBy(deps: SendDeps, state: RelationshipState, touch: PlannedTouch, now: Date, held: { code: PushCode; why: string; notBefore: Date }): Promise<void> {
  await updateRelationship(
    deps.store,
    () => deps.touches.get(state.id),
    (current) => {
      const t = current.nextTouch;
      if (t?.touchId !== touch.touchId || t.status !== 'sending') return undefined;
      const pushed = { ...pushTouch(current, touch, held.notBefore, deps.planner), updatedAt: now.toISOString() };
      const next = pushed.nextTouch;
      return {
        state: pushed,
        timeline: [
          {
            at: now.toISOString(),
            eventId: `push:${touch.touchId.slice(touch.touchId.lastIndexOf('.') + 1)}`,
            type: 'touch-pushed',
            summary: held.why,
            // The pushed touch ends here (its successor is a new plan): its earlier moves count with it.
            detail: { touchId: touch.touchId, kind: touch.kind, channel: touch.channel, dueAt: touch.at, rule: touch.rule, reason: held.code, ...movesDetail(touch), ...(next && { nextAt: next.at }) },
          },
        ],
      };
    },
    `push touch ${touch.touchId}`,
    state,
  );
}

export async function sendTouch(deps: SendDeps, msg: TouchMessage): Promise<SendOutcome> {
  if (msg.kind === TASK_SLA_KIND) return escalateOverdueTask(deps, msg);
  const now = deps.clock.now();
  const log = { relationshipId: msg.relationshipId, touchId: msg.touchId, channel: msg.channel };
  const claim = await deps.touches.claimForSend(msg, new Date(now.getTime() + deps.leaseSeconds * 1000));
  if (!claim.ok) {
    // A reply, an unsubscribe, a deal or a replan got there first: this message is stale.
    const current = claim.current?.nextTouch;
    if (claim.current && current?.touchId === msg.touchId && current.status === 'queued') {
      // Same touch, but consent or stage no longer allow it: let the planner decide again.
      await recordWithRetry(deps.store, deps.touches, msg.relationshipId, current, { kind: 'skipped', reason: 'no longer allowed at send time' }, now, deps.planner);
      deps.logger.info('touch skipped at the final claim', log);
      return 'skipped';
    }
    deps.logger.info('stale touch message dropped', log);
    return 'not-current';
  }
  let state = claim.state;
  const touch = state.nextTouch as PlannedTouch;
  const control = deps.controls?.(state);
  if (control?.hold) {
    await pushTouchBy(deps, state, touch, now, pauseHold(control.hold, control.trackId, now));
    deps.logger.info('held by a kill switch at the final claim', { ...log, reason: control.hold, trackId: control.trackId });
    return 'held-paused';
  }
  const dryRun = control?.dryRun === true;

  if (touch.channel === 'email') {
    const content = deps.content(touch.contentId);
    const { blocking, bringOn } = hashedSuppressionsAtSend(state, await deps.suppressionsFor(state), content?.topic, now);
    if (blocking.length > 0) {
      await recordWithRetry(deps.store, deps.touches, state.id, touch, { kind: 'skipped', reason: `suppressed: ${blocking.join(', ')}` }, now, deps.planner, state, bringOn);
      deps.logger.info('touch suppressed at send time', { ...log, scopes: blocking });
      return 'suppressed';
    }
    if (control?.contentPaused !== undefined) {
      // Its content paused itself after it was planned: like a stopped topic, the planner picks
      // again (other content; the same item at its next slot only when nothing else is left).
      const reason = `auto-paused: content ${control.contentPaused} paused itself (cadence.yaml autoPause; see cultivate config pauses), so planned again with other content`;
      await recordWithRetry(deps.store, deps.touches, state.id, touch, { kind: 'skipped', reason }, now, deps.planner, state);
      deps.logger.info('touch skipped: its content paused itself', { ...log, contentId: control.contentPaused });
      return 'skipped';
    }
    if (deps.planner.insideSendWindow && !deps.planner.insideSendWindow(state, touch, now)) {
      // Not sent: plan the same step at the next slot, retrying on conflict, as long as this
      // touch is still the one being sent (otherwise the lapsed lease would read as "unknown").
      await pushTouchBy(deps, state, touch, now, { code: 'send-window', why: 'Outside the send window at send time: moved to the next slot', notBefore: now });
      deps.logger.info('outside the send window at send time: pushed to the next slot', log);
      return 'pushed-outside-window';
    }
    if (!content) {
      await recordWithRetry(deps.store, deps.touches, state.id, touch, { kind: 'skipped', reason: `content ${touch.contentId ?? '(none)'} not in the library` }, now, deps.planner, state);
      deps.logger.warn('touch skipped: content missing', { ...log, contentId: touch.contentId });
      return 'skipped';
    }
    if (dryRun) {
      // A rehearsal takes no room from real touches, so the shared caps are not reserved.
      await recordDryRun(deps, state, touch, { kind: 'email-sent', messageId: 'dry-run', title: content.title }, `would have sent ${content.title}`, now);
      deps.logger.info('dry-run: e-mail recorded, not sent', { ...log, contentId: touch.contentId });
      return 'dry-run';
    }
    const owner = deps.owner(state.owner);
    if (await heldByCapacity(deps, state, touch, owner.email, now)) return 'pushed-by-cap';
    const replyTo = deps.settings.replyDomain
      ? replyAddress(await deps.unsubscribeKey(), { relationshipId: state.id, touchId: touch.touchId }, deps.settings.replyDomain)
      : undefined;
    const mail = renderValueEmail({
      state,
      touch,
      owner,
      content,
      settings: deps.settings,
      unsubscribeToken: signUnsubscribeToken(await deps.unsubscribeKey(), { relationshipId: state.id, touchId: touch.touchId, topic: content.topic }),
      ...(replyTo && { replyAddress: replyTo }),
    });
    let messageId: string;
    try {
      ({ messageId } = await deps.mailer.send(mail));
    } catch (err) {
      if (err instanceof MailerThrottledError) {
        // Nothing was sent: hand the claim back and let the queue retry the message.
        await deps.touches.release(msg, 'sending', now.toISOString());
        deps.logger.warn('SES throttled; the touch goes back to the queue', log);
      }
      throw err;
    }
    const sentAt = deps.clock.now();
    await recordWithRetry(deps.store, deps.touches, state.id, touch, { kind: 'email-sent', messageId, title: content.title }, sentAt, deps.planner, state);
    deps.onSent?.({ relationshipId: state.id, touchId: touch.touchId, messageId, sentAt: sentAt.toISOString() });
    deps.logger.info('e-mail sent', { ...log, contentId: touch.contentId });
    return 'sent';
  }

  const owner = deps.owner(state.owner);
  if (dryRun) {
    const title = describeTask(state, touch, owner, now).title;
    await recordDryRun(deps, state, touch, { kind: 'task-assigned', title }, `would have assigned ${title}`, now);
    deps.logger.info('dry-run: task recorded, not assigned', { ...log, kind: touch.kind });
    return 'dry-run';
  }
  if (await heldByCapacity(deps, state, touch, owner.email, now)) return 'pushed-by-cap';
  // The host's touch is claimed once (queued -> sending): a redelivered message fails that claim
  // and never gets here, so nobody is grouped twice.
  const lunch = touch.kind === 'lunch' ? await groupLunch(deps, state, touch, now) : undefined;
  const task = describeTask(state, touch, owner, now, lunch, touch.contentId !== undefined ? deps.content(touch.contentId) : undefined);
  await deps.publisher.publish([
    {
      source: EventSources.touches,
      detailType: 'task-assigned',
      detail: {
        relationshipId: state.id,
        crmIds: state.crmIds,
        owner: owner.email,
        touchId: touch.touchId,
        kind: task.kind,
        title: task.title,
        why: task.why,
        dueDate: task.dueDate,
        ownerTimezone: task.ownerTimezone,
        talkingPoints: task.talkingPoints,
        ...(task.links.length > 0 && { links: task.links }),
        ...(state.accountId && { accountId: state.accountId }),
        ...(state.nurture?.dealId && { dealId: state.nurture.dealId }),
        outcomes: [...task.outcomes],
      },
    },
  ]);
  await recordWithRetry(deps.store, deps.touches, state.id, touch, { kind: 'task-assigned', title: task.title }, now, deps.planner, state);
  const sla = deps.guardrails?.rules.taskSlaDays ?? 0;
  if (sla > 0) {
    const slaAt = new Date(now.getTime() + sla * DAY_MS).toISOString();
    await deps.touches.putTaskSla({ relationshipId: state.id, touchId: touch.touchId, owner: owner.email, kind: touch.kind, assignedAt: now.toISOString(), slaAt });
  }
  deps.logger.info('task assigned', { ...log, kind: touch.kind, ...(lunch && { lunchGuests: lunch.guests.length }) });
  return 'task-assigned';
}

/**
 * The guests of the host's lunch: one query of the lunch index at the host's table, the pure
 * choice (`pickGuests`), then for each guest its own planned lunch recorded as joining this one,
 * with a write conditional on the guest's version read just before. A guest whose lunch is no
 * longer planned, who moved, changed owner or account, became a competitor of someone already
 * seated, is held by a kill switch, or whose write conflicts, is left out (not retried): their
 * own lunch stays planned and goes its own way, and the seat goes to the next candidate. The
 * guests get no task: one lunch, one task.
 */
async function groupLunch(deps: SendDeps, host: RelationshipState, touch: PlannedTouch, now: Date): Promise<LunchGuests | undefined> {
  const table = lunchTableOf(host);
  if (!deps.lunches || !table) return undefined;
  const settings = deps.lunches.settings();
  const hostSeat: LunchSeat = { id: host.id, at: touch.at, ...(host.accountId !== undefined && { accountId: host.accountId }), tags: tagSlugs(host.contact.tags) };
  const until = groupUntil(hostSeat, settings);
  const candidates = await deps.lunches.index.candidates(host, until, LUNCH_CANDIDATES);
  const seated: LunchSeat[] = [hostSeat];
  const guests: LunchGuests['guests'][number][] = [];
  // The same greedy choice as `pickGuests` over all candidates, one seat at a time, so a guest left
  // out frees the seat for the next one. Each candidate is tried once: at most LUNCH_CANDIDATES.
  const tried = new Set<string>();
  while (guests.length < settings.maxGuests) {
    const open = candidates.filter((c) => !tried.has(c.id) && !seated.some((s) => competitors(s, c, settings)));
    const [pick] = pickGuests(hostSeat, open, { ...settings, maxGuests: 1 });
    if (!pick) break;
    tried.add(pick.id);
    const joined = await joinLunch(deps, { host, touch, table, until, settings, seated }, pick.id, now);
    if (!joined) continue;
    seated.push(joined.seat);
    guests.push({ relationshipId: joined.state.id, crmIds: joined.state.crmIds });
  }
  return { guests };
}

async function joinLunch(
  deps: SendDeps,
  lunch: { host: RelationshipState; touch: PlannedTouch; table: LunchTable; until: string; settings: LunchSettings; seated: readonly LunchSeat[] },
  guestId: string,
  now: Date,
): Promise<{ state: RelationshipState; seat: LunchSeat } | undefined> {
  const guest = await deps.touches.get(guestId);
  const t = guest?.nextTouch;
  if (!guest || !t || t.kind !== 'lunch' || t.status !== 'planned' || guest.stage !== 'nurturing') return undefined;
  // The index may lag the state: judge by what the state says now.
  const seat = lunchSeatOf(guest);
  if (!seat || !sameTable(lunchTableOf(guest), lunch.table) || Date.parse(seat.at) > Date.parse(lunch.until)) return undefined;
  if (lunch.seated.some((s) => competitors(s, seat, lunch.settings))) return undefined;
  const control = deps.controls?.(guest);
  if (control?.hold || control?.dryRun) return undefined;
  const title = `the lunch ${lunch.touch.touchId} with the owner (the host's task names them)`;
  const decided = recordTouch({ ...guest, history: noteTouch(guest.history, t.channel, now) }, t, { kind: 'joined', title }, now, deps.planner);
  if (!decided) return undefined;
  if ((await deps.store.save(decided.state, guest.version)) !== 'saved') {
    deps.logger.info('lunch guest left out: their state changed meanwhile', { relationshipId: lunch.host.id, touchId: lunch.touch.touchId, guest: guest.id });
    return undefined;
  }
  if (decided.timeline.length > 0) await deps.store.appendTimeline(guest.id, decided.timeline);
  return { state: decided.state, seat };
}

async function heldByCapacity(deps: SendDeps, state: RelationshipState, touch: PlannedTouch, ownerEmail: string, now: Date): Promise<boolean> {
  if (!deps.guardrails) return false;
  const held = await reserveCapacity(deps.guardrails, state, touch, ownerEmail, now);
  if (!held) return false;
  await pushTouchBy(deps, state, touch, now, held);
  deps.logger.info('held by a shared guardrail at send time: pushed and replanned', { relationshipId: state.id, touchId: touch.touchId, reason: held.code });
  return true;
}

/** A kill switch or an auto-pause holds the touch: it is planned again (same step) from a day later, and says so. */
function pauseHold(hold: 'paused' | 'track-paused' | 'auto-paused', trackId: string | undefined, now: Date): { code: PushCode; why: string; notBefore: Date } {
  const notBefore = new Date(now.getTime() + DAY_MS);
  if (hold === 'auto-paused') {
    return {
      code: hold,
      why: `track ${trackId} paused itself (cadence.yaml autoPause; see cultivate config pauses, resume with cultivate config resume track ${trackId}): nothing sent; held and planned again from ${notBefore.toISOString().slice(0, 10)}`,
      notBefore,
    };
  }
  const switchName = hold === 'paused' ? 'paused: true' : `tracks.${trackId}.paused: true`;
  const what = hold === 'paused' ? 'Cultivate is paused' : `track ${trackId} is paused`;
  return { code: hold, why: `${what} (controls.yaml ${switchName}): nothing sent; held and planned again from ${notBefore.toISOString().slice(0, 10)}`, notBefore };
}

/**
 * Dry-run: the touch is recorded as done (the cadence moves on exactly as if it went, counting for
 * the gap and the per-person caps), but the timeline says what would have happened, under a type
 * no metric counts as a send.
 */
async function recordDryRun(deps: SendDeps, state: RelationshipState, touch: PlannedTouch, result: Extract<TouchResult, { kind: 'email-sent' | 'task-assigned' }>, would: string, at: Date): Promise<void> {
  await updateRelationship(
    deps.store,
    () => deps.touches.get(state.id),
    (current) => {
      const decided = recordTouch({ ...current, history: noteTouch(current.history, touch.channel, at) }, touch, result, at, deps.planner);
      return decided && { ...decided, timeline: decided.timeline.map((e) => asDryRun(e, would)) };
    },
    `record dry-run ${touch.touchId}`,
    state,
  );
}

function asDryRun(entry: TimelineEntry, would: string): TimelineEntry {
  const { messageId: _none, ...detail } = entry.detail ?? {};
  return { ...entry, type: 'touch-dry-run', summary: `dry-run: ${would}`, detail: { ...detail, dryRun: true } };
}

const ESCALATION_OUTCOMES = ['done', 'no-answer', 'left-message'] as const;

/**
 * An open task's SLA fell due. If a `touch-completed` for it is on the timeline (newest 100
 * entries: the SLA is days, not months), nothing happens; otherwise the owner's manager gets a
 * task saying why. Either way the SLA entry is removed, so it fires once.
 */
async function escalateOverdueTask(deps: SendDeps, msg: TouchMessage): Promise<SendOutcome> {
  const now = deps.clock.now();
  const log = { relationshipId: msg.relationshipId, touchId: msg.touchId, reason: 'task-sla' };
  const sla = await deps.touches.getTaskSla(msg.relationshipId, msg.touchId);
  if (!sla) return 'not-current';
  const state = await deps.touches.get(sla.relationshipId);
  const recent = state ? await deps.store.timeline(state.id, { newestFirst: true, limit: 100 }) : [];
  const completed = recent.some((e) => e.type === 'touch-completed' && e.detail?.touchId === sla.touchId);
  const manager = deps.guardrails?.managerOf(sla.owner);
  const blocked = !state || state.stage === 'retired' || state.suppressions.some((s) => s.scope === 'do-not-contact');
  if (completed || blocked || !manager) {
    await deps.touches.deleteTaskSla(sla.relationshipId, sla.touchId);
    deps.logger.info('task SLA: nothing to escalate', { ...log, completed, blocked, hasManager: manager !== undefined });
    return 'skipped';
  }
  const control = deps.controls?.(state);
  if (control?.hold) {
    // Paused: the escalation waits a day (the same entry, due again), like any touch.
    const { relationshipId, touchId, owner, kind, assignedAt } = sla;
    await deps.touches.putTaskSla({ relationshipId, touchId, owner, kind, assignedAt, slaAt: new Date(now.getTime() + DAY_MS).toISOString() });
    deps.logger.info('task SLA: held by a kill switch', { ...log, hold: control.hold });
    return 'held-paused';
  }
  const days = Math.round((now.getTime() - Date.parse(sla.assignedAt)) / DAY_MS);
  const why = `task SLA: the ${sla.kind.replace(/-/g, ' ')} task assigned to ${sla.owner} on ${sla.assignedAt.slice(0, 10)} is still open after ${days} days (taskSla ${deps.guardrails?.rules.taskSlaDays} days)`;
  const tz = manager.timezone ?? 'UTC';
  const dueDate = localDayKey(now, tz);
  const escalationId = `${sla.touchId}.sla`;
  if (control?.dryRun) {
    await deps.store.appendTimeline(state.id, [
      { at: now.toISOString(), eventId: `sla:${sla.touchId.slice(sla.touchId.lastIndexOf('.') + 1)}`, type: 'touch-dry-run', summary: `dry-run: would have escalated to the manager: ${why}`, detail: { touchId: sla.touchId, reason: 'task-sla', dryRun: true } },
    ]);
    await deps.touches.deleteTaskSla(sla.relationshipId, sla.touchId);
    deps.logger.info('task SLA: dry-run, not escalated', log);
    return 'dry-run';
  }
  await deps.publisher.publish([
    {
      source: EventSources.touches,
      detailType: 'task-assigned',
      detail: {
        relationshipId: state.id,
        crmIds: state.crmIds,
        owner: manager.email,
        touchId: escalationId,
        kind: 'task-escalation',
        title: `Overdue task of ${sla.owner}: ${sla.kind.replace(/-/g, ' ')}`,
        why,
        dueDate,
        ownerTimezone: tz,
        ...(state.accountId && { accountId: state.accountId }),
        ...(state.nurture?.dealId && { dealId: state.nurture.dealId }),
        outcomes: [...ESCALATION_OUTCOMES],
      },
    },
  ]);
  await deps.store.appendTimeline(state.id, [
    { at: now.toISOString(), eventId: `sla:${sla.touchId.slice(sla.touchId.lastIndexOf('.') + 1)}`, type: 'task-escalated', summary: why, detail: { touchId: sla.touchId, escalationTouchId: escalationId, reason: 'task-sla', to: manager.email } },
  ]);
  await deps.touches.deleteTaskSla(sla.relationshipId, sla.touchId);
  deps.logger.info('task SLA: escalated to the manager', log);
  return 'escalated';
}
