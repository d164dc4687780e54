/**
 * One shaping function per outbound message type, producing Salesforce REST request bodies (Task,
 * and the Contact/Lead opt-out fields). Pure. A task reads as a rep needs it: what, why, talking
 * points, links, the due date in the rep's own time zone, the outcome choices and the Cultivate
 * touch id, which brings the completed task back as touch-completed.
 * Task fields: https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
 */
import type { InternalDetail, ReEngagementBrief } from '#catalog/events';
import { localDateOf } from '#domain/local-time';
import { TOUCH_MARKER } from './settings.ts';

export interface TaskTarget {
  /** Contact (003…) or Lead (00Q…) id. */
  whoId: string;
  /** Opportunity or Account id (never with a Lead: Salesforce refuses WhatId on lead tasks). */
  whatId?: string;
  /** Salesforce user id; absent: Salesforce's default owner (the integration user). */
  ownerId?: string;
  /** Optional Task field for the touch id (config/crm.yaml salesforce.fields.touchId). */
  touchIdField?: string;
}

export type TaskBody = Record<string, string | boolean | undefined>;

const SUBJECT_MAX = 255;
const DESCRIPTION_MAX = 32_000;

const clip = (s: string, max: number) => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);
const isoDate = (d: { year: number; month: number; day: number }) => `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;

/** The calendar date of `at` where the rep is. */
export function repDate(at: string, timezone: string): string {
  const t = Date.parse(at);
  const instant = Number.isFinite(t) ? new Date(t) : new Date();
  try {
    return isoDate(localDateOf(instant, timezone));
  } catch {
    return instant.toISOString().slice(0, 10);
  }
}

function base(target: TaskTarget, subject: string, lines: string[], activityDate: string, priority: 'High' | 'Normal', touchId?: string): TaskBody {
  return {
    Subject: clip(subject, SUBJECT_MAX),
    Description: clip(lines.join('\n'), DESCRIPTION_MAX),
    ActivityDate: activityDate,
    Status: 'Not Started',
    Priority: priority,
    WhoId: target.whoId,
    ...(target.whatId && { WhatId: target.whatId }),
    ...(target.ownerId && { OwnerId: target.ownerId }),
    ...(touchId && target.touchIdField && { [target.touchIdField]: touchId }),
  };
}

export function taskForTouch(d: InternalDetail<'task-assigned'>, target: TaskTarget, repTimezone: string): TaskBody {
  const tz = d.ownerTimezone ?? repTimezone;
  const lines = [
    `What: ${d.title}`,
    `Why: ${d.why}`,
    `Due: ${d.dueDate} (your time zone, ${tz})`,
    ...(d.talkingPoints?.length ? ['', 'Talking points:', ...d.talkingPoints.map((p) => `- ${p}`)] : []),
    ...(d.links?.length ? ['', 'Links:', ...d.links.map((l) => `- ${l.label}: ${l.url}`)] : []),
    '',
    `When done, set Status to Completed and record the outcome, one of: ${d.outcomes.join(', ')}.`,
    '',
    `${TOUCH_MARKER} ${d.touchId}`,
  ];
  return base(target, d.title, lines, d.dueDate, 'Normal', d.touchId);
}

function briefLines(b: ReEngagementBrief): string[] {
  return [
    `Trigger: ${b.trigger}`,
    ...(b.lostReason ? [`Lost on: ${b.lostReason}${b.lostAt ? ` (${b.lostAt.slice(0, 10)})` : ''}`] : []),
    ...(b.lostNote ? [`Rep's note at the loss: ${b.lostNote}`] : []),
    ...(b.daysInNurture !== undefined ? [`Days in nurture: ${b.daysInNurture}`] : []),
    ...(b.sent.length ? ['', 'What Cultivate sent:', ...b.sent.map((s) => `- ${s.at.slice(0, 10)} ${s.channel}: ${s.title}`)] : []),
    ...(b.engaged.length ? ['', 'How they engaged:', ...b.engaged.map((e) => `- ${e.at.slice(0, 10)} ${e.what}`)] : []),
  ];
}

export function taskForReEngagement(d: InternalDetail<'relationship-re-engaged'>, target: TaskTarget, at: string, repTimezone: string): TaskBody {
  const lines = ['They are back: follow up today, while it is warm.', '', ...briefLines(d.brief), '', `Cultivate relationship: ${d.relationshipId}`];
  return base(target, `Re-engaged: ${d.brief.trigger}`, lines, repDate(at, repTimezone), 'High');
}

export function taskForReply(d: InternalDetail<'reply-forwarded'>, target: TaskTarget, repTimezone: string): TaskBody {
  const lines = [
    'They replied to a Cultivate e-mail. Answer them personally.',
    '',
    ...briefLines(d.brief),
    '',
    `Subject: ${d.subject}`,
    `Received: ${d.receivedAt}`,
    '',
    // Someone else's words: a marker line in them must never complete a touch.
    d.text.replaceAll(TOUCH_MARKER, 'Cultivate touch id -'),
    ...(d.quoted ? ['', '(quoted history removed)'] : []),
  ];
  return base(target, `Reply: ${d.subject || '(no subject)'}`, lines, repDate(d.receivedAt, repTimezone), 'High');
}

/**
 * Contact or Lead opt-out fields for a consent change; undefined when Salesforce has no field for it
 * (a single topic). A hard bounce (causeId `ses:hard-bounce:…`) also records the bounce.
 */
export function optOutFields(d: InternalDetail<'consent-changed'>, at: string): Record<string, boolean | string | null> | undefined {
  const bounce: Record<string, string> = d.causeId?.startsWith('ses:hard-bounce')
    ? { EmailBouncedReason: 'Hard bounce (Amazon SES, via Cultivate)', EmailBouncedDate: new Date(Date.parse(at) || Date.now()).toISOString() }
    : {};
  switch (d.action) {
    case 'stop-all-email':
    case 'forget-me':
      return { HasOptedOutOfEmail: true, ...bounce };
    case 'do-not-contact':
      return { HasOptedOutOfEmail: true, HasOptedOutOfFax: true, DoNotCall: true, ...bounce };
    case 'grant-email':
      return { HasOptedOutOfEmail: false };
    case 'stop-topic':
      return undefined;
  }
}
