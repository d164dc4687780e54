/**
 * Rendering what a touch says: the value e-mail (from the owner, with the sender's postal address
 * and a one-click unsubscribe, RFC 8058) and the task a rep reads in the CRM. Pure.
 */
import type { OutgoingEmail } from '#ports/ports';
import { escapeHtml } from '#shared/html';
import { localDateOf } from './local-time.ts';
import type { PlannedTouch, RelationshipState } from './types.ts';

export interface OwnerProfile {
  name: string;
  email: string;
  signature?: string;
  bookingLink?: string;
  timezone?: string;
}

export interface ContentItem {
  id: string;
  title: string;
  topic: string;
  summary: string;
  url: string;
}

export interface SenderSettings {
  /** The dedicated sending subdomain, e.g. mail.seller.example. */
  sendingDomain: string;
  /** Absolute base URL of the public API (unsubscribe links). */
  publicBaseUrl: string;
  companyName: string;
  /** The sender's postal address, required in the footer of commercial e-mail. */
  postalAddress: string;
  configurationSetName?: string;
  /** Where replies are received (see config/sending.yaml); absent: Reply-To is the owner. */
  replyDomain?: string;
}


function firstName(state: RelationshipState): string | undefined {
  return state.contact.name?.trim().split(/\s+/)[0];
}

/** SES message tag values may hold only ASCII letters, digits, '_' and '-' (at most 256). */
export function sesTagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 256);
}

export function unsubscribeUrl(settings: SenderSettings, token: string): string {
  return `${settings.publicBaseUrl.replace(/\/+$/, '')}/unsubscribe/${token}`;
}

/**
 * From the owner's name on the sending subdomain. Replies go to the tokenized reply address when
 * one is given (Cultivate reads them, then forwards human replies to the owner), else to the owner.
 */
export function renderValueEmail(input: {
  state: RelationshipState;
  touch: PlannedTouch;
  owner: OwnerProfile;
  content: ContentItem;
  settings: SenderSettings;
  unsubscribeToken: string;
  /** `r-<token>@<replyDomain>`, when replies are received by Cultivate. */
  replyAddress?: string;
}): OutgoingEmail {
  const { state, touch, owner, content, settings } = input;
  const to = state.contact.email;
  if (!to) throw new Error('no e-mail address on record');
  const url = unsubscribeUrl(settings, input.unsubscribeToken);
  const hello = firstName(state) ? `Hi ${firstName(state)},` : 'Hello,';
  const signature = owner.signature ?? owner.name;
  const localPart = owner.email.split('@')[0] as string;
  const text = [
    hello,
    '',
    content.summary,
    '',
    `${content.title}: ${content.url}`,
    '',
    signature,
    ...(owner.bookingLink ? [`If a conversation would help: ${owner.bookingLink}`] : []),
    '',
    '--',
    `${settings.companyName}, ${settings.postalAddress}`,
    `You get this weekly idea because you said yes to it. Stop it with one click: ${url}`,
  ].join('\n');
  const html = [
    `<p>${escapeHtml(hello)}</p>`,
    `<p>${escapeHtml(content.summary)}</p>`,
    `<p><a href="${escapeHtml(content.url)}">${escapeHtml(content.title)}</a></p>`,
    `<p>${escapeHtml(signature).replace(/\n/g, '<br>')}</p>`,
    ...(owner.bookingLink ? [`<p><a href="${escapeHtml(owner.bookingLink)}">Book a time with ${escapeHtml(owner.name)}</a></p>`] : []),
    `<hr><p style="font-size:12px;color:#666">${escapeHtml(settings.companyName)}, ${escapeHtml(settings.postalAddress)}<br>`,
    `You get this weekly idea because you said yes to it. <a href="${escapeHtml(url)}">Unsubscribe</a></p>`,
  ].join('\n');
  return {
    from: { name: owner.name, address: `${localPart}@${settings.sendingDomain}` },
    to,
    replyTo: [input.replyAddress ?? owner.email],
    subject: content.title,
    text,
    html,
    headers: [
      { name: 'List-Unsubscribe', value: `<${url}>` },
      { name: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' },
    ],
    tags: [
      { name: 'relationship', value: sesTagValue(state.id) },
      { name: 'touch', value: sesTagValue(touch.touchId) },
      ...(content.topic ? [{ name: 'topic', value: sesTagValue(content.topic) }] : []),
      ...(touch.contentId ? [{ name: 'content', value: sesTagValue(touch.contentId) }] : []),
    ],
  };
}

const TASK_TITLES: Record<string, string> = {
  'thank-you-note': 'Thank-you note',
  'permission-ask': 'Ask permission for the weekly idea',
  'courtesy-call': 'Courtesy call',
  'thinking-of-you': 'Thinking-of-you note',
  'handwritten-note': 'Handwritten note',
  'item-of-value': 'Send a small item of value',
  'referral-exchange': 'Referral-exchange meeting',
  introduction: 'Introduce them to an expert in your network',
  requalification: 'Requalification call',
  research: 'Research their pain or gain',
  'personal-message': 'Write them a personal message',
  'ask-why': 'Ask what we could have done better',
  lunch: 'Lunch in their city',
};

/** What the rep is asked to do, by kind of task: one sentence, no pitch. */
const TASK_HOWTO: Record<string, string> = {
  'courtesy-call': 'a short call to ask how things are going; nothing to sell',
  'thinking-of-you': 'a short personal note on a topic they care about, from you, not a template',
  'handwritten-note': 'a handwritten card to their postal address on record',
  'item-of-value': 'a small item of value (a book, a report) to their postal address on record',
  'referral-exchange': 'a meeting to exchange referrals: who could each of you introduce to the other?',
  introduction: 'introduce them to someone in your network who can help with what they are working on',
  requalification: 'a call to sort the relationship: no future (retire it), future opportunity (keep cultivating) or next step (take it back now)',
  research: 'find out what they are working on (their pain or gain) before anyone writes to them',
  'personal-message': 'write to what the research found, in your own words; then leave them be for a while',
  'ask-why': 'ask, and do not defend: what could we have done better? If the real reason is not the lost reason on the deal, correct it on the deal in the CRM: nurture follows the corrected reason, and its track',
  lunch: 'invite them to lunch with you, and with the guests named here when there are any: people you cultivate in the same city, none of them competitors of another (not one account, no shared line of business)',
};

/** Who joins a lunch: the other people at the host's table, by id and CRM ids (the CRM knows who they are). */
export interface LunchGuests {
  guests: readonly { relationshipId: string; crmIds: readonly string[] }[];
}

const DAY_MS = 86_400_000;

/** The local calendar date of an instant in a time zone (YYYY-MM-DD). */
export function localDate(instant: Date, timeZone: string): string {
  const d = localDateOf(instant, timeZone);
  return `${d.year}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/**
 * What a rep reads: what and why, with no personal data (the CRM attaches the task to the contact
 * it already knows). Due date in the owner's time zone.
 */
export function describeTask(state: RelationshipState, touch: PlannedTouch, owner: OwnerProfile, now: Date, lunch?: LunchGuests, content?: Pick<ContentItem, 'title' | 'url'>) {
  const grouped = touch.kind === 'lunch' && lunch !== undefined && lunch.guests.length > 0 ? lunch : undefined;
  // The city stays out of the title like the address does (the CRM has it): the task rides the bus.
  const what = grouped ? `Lunch in their city with ${grouped.guests.length + 1} of your people` : (TASK_TITLES[touch.kind] ?? touch.kind.replace(/-/g, ' '));
  const why: string[] = [];
  const talkingPoints: string[] = [];
  if (state.nurture) {
    const n = state.nurture;
    const days = Math.max(0, Math.round((now.getTime() - Date.parse(n.lostAt)) / DAY_MS));
    const ago = `${days} day${days === 1 ? '' : 's'} ago`;
    // A referral episode lost no deal: it started with the referral.
    if (n.entry === 'referral') why.push(`referred${n.referredBy ? ` by ${n.referredBy}` : ''} ${ago}`);
    else why.push(`lost${n.lostReason ? ` on ${n.lostReason}` : ''} ${ago}`);
    if (n.note) talkingPoints.push(`${n.entry === 'referral' ? 'The note that came with the referral' : 'Your note when the deal was lost'}: ${n.note.slice(0, 300)}`);
    if (state.nurture.revisitAfter) talkingPoints.push(`You asked to come back after ${state.nurture.revisitAfter.slice(0, 10)}.`);
    if (state.nurture.contractEndsAt) talkingPoints.push(`Their contract with the competitor ends ${state.nurture.contractEndsAt.slice(0, 10)}.`);
  }
  if (touch.kind === 'permission-ask') why.push('no e-mail consent on record: your personal note asks whether they would like the weekly idea; their answer is the consent');
  const howTo = TASK_HOWTO[touch.kind];
  if (howTo) why.push(howTo);
  // The address itself stays out of the task (no personal data leaves in it): the CRM has it.
  if (touch.kind === 'handwritten-note' || touch.kind === 'item-of-value') talkingPoints.push('The postal address is on the contact in your CRM.');
  // Guests by id only: their names and addresses are in the CRM, and stay out of the task.
  if (grouped) {
    const seats = grouped.guests.map((g) => (g.crmIds.length > 0 ? `${g.crmIds.join(' / ')} (${g.relationshipId})` : g.relationshipId));
    talkingPoints.unshift(`At the table with them: ${seats.join('; ')}. Their own lunches are recorded as joining this one; invite them too.`.slice(0, 500));
  }
  if (state.history.emailsSent > 0) why.push(`${state.history.emailsSent} value e-mail${state.history.emailsSent === 1 ? '' : 's'} sent so far`);
  if (state.history.lastHumanSignalAt) talkingPoints.push(`They last responded on ${state.history.lastHumanSignalAt.slice(0, 10)}.`);
  if (state.contact.interests?.length) talkingPoints.push(`Interested in: ${state.contact.interests.slice(0, 5).join(', ')}.`);
  // A thinking-of-you note is drafted for the rep to adapt and send: our piece, no personal data.
  if (touch.kind === 'thinking-of-you' && content) {
    talkingPoints.unshift(`A draft to adapt and send from your own mailbox: "I came across ${content.title} and thought of you: ${content.url}"`);
  }
  talkingPoints.push('Give, do not ask: no demo, no pitch; ask what has changed for them.');
  return {
    kind: touch.kind,
    title: what,
    why: why.join('; ') || touch.rule,
    dueDate: localDate(new Date(touch.at), owner.timezone ?? 'UTC'),
    ownerTimezone: owner.timezone ?? 'UTC',
    talkingPoints,
    links: owner.bookingLink ? [{ label: 'Your booking link', url: owner.bookingLink }] : [],
    outcomes: touch.kind === 'requalification' ? (['no-future', 'future-opportunity', 'next-step'] as const) : (['done', 'no-answer', 'left-message', 'declined', 'skipped'] as const),
  };
}
