/**
 * Pure shaping of Cultivate's outbound messages into Pipedrive API request bodies: one function
 * per message type. Activities take `due_date` and `due_time` in UTC (Pipedrive shows them in each
 * user's own zone), so a task due at 09:00 on the rep's date is converted from the rep's zone.
 * Notes are HTML, so every value is escaped.
 */
import type { InternalDetail, ReEngagementBrief } from '#catalog/events';
import { fromLocal, localDateOf, parseClock } from '#domain/local-time';
import { escapeHtml as esc } from '#shared/html';
import { TOUCH_MARKER, tickList } from './task-marker.ts';

/** What the activity or note is linked to in Pipedrive (ids as Pipedrive numbers them). */
export interface Links {
  personId: number;
  orgId?: number | undefined;
  dealId?: number | undefined;
  /** The rep's Pipedrive user; absent: Pipedrive's default (the API token's user). */
  ownerUserId?: number | undefined;
}

export const DEFAULT_TASK_TYPE = 'task';
export const DEFAULT_DUE_TIME = '09:00';

const linkFields = (l: Links) => ({
  person_id: l.personId,
  ...(l.orgId !== undefined && { org_id: l.orgId }),
  ...(l.dealId !== undefined && { deal_id: l.dealId }),
});

/** `dueDate` at `localTime` in `timezone`, as Pipedrive's UTC `due_date` and `due_time`. */
export function dueInUtc(dueDate: string, timezone: string, localTime: string): { due_date: string; due_time: string } {
  const [y, m, d] = dueDate.split('-').map(Number) as [number, number, number];
  const minutes = parseClock(localTime) ?? (parseClock(DEFAULT_DUE_TIME) as number);
  const iso = fromLocal(timezone, y, m, d, Math.floor(minutes / 60), minutes % 60).toISOString();
  return { due_date: iso.slice(0, 10), due_time: iso.slice(11, 16) };
}

const para = (label: string, value: string) => `<p><b>${esc(label)}:</b> ${esc(value)}</p>`;
const list = (label: string, items: readonly string[]) => (items.length ? `<p><b>${esc(label)}</b></p><ul>${items.map((i) => `<li>${i}</li>`).join('')}</ul>` : '');

/** task-assigned: a Pipedrive activity the rep can act on without opening Cultivate. */
export function taskActivity(
  task: InternalDetail<'task-assigned'>,
  links: Links,
  opts: { timezone: string; dueTime?: string | undefined; type?: string | undefined },
): Record<string, unknown> {
  const note = [
    para('What', task.title),
    para('Why', task.why),
    list('Talking points', (task.talkingPoints ?? []).map(esc)),
    list('Links', (task.links ?? []).map((l) => `<a href="${esc(l.url)}">${esc(l.label)}</a>`)),
    task.outcomes.length
      ? `<p><b>Outcome:</b> before marking this done, tick the one that happened (write x in its box); nothing ticked means done.</p><p>${tickList(task.outcomes).map(esc).join('<br>')}</p>`
      : '',
    `<p>${esc(TOUCH_MARKER)} ${esc(task.touchId)}</p>`,
  ].join('');
  return {
    subject: task.title.slice(0, 255),
    type: opts.type ?? DEFAULT_TASK_TYPE,
    ...(links.ownerUserId !== undefined && { owner_id: links.ownerUserId }),
    ...linkFields(links),
    participants: [{ person_id: links.personId, primary: true }],
    ...dueInUtc(task.dueDate, task.ownerTimezone ?? opts.timezone, opts.dueTime ?? DEFAULT_DUE_TIME),
    done: false,
    note,
  };
}

/** The re-engagement brief as HTML: why now, what Cultivate sent, what they engaged with. */
export function briefHtml(brief: ReEngagementBrief): string {
  return [
    para('Re-engaged', brief.trigger),
    brief.lostReason ? para('Originally lost', `${brief.lostReason}${brief.lostAt ? ` on ${brief.lostAt.slice(0, 10)}` : ''}`) : '',
    brief.lostNote ? para('Loss note', brief.lostNote) : '',
    brief.daysInNurture !== undefined ? para('Days in nurture', String(brief.daysInNurture)) : '',
    list('What Cultivate sent', brief.sent.map((s) => `${esc(s.at.slice(0, 10))}: ${esc(s.title)} (${esc(s.channel)})`)),
    list('What they engaged with', brief.engaged.map((e) => `${esc(e.at.slice(0, 10))}: ${esc(e.what)}`)),
  ].join('');
}

/** relationship-re-engaged: the brief as a note on the person (and deal, and organization). */
export function briefNote(detail: InternalDetail<'relationship-re-engaged'>, links: Links): Record<string, unknown> {
  return { content: `<p><b>Cultivate: this relationship re-engaged</b></p>${briefHtml(detail.brief)}`, ...linkFields(links) };
}

/** relationship-re-engaged: the rep's call-back, due on the rep's today (all day: no time). */
export function briefActivity(detail: InternalDetail<'relationship-re-engaged'>, links: Links, opts: { timezone: string; at: string; type?: string | undefined }): Record<string, unknown> {
  const d = localDateOf(new Date(opts.at), opts.timezone);
  const dueDate = `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
  return {
    subject: `Re-engaged: ${detail.brief.trigger}`.slice(0, 255),
    type: opts.type ?? DEFAULT_TASK_TYPE,
    ...(links.ownerUserId !== undefined && { owner_id: links.ownerUserId }),
    ...linkFields(links),
    participants: [{ person_id: links.personId, primary: true }],
    due_date: dueDate,
    done: false,
    note: `<p>They are back: reach out while it is warm. The brief is in the notes.</p>${briefHtml(detail.brief)}`,
  };
}

/** consent-changed (and hard bounces): Pipedrive's one marketing status for the person. */
export const unsubscribeBody = (): Record<string, unknown> => ({ marketing_status: 'unsubscribed' });

/** Where the marketing status cannot be set (no Campaigns), the rep still learns it from a note. */
export function consentNote(detail: InternalDetail<'consent-changed'>, links: Links): Record<string, unknown> {
  const what = detail.action === 'do-not-contact' ? 'asked not to be contacted at all' : detail.action === 'forget-me' ? 'asked to be forgotten' : 'unsubscribed from e-mail';
  return { content: `<p><b>Cultivate:</b> this person ${esc(what)}. Do not add them to e-mail campaigns.</p>`, ...linkFields(links) };
}

/** reply-forwarded: their reply with the brief on top, as a note. */
export function replyNote(detail: InternalDetail<'reply-forwarded'>, links: Links): Record<string, unknown> {
  const text = esc(detail.text).replace(/\r?\n/g, '<br>');
  return {
    content: `<p><b>Cultivate: they replied</b> (${esc(detail.receivedAt.slice(0, 16).replace('T', ' '))} UTC)</p>${para('Subject', detail.subject)}<blockquote>${text}</blockquote>${briefHtml(detail.brief)}`,
    ...linkFields(links),
  };
}

/** relationship-retired: why Cultivate stopped, so the rep is not surprised by the silence. */
export function retiredNote(detail: InternalDetail<'relationship-retired'>, links: Links): Record<string, unknown> {
  return { content: `<p><b>Cultivate stopped nurturing this person:</b> ${esc(detail.reason)}</p>`, ...linkFields(links) };
}
