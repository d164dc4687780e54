/**
 * Cultivate's outbound messages as HubSpot API request bodies (CRM objects v3: tasks and notes with
 * associations), one shaping function per message type. Pure: the caller makes the calls. Task
 * and note bodies are HubSpot rich text (HTML), escaped; the touch id is written as
 * `cultivate-touch:<id>` so a completed task comes back as `touch-completed` with it.
 */
import type { InternalDetail, ReEngagementBrief } from '#catalog/events';
import { fromLocal, isValidTimeZone } from '#domain/local-time';
import { escapeHtml } from '#shared/html';
import { ASSOCIATION_TYPE, type CreateAssociation } from './api.ts';
import { TOUCH_MARKER } from './touch-marker.ts';

export interface Targets {
  contactId: string;
  companyId?: string;
  dealId?: string;
}

export interface OwnerProfile {
  email: string;
  name: string;
  timezone: string;
}

export interface ObjectRequest {
  properties: Record<string, string>;
  associations: CreateAssociation[];
}

const hubspotDefined = (id: string, associationTypeId: number): CreateAssociation => ({ to: { id }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId }] });

export function taskAssociations(t: Targets): CreateAssociation[] {
  return [
    hubspotDefined(t.contactId, ASSOCIATION_TYPE.taskToContact),
    ...(t.companyId ? [hubspotDefined(t.companyId, ASSOCIATION_TYPE.taskToCompany)] : []),
    ...(t.dealId ? [hubspotDefined(t.dealId, ASSOCIATION_TYPE.taskToDeal)] : []),
  ];
}

export function noteAssociations(t: Targets): CreateAssociation[] {
  return [
    hubspotDefined(t.contactId, ASSOCIATION_TYPE.noteToContact),
    ...(t.companyId ? [hubspotDefined(t.companyId, ASSOCIATION_TYPE.noteToCompany)] : []),
    ...(t.dealId ? [hubspotDefined(t.dealId, ASSOCIATION_TYPE.noteToDeal)] : []),
  ];
}

const p = (label: string, value: string) => `<p><strong>${escapeHtml(label)}</strong> ${escapeHtml(value)}</p>`;
const list = (items: readonly string[]) => (items.length ? `<ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '');
const safeUrl = (url: string) => (/^https?:\/\//i.test(url) ? url : undefined);

/** HubSpot shows a task as due at `hs_timestamp`; 09:00 on the due date in the rep's own zone, so it sits on the right day wherever they are. */
export function dueInstant(dueDate: string, timezone: string): string {
  const [y, m, d] = dueDate.split('-').map(Number) as [number, number, number];
  const tz = isValidTimeZone(timezone) ? timezone : 'UTC';
  return fromLocal(tz, y, m, d, 9, 0).toISOString();
}

/**
 * HubSpot's task types are CALL, EMAIL and TODO; a touch kind that names one picks it. A
 * requalification is a call; a thinking-of-you note is an e-mail the rep approves and sends.
 */
export function taskTypeOf(kind: string): 'CALL' | 'EMAIL' | 'TODO' {
  if (/call|requalification/i.test(kind)) return 'CALL';
  if (/e-?mail|thinking-of-you/i.test(kind)) return 'EMAIL';
  return 'TODO';
}

export function touchTask(detail: InternalDetail<'task-assigned'>, owner: OwnerProfile, ownerUserId: string | undefined, targets: Targets, outcomeProperty: string): ObjectRequest {
  const tz = detail.ownerTimezone ?? owner.timezone;
  const links = (detail.links ?? []).flatMap((l) => {
    const url = safeUrl(l.url);
    return url ? [`<a href="${escapeHtml(url)}">${escapeHtml(l.label)}</a>`] : [];
  });
  const body = [
    p('What:', detail.title),
    p('Why:', detail.why),
    ...(detail.talkingPoints?.length ? [`<p><strong>Talking points:</strong></p>`, list(detail.talkingPoints.map(escapeHtml))] : []),
    ...(links.length ? [`<p><strong>Links:</strong></p>`, list(links)] : []),
    p('Due:', `${detail.dueDate} (${tz})`),
    ...(detail.outcomes.length
      ? [p('When done:', `mark the task complete and set "${outcomeProperty}" to one of: ${detail.outcomes.join(', ')}.`)]
      : [p('When done:', 'mark the task complete.')]),
    `<p>${TOUCH_MARKER}${escapeHtml(detail.touchId)}</p>`,
  ].join('');
  return {
    properties: {
      hs_task_subject: detail.title.slice(0, 250),
      hs_task_body: body,
      hs_timestamp: dueInstant(detail.dueDate, tz),
      hs_task_status: 'NOT_STARTED',
      hs_task_priority: 'MEDIUM',
      hs_task_type: taskTypeOf(detail.kind),
      ...(ownerUserId && { hubspot_owner_id: ownerUserId }),
    },
    associations: taskAssociations(targets),
  };
}

export function briefHtml(brief: ReEngagementBrief): string {
  return [
    p('Why now:', brief.trigger),
    ...(brief.lostReason ? [p('Lost because:', brief.lostReason + (brief.lostAt ? ` (${brief.lostAt.slice(0, 10)})` : ''))] : []),
    ...(brief.lostNote ? [p('Rep note at loss:', brief.lostNote)] : []),
    ...(brief.daysInNurture !== undefined ? [p('Days in nurture:', String(brief.daysInNurture))] : []),
    ...(brief.sent.length ? ['<p><strong>What Cultivate sent:</strong></p>', list(brief.sent.map((s) => escapeHtml(`${s.at.slice(0, 10)} ${s.channel}: ${s.title}`)))] : []),
    ...(brief.engaged.length ? ['<p><strong>What they engaged with:</strong></p>', list(brief.engaged.map((e) => escapeHtml(`${e.at.slice(0, 10)} ${e.what}`)))] : []),
  ].join('');
}

export function reEngagedNote(detail: InternalDetail<'relationship-re-engaged'>, targets: Targets, at: string, ownerUserId: string | undefined): ObjectRequest {
  return {
    properties: {
      hs_timestamp: at,
      hs_note_body: `<p><strong>Cultivate: this relationship re-engaged.</strong></p>${briefHtml(detail.brief)}`,
      ...(ownerUserId && { hubspot_owner_id: ownerUserId }),
    },
    associations: noteAssociations(targets),
  };
}

export function reEngagedTask(detail: InternalDetail<'relationship-re-engaged'>, targets: Targets, at: string, ownerUserId: string | undefined): ObjectRequest {
  return {
    properties: {
      hs_task_subject: `Re-engaged: follow up now (${detail.brief.trigger})`.slice(0, 250),
      hs_task_body: `<p>Someone you nurtured re-engaged. Build on what happened, don't restart: the brief is in the note on this contact.</p>${briefHtml(detail.brief)}`,
      hs_timestamp: at,
      hs_task_status: 'NOT_STARTED',
      hs_task_priority: 'HIGH',
      hs_task_type: 'TODO',
      ...(ownerUserId && { hubspot_owner_id: ownerUserId }),
    },
    associations: taskAssociations(targets),
  };
}

export function replyNote(detail: InternalDetail<'reply-forwarded'>, targets: Targets, ownerUserId: string | undefined): ObjectRequest {
  return {
    properties: {
      hs_timestamp: detail.receivedAt,
      hs_note_body: [
        `<p><strong>Reply to Cultivate (${escapeHtml(detail.classification)}):</strong> ${escapeHtml(detail.subject)}</p>`,
        `<blockquote>${escapeHtml(detail.text).replace(/\n/g, '<br>')}</blockquote>`,
        briefHtml(detail.brief),
      ].join(''),
      ...(ownerUserId && { hubspot_owner_id: ownerUserId }),
    },
    associations: noteAssociations(targets),
  };
}

export function retiredNote(detail: InternalDetail<'relationship-retired'>, targets: Targets, at: string): ObjectRequest {
  return {
    properties: { hs_timestamp: at, hs_note_body: `<p><strong>Cultivate retired this relationship:</strong> ${escapeHtml(detail.reason)}</p>` },
    associations: noteAssociations(targets),
  };
}

/** For do-not-contact and forget-me: e-mail is already stopped; the owner must stop calls and may need a GDPR delete in HubSpot. */
export function consentTask(action: 'do-not-contact' | 'forget-me', targets: Targets, at: string, ownerUserId: string | undefined): ObjectRequest {
  const what =
    action === 'forget-me'
      ? 'This person asked to be forgotten. Cultivate erased them and unsubscribed them from e-mail here; review whether to delete the contact in HubSpot (GDPR delete).'
      : 'This person asked not to be contacted. Cultivate unsubscribed them from e-mail here; do not call or write to them.';
  return {
    properties: {
      hs_task_subject: action === 'forget-me' ? 'Erasure requested: review this contact' : 'Do not contact this person',
      hs_task_body: `<p>${escapeHtml(what)}</p>`,
      hs_timestamp: at,
      hs_task_status: 'NOT_STARTED',
      hs_task_priority: 'HIGH',
      hs_task_type: 'TODO',
      ...(ownerUserId && { hubspot_owner_id: ownerUserId }),
    },
    associations: taskAssociations(targets),
  };
}
