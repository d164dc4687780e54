/**
 * The due index and the claims of the send path (DESIGN.md §4), as conditional writes on the
 * relationship's state item. Each claim bumps the item's version, so a concurrent read-modify-write
 * of the relationship sees it and decides again.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { GuardrailCode } from '#domain/guardrails';
import type { RelationshipState } from '#domain/types';
import { DUE_INDEX, DUE_SHARDS, dueShard, keys, SLA_MARK } from './table.ts';

export interface DueRef {
  relationshipId: string;
  dueSk: string;
  dueAt: string;
  /** Set while a claim runs (queued or sending): until then the sweep leaves it alone. */
  lease?: string;
  /** Set for a task's SLA entry (not a touch): the task it watches. */
  slaTouchId?: string;
}

/** An open task's SLA: escalated to the owner's manager when it falls due before the task is done. */
export interface TaskSla {
  relationshipId: string;
  touchId: string;
  owner: string;
  kind: string;
  assignedAt: string;
  slaAt: string;
}

export type ClaimResult = { ok: true; state: RelationshipState } | { ok: false; current: RelationshipState | undefined; currentDueSk: string | undefined };

const names = { '#s': 's', '#nt': 'nextTouch', '#st': 'status', '#lu': 'leaseUntil', '#v': 'v' };

interface ClaimSet {
  status: string;
  leaseUntil?: string;
  at?: string;
  dueSk?: string;
  /** A guardrail that moved the touch: appended to its `pushedBy` in the same write. */
  pushedBy?: GuardrailCode;
}

function updateExpression(set: ClaimSet): string {
  const sets = ['#s.#nt.#st = :newStatus'];
  if (set.dueSk) sets.push('dueSk = :newSk');
  if (set.leaseUntil) sets.push('#s.#nt.#lu = :lease', 'lease = :lease');
  if (set.at) sets.push('#s.#nt.#at = :at');
  if (set.pushedBy) sets.push('#s.#nt.#pb = list_append(if_not_exists(#s.#nt.#pb, :noMoves), :move)');
  return `SET ${sets.join(', ')} ADD #v :one${set.leaseUntil ? '' : ' REMOVE #s.#nt.#lu, lease'}`;
}

function stateOf(item: Record<string, unknown> | undefined): RelationshipState | undefined {
  if (!item) return undefined;
  return { ...(item.s as RelationshipState), version: item.v as number };
}

export class DynamoTouchStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Touches (and lapsed claims) due at or before `until` in one shard, oldest first. */
  async dueBatch(shard: number, until: Date, limit: number): Promise<DueRef[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'duePk = :pk AND dueSk <= :until',
        ExpressionAttributeValues: { ':pk': `DUE#${shard}`, ':until': `${until.toISOString()}#~` },
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((i) => {
      const dueSk = i.dueSk as string;
      const lease = typeof i.lease === 'string' ? { lease: i.lease } : {};
      const sla = dueSk.indexOf(SLA_MARK);
      if (sla >= 0) {
        const touchId = dueSk.slice(sla + SLA_MARK.length);
        return { relationshipId: touchId.slice(0, touchId.lastIndexOf('.')), dueSk, dueAt: dueSk.slice(0, sla), slaTouchId: touchId, ...lease };
      }
      const cut = dueSk.lastIndexOf('#');
      return { relationshipId: dueSk.slice(cut + 1), dueSk, dueAt: dueSk.slice(0, cut), ...lease };
    });
  }

  /** The earliest due instant across shards at or before `until` (the local clock steps to it). */
  async earliestDue(until: Date): Promise<Date | undefined> {
    let earliest: string | undefined;
    for (let shard = 0; shard < DUE_SHARDS; shard++) {
      const [first] = await this.dueBatch(shard, until, 1);
      if (first && (earliest === undefined || first.dueAt < earliest)) earliest = first.dueAt;
    }
    return earliest ? new Date(earliest) : undefined;
  }

  /** Oldest due instant over all shards, for the age-of-oldest-due-touch metric. */
  async oldestDue(now: Date): Promise<Date | undefined> {
    return this.earliestDue(now);
  }

  private async claim(
    relationshipId: string,
    condition: string,
    values: Record<string, unknown>,
    set: ClaimSet,
  ): Promise<ClaimResult> {
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.relationship(relationshipId),
          UpdateExpression: updateExpression(set),
          ConditionExpression: condition,
          ExpressionAttributeNames: { ...names, ...(set.at && { '#at': 'at' }), ...(set.pushedBy && { '#pb': 'pushedBy' }) },
          ExpressionAttributeValues: {
            ...values,
            ':newStatus': set.status,
            ...(set.dueSk && { ':newSk': set.dueSk }),
            ':one': 1,
            ...(set.leaseUntil && { ':lease': set.leaseUntil }),
            ...(set.at && { ':at': set.at }),
            ...(set.pushedBy && { ':noMoves': [], ':move': [set.pushedBy] }),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { ok: true, state: stateOf(out.Attributes) as RelationshipState };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const item = err.Item ? unmarshall(err.Item) : undefined;
      return { ok: false, current: stateOf(item), currentDueSk: item?.dueSk as string | undefined };
    }
  }

  /** Sweeper: due -> queued, with a lease. Only if the item is still indexed where the sweep saw it. */
  claimDue(ref: DueRef, leaseUntil: Date): Promise<ClaimResult> {
    const lease = leaseUntil.toISOString();
    return this.claim(
      ref.relationshipId,
      'dueSk = :seen AND #s.#nt.#st = :planned',
      { ':seen': ref.dueSk, ':planned': 'planned' },
      { status: 'queued', leaseUntil: lease, dueSk: `${lease}#${ref.relationshipId}` },
    );
  }

  /** Sweeper: a queued claim whose lease lapsed (its message was lost or dead-lettered): queue again. */
  reclaimQueued(ref: DueRef, leaseUntil: Date): Promise<ClaimResult> {
    const lease = leaseUntil.toISOString();
    return this.claim(
      ref.relationshipId,
      'dueSk = :seen AND #s.#nt.#st = :queued',
      { ':seen': ref.dueSk, ':queued': 'queued' },
      { status: 'queued', leaseUntil: lease, dueSk: `${lease}#${ref.relationshipId}` },
    );
  }

  /**
   * Sender's final claim: queued -> sending, only if this touch is still the plan (same touch id
   * and plan version: any replan, consent change or suppression bumps the version), the person is
   * still in nurture and, for e-mail, consent is still granted.
   */
  claimForSend(msg: { relationshipId: string; touchId: string; planVersion: number; channel: string }, leaseUntil: Date): Promise<ClaimResult> {
    const lease = leaseUntil.toISOString();
    const email = msg.channel === 'email';
    return this.claim(
      msg.relationshipId,
      `#s.#nt.touchId = :tid AND #s.#nt.#st = :queued AND #s.planVersion = :pv AND #s.stage = :nurturing${email ? ' AND #s.consent.email = :granted' : ''}`,
      { ':tid': msg.touchId, ':queued': 'queued', ':pv': msg.planVersion, ':nurturing': 'nurturing', ...(email && { ':granted': 'granted' }) },
      // The index key stays where the queue claim put it (moving it costs two index writes); the
      // projected lease tells the sweep the claim is alive until then.
      { status: 'sending', leaseUntil: lease },
    );
  }

  /**
   * Give a claim back, due at `at`: SES throttled us (nothing was sent), a task's sender lost its
   * lease (tasks are delivered idempotently), or the sweep deferred it under the global daily cap.
   * With `movedBy` (the sweep's `daily-cap`) the code is appended to the touch's `pushedBy` in
   * the same write, for the metrics of its outcome; the caller passes it only when the claimed
   * touch does not carry it yet, which keeps the list to distinct codes without a condition.
   */
  release(msg: { relationshipId: string; touchId: string }, from: 'sending' | 'queued', at: string, movedBy?: GuardrailCode): Promise<ClaimResult> {
    return this.claim(
      msg.relationshipId,
      '#s.#nt.touchId = :tid AND #s.#nt.#st = :from',
      { ':tid': msg.touchId, ':from': from },
      { status: 'planned', at, dueSk: `${at}#${msg.relationshipId}`, ...(movedBy && { pushedBy: movedBy }) },
    );
  }

  async get(relationshipId: string): Promise<RelationshipState | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.relationship(relationshipId), ConsistentRead: true }));
    return stateOf(out.Item);
  }

  /**
   * Today's e-mail budget under the global daily cap: one read per sweep, then reservations that
   * are conditional on the cap, so two overlapping sweeps cannot exceed it together.
   */
  async emailBudget(day: string, cap: number): Promise<{ remaining: number; reserve(n: number): Promise<number> }> {
    const key = { pk: `CAP#${day}`, sk: 'CAP' };
    const read = async () => ((await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }))).Item?.n as number | undefined) ?? 0;
    const used = await read();
    const expiresAt = Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000) + 3 * 86_400;
    return {
      remaining: Math.max(0, cap - used),
      reserve: async (wanted) => {
        let k = wanted;
        for (let attempt = 0; attempt < 5 && k > 0; attempt++) {
          try {
            await this.doc.send(
              new UpdateCommand({
                TableName: this.table,
                Key: key,
                UpdateExpression: 'ADD n :k SET expiresAt = if_not_exists(expiresAt, :exp)',
                ConditionExpression: 'attribute_not_exists(n) OR n <= :limit',
                ExpressionAttributeValues: { ':k': k, ':limit': cap - k, ':exp': expiresAt },
              }),
            );
            return k;
          } catch (err) {
            if (!(err instanceof ConditionalCheckFailedException)) throw err;
            k = Math.min(k, Math.max(0, cap - (await read())));
          }
        }
        return 0;
      },
    };
  }

  /**
   * Watch an assigned task: a second entry in the due index (its own small item under the
   * relationship, so erasure removes it), due at the SLA. The sweep finds overdue open tasks with
   * the same query it runs anyway, at no extra read while none is due.
   */
  async putTaskSla(sla: TaskSla): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...keys.taskSla(sla.relationshipId, sla.touchId), ...sla, duePk: `DUE#${dueShard(sla.relationshipId)}`, dueSk: `${sla.slaAt}${SLA_MARK}${sla.touchId}` },
      }),
    );
  }

  /** Sweeper: claim an SLA entry (a lease, as for touches), so one sweep escalates it. */
  async claimTaskSla(ref: DueRef, leaseUntil: Date): Promise<TaskSla | undefined> {
    const lease = leaseUntil.toISOString();
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.taskSla(ref.relationshipId, ref.slaTouchId as string),
          UpdateExpression: 'SET dueSk = :newSk, lease = :lease',
          ConditionExpression: 'dueSk = :seen',
          ExpressionAttributeValues: { ':seen': ref.dueSk, ':newSk': `${lease}${SLA_MARK}${ref.slaTouchId}`, ':lease': lease },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as TaskSla | undefined;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  }

  async getTaskSla(relationshipId: string, touchId: string): Promise<TaskSla | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.taskSla(relationshipId, touchId), ConsistentRead: true }));
    return out.Item as TaskSla | undefined;
  }

  async deleteTaskSla(relationshipId: string, touchId: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: keys.taskSla(relationshipId, touchId) }));
  }

  shardOf(relationshipId: string): number {
    return dueShard(relationshipId);
  }
}
