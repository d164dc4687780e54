/** Relationship state: the pure model the domain reasons about. No AWS here. */
import type { ConsentRecord, ContactRole, Horizon, LostReason, TouchOutcome } from '#catalog/events';
import type { GuardrailCode } from './guardrails.ts';

export const stages = ['new', 'nurturing', 'in-deal', 're-engaged', 'customer', 'retired'] as const;
export type Stage = (typeof stages)[number];

export type TouchChannel = 'email' | 'task';
export type TouchStatus = 'planned' | 'queued' | 'sending';

export interface PlannedTouch {
  touchId: string;
  /** Due instant, UTC ISO. The planner owns time zones. */
  at: string;
  channel: TouchChannel;
  /** What the touch is: thank-you-note, value-email, permission-ask, courtesy-call, ... */
  kind: string;
  contentId?: string;
  topic?: string;
  /** Position in the cadence, so a replan keeps the person's progress. */
  step?: number;
  /**
   * A human touch on a rhythm (cadence.yaml `humanTouches`): done, it counts in
   * `history.recurring[kind]`, not in `cadenceStep`, so the e-mail cadence's position is untouched.
   */
  recurring?: true;
  status: TouchStatus;
  /** While queued or sending: when the claim lapses. */
  leaseUntil?: string;
  /** The rule that decided this touch (for `explain`). */
  rule: string;
  /**
   * The guardrails that moved this touch later than its ideal slot, distinct codes in first-seen
   * order (absent when none did): the planner's (calendar, gap, per-person caps) and the sweep's
   * global daily cap. Read once, when the touch's outcome is recorded, for `touch.skipped`.
   */
  pushedBy?: GuardrailCode[];
}

export type SuppressionScope = 'all-email' | 'do-not-contact' | 'topic' | 'hard-bounce' | 'complaint';
export interface Suppression {
  scope: SuppressionScope;
  topic?: string;
  at: string;
}

export interface ContactFields {
  email?: string;
  name?: string;
  title?: string;
  company?: string;
  timezone?: string;
  country?: string;
  language?: string;
  role?: ContactRole;
  horizon?: Horizon;
  postalAddress?: { lines: string[]; city: string; region?: string; postalCode?: string; country: string };
  tags?: string[];
  interests?: string[];
}

export interface NurtureInfo {
  /**
   * What started this episode: absent for a lost deal (`lead-closed-lost`; items stored before
   * referrals entered nurture are lost deals too), `referral` for a referral received for someone
   * not yet in nurture (`referral-received`). Tracks are chosen by it (cadence.yaml `when.entries`).
   */
  entry?: 'referral';
  /** A referral episode's referrer, as the event named them (an id, not an address). */
  referredBy?: string;
  /** Why the deal was lost; absent for a referral episode (no deal was lost). */
  lostReason?: LostReason;
  /**
   * When the episode started: the loss, or for a referral episode the referral's arrival. The name
   * stays for the items already stored; the cadence's timing and the metrics' cohort count from it.
   */
  lostAt: string;
  /** The rep's note at the loss; for a referral episode, the note that came with the referral. */
  note?: string;
  dealId?: string;
  amount?: number;
  currency?: string;
  revisitAfter?: string;
  contractEndsAt?: string;
  /**
   * Set for an old loss brought in by `cultivate import`: `true` while only the permission ask may
   * go (no thank-you note, no value e-mails even with consent on record), `false` once the contact
   * opted in after it (e-mails may start; still no thank-you, the loss is long past).
   */
  permissionAskOnly?: boolean;
  /**
   * The deal created while this nurture ran (`deal-created` in stage `nurturing`), which paused it.
   * Its loss resumes this episode where it left off instead of starting a new one. `dealId` is
   * absent when the CRM sent none (then any loss while in that deal is taken as its loss).
   */
  openDeal?: { createdAt: string; dealId?: string };
  /**
   * When the episode last resumed after the loss of its `openDeal`: the quiet clock counts from here
   * at the earliest (a deal that took months must not end e-mail at once), while `lostAt` stays the
   * episode's start (the cadence's timing, the metrics' cohort).
   */
  resumedAt?: string;
  /** When the lost reason was last corrected (the same deal lost again for another reason). */
  reasonAt?: string;
}

export interface TouchHistory {
  emailsSent: number;
  tasksAssigned: number;
  /** Content ids already sent to this person (never the same item twice). */
  sentContent: string[];
  lastEmailAt?: string;
  lastTouchAt?: string;
  lastHumanSignalAt?: string;
  /** Cadence position reached (touches issue). */
  cadenceStep: number;
  lastOutcome?: TouchOutcome;
  /**
   * Touches done in the last 30 days, oldest first (bounded): what the minimum gap and the
   * per-person caps count (functions/domain/guardrails.ts `noteTouch`). Absent on older items.
   */
  recentTouches?: { at: string; channel: TouchChannel }[];
  /** Human touches on a rhythm done so far, by kind: how many and when the last was. Absent on older items. */
  recurring?: Record<string, { n: number; lastAt: string }>;
}

export interface RelationshipState {
  id: string;
  /** Optimistic-concurrency version: every write is conditional on it. */
  version: number;
  createdAt: string;
  updatedAt: string;
  stage: Stage;
  /** occurredAt of the last applied stage change; older state changes are superseded. */
  stageChangedAt?: string;
  nurture?: NurtureInfo;
  accountId?: string;
  owner?: string;
  contact: ContactFields;
  /** occurredAt per attribute: the latest wins, field by field. */
  fieldTimes: Record<string, string>;
  crmIds: string[];
  emailHash?: string;
  consent?: ConsentRecord & { at: string };
  /** The time-ordered consent facts the consent record and sticky suppressions are folded from. */
  consentFacts?: import('./consent.ts').ConsentFact[];
  suppressions: Suppression[];
  /** Recently applied event ids (bounded): a duplicate changes nothing. */
  applied: string[];
  planVersion: number;
  nextTouch: PlannedTouch | null;
  /** No touch is planned before this instant (an out-of-office reply stated a return date). */
  pausedUntil?: string;
  history: TouchHistory;
  /** When a referral for this person first arrived (`referral-received`): later deals count as the referral's. */
  referredAt?: string;
  /**
   * The holdout decision (docs/metrics.md), taken once when the relationship first enters nurture
   * and kept, so a later change of percent or salt moves no one. Never shown to reps.
   */
  holdout?: HoldoutDecision;
}

export interface HoldoutDecision {
  group: 'nurtured' | 'holdout';
  /** The share held out when it was decided (config/metrics.yaml). */
  percent: number;
  assignedAt: string;
}

export interface TimelineEntry {
  at: string;
  eventId: string;
  type: string;
  summary: string;
  superseded?: boolean;
  detail?: Record<string, string | number | boolean>;
}

export const APPLIED_EVENT_MEMORY = 20;
