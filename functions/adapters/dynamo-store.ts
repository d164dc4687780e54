/** RelationshipStore and InboxStore on DynamoDB (the real SDK, on AWS or DynamoDB Local). */
import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type NativeAttributeValue,
} from '@aws-sdk/lib-dynamodb';
import type { InboundEvent } from '#catalog/events';
import type { RelationshipState, TimelineEntry } from '#domain/types';
import { lunchSeatOf, lunchTableOf, type LunchSeat } from '#domain/lunch';
import type { Identity, InboxItem, InboxStore, NotificationInbox, RelationshipStore, SuppressionRecord } from '#ports/ports';
import { DUE_SHARDS, LUNCH_INDEX, TTL_ATTRIBUTE, dueShard, keys } from './table.ts';

type Item = Record<string, NativeAttributeValue>;
type Key = { pk: string; sk: string };

/** Longer than any redelivery: the DLQs keep 14 days and an on-call redrive must still find the payload. */
export const INBOX_TTL_SECONDS = 16 * 86_400;
const MAX_BATCH_ATTEMPTS = 8;

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const backoff = (attempt: number) => sleep(Math.min(1000, 20 * 2 ** attempt) * (0.5 + Math.random() / 2));

/** BatchWrite in chunks of 25, retrying unprocessed items with backoff; throws if they never go. */
export async function batchWrite(
  doc: DynamoDBDocumentClient,
  table: string,
  requests: ({ PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } })[],
): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchWriteItem left ${pending.length} items unprocessed`);
      if (attempt > 0) await backoff(attempt);
      const out = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (out.UnprocessedItems?.[table] ?? []) as typeof pending;
    }
  }
}

/**
 * The state item: the state as one map, plus the sparse due-index keys while a touch is open. A
 * planned touch is indexed at its due instant; a queued or sending one at its lease's end, so the
 * same sweep that finds due touches also finds claims that lapsed.
 */
export function stateItem(state: RelationshipState): Item {
  // The version lives once, in `v` (the condition attribute); every byte here is paid on each write.
  const { version: _version, ...s } = state;
  return { ...keys.relationship(state.id), v: state.version, s, ...dueKeys(state), ...lunchKeys(state) };
}

/**
 * The sparse lunch-index keys while the next touch is a lunch of a person with an owner and a city
 * (`functions/domain/lunch.ts`): `LUNCH#<owner hash>#<country>#<city>` / `<due>#<id>`, with the
 * account and the tag slugs the grouping needs (projected, so the query reads no state). Derived
 * on every save, so a replan, a move or a new owner moves or removes them. The claims of the send
 * path move only the due key: a claimed lunch keeps these until its outcome is recorded, and
 * the join's own condition (a planned lunch) leaves it out.
 */
export function lunchKeys(state: Pick<RelationshipState, 'id' | 'owner' | 'contact' | 'accountId' | 'nextTouch'>): { lunchPk: string; lunchSk: string; lunchAcct?: string; lunchTags?: string[] } | Record<string, never> {
  const seat = lunchSeatOf(state);
  const pk = lunchPartition(state);
  if (!seat || !pk) return {};
  return { lunchPk: pk, lunchSk: `${seat.at}#${seat.id}`, ...(seat.accountId !== undefined && { lunchAcct: seat.accountId }), ...(seat.tags.length > 0 && { lunchTags: [...seat.tags] }) };
}

/**
 * The lunch-index partition of a person's table. The owner's address goes in as a SHA-256 digest,
 * not in plain: every function that saves state derives it, and the keyed hash of the owner
 * counters would need the identity key in all of them, while the plain address already sits in
 * the same item's state.
 */
export function lunchPartition(state: Pick<RelationshipState, 'owner' | 'contact'>): string | undefined {
  const table = lunchTableOf(state);
  if (!table) return undefined;
  const owner = createHash('sha256').update(table.owner).digest('base64url').slice(0, 22);
  return `LUNCH#${owner}#${table.country}#${table.city}`;
}

/** The people at one lunch table (owner and city) whose lunch is due by `until`, earliest first. */
export class DynamoLunchIndex {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async candidates(host: Pick<RelationshipState, 'owner' | 'contact'>, until: string, limit: number): Promise<LunchSeat[]> {
    const pk = lunchPartition(host);
    if (!pk) return [];
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: LUNCH_INDEX,
        KeyConditionExpression: 'lunchPk = :pk AND lunchSk <= :until',
        ExpressionAttributeValues: { ':pk': pk, ':until': `${until}#~` },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => {
      const sk = i.lunchSk as string;
      const cut = sk.lastIndexOf('#');
      return { id: sk.slice(cut + 1), at: sk.slice(0, cut), ...(typeof i.lunchAcct === 'string' && { accountId: i.lunchAcct }), tags: Array.isArray(i.lunchTags) ? (i.lunchTags as string[]) : [] };
    });
  }
}

/**
 * `lease` is projected into the index, so a sweep can see that a claim is still running without
 * a write (a failed conditional write costs as much as a successful one).
 */
export function dueKeys(state: Pick<RelationshipState, 'id' | 'nextTouch'>): { duePk: string; dueSk: string; lease?: string } | Record<string, never> {
  const t = state.nextTouch;
  if (!t) return {};
  const when = t.status === 'planned' ? t.at : (t.leaseUntil ?? t.at);
  return { duePk: `DUE#${dueShard(state.id)}`, dueSk: `${when}#${state.id}`, ...(t.status !== 'planned' && t.leaseUntil && { lease: t.leaseUntil }) };
}

export class DynamoRelationshipStore implements RelationshipStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private identityKeys(identity: Identity): Key[] {
    return [
      ...(identity.emailHash ? [keys.emailIdentity(identity.emailHash)] : []),
      ...identity.crmIds.map((id) => keys.crmIdentity(id)),
    ];
  }

  async resolve(identity: Identity): Promise<string | undefined> {
    if (identity.relationshipId) return identity.relationshipId;
    const wanted = this.identityKeys(identity);
    if (wanted.length === 0) return undefined;
    const found = new Map<string, string>();
    let pending: Key[] = wanted;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error('BatchGetItem left keys unprocessed');
      if (attempt > 0) await backoff(attempt);
      const out = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of out.Responses?.[this.table] ?? []) found.set(item.pk as string, item.rel as string);
      pending = (out.UnprocessedKeys?.[this.table]?.Keys ?? []) as Key[];
    }
    // The e-mail identity is the strongest; then CRM ids in the order given.
    for (const k of wanted) {
      const rel = found.get(k.pk);
      if (rel) return rel;
    }
    return undefined;
  }

  async claimIdentity(relationshipId: string, identity: Identity): Promise<string> {
    let owner = relationshipId;
    for (const [index, key] of this.identityKeys(identity).entries()) {
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...key, rel: owner },
            ConditionExpression: 'attribute_not_exists(pk) OR rel = :rel',
            ExpressionAttributeValues: { ':rel': owner },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        const existing = err.Item?.rel;
        const rel = typeof existing === 'string' ? existing : ((err.Item?.rel as { S?: string } | undefined)?.S ?? undefined);
        if (!rel) throw err;
        // Another delivery created this person first. If it is the first key we tried, adopt theirs.
        if (owner === relationshipId && index === 0) owner = rel;
      }
    }
    return owner;
  }

  async get(relationshipId: string): Promise<RelationshipState | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.relationship(relationshipId), ConsistentRead: true }));
    return out.Item ? ({ ...(out.Item.s as RelationshipState), version: out.Item.v as number } as RelationshipState) : undefined;
  }

  async save(state: RelationshipState, expectedVersion: number | undefined): Promise<'saved' | 'conflict'> {
    const next = { ...state, version: (expectedVersion ?? 0) + 1 };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: stateItem(next),
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': expectedVersion } }),
        }),
      );
      return 'saved';
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return 'conflict';
      throw err;
    }
  }

  async appendTimeline(relationshipId: string, entries: readonly TimelineEntry[]): Promise<void> {
    if (entries.length === 1) {
      const e = entries[0] as TimelineEntry;
      await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...keys.timeline(relationshipId, e.at, e.eventId), e } }));
      return;
    }
    await batchWrite(
      this.doc,
      this.table,
      entries.map((e) => ({ PutRequest: { Item: { ...keys.timeline(relationshipId, e.at, e.eventId), e } } })),
    );
  }

  async timeline(relationshipId: string, opts: { newestFirst?: boolean; limit?: number } = {}): Promise<TimelineEntry[]> {
    const entries: TimelineEntry[] = [];
    let start: Record<string, NativeAttributeValue> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
          ExpressionAttributeValues: { ':pk': `REL#${relationshipId}`, ':tl': 'TL#' },
          ScanIndexForward: !opts.newestFirst,
          ...(opts.limit && { Limit: opts.limit - entries.length }),
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) entries.push(item.e as TimelineEntry);
      start = out.LastEvaluatedKey;
    } while (start && (!opts.limit || entries.length < opts.limit));
    return entries;
  }

  async erase(state: RelationshipState): Promise<void> {
    const doomed: Key[] = [];
    let start: Record<string, NativeAttributeValue> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `REL#${state.id}` },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      );
      for (const item of out.Items ?? []) doomed.push({ pk: item.pk as string, sk: item.sk as string });
      start = out.LastEvaluatedKey;
    } while (start);
    doomed.push(...this.identityKeys({ emailHash: state.emailHash, crmIds: state.crmIds }));
    await batchWrite(this.doc, this.table, doomed.map((Key) => ({ DeleteRequest: { Key } })));
  }

  async getSuppression(hashes: readonly string[]): Promise<SuppressionRecord | undefined> {
    if (hashes.length === 0) return undefined;
    const out = await this.doc.send(
      new BatchGetCommand({ RequestItems: { [this.table]: { Keys: hashes.map((h) => keys.suppression(h)) } } }),
    );
    const scopes = (out.Responses?.[this.table] ?? []).flatMap((i) => (i.scopes as SuppressionRecord['scopes']) ?? []);
    return scopes.length > 0 ? { scopes } : undefined;
  }

  async putSuppression(hashes: readonly string[], record: SuppressionRecord): Promise<void> {
    await batchWrite(
      this.doc,
      this.table,
      hashes.map((h) => ({ PutRequest: { Item: { ...keys.suppression(h), scopes: record.scopes } } })),
    );
  }

  /**
   * Adds one scope atomically: an unsubscribe and a complaint arriving together both stay, and the
   * same scope twice is one entry (a string set of scope keys guards the list).
   */
  async addSuppressionScope(hash: string, scope: SuppressionRecord['scopes'][number]): Promise<void> {
    const kind = `${scope.scope}|${scope.topic ?? ''}`;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.suppression(hash),
          UpdateExpression: 'SET scopes = list_append(if_not_exists(scopes, :none), :one) ADD kinds :kinds',
          ConditionExpression: 'attribute_not_exists(kinds) OR NOT contains(kinds, :kind)',
          ExpressionAttributeValues: { ':none': [], ':one': [scope], ':kinds': new Set([kind]), ':kind': kind },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err; // already on record
    }
  }
}

export class DynamoInboxStore implements InboxStore, NotificationInbox {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: { now(): Date } = { now: () => new Date() },
  ) {}

  async putMany(items: readonly InboxItem[]): Promise<void> {
    const expiresAt = Math.floor(this.clock.now().getTime() / 1000) + INBOX_TTL_SECONDS;
    await batchWrite(
      this.doc,
      this.table,
      items.map((i) => ({ PutRequest: { Item: { ...keys.inbox(i.key), event: i.event, [TTL_ATTRIBUTE]: expiresAt } } })),
    );
  }

  async get(key: string): Promise<InboundEvent | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.inbox(key), ConsistentRead: true }));
    return out.Item?.event as InboundEvent | undefined;
  }

  async delete(key: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: keys.inbox(key) }));
  }

  /**
   * A CRM's notification (the CRM's own JSON) waits under the same inbox keys until normalised. It
   * is stored as JSON text: a CRM's payload may hold keys DynamoDB cannot store as a map ("",
   * `__proto__`, nesting deeper than 32 levels), and it is only ever read back whole. One item per
   * key: a delivery that repeats an event must not fail the batch write.
   */
  async putNotifications(items: readonly { key: string; notification: unknown }[]): Promise<void> {
    const expiresAt = Math.floor(this.clock.now().getTime() / 1000) + INBOX_TTL_SECONDS;
    const byKey = new Map(items.map((i) => [i.key, i.notification]));
    await batchWrite(
      this.doc,
      this.table,
      [...byKey].map(([key, notification]) => ({ PutRequest: { Item: { ...keys.inbox(key), notificationJson: JSON.stringify(notification), [TTL_ATTRIBUTE]: expiresAt } } })),
    );
  }

  /** Also reads an item kept before notifications were stored as text (the map in `notification`), so a deploy drops none still waiting. */
  async getNotification(key: string): Promise<unknown> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.inbox(key), ConsistentRead: true }));
    const text = out.Item?.notificationJson;
    if (typeof text === 'string') return JSON.parse(text) as unknown;
    return out.Item?.notification;
  }
}

export { DUE_SHARDS };
