/**
 * The relationship state machine: one pure function from (state, event) to a decision.
 * Ordering (DESIGN.md §3): attributes merge field by field, latest occurredAt wins; a state
 * change older than the last one is recorded as superseded and changes nothing; unsubscribe and
 * do-not-contact are sticky; occurredAt in the future is clamped to now. Effect once: an event
 * id already applied is a duplicate.
 */
import type { InboundEvent, InboundEventOf, InternalDetail, LostReason } from '#catalog/events';
import { buildBrief } from './brief.ts';
import { addConsentFact, addSuppression, applyConsentRecord, canEmail, topicStopped } from './consent.ts';
import { relationshipIdOfTouch } from './identity.ts';
import { assignHoldout, type HoldoutSettings } from './metrics/holdout.ts';
import { heldOut, mayBeTouched, type Planner } from './planner.ts';
import { advance } from './touch.ts';
import {
  APPLIED_EVENT_MEMORY,
  type ContactFields,
  type NurtureInfo,
  type RelationshipState,
  type Stage,
  type Suppression,
  type TimelineEntry,
} from './types.ts';

export interface ApplyContext {
  now: Date;
  /** The id to use when this event creates the relationship. */
  relationshipId: string;
  emailHash?: string;
  crmIds: readonly string[];
  /** True when the event came from a CRM (so a consent change is not echoed back to it). */
  fromCrm: boolean;
  planner: Planner;
  /** Keyed hash of an address (a contact-moved with a new address re-keys the identity). */
  emailHashOf?: (email: string) => string;
  /** Suppressions on record for this identity, for a relationship created now (they outlive erasure). */
  initialSuppressions?: readonly Suppression[];
  /** Newest-first recent timeline, for the re-engagement brief. */
  recentTimeline?: readonly TimelineEntry[];
  /** config/metrics.yaml `holdout`: decides the group when the relationship first enters nurture. Absent: no decision. */
  holdout?: HoldoutSettings;
}

export type Emitted =
  | { type: 'relationship-re-engaged'; detail: InternalDetail<'relationship-re-engaged'> }
  | { type: 'relationship-retired'; detail: InternalDetail<'relationship-retired'> }
  | { type: 'task-assigned'; detail: InternalDetail<'task-assigned'> }
  | { type: 'consent-changed'; detail: InternalDetail<'consent-changed'> };

export type Decision =
  | { kind: 'duplicate' }
  | { kind: 'erase'; emit: Emitted[] }
  | {
      kind: 'applied';
      superseded: boolean;
      state: RelationshipState;
      timeline: TimelineEntry[];
      emit: Emitted[];
    };

const CONTACT_FIELDS = [
  'email',
  'name',
  'title',
  'company',
  'timezone',
  'country',
  'language',
  'role',
  'horizon',
  'postalAddress',
  'tags',
  'interests',
] as const satisfies readonly (keyof ContactFields)[];

/** Events that move the stage; they obey "older than the last state change is superseded". */
const STATE_CHANGES = new Set<InboundEvent['type']>([
  'lead-closed-lost',
  'deal-created',
  'deal-reopened',
  'deal-won',
  'meeting-booked',
  'contact-replied',
  'touch-completed',
]);

const RE_ENGAGING_FROM = new Set<Stage>(['new', 'nurturing', 'retired']);

export function newRelationship(id: string, at: string): RelationshipState {
  return {
    id,
    version: 0,
    createdAt: at,
    updatedAt: at,
    stage: 'new',
    contact: {},
    fieldTimes: {},
    crmIds: [],
    suppressions: [],
    applied: [],
    planVersion: 0,
    nextTouch: null,
    history: { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 },
  };
}

export function clampToNow(occurredAt: string, now: Date): string {
  const t = Date.parse(occurredAt);
  return new Date(Math.min(t, now.getTime())).toISOString();
}

export function applyInbound(
  prev: RelationshipState | undefined,
  eventId: string,
  event: InboundEvent,
  ctx: ApplyContext,
): Decision {
  if (prev?.applied.includes(eventId)) return { kind: 'duplicate' };
  const at = clampToNow(event.occurredAt, ctx.now);
  const nowIso = ctx.now.toISOString();

  if (
    event.type === 'relationship-erasure-requested' ||
    (event.type === 'consent-changed' && event.data.action === 'forget-me')
  ) {
    const emit: Emitted[] = [];
    if (prev && !ctx.fromCrm) emit.push(consentNews(prev, 'forget-me', undefined));
    return { kind: 'erase', emit };
  }

  let state: RelationshipState = prev ?? { ...newRelationship(ctx.relationshipId, nowIso), suppressions: [...(ctx.initialSuppressions ?? [])] };
  state = mergeIdentity(state, ctx);
  const inputsBefore = ctx.planner.planInputs?.(state);
  state = mergeContact(state, event, at, ctx);

  const timeline: TimelineEntry[] = [];
  const emit: Emitted[] = [];
  const entry = (summary: string, detail?: TimelineEntry['detail'], superseded?: boolean) =>
    timeline.push({ at, eventId, type: event.type, summary, ...(detail && { detail }), ...(superseded && { superseded }) });

  let superseded = false;
  let replan = false;
  let resumed = false;
  let retireReason: string | undefined;
  const stageBefore = state.stage;

  if (STATE_CHANGES.has(event.type) && state.stageChangedAt !== undefined && at < state.stageChangedAt) {
    superseded = true;
    entry(`${describe(event)} (superseded by a newer change)`, undefined, true);
  } else {
    switch (event.type) {
      case 'lead-closed-lost': {
        const d = event.data;
        // The same deal's loss again while its nurture runs (an import of a deal already lost
        // live, whose event id differs from the webhook's): applying it would reset lostAt and
        // restart the cadence, so it is recorded as superseded and changes nothing. Unless it says
        // the deal was lost for another reason (the answer to "what could we have done better?",
        // entered on the deal): then the reason is corrected, nothing else, and the track follows.
        if (state.stage === 'nurturing' && d.dealId !== undefined && d.dealId === state.nurture?.dealId) {
          const n = state.nurture;
          if (n.lostReason !== undefined && d.reason !== n.lostReason && at >= (n.reasonAt ?? n.lostAt)) {
            state = { ...state, nurture: { ...n, lostReason: d.reason, reasonAt: at } };
            entry(`Lost reason corrected: ${n.lostReason} -> ${d.reason}`, compact({ reason: d.reason, was: n.lostReason, dealId: d.dealId, corrected: true }));
            break;
          }
          superseded = true;
          entry(`${describe(event)} (superseded: already in nurture for this deal)`, compact({ reason: d.reason, dealId: d.dealId }), true);
          break;
        }
        const dnc = state.suppressions.some((s) => s.scope === 'do-not-contact');
        if (state.nurture && resumesEpisode(state, d.dealId)) {
          // The loss of the deal that paused this nurture: the episode resumes where it left off.
          // Kept: `lostAt`, the episode's start (the cadence's timing from the loss, and the metrics'
          // cohort: this is not a second entry into nurture) and the history (no second thank-you;
          // the e-mail numbering and the content already sent go on). Taken from this loss, the
          // newest knowledge: the reason (the track may change with it), the deal and its amount,
          // and the rep's note and hints when given. `resumedAt` floors the quiet clock, or a deal
          // that took months would end e-mail at once. The episode's import status stays as it was.
          // The deal fields describe the deal lost last, so the earlier deal's amount goes.
          const { openDeal, dealId: _earlier, amount: _amount, currency: _currency, ...episode } = state.nurture;
          const dealId = d.dealId ?? openDeal?.dealId;
          state = {
            ...state,
            nurture: {
              ...episode,
              lostReason: d.reason,
              resumedAt: at,
              ...(d.note !== undefined && { note: d.note }),
              ...(dealId !== undefined && { dealId }),
              ...(d.amount !== undefined && { amount: d.amount }),
              ...(d.currency !== undefined && { currency: d.currency }),
              ...(d.revisitAfter !== undefined && { revisitAfter: d.revisitAfter }),
              ...(d.contractEndsAt !== undefined && { contractEndsAt: d.contractEndsAt }),
            },
          };
          resumed = true;
        } else {
          state = {
            ...state,
            nurture: {
              lostReason: d.reason,
              lostAt: at,
              ...(d.note !== undefined && { note: d.note }),
              ...(d.dealId !== undefined && { dealId: d.dealId }),
              ...(d.amount !== undefined && { amount: d.amount }),
              ...(d.currency !== undefined && { currency: d.currency }),
              ...(d.revisitAfter !== undefined && { revisitAfter: d.revisitAfter }),
              ...(d.contractEndsAt !== undefined && { contractEndsAt: d.contractEndsAt }),
              ...(d.permissionAskOnly && { permissionAskOnly: true }),
            },
          };
        }
        // Decided once, by account (people without one are their own unit), before the plan below.
        if (ctx.holdout && !state.holdout) {
          state = { ...state, holdout: { group: assignHoldout(state.accountId ?? state.id, ctx.holdout), percent: ctx.holdout.percent, assignedAt: at } };
        }
        state = moveTo(state, dnc ? 'retired' : 'nurturing', at);
        replan = true;
        const noTouches = dnc ? ' (do-not-contact on record: no touches)' : '';
        if (resumed) entry(`Closed lost again: ${d.reason}; nurture resumes where it left off${noTouches}`, compact({ reason: d.reason, dealId: d.dealId, amount: d.amount, resumed: true }));
        else entry(`Closed lost: ${d.reason}${noTouches}`, compact({ reason: d.reason, dealId: d.dealId, amount: d.amount }));
        break;
      }
      case 'deal-created':
        if (state.stage === 'customer') entry('New deal on a customer', compact({ dealId: event.data.dealId }));
        else {
          // The deal that pauses a running nurture: if it is lost, the episode resumes (lead-closed-lost).
          if (state.stage === 'nurturing' && state.nurture) {
            const openDeal = { createdAt: at, ...(event.data.dealId !== undefined && { dealId: event.data.dealId }) };
            state = { ...state, nurture: { ...state.nurture, openDeal } };
          }
          state = moveTo(state, 'in-deal', at);
          entry('Deal created: nurture paused', compact({ dealId: event.data.dealId, amount: event.data.amount }));
        }
        break;
      case 'deal-won':
        state = moveTo(state, 'customer', at);
        entry('Deal won', compact({ dealId: event.data.dealId, amount: event.data.amount }));
        break;
      case 'deal-reopened':
      case 'meeting-booked':
      case 'contact-replied': {
        const what = describe(event);
        state = { ...state, history: { ...state.history, lastHumanSignalAt: at } };
        if (RE_ENGAGING_FROM.has(state.stage) && !state.suppressions.some((s) => s.scope === 'do-not-contact')) {
          const brief = buildBrief(state, what, at, ctx.recentTimeline ?? []);
          state = moveTo(state, 're-engaged', at);
          entry(`${what}: re-engaged`, compact({ classification: event.type === 'contact-replied' ? event.data.classification : undefined }));
          // The holdout gets nothing from a rep either: the CRM outcome is measured, no brief is sent.
          if (!heldOut(state)) emit.push({
            type: 'relationship-re-engaged',
            detail: { relationshipId: state.id, crmIds: state.crmIds, ...(state.owner && { owner: state.owner }), ...(state.accountId && { accountId: state.accountId }), ...(state.nurture?.dealId && { dealId: state.nurture.dealId }), brief },
          });
        } else {
          entry(what);
        }
        break;
      }
      case 'touch-completed': {
        const r = completeTouch(state, event, at);
        state = r.state;
        replan = r.replan;
        entry(r.summary, compact({ touchId: event.data.touchId, outcome: event.data.outcome }));
        break;
      }
      case 'contact-updated':
        entry('Contact details updated');
        break;
      case 'contact-moved':
        if (event.data.leftCompany) {
          // They wrote that they have left: this relationship (person at that company) retires,
          // and the owner gets a research task to find them where they went.
          const wasRetired = state.stage === 'retired';
          if (!wasRetired) {
            state = moveTo(state, 'retired', at);
            retireReason = 'left-company';
          }
          entry(`Left the company${event.data.newCompany ? ` (joined ${event.data.newCompany})` : ''}${wasRetired ? '' : ': retired'}`, compact({ newCompany: event.data.newCompany, newAddressGiven: event.data.newEmail !== undefined || undefined }));
          if (!heldOut(state)) emit.push({ type: 'task-assigned', detail: researchTask(state, event.data, at, eventId) });
        } else {
          // Found at the new company: the history follows them. A new address needs fresh consent,
          // and a relationship retired because they left comes back into nurture.
          const r = applyMove(state, event, at, ctx);
          state = r.state;
          const returns = state.stage === 'retired' && !state.suppressions.some((s) => s.scope === 'do-not-contact') && state.history.lastOutcome !== 'no-future';
          if (returns && state.nurture) state = moveTo(state, 'nurturing', at);
          replan = r.newAddress || returns;
          entry(
            `Changed company${r.newAddress ? ': new address, fresh consent needed' : ''}${returns && state.nurture ? '; back in nurture' : ''}`,
            compact({ newAccountId: event.data.newAccountId, newCompany: event.data.newCompany }),
          );
        }
        break;
      case 'referral-received': {
        // Someone not yet known to nurture (not in it, in a deal, a customer or retired) enters it
        // by the referral: an episode of its own, whose track the cadence chooses by `entries`.
        // Anyone further along keeps their stage and episode; only the referral is recorded.
        const enters = state.stage === 'new';
        if (enters) {
          state = moveTo({ ...state, nurture: referralEpisode(at, event.data) }, 'nurturing', at);
          replan = true;
        }
        // The first referral counts (events may arrive out of order): deals after it are its result.
        if (state.referredAt === undefined || at < state.referredAt) state = { ...state, referredAt: at };
        entry(enters ? 'Referral received: enters nurture' : 'Referral received', compact({ referredBy: event.data.referredBy, entered: enters || undefined }));
        break;
      }
      case 'consent-changed': {
        const r = applyConsentChange(state, event, at, ctx.fromCrm);
        state = r.state;
        // An explicit yes is what an imported old loss waits for: e-mails may start from here.
        if (event.data.action === 'grant-email' && !r.superseded && state.nurture?.permissionAskOnly === true) {
          // The yes is a human signal too: the quiet clock restarts, or a loss years old would get no e-mail at all.
          state = { ...state, nurture: { ...state.nurture, permissionAskOnly: false }, history: { ...state.history, lastHumanSignalAt: at } };
        }
        superseded = r.superseded;
        replan = !superseded;
        entry(r.summary, compact({ action: event.data.action, topic: event.data.topic }), superseded || undefined);
        emit.push(...r.emit);
        break;
      }
    }
  }

  // A profile change (this event's contact block, a move) that alters what the plan reads (the
  // track, a time zone, ...) replans the touch already planned; a new name or title does not.
  const inputChanges = changedInputs(inputsBefore, ctx.planner.planInputs?.(state));
  const profileReplan = inputChanges !== undefined && !replan && mayBeTouched(state);
  if (profileReplan) replan = true;
  // Said where the plan was redone for it (or the track moved on a resume), so `explain` shows why.
  if (inputChanges !== undefined && (profileReplan || resumed)) noteReplan(timeline, inputChanges);

  if (state.stage === 'retired' && stageBefore !== 'retired') {
    emit.push({ type: 'relationship-retired', detail: { relationshipId: state.id, crmIds: state.crmIds, ...(state.owner && { owner: state.owner }), reason: retireReason ?? retiredReason(state) } });
  }

  state = plan(state, replan, ctx);
  state = {
    ...state,
    applied: [...state.applied, eventId].slice(-APPLIED_EVENT_MEMORY),
    updatedAt: nowIso,
  };
  return { kind: 'applied', superseded, state, timeline, emit };
}

/** "track lost-deal -> referral-partners; contact zone ...": the plan inputs that differ, or undefined. */
function changedInputs(before: Readonly<Record<string, string>> | undefined, after: Readonly<Record<string, string>> | undefined): string | undefined {
  if (!before || !after) return undefined;
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const changes = names.filter((n) => before[n] !== after[n]).map((n) => `${n} ${before[n] ?? 'none'} -> ${after[n] ?? 'none'}`);
  return changes.length > 0 ? changes.join('; ') : undefined;
}

/** The event's entry says the plan was redone and for what (`detail.replannedFor` for `explain`). */
function noteReplan(timeline: TimelineEntry[], changes: string): void {
  const last = timeline.at(-1);
  if (!last) return;
  timeline[timeline.length - 1] = { ...last, summary: `${last.summary}; plan redone: ${changes}`, detail: { ...last.detail, replannedFor: changes } };
}

/**
 * A referral episode: no deal was lost, so no lost reason; it starts when the referral arrived
 * (`lostAt`, the episode's start). The holdout is not decided here: it is a cohort of lost deals,
 * and a referral episode is not counted as an entry into nurture (metrics, `nurture.entered`).
 */
function referralEpisode(at: string, d: InboundEventOf<'referral-received'>['data']): NurtureInfo {
  return { entry: 'referral', lostAt: at, ...(d.referredBy !== undefined && { referredBy: d.referredBy }), ...(d.note !== undefined && { note: d.note }) };
}

/**
 * Is this loss that of the deal that paused the nurture (`nurture.openDeal`), so the episode
 * resumes? Only while that deal is open (stage `in-deal`); a loss naming another deal starts a new
 * episode. When either side has no deal id, the deal that paused nurture is the only one known to
 * be open, so the loss is taken as its. A referral episode never resumes: the referral was reached
 * and a deal lost, so a lost-deal episode starts (and counts as an entry into nurture).
 */
function resumesEpisode(state: RelationshipState, dealId: string | undefined): boolean {
  const open = state.nurture?.openDeal;
  if (state.stage !== 'in-deal' || !open || state.nurture?.entry === 'referral') return false;
  return dealId === undefined || open.dealId === undefined || dealId === open.dealId;
}

/** Keep, replace or drop the next touch. A replan bumps the plan version, which voids stale claims. */
function plan(state: RelationshipState, replan: boolean, ctx: ApplyContext): RelationshipState {
  const current = state.nextTouch;
  const valid =
    current !== null &&
    mayBeTouched(state) &&
    (current.channel !== 'email' || (canEmail(state) && !topicStopped(state, current.topic)));
  if (!replan && (current === null || valid)) return state;
  const planVersion = state.planVersion + 1;
  const next = ctx.planner.planNext({ ...state, nextTouch: null, planVersion }, { now: ctx.now });
  if (next === null && current === null) return state;
  return { ...state, planVersion, nextTouch: next };
}

/** The superseding cutoff never moves backwards: it is the latest state change applied. */
function moveTo(state: RelationshipState, stage: Stage, at: string): RelationshipState {
  const stageChangedAt = state.stageChangedAt && state.stageChangedAt > at ? state.stageChangedAt : at;
  return { ...state, stage, stageChangedAt };
}

function mergeIdentity(state: RelationshipState, ctx: ApplyContext): RelationshipState {
  const crmIds = [...new Set([...state.crmIds, ...ctx.crmIds])];
  return { ...state, crmIds, ...(ctx.emailHash && !state.emailHash && { emailHash: ctx.emailHash }) };
}

/** Field by field, the latest occurredAt wins. Consent is a record of its own, merged by its time. */
function mergeContact(state: RelationshipState, event: InboundEvent, at: string, ctx: ApplyContext): RelationshipState {
  const c = event.contact;
  const contact: ContactFields = { ...state.contact };
  const fieldTimes = { ...state.fieldTimes };
  let accountId = state.accountId;
  let owner = state.owner;
  const newer = (field: string) => fieldTimes[field] === undefined || at >= (fieldTimes[field] as string);
  let emailHash = state.emailHash;
  for (const field of CONTACT_FIELDS) {
    const value = c[field];
    if (value !== undefined && newer(field)) {
      (contact as Record<string, unknown>)[field] = value;
      fieldTimes[field] = at;
      // The keyed hash follows the address it is of (identity, suppressions and erasure key on it).
      if (field === 'email' && ctx.emailHash) emailHash = ctx.emailHash;
    }
  }
  if (c.accountId !== undefined && newer('accountId')) {
    accountId = c.accountId;
    fieldTimes.accountId = at;
  }
  if (c.owner !== undefined && newer('owner')) {
    owner = c.owner;
    fieldTimes.owner = at;
  }
  let next: RelationshipState = { ...state, contact, fieldTimes, ...(accountId && { accountId }), ...(owner && { owner }), ...(emailHash && { emailHash }) };
  if (c.consent) next = applyConsentRecord(next, c.consent, at).state;
  return next;
}

function completeTouch(state: RelationshipState, event: InboundEventOf<'touch-completed'>, at: string) {
  const { touchId, outcome } = event.data;
  const current = state.nextTouch;
  const isCurrent = current?.touchId === touchId;
  const history = { ...state.history, lastOutcome: outcome, lastTouchAt: at };
  // Done before it was handed out (still the plan): it moves the cadence on, or its rhythm.
  if (isCurrent && current) advance(history, current, at);
  let next: RelationshipState = { ...state, history };
  if (isCurrent) next = { ...next, nextTouch: null };
  let summary = `Touch completed: ${outcome}`;
  if (outcome === 'no-future') {
    next = moveTo(next, 'retired', at);
    summary += ' (retired gracefully)';
  } else if (outcome === 'next-step' && next.stage !== 're-engaged' && !next.suppressions.some((s) => s.scope === 'do-not-contact')) {
    next = moveTo(next, 're-engaged', at);
    summary += ' (handed back to the owner)';
  }
  // A task is handed to the rep when it falls due and the cadence moves on; its outcome comes back
  // later. Only a touch id that is not this relationship's at all is worth a remark.
  if (!isCurrent && relationshipIdOfTouch(touchId) !== state.id) summary += ' (a touch of another relationship)';
  return { state: next, replan: isCurrent, summary };
}

function applyMove(state: RelationshipState, event: InboundEventOf<'contact-moved'>, at: string, ctx: ApplyContext): { state: RelationshipState; newAddress: boolean } {
  const d = event.data;
  let next = state;
  if (d.newAccountId) next = { ...next, accountId: d.newAccountId, fieldTimes: { ...next.fieldTimes, accountId: at } };
  if (d.newCompany) next = { ...next, contact: { ...next.contact, company: d.newCompany }, fieldTimes: { ...next.fieldTimes, company: at } };
  const newAddress = d.newEmail !== undefined && d.newEmail.toLowerCase() !== next.contact.email?.toLowerCase();
  if (d.newEmail && newAddress) {
    next = { ...next, contact: { ...next.contact, email: d.newEmail }, fieldTimes: { ...next.fieldTimes, email: at } };
    if (ctx.emailHashOf) next = { ...next, emailHash: ctx.emailHashOf(d.newEmail) };
    // The old mailbox bounced because they left: that says nothing about the new one.
    next = { ...next, suppressions: next.suppressions.filter((x) => x.scope !== 'hard-bounce') };
    // Consent belongs to an address: the new one starts without it (the planner asks permission).
    next = applyConsentRecord(next, { email: 'unknown', source: 'contact-moved' }, at).state;
  }
  return { state: next, newAddress };
}

function applyConsentChange(
  state: RelationshipState,
  event: InboundEventOf<'consent-changed'>,
  at: string,
  fromCrm: boolean,
): { state: RelationshipState; superseded: boolean; summary: string; emit: Emitted[] } {
  const { action, topic } = event.data;
  const emitFor = (s: RelationshipState): Emitted[] => (fromCrm ? [] : [consentNews(s, action, topic)]);
  switch (action) {
    case 'grant-email': {
      const record = event.data.consent ?? { email: 'granted' as const };
      const r = applyConsentRecord(state, record, at);
      const summary =
        r.outcome === 'applied'
          ? 'E-mail consent granted'
          : r.outcome === 'older'
            ? 'E-mail consent (superseded by a newer decision)'
            : 'E-mail consent not applied: an unsubscribe or do-not-contact stands until an explicit new opt-in';
      return { state: r.state, superseded: r.outcome !== 'applied', summary, emit: r.outcome === 'applied' ? emitFor(r.state) : [] };
    }
    case 'stop-topic': {
      const next = { ...state, suppressions: addSuppression(state.suppressions, { scope: 'topic', topic: topic as string, at }) };
      return { state: next, superseded: false, summary: `Stopped topic ${topic}`, emit: emitFor(next) };
    }
    case 'stop-all-email':
    case 'do-not-contact': {
      const source = event.data.source;
      const r = addConsentFact(state, { at, kind: action, ...(source && { source }) });
      const effective = r.state.suppressions.some((s) => s.scope === (action === 'stop-all-email' ? 'all-email' : 'do-not-contact'));
      if (!effective) {
        return { state: r.state, superseded: true, summary: `${action === 'stop-all-email' ? 'Stop all e-mail' : 'Do not contact'} (superseded by a newer explicit opt-in)`, emit: [] };
      }
      let next = r.state;
      if (action === 'do-not-contact' && next.stage !== 'retired') next = moveTo(next, 'retired', at);
      const summary = action === 'stop-all-email' ? 'Stopped all e-mail (human touches continue)' : 'Do not contact: every touch stopped';
      return { state: next, superseded: false, summary, emit: emitFor(next) };
    }
    default:
      // forget-me is handled before the switch, as an erasure.
      return { state, superseded: false, summary: `Consent change ${action}`, emit: [] };
  }
}

function consentNews(state: RelationshipState, action: InternalDetail<'consent-changed'>['action'], topic: string | undefined): Emitted {
  return {
    type: 'consent-changed',
    detail: {
      relationshipId: state.id,
      crmIds: state.crmIds,
      ...(state.owner && { owner: state.owner }),
      action,
      ...(topic && { topic }),
      email: action === 'forget-me' ? 'denied' : (state.consent?.email ?? 'unknown'),
    },
  };
}

/** The owner's research task after someone left: find them where they went, with what they said. */
function researchTask(state: RelationshipState, d: InboundEventOf<'contact-moved'>['data'], at: string, eventId: string): InternalDetail<'task-assigned'> {
  const why = ['they wrote that they have left the company; this relationship is retired'];
  if (d.newCompany) why.push(`they joined ${d.newCompany}`);
  // The address itself is personal data and this task rides the bus: it is in the forwarded reply.
  if (d.newEmail) why.push('they gave a new address (in the forwarded reply)');
  if (state.nurture?.lostReason) why.push(`originally lost on ${state.nurture.lostReason}`);
  else if (state.nurture?.entry === 'referral') why.push('they came in as a referral');
  why.push('research their pain or gain at the new place, then write to it (a new relationship starts when the CRM records them there)');
  return {
    relationshipId: state.id,
    crmIds: state.crmIds,
    ...(state.owner && { owner: state.owner }),
    touchId: `${state.id}.moved.${eventId.replace(/[^\w.:-]/g, '_').slice(-40)}`,
    kind: 'research',
    title: 'Research their pain or gain',
    why: why.join('; '),
    dueDate: at.slice(0, 10),
    outcomes: ['done', 'no-answer', 'left-message', 'declined', 'skipped'],
  };
}

function retiredReason(state: RelationshipState): string {
  if (state.suppressions.some((s) => s.scope === 'do-not-contact')) return 'do-not-contact';
  if (state.history.lastOutcome === 'no-future') return 'no-future';
  return 'retired';
}

export function describe(event: InboundEvent): string {
  switch (event.type) {
    case 'deal-reopened':
      return 'Deal reopened';
    case 'meeting-booked':
      return 'Meeting booked';
    case 'contact-replied':
      return event.data.classification === 'missed-me' ? 'Replied: missed the weekly e-mail' : 'Replied';
    default:
      return event.type;
  }
}

function compact(o: Record<string, string | number | boolean | undefined>): Record<string, string | number | boolean> | undefined {
  const entries = Object.entries(o).filter(([, v]) => v !== undefined) as [string, string | number | boolean][];
  return entries.length ? Object.fromEntries(entries) : undefined;
}

export type { LostReason };
