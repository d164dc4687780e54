/**
 * The re-engagement brief: bounded, so it fits an event and a CRM note. "Don't reboot, build":
 * why it was lost, what was sent, what they did.
 */
import type { ReEngagementBrief } from '#catalog/events';
import type { RelationshipState, TimelineEntry } from './types.ts';

const MAX_ITEMS = 10;
const DAY_MS = 86_400_000;
const SENT_TYPES = new Set(['email-sent', 'task-assigned']);
const ENGAGED_TYPES = new Set(['contact-replied', 'meeting-booked', 'deal-reopened', 'email-clicked', 'touch-completed', 'referral-received']);

export function buildBrief(
  state: RelationshipState,
  trigger: string,
  at: string,
  recentTimeline: readonly TimelineEntry[],
): ReEngagementBrief {
  const newestFirst = [...recentTimeline].sort((a, b) => (a.at < b.at ? 1 : -1));
  const sent = newestFirst
    .filter((e) => SENT_TYPES.has(e.type) && !e.superseded)
    .slice(0, MAX_ITEMS)
    .map((e) => ({ at: e.at, channel: e.type === 'email-sent' ? 'email' : 'task', title: truncate(e.summary, 140) }));
  const engaged = newestFirst
    .filter((e) => ENGAGED_TYPES.has(e.type) && !e.superseded)
    .slice(0, MAX_ITEMS - 1)
    .map((e) => ({ at: e.at, what: truncate(e.summary, 140) }));
  engaged.unshift({ at, what: trigger });
  const n = state.nurture;
  // A referral episode lost no deal: no lost reason, date or note at the loss. The referral itself
  // is what they did first, so it is named among what they did (by whom, with its note), unless
  // the recent timeline already shows it.
  const referral = n?.entry === 'referral';
  if (n && referral && !engaged.some((e) => e.at === n.lostAt && e.what.startsWith('Referral received'))) {
    const what = `Referred${n.referredBy ? ` by ${n.referredBy}` : ''}${n.note ? `: ${n.note}` : ''}`;
    engaged.splice(Math.min(engaged.length, MAX_ITEMS - 1), 0, { at: n.lostAt, what: truncate(what, 140) });
  }
  return {
    ...(n && !referral && n.lostReason && { lostReason: n.lostReason }),
    ...(n && !referral && { lostAt: n.lostAt }),
    ...(n?.note && !referral && { lostNote: truncate(n.note, 500) }),
    ...(n && { daysInNurture: Math.max(0, Math.floor((Date.parse(at) - Date.parse(n.lostAt)) / DAY_MS)) }),
    trigger,
    sent,
    engaged: engaged.slice(0, MAX_ITEMS),
  };
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}
