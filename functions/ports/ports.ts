/**
 * Ports: the small interfaces handlers depend on. AWS adapters implement them on AWS; the local
 * stack uses the same DynamoDB adapters against DynamoDB Local and its own bus and queue.
 */
import type { InboundEvent } from '#catalog/events';
import type { RelationshipState, SuppressionScope, TimelineEntry } from '#domain/types';

export interface Clock {
  now(): Date;
}

export interface Identity {
  emailHash?: string;
  crmIds: readonly string[];
  /** Known already (an unsubscribe link carries it): no lookup needed. */
  relationshipId?: string;
}

export interface SuppressionRecord {
  scopes: { scope: SuppressionScope | 'erased'; topic?: string; at: string }[];
}

export interface RelationshipStore {
  /** The relationship an identity points at, if any (e-mail hash first, then CRM ids). */
  resolve(identity: Identity): Promise<string | undefined>;
  /**
   * Write the identity items for a relationship, conditionally. Returns the relationship id that
   * owns the identity: `relationshipId` when it won, or the id another writer claimed first.
   */
  claimIdentity(relationshipId: string, identity: Identity): Promise<string>;
  get(relationshipId: string): Promise<RelationshipState | undefined>;
  /**
   * Conditional on the version read (or on absence for a new relationship). 'conflict' means
   * someone else wrote first: re-read and decide again.
   */
  save(state: RelationshipState, expectedVersion: number | undefined): Promise<'saved' | 'conflict'>;
  appendTimeline(relationshipId: string, entries: readonly TimelineEntry[]): Promise<void>;
  timeline(relationshipId: string, opts?: { newestFirst?: boolean; limit?: number }): Promise<TimelineEntry[]>;
  /** Remove every item of the person and their identity items. */
  erase(state: RelationshipState): Promise<void>;
  getSuppression(hashes: readonly string[]): Promise<SuppressionRecord | undefined>;
  putSuppression(hashes: readonly string[], record: SuppressionRecord): Promise<void>;
  /** Adds one scope to a keyed-hash suppression atomically. */
  addSuppressionScope(hash: string, scope: SuppressionRecord['scopes'][number]): Promise<void>;
}

export interface InboxItem {
  key: string;
  event: InboundEvent;
}

/** Claim check: the full inbound event waits here until applied, then is deleted. */
export interface InboxStore {
  putMany(items: readonly InboxItem[]): Promise<void>;
  get(key: string): Promise<InboundEvent | undefined>;
  delete(key: string): Promise<void>;
}

export interface BusEntry {
  source: string;
  detailType: string;
  detail: object;
}

export class PublishError extends Error {
  constructor(
    message: string,
    readonly failed: number,
  ) {
    super(message);
    this.name = 'PublishError';
  }
}

export interface EventPublisher {
  /** Publishes all entries or throws PublishError after retries. */
  publish(entries: readonly BusEntry[]): Promise<void>;
}

/** Keyed hashes (HMAC) of identity values: stored and indexed instead of the values. */
export interface KeyedHasher {
  emailHash(email: string): string;
  crmHash(crmId: string): string;
}

/** Structured logging (Powertools Logger fits it). Never personal data: ids, counts and reasons only. */
export interface Logger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** What the send queue carries: ids and routing facts only, no personal data. */
export interface TouchMessage {
  relationshipId: string;
  touchId: string;
  planVersion: number;
  channel: 'email' | 'task';
  kind: string;
  dueAt: string;
}

export interface SendQueue {
  /** Enqueues all or throws after retries. */
  enqueue(messages: readonly TouchMessage[]): Promise<void>;
}

export interface OutgoingEmail {
  from: { name: string; address: string };
  to: string;
  replyTo: string[];
  subject: string;
  text: string;
  html: string;
  headers: { name: string; value: string }[];
  tags: { name: string; value: string }[];
}

/** SES throttled the call: nothing was sent, try again later. */
export class MailerThrottledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailerThrottledError';
  }
}

export interface Mailer {
  send(mail: OutgoingEmail): Promise<{ messageId: string }>;
}

/**
 * Why something authentic was kept instead of applied, which also says how it replays:
 * `webhook`: the body is not the catalog or the CRM's format (replay parses it again);
 * `unmapped`: a CRM notification config/crm.yaml does not cover (replay normalises it again);
 * `mass-close`: closed-lost events held because too many deals closed at once (replay releases them).
 */
export type QuarantineKind = 'webhook' | 'unmapped' | 'mass-close';

/** Authentic input that cannot be processed (signed, but not understood): kept, never dropped. */
export interface QuarantineEntry {
  /** `generic` or the CRM's name. */
  source: string;
  /** @default 'webhook' */
  kind?: QuarantineKind;
  /** The CRM instance authentication verified (Salesforce org, HubSpot portal), for a replay that does not authenticate again. */
  portal?: string;
  reason: string;
  /** Where the body failed (paths only: no values, so no personal data in the reason). */
  paths: string[];
  raw: Uint8Array;
  receivedAt: Date;
}

export interface QuarantinedItem {
  id: string;
  source: string;
  kind: QuarantineKind;
  reason: string;
  paths: string[];
  receivedAt: string;
  portal?: string;
  /** Set once it was replayed successfully (a replay happens once). */
  replayedAt?: string;
  replayOutcome?: string;
}

export interface Quarantine {
  /** Keeps the entry (it expires after a while: it may hold personal data); returns its id. */
  keep(entry: QuarantineEntry): Promise<string>;
  /** What was kept on a UTC day (YYYY-MM-DD), oldest first, without the bodies. */
  list(day: string): Promise<QuarantinedItem[]>;
  get(id: string): Promise<(QuarantinedItem & { raw: Uint8Array }) | undefined>;
  /** Records a successful replay; false when it had been replayed already (conditional write). */
  markReplayed(id: string, outcome: string, at: Date): Promise<boolean>;
}

/** The claim check for CRM notifications: their payload waits here until normalised. */
export interface NotificationInbox {
  putNotifications(items: readonly { key: string; notification: unknown }[]): Promise<void>;
  getNotification(key: string): Promise<unknown>;
  delete(key: string): Promise<void>;
}
