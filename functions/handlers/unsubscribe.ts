/**
 * Unsubscribe (RFC 8058): GET shows the choices and changes nothing (link scanners follow GETs);
 * POST acts, the one-click POST from the mailbox included. The suppression is written by keyed
 * hash at once, so the sender's last check sees it before the bus has carried the change to the
 * relationship (and on to the CRM).
 */
import type { InboundEvent } from '#catalog/events';
import { EventSources } from '#catalog/routing';
import { clampToNow } from '#domain/relationship';
import { escapeHtml } from '#shared/html';
import type { Clock, EventPublisher, InboxStore, Logger, RelationshipStore } from '#ports/ports';
import { type UnsubscribePayload, verifyUnsubscribeToken } from '#shared/unsubscribe-token';

export interface UnsubscribeDeps {
  clock: Clock;
  store: RelationshipStore;
  inbox: InboxStore;
  publisher: EventPublisher;
  unsubscribeKeys: () => Promise<readonly string[]>;
  logger: Logger;
}

export type UnsubscribeScope = 'topic' | 'all';

export async function readToken(deps: UnsubscribeDeps, token: string): Promise<UnsubscribePayload | undefined> {
  return verifyUnsubscribeToken(await deps.unsubscribeKeys(), token);
}

export async function unsubscribe(
  deps: UnsubscribeDeps,
  payload: UnsubscribePayload,
  scope: UnsubscribeScope,
  via: 'unsubscribe-link' | 'reply-in-words' = 'unsubscribe-link',
): Promise<void> {
  const now = deps.clock.now();
  const action = scope === 'topic' && payload.topic ? 'stop-topic' : 'stop-all-email';
  const state = await deps.store.get(payload.relationshipId);
  if (!state) {
    deps.logger.info('unsubscribe for a relationship that no longer exists', { relationshipId: payload.relationshipId });
    return;
  }
  if (state.emailHash) {
    const entry = action === 'stop-topic' ? { scope: 'topic' as const, topic: payload.topic as string, at: now.toISOString() } : { scope: 'all-email' as const, at: now.toISOString() };
    await deps.store.addSuppressionScope(state.emailHash, entry);
  }
  // Once per link and choice: a second click is a duplicate downstream.
  const id = `unsubscribe:${payload.touchId}:${action}`;
  const event = {
    id,
    type: 'consent-changed',
    occurredAt: clampToNow(now.toISOString(), now),
    contact: {},
    data: { action, ...(action === 'stop-topic' && { topic: payload.topic }), source: via },
  } as unknown as InboundEvent;
  await deps.inbox.putMany([{ key: id, event }]);
  await deps.publisher.publish([
    {
      source: EventSources.unsubscribe,
      detailType: 'consent-changed',
      detail: {
        id,
        type: 'consent-changed',
        occurredAt: now.toISOString(),
        receivedAt: now.toISOString(),
        source: EventSources.unsubscribe,
        identity: { crmIds: [], relationshipId: payload.relationshipId },
        ...(state.accountId && { accountId: state.accountId }),
        inboxKey: id,
      },
    },
  ]);
  deps.logger.info('unsubscribed', { relationshipId: payload.relationshipId, action, via });
}

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.6rem 1rem;margin:.3rem 0;border:1px solid #888;border-radius:6px;background:#f4f4f4;cursor:pointer;width:100%}</style>
</head><body>${body}</body></html>`;


export function choicesPage(token: string, topic: string | undefined): string {
  const action = `/unsubscribe/${encodeURIComponent(token)}`;
  return page(
    'Unsubscribe',
    `<h1>Unsubscribe</h1><p>Choose what to stop. Nothing changes until you press a button.</p>
<form method="post" action="${action}">
${topic ? `<button name="scope" value="topic">Stop e-mails about ${escapeHtml(topic)}</button>` : ''}
<button name="scope" value="all">Stop all e-mail from us</button>
</form>`,
  );
}

export function donePage(scope: UnsubscribeScope, topic: string | undefined): string {
  const what = scope === 'topic' && topic ? `no more e-mails about ${escapeHtml(topic)}` : 'no more e-mail from us';
  return page('Unsubscribed', `<h1>Done</h1><p>You will get ${what}. It takes effect at once.</p>`);
}

export function invalidPage(): string {
  return page('Link not valid', '<h1>This link is not valid</h1><p>It may have been cut short by your mail program. Reply to the e-mail with "unsubscribe" and we will take care of it.</p>');
}
