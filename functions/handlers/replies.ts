/**
 * Replies to `r-<token>@<replyDomain>`: read, classify (pure, functions/domain/replies.ts), act.
 *
 *   human / missed me  forwarded to the owner with the brief on top (CRM outbound, directly: the
 *                      text is personal data and never rides the bus) + `contact-replied` through
 *                      the inbox and the bus (re-engaged, e-mail stops, the owner gets the brief)
 *   out of office      touches paused until the stated return date, else a week
 *   unsubscribe        the same as the one-click link: keyed-hash suppression + stop-all-email
 *   left the company   `contact-moved` (leftCompany) through the inbox: the relationship retires
 *                      and the owner gets a research task; the note is forwarded too
 *   automatic, bounce  recorded on the timeline, nothing more (never forwarded)
 *
 * Idempotent on the Message-ID: every effect is keyed by its hash (the inbox event id, the
 * forward's dedupe key, the pause's applied id, the timeline key). Too large, malformed or not
 * addressed to a valid reply address: kept (quarantine) and counted, never thrown. Logs carry ids,
 * the class and the evidence kind only: nothing from the message.
 */
import { updateRelationship } from './conditional-update.ts';
import { createHash } from 'node:crypto';
import type { InboundEvent, InboundType } from '#catalog/events';
import { EventSources } from '#catalog/routing';
import { parseInboundMail, type ParsedInboundMail } from '#adapters/mail-parser';
import { buildBrief } from '#domain/brief';
import type { Planner } from '#domain/planner';
import { classifyReply, isMissedMe, pauseTouches, pauseUntil, type ReplyClass, type ReplyClassification, type SkipWeekRule } from '#domain/replies';
import type { RelationshipState } from '#domain/types';
import { readReplyAddress, type ReplyTokenPayload } from '#shared/reply-token';
import type { OutboundMessage } from './crm-outbound.ts';
import { unsubscribe, type UnsubscribeDeps } from './unsubscribe.ts';

/** Larger messages are kept and counted, never read. */
export const MAX_INBOUND_MAIL_BYTES = 10 * 1024 * 1024;
export const FORWARD_HEADER = 'X-Cultivate-Forward';
const MAX_FORWARD_TEXT = 20_000;

export type QuarantineReason = 'too-large' | 'malformed' | 'no-reply-address';

export interface RepliesDeps extends UnsubscribeDeps {
  planner: Planner;
  /** The reply subdomain (config/sending.yaml); undefined accepts a valid token on any domain. */
  replyDomain: string | undefined;
  /** The skip-week rule of a relationship's track, for "missed me". */
  skipWeek: (state: RelationshipState) => SkipWeekRule | undefined;
  /** The CRM outbound delivery (idempotent on the message key). */
  forward: (message: OutboundMessage) => Promise<unknown>;
  /** Keep a message that cannot be read (locally a file; on AWS it stays in S3). */
  quarantine: (raw: Uint8Array, reason: QuarantineReason, key: string) => Promise<void>;
}

export type InboundMailOutcome = 'forwarded' | 'paused' | 'unsubscribed' | 'retired' | 'recorded' | 'quarantined' | 'ignored';

export interface InboundMailResult {
  outcome: InboundMailOutcome;
  messageKey: string;
  class?: ReplyClass;
  evidenceKind?: string;
  relationshipId?: string;
  reason?: string;
}

const hashKey = (value: string | Uint8Array) => createHash('sha256').update(value).digest('base64url').slice(0, 22);

export async function handleInboundMail(deps: RepliesDeps, raw: Uint8Array, envelope: { recipients?: readonly string[] } = {}): Promise<InboundMailResult> {
  const { logger } = deps;
  const rawKey = hashKey(raw);
  const quarantined = async (reason: QuarantineReason, messageKey = rawKey): Promise<InboundMailResult> => {
    try {
      await deps.quarantine(raw, reason, messageKey);
    } catch (err) {
      logger.error('could not keep an inbound message in quarantine', { messageKey, reason, error: (err as Error).name });
    }
    logger.warn('inbound mail quarantined', { messageKey, reason, bytes: raw.byteLength, metric: 'InboundMailQuarantined' });
    return { outcome: 'quarantined', messageKey, reason };
  };
  if (raw.byteLength > MAX_INBOUND_MAIL_BYTES) return quarantined('too-large');

  let parsed: ParsedInboundMail;
  try {
    parsed = await parseInboundMail(raw);
  } catch {
    return quarantined('malformed');
  }
  const messageKey = parsed.messageId ? hashKey(parsed.messageId.trim().toLowerCase()) : rawKey;
  if (parsed.message.headers[FORWARD_HEADER.toLowerCase()] !== undefined) {
    logger.info('our own forward came back: ignored', { messageKey });
    return { outcome: 'ignored', messageKey, reason: 'own-forward' };
  }
  if (!parsed.message.text && !parsed.subject && Object.keys(parsed.message.headers).length === 0) return quarantined('malformed', messageKey);

  const target = readReplyAddress(await deps.unsubscribeKeys(), [...(envelope.recipients ?? []), ...parsed.recipients], deps.replyDomain);
  if (!target) return quarantined('no-reply-address', messageKey);
  const state = await deps.store.get(target.relationshipId);
  if (!state) {
    logger.info('reply for a relationship that no longer exists', { messageKey, relationshipId: target.relationshipId });
    return { outcome: 'ignored', messageKey, relationshipId: target.relationshipId, reason: 'no-relationship' };
  }

  const c = classifyReply(parsed.message);
  const now = deps.clock.now();
  const result = (outcome: InboundMailOutcome): InboundMailResult => {
    logger.info('reply handled', { messageKey, relationshipId: state.id, touchId: target.touchId, class: c.class, evidenceKind: c.evidence.kind, outcome });
    return { outcome, messageKey, class: c.class, evidenceKind: c.evidence.kind, relationshipId: state.id };
  };

  switch (c.class) {
    case 'human': {
      const classification = isMissedMe(state.history, now, deps.skipWeek(state)) ? 'missed-me' : 'human';
      await forward(deps, state, target, parsed, c, classification, messageKey, now);
      await inject(deps, state, messageKey, 'contact-replied', {
        ...(parsed.messageId && parsed.messageId.length <= 998 && { messageId: parsed.messageId }),
        channel: 'email',
        classification,
        touchId: target.touchId,
      }, now);
      return result('forwarded');
    }
    case 'left-company': {
      await forward(deps, state, target, parsed, c, 'left-company', messageKey, now);
      await inject(deps, state, messageKey, 'contact-moved', {
        leftCompany: true,
        ...(c.newCompany && { newCompany: c.newCompany.slice(0, 200) }),
        ...(c.newEmail && c.newEmail.length <= 254 && { newEmail: c.newEmail }),
      }, now);
      return result('retired');
    }
    case 'unsubscribe':
      await unsubscribe(deps, target, 'all', 'reply-in-words');
      return result('unsubscribed');
    case 'out-of-office': {
      const until = pauseUntil(c.returnDate, now);
      await pauseWithRetry(deps, state, until, `reply:${messageKey}`, now, c.evidence.detail);
      return result('paused');
    }
    case 'automatic':
    case 'bounce': {
      const summary = c.class === 'bounce' ? 'A bounce came back to the reply address (recorded only)' : 'An automatic reply came back (recorded only)';
      await deps.store.appendTimeline(state.id, [{ at: now.toISOString(), eventId: `reply:${messageKey}`, type: `reply-${c.class}`, summary, detail: { evidence: c.evidence.detail } }]);
      return result('recorded');
    }
  }
}

async function forward(
  deps: RepliesDeps,
  state: RelationshipState,
  target: ReplyTokenPayload,
  parsed: ParsedInboundMail,
  c: ReplyClassification,
  classification: 'human' | 'missed-me' | 'left-company',
  messageKey: string,
  now: Date,
): Promise<void> {
  const trigger = classification === 'missed-me' ? 'Replied: missed the weekly e-mail' : classification === 'left-company' ? 'Replied: has left the company' : 'Replied';
  const timeline = await deps.store.timeline(state.id, { newestFirst: true, limit: 40 });
  const brief = buildBrief(state, trigger, now.toISOString(), timeline);
  const text = c.newText.length > 0 ? c.newText : parsed.message.text;
  const payload = {
    relationshipId: state.id,
    crmIds: state.crmIds,
    ...(state.owner && { owner: state.owner }),
    causeId: `${EventSources.replies}:${messageKey}`,
    touchId: target.touchId,
    messageKey,
    classification,
    receivedAt: now.toISOString(),
    ...(parsed.from && parsed.from.length <= 320 && { from: parsed.from }),
    subject: parsed.subject.slice(0, 998),
    text: text.slice(0, MAX_FORWARD_TEXT),
    quoted: c.newText.length < parsed.message.text.trim().length,
    brief,
    headers: { [FORWARD_HEADER]: '1' },
  };
  await deps.forward({
    key: `reply-forwarded:${state.id}:${messageKey}`,
    type: 'reply-forwarded',
    at: now.toISOString(),
    relationshipId: state.id,
    crmIds: state.crmIds,
    ...(state.owner && { owner: state.owner }),
    payload,
  });
}

/** The same path as an unsubscribe click: the event waits in the inbox, the bus carries a reference. */
async function inject(deps: RepliesDeps, state: RelationshipState, messageKey: string, type: InboundType, data: Record<string, unknown>, now: Date): Promise<void> {
  const id = `${EventSources.replies}:${messageKey}`;
  const event = { id, type, occurredAt: now.toISOString(), contact: {}, data } as unknown as InboundEvent;
  await deps.inbox.putMany([{ key: id, event }]);
  await deps.publisher.publish([
    {
      source: EventSources.replies,
      detailType: type,
      detail: {
        id,
        type,
        occurredAt: now.toISOString(),
        receivedAt: now.toISOString(),
        source: EventSources.replies,
        identity: { crmIds: [], relationshipId: state.id },
        ...(state.accountId && { accountId: state.accountId }),
        inboxKey: id,
      },
    },
  ]);
}

async function pauseWithRetry(deps: RepliesDeps, first: RelationshipState, until: Date, eventId: string, now: Date, evidence: string): Promise<void> {
  await updateRelationship(deps.store, () => deps.store.get(first.id), (state) => pauseTouches(state, until, eventId, now, deps.planner, evidence), `pause ${first.id}`, first);
}
