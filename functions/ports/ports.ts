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

/** Feed tokens (docs/adr/0006): one record per token, holding the secret's hash, never the secret. */
export interface FeedTokenStore {
  /** Stores a new token; false when its id is taken already (conditional write: nothing replaced). */
  create(record: import('#domain/feed-token').FeedTokenRecord): Promise<boolean>;
  /** The record, read consistently (a revocation counts from the next request). */
  get(id: string): Promise<import('#domain/feed-token').FeedTokenRecord | undefined>;
  /** Every token, revoked and expired ones too, without hashes. */
  list(): Promise<import('#domain/feed-token').FeedTokenInfo[]>;
  /** Revokes once (conditional update); a second revocation leaves the first date. */
  revoke(id: string, at: Date): Promise<{ outcome: 'revoked' | 'already-revoked'; token: import('#domain/feed-token').FeedTokenInfo } | { outcome: 'unknown' }>;
}

// ------------------------------------------------------------------------------------------------
// Published rules (config publish / rollback) and the replan job that follows a publish

/** The rule files planning reads, published together as one version (config/README.md "Publish and roll back"). */
export type RulesFileName = 'cadence.yaml' | 'content.yaml' | 'owners.yaml' | 'controls.yaml';
export type RulesFiles = Partial<Record<RulesFileName, string>>;

export interface PublishedRules {
  /** 1, 2, 3, ...: one more than the version in force when it was published (0 is the deployed config/ folder). */
  version: number;
  /** The files' text, as written (so a problem is still reported at its line and column). */
  files: RulesFiles;
  publishedAt: string;
  note: string;
  /** SHA-256 of the files (name and text), hex: two versions with the same hash are the same rules. */
  hash: string;
  /** Set when this version republished an older one's text (`cultivate config rollback`). */
  rollbackOf?: number;
}

/** On AWS: another version is still rolling out (or rolling back); publish again once it is done. */
export interface RolloutRunning {
  kind: 'rolling-out';
  version: number;
  /** AppConfig's deployment state: DEPLOYING, BAKING, VALIDATING or ROLLING_BACK. */
  state: string;
}

/** Append-only history of published rules; the highest version is the one in force. */
export interface RulesVersions {
  /**
   * Stores the rules as the next version, only while `expectedCurrent` is the version in force:
   * 'conflict' when someone else published first (the next number is taken by a conditional
   * write, so two publishers cannot both win); on AWS, `RolloutRunning` while another rollout is
   * going on. `inForce`: the files of the version in force (version 0's too), to compare against.
   */
  publish(rules: Omit<PublishedRules, 'version'>, expectedCurrent: number, inForce: RulesFiles): Promise<PublishedRules | 'conflict' | RolloutRunning>;
  /** The version in force: the newest published, or undefined before the first publish. */
  current(): Promise<PublishedRules | undefined>;
  get(version: number): Promise<PublishedRules | undefined>;
  /** Newest first, at most `limit` of them. */
  list(limit: number): Promise<PublishedRules[]>;
}

export interface ReplanCounts {
  /** Relationship items read. */
  scanned: number;
  /** Written under the job's rules (a touch moved, appeared, disappeared or changed). */
  replanned: number;
  /** The job's rules plan the same touch: nothing written. */
  unchanged: number;
  /** Already planned under the job's rules (or newer): a handler got there first, or a resumed page. */
  alreadyCurrent: number;
  /** Queued or being sent: left alone (the send path's own final claim decides). */
  inFlight: number;
  /** Conditional writes that lost to a concurrent handler and were decided again. */
  retries: number;
}

export type ReplanStatus = 'running' | 'done' | 'superseded' | 'failed';

/** The one replan job item: which rules it applies, where it is, what it did so far. */
export interface ReplanJob {
  rulesVersion: number;
  fromVersion: number;
  status: ReplanStatus;
  /** Where the next page starts (absent: from the beginning, or done). */
  cursor?: string;
  pages: number;
  counts: ReplanCounts;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Why it failed (an error message, no personal data). */
  error?: string;
  /** The version changed only controls.yaml (read at send time): done at once, nothing read. */
  onlyControls?: boolean;
}

export interface ReplanJobs {
  /**
   * Starts the job for `job.rulesVersion`, superseding an older one (a newer publish wins). False
   * when the job item already belongs to this version or a newer one.
   */
  start(job: ReplanJob): Promise<boolean>;
  get(): Promise<ReplanJob | undefined>;
  /** Records progress, conditional on the job item still being `rulesVersion`'s: false when superseded. */
  checkpoint(rulesVersion: number, update: Pick<ReplanJob, 'status' | 'pages' | 'counts' | 'updatedAt'> & { cursor?: string; finishedAt?: string; error?: string }): Promise<boolean>;
}

/** The replan job's write: the replanned state and its timeline entry, together or not at all. */
export interface ReplanWriter {
  /**
   * Saves `state` if the stored item is still at `expectedVersion` (the one it was decided from);
   * 'conflict' otherwise (read again and decide again).
   */
  saveReplanned(state: RelationshipState, expectedVersion: number, entry: TimelineEntry): Promise<'saved' | 'conflict'>;
}

// ------------------------------------------------------------------------------------------------
// Auto-pause (cadence.yaml `autoPause`): content items and tracks that paused themselves

/** The counters of one content item (over the tracks) and of one track (over its items), with their baselines. */
export interface RateReading {
  content: { total: import('#domain/auto-pause').RateCounters; baseline?: import('#domain/auto-pause').Baseline; paused: boolean };
  track: { total: import('#domain/auto-pause').RateCounters; baseline?: import('#domain/auto-pause').Baseline; paused: boolean };
}

export interface AutoPauseStore {
  /** What the judge reads after an unsubscribe or complaint: `contentId` on every track in `trackIds`, and `trackId`'s items. */
  read(contentId: string, trackId: string, trackIds: readonly string[]): Promise<RateReading>;
  /** Records a pause once (conditional write): false when the subject is paused already. */
  pause(pause: import('#domain/auto-pause').AutoPause): Promise<boolean>;
  /** Everything that paused itself, and the baselines of earlier resumes (one Query). */
  list(): Promise<{ pauses: import('#domain/auto-pause').AutoPause[]; resumed: ({ kind: import('#domain/auto-pause').PauseKind; id: string } & import('#domain/auto-pause').Baseline)[] }>;
  /**
   * Resumes a subject: its counters now become its baseline, then the pause goes. 'not-paused' when
   * it is not paused (nothing written). A content item's counters are summed over `trackIds`.
   */
  resume(kind: import('#domain/auto-pause').PauseKind, id: string, trackIds: readonly string[], at: Date): Promise<{ outcome: 'resumed'; pause: import('#domain/auto-pause').AutoPause; baseline: import('#domain/auto-pause').Baseline } | { outcome: 'not-paused' }>;
}
