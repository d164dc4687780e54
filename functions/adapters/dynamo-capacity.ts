/**
 * Shared-state guardrails (cadence.yaml `guardrails.perAccount`, `ownerTasksPerWeek`): small
 * counter items, reserved by the sender's final claim with conditional writes, so two senders
 * working on one account or one owner at the same moment can never both take the last place.
 *
 * - Account: one item per account, `t` maps touch id -> the local day it was reserved for, `v` is
 *   its version; a reservation reads it, checks the rolling 7- and 30-day caps, and writes on the
 *   version read (optimistic: a lost race re-reads). Entries older than 30 days are pruned in the
 *   same write, so the item stays small (at most the 30-day cap of entries).
 * - Owner: one item per owner and ISO week (`OWNER#<keyed hash of the e-mail>`, no plain address
 *   in a key), `n` tasks and the set of their touch ids, reserved with one conditional ADD.
 * Both are idempotent on the touch id: the queue re-delivering a message does not count it twice.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RollingCap } from '#config/schema';
import { capFreeDay } from '#domain/guardrails';
import { keys } from './table.ts';

export type AccountReservation = { ok: true } | { ok: false; code: 'account-touches-7d' | 'account-touches-30d'; cap: number; freeDay: string };

export interface CapacityStore {
  /** Reserve one touch on `day` ("YYYY-MM-DD") for the account, or say from which day there is room. */
  reserveAccountTouch(accountId: string, touchId: string, day: string, cap: RollingCap): Promise<AccountReservation>;
  releaseAccountTouch(accountId: string, touchId: string): Promise<void>;
  /** Reserve one human task in the owner's ISO week; false when the week is full. */
  reserveOwnerTask(ownerEmail: string, touchId: string, week: string, capacity: number, expiresAt: Date): Promise<boolean>;
  releaseOwnerTask(ownerEmail: string, touchId: string, week: string): Promise<void>;
}

const DAY_MS = 86_400_000;
const dayNum = (day: string) => Math.round(Date.parse(`${day}T00:00:00Z`) / DAY_MS);
const dayKey = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);
const ATTEMPTS = 8;

export class DynamoCapacityStore implements CapacityStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** The keyed hash (HMAC) of an owner's e-mail address, for the owner's counter key. */
    private readonly ownerKey: (email: string) => string,
  ) {}

  async reserveAccountTouch(accountId: string, touchId: string, day: string, cap: RollingCap): Promise<AccountReservation> {
    const Key = keys.accountCap(accountId);
    const today = dayNum(day);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }))).Item;
      const taken = (item?.t as Record<string, string> | undefined) ?? {};
      if (Object.hasOwn(taken, touchId)) return { ok: true };
      const days = Object.values(taken).map(dayNum);
      for (const [code, n, window] of [['account-touches-7d', cap.per7Days, 7], ['account-touches-30d', cap.per30Days, 30]] as const) {
        const free = capFreeDay(days, today, n, window);
        if (free !== undefined) return { ok: false, code, cap: n, freeDay: dayKey(free) };
      }
      try {
        if (!item) {
          await this.doc.send(
            new PutCommand({ TableName: this.table, Item: { ...Key, t: { [touchId]: day }, v: 1 }, ConditionExpression: 'attribute_not_exists(pk)' }),
          );
          return { ok: true };
        }
        const stale = Object.entries(taken)
          .filter(([, d]) => dayNum(d) <= today - 30)
          .map(([id]) => id);
        const names: Record<string, string> = { '#t': 't', '#k': touchId };
        stale.forEach((id, i) => (names[`#o${i}`] = id));
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key,
            UpdateExpression: `SET #t.#k = :day, v = :next${stale.length > 0 ? ` REMOVE ${stale.map((_, i) => `#t.#o${i}`).join(', ')}` : ''}`,
            ConditionExpression: 'v = :seen',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':day': day, ':next': (item.v as number) + 1, ':seen': item.v },
          }),
        );
        return { ok: true };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        // Another sender reserved meanwhile: read again and decide again.
      }
    }
    throw new Error(`account capacity: no reservation after ${ATTEMPTS} attempts (contention); the queue retries`);
  }

  async releaseAccountTouch(accountId: string, touchId: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.accountCap(accountId),
          UpdateExpression: 'REMOVE #t.#k SET v = v + :one',
          ConditionExpression: 'attribute_exists(#t.#k)',
          ExpressionAttributeNames: { '#t': 't', '#k': touchId },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  async reserveOwnerTask(ownerEmail: string, touchId: string, week: string, capacity: number, expiresAt: Date): Promise<boolean> {
    const Key = keys.ownerWeek(this.ownerKey(ownerEmail.trim().toLowerCase()), week);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: 'ADD n :one, ids :id SET expiresAt = if_not_exists(expiresAt, :exp)',
          ConditionExpression: '(attribute_not_exists(n) OR n < :cap) AND NOT contains(ids, :tid)',
          ExpressionAttributeValues: { ':one': 1, ':id': new Set([touchId]), ':tid': touchId, ':cap': capacity, ':exp': Math.floor(expiresAt.getTime() / 1000) },
        }),
      );
      return true;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const item = (await this.doc.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }))).Item;
      return (item?.ids as Set<string> | undefined)?.has(touchId) ?? false;
    }
  }

  async releaseOwnerTask(ownerEmail: string, touchId: string, week: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.ownerWeek(this.ownerKey(ownerEmail.trim().toLowerCase()), week),
          UpdateExpression: 'ADD n :minus DELETE ids :id',
          ConditionExpression: 'contains(ids, :tid)',
          ExpressionAttributeValues: { ':minus': -1, ':id': new Set([touchId]), ':tid': touchId },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
