/**
 * Metric aggregates in the single table (layout: functions/domain/metrics/deltas.ts), updated with
 * ADD in TransactWriteItems that also move a per-shard sequence marker, conditionally on the value
 * read before: a redelivered stream batch finds its records at or below the marker and counts
 * nothing twice, and each shard has its own marker, so shards may run in any order.
 *
 *   AGGSEQ#<shardId>   SEQ                 pos: <sequence number, 40 digits>:<part, 4 digits>
 *   REL#<id>           MX#<what>#<lostAt>  guard: the episode entered / re-engaged / converted
 *   ACCT#<accountId>   MX#entered          guard: the account's first entry into nurture
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, type DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  type NativeAttributeValue,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { keyString, mergeDeltas } from '#domain/metrics/deltas';
import type { Image } from '#domain/metrics/facts';
import type { MetricsState } from '#domain/metrics/profile';
import type { RelationshipItems } from '#domain/metrics/rebuild';
import type { AggregateReader } from '#domain/metrics/report';
import type { Delta, ItemKey, TaskInfo } from '#domain/metrics/types';
import { batchWrite } from './dynamo-store.ts';
import { keys } from './table.ts';

type Item = Record<string, NativeAttributeValue>;

/** DynamoDB's limit on actions in one TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;
const MAX_BATCH_ATTEMPTS = 8;

export const markerKey = (shardId: string): ItemKey => ({ pk: `AGGSEQ#${shardId}`, sk: 'SEQ' });

/** A record's place in its shard, comparable as a string: sequence numbers are decimal, up to 40 digits. */
export function position(sequenceNumber: string, part = 0): string {
  if (!/^\d{1,40}$/.test(sequenceNumber)) throw new RangeError(`not a stream sequence number: ${sequenceNumber.slice(0, 50)}`);
  return `${sequenceNumber.padStart(40, '0')}:${String(part).padStart(4, '0')}`;
}

/** What one stream record adds: its deltas and the guard keys it records. */
export interface Unit {
  sequenceNumber: string;
  deltas: readonly Delta[];
  guards: readonly ItemKey[];
}

export interface ApplyReport {
  /** Records counted now. */
  applied: number;
  /** Records at or below the shard's marker: already counted by an earlier delivery. */
  skipped: number;
  transactions: number;
  /** Items written (each transactional write costs two write units). */
  writes: number;
}

export interface ReadStats {
  queries: number;
  items: number;
  readUnits: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DynamoMetricsStore implements AggregateReader {
  private stats: ReadStats = { queries: 0, items: 0, readUnits: 0 };

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Reads since the last call (then reset): what a feed request cost. */
  takeReadStats(): ReadStats {
    const s = this.stats;
    this.stats = { queries: 0, items: 0, readUnits: 0 };
    return s;
  }

  /** Every item of one aggregate partition: one Query (more pages only past 1 MB). */
  async partition(pk: string): Promise<Record<string, unknown>[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ExclusiveStartKey: start, ReturnConsumedCapacity: 'TOTAL' }),
      );
      this.stats.queries++;
      this.stats.readUnits += out.ConsumedCapacity?.CapacityUnits ?? 0;
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    this.stats.items += items.length;
    return items;
  }

  private async batchGet(wanted: readonly ItemKey[], projection?: string): Promise<Item[]> {
    const found: Item[] = [];
    for (let i = 0; i < wanted.length; i += 100) {
      let pending: ItemKey[] = wanted.slice(i, i + 100);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed`);
        if (attempt > 0) await sleep(Math.min(1000, 20 * 2 ** attempt));
        const out = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true, ...(projection && { ProjectionExpression: projection }) } },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        this.stats.readUnits += out.ConsumedCapacity?.reduce((s, c) => s + (c.CapacityUnits ?? 0), 0) ?? 0;
        found.push(...(out.Responses?.[this.table] ?? []));
        pending = (out.UnprocessedKeys?.[this.table]?.Keys ?? []) as ItemKey[];
      }
    }
    return found;
  }

  /** Which of these guard keys are on record. */
  async guardsPresent(wanted: readonly ItemKey[]): Promise<Set<string>> {
    const items = await this.batchGet(wanted, 'pk, sk');
    return new Set(items.map((i) => keyString({ pk: String(i.pk), sk: String(i.sk) })));
  }

  /** Current state items of these relationships (profiles for timeline records not preceded by their state in the batch). */
  async states(ids: readonly string[]): Promise<Map<string, MetricsState>> {
    const items = await this.batchGet(ids.map((id) => keys.relationship(id)));
    return new Map(items.map((i) => [String(i.pk).slice(4), { ...(i.s as MetricsState), version: Number(i.v) }]));
  }

  /** The task a completion refers to, from its task-assigned entry: one query over one person's timeline. */
  async taskOf(relationshipId: string, touchId: string): Promise<TaskInfo | undefined> {
    let start: Item | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :tl)',
          FilterExpression: 'e.#type = :assigned AND e.detail.touchId = :touch',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':pk': `REL#${relationshipId}`, ':tl': 'TL#', ':assigned': 'task-assigned', ':touch': touchId },
          ExclusiveStartKey: start,
        }),
      );
      const e = out.Items?.[0]?.e as { at: string; detail?: Record<string, unknown> } | undefined;
      if (e) return { dueAt: String(e.detail?.dueAt ?? e.at), kind: String(e.detail?.kind ?? 'unknown') };
      start = out.LastEvaluatedKey;
    } while (start);
    return undefined;
  }

  async marker(shardId: string): Promise<string | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: markerKey(shardId), ConsistentRead: true }));
    return out.Item?.pos as string | undefined;
  }

  /**
   * Applies the units of one shard, in order, in transactions of at most 100 items (the marker
   * included). Units at or below the marker are skipped. Each transaction holds only if the marker
   * is still what was read, so a concurrent or repeated delivery cannot double count.
   */
  async apply(shardId: string, units: readonly Unit[], now: Date): Promise<ApplyReport> {
    const report: ApplyReport = { applied: 0, skipped: 0, transactions: 0, writes: 0 };
    let marker = await this.marker(shardId);
    const pieces = units.flatMap(split);
    const records = new Set<string>();
    const fresh = pieces.filter((p) => {
      if (marker !== undefined && p.pos <= marker) return false;
      records.add(p.sequenceNumber);
      // Nothing to count: no write at all. The marker's own writes are on this stream too, so
      // writing for them would feed the stream for ever.
      return p.deltas.length > 0 || p.guards.length > 0;
    });
    report.skipped = new Set(units.map((u) => u.sequenceNumber)).size - records.size;
    for (const chunk of chunks(fresh)) {
      const last = (chunk[chunk.length - 1] as Piece).pos;
      const deltas = mergeDeltas(chunk.flatMap((p) => p.deltas));
      const guards = [...new Map(chunk.flatMap((p) => p.guards).map((g) => [keyString(g), g])).values()];
      try {
        await this.doc.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.table,
                  Key: markerKey(shardId),
                  UpdateExpression: 'SET pos = :last, updatedAt = :now',
                  ...(marker === undefined
                    ? { ConditionExpression: 'attribute_not_exists(pos)', ExpressionAttributeValues: { ':last': last, ':now': now.toISOString() } }
                    : { ConditionExpression: 'pos = :prev', ExpressionAttributeValues: { ':last': last, ':prev': marker, ':now': now.toISOString() } }),
                },
              },
              ...deltas.map((d) => ({ Update: addUpdate(this.table, d) })),
              ...guards.map((g) => ({ Put: { TableName: this.table, Item: { ...g } } })),
            ],
          }),
        );
      } catch (err) {
        if (err instanceof TransactionCanceledException && err.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') {
          // Someone moved the marker: another delivery of this shard is running. Let the stream retry.
          throw new Error(`metrics marker of shard ${shardId} moved during the batch; the batch is retried`);
        }
        throw err;
      }
      marker = last;
      report.transactions++;
      report.writes += 1 + deltas.length + guards.length;
    }
    report.applied = records.size;
    return report;
  }

  /** Every aggregate item (for the rebuild's comparison and its replacement). */
  async allAggregates(): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    for await (const page of this.scanPages('begins_with(pk, :agg)', { ':agg': 'AGG#' })) {
      for (const item of page) {
        const { pk, sk, ...attrs } = item;
        out.set(keyString({ pk: String(pk), sk: String(sk) }), Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, Number(v)])));
      }
    }
    return out;
  }

  private async *scanPages(filter?: string, values?: Item): AsyncIterable<Item[]> {
    let start: Item | undefined;
    do {
      const out = await this.doc.send(
        new ScanCommand({ TableName: this.table, ConsistentRead: true, ExclusiveStartKey: start, ...(filter && { FilterExpression: filter, ExpressionAttributeValues: values }) }),
      );
      yield out.Items ?? [];
      start = out.LastEvaluatedKey;
    } while (start);
  }

  /**
   * Each relationship's state and timeline, from one scan. A scan returns a partition's items
   * together and in sort-key order, so a person is complete when the next one starts.
   */
  async *relationships(): AsyncIterable<RelationshipItems> {
    let pk: string | undefined;
    let state: MetricsState | undefined;
    let timeline: Image[] = [];
    for await (const page of this.scanPages('begins_with(pk, :rel)', { ':rel': 'REL#' })) {
      for (const item of page) {
        if (item.pk !== pk) {
          if (state) yield { state, timeline };
          pk = String(item.pk);
          state = undefined;
          timeline = [];
        }
        if (item.sk === 'STATE') state = { ...(item.s as MetricsState), version: Number(item.v) };
        else if (String(item.sk).startsWith('TL#')) timeline.push(item as Image);
      }
    }
    if (state) yield { state, timeline };
  }

  /**
   * Replaces every aggregate and guard with a rebuild's. Shard markers stay: the stream goes on
   * from where it is. Pause the stream's event source mapping while this runs.
   */
  async replaceAll(deltas: readonly Delta[], guards: readonly ItemKey[]): Promise<{ deleted: number; written: number }> {
    const doomed: ItemKey[] = [];
    for await (const page of this.scanPages('begins_with(pk, :agg) OR begins_with(sk, :mx)', { ':agg': 'AGG#', ':mx': 'MX#' })) {
      for (const item of page) doomed.push({ pk: String(item.pk), sk: String(item.sk) });
    }
    await batchWrite(this.doc, this.table, doomed.map((Key) => ({ DeleteRequest: { Key } })));
    const puts = [...deltas.map((d) => ({ ...d.key, ...d.add })), ...guards.map((g) => ({ ...g }))];
    await batchWrite(this.doc, this.table, puts.map((Item) => ({ PutRequest: { Item } })));
    return { deleted: doomed.length, written: puts.length };
  }
}

interface Piece {
  sequenceNumber: string;
  pos: string;
  deltas: readonly Delta[];
  guards: readonly ItemKey[];
}

/** A record whose items would not fit one transaction goes in parts, each with its own position. */
function split(unit: Unit): Piece[] {
  const deltas = mergeDeltas(unit.deltas);
  const room = MAX_TRANSACTION_ITEMS - 1;
  const items: ({ d: Delta } | { g: ItemKey })[] = [...deltas.map((d) => ({ d })), ...unit.guards.map((g) => ({ g }))];
  if (items.length === 0) return [{ sequenceNumber: unit.sequenceNumber, pos: position(unit.sequenceNumber), deltas: [], guards: [] }];
  const out: Piece[] = [];
  for (let i = 0; i < items.length; i += room) {
    const part = items.slice(i, i + room);
    out.push({
      sequenceNumber: unit.sequenceNumber,
      pos: position(unit.sequenceNumber, i / room),
      deltas: part.flatMap((x) => ('d' in x ? [x.d] : [])),
      guards: part.flatMap((x) => ('g' in x ? [x.g] : [])),
    });
  }
  return out;
}

/** Consecutive pieces packed while their distinct items (plus the marker) fit one transaction. */
function chunks(pieces: readonly Piece[]): Piece[][] {
  const out: Piece[][] = [];
  let current: Piece[] = [];
  let seen = new Set<string>();
  for (const p of pieces) {
    const ids = [...p.deltas.map((d) => keyString(d.key)), ...p.guards.map(keyString)];
    const added = ids.filter((id) => !seen.has(id));
    if (current.length > 0 && seen.size + new Set(added).size > MAX_TRANSACTION_ITEMS - 1) {
      out.push(current);
      current = [];
      seen = new Set();
    }
    current.push(p);
    for (const id of ids) seen.add(id);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function addUpdate(table: string, d: Delta) {
  const names: Record<string, string> = {};
  const values: Record<string, number> = {};
  const parts = Object.entries(d.add).map(([attr, v], i) => {
    names[`#a${i}`] = attr;
    values[`:v${i}`] = v;
    return `#a${i} :v${i}`;
  });
  return { TableName: table, Key: d.key, UpdateExpression: `ADD ${parts.join(', ')}`, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

/**
 * Lambda's DynamoDB stream records do not name their shard; the shard whose sequence number range
 * holds a record's does. Shards are listed once per container and again when a record falls
 * outside every known range (a new shard after a split or the 4-hourly roll-over).
 */
export function streamShardResolver(client: DynamoDBStreamsClient, streamArn: string): (sequenceNumber: string) => Promise<string> {
  type Range = { id: string; start: string; end?: string };
  let shards: Range[] = [];
  const pad = (s: string) => s.padStart(40, '0');
  const find = (seq: string) => shards.find((s) => pad(s.start) <= pad(seq) && (s.end === undefined || pad(seq) <= pad(s.end)))?.id;
  const refresh = async () => {
    const all: Range[] = [];
    let start: string | undefined;
    do {
      const out = await client.send(new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: start }));
      for (const s of out.StreamDescription?.Shards ?? []) {
        if (s.ShardId && s.SequenceNumberRange?.StartingSequenceNumber) {
          all.push({ id: s.ShardId, start: s.SequenceNumberRange.StartingSequenceNumber, ...(s.SequenceNumberRange.EndingSequenceNumber && { end: s.SequenceNumberRange.EndingSequenceNumber }) });
        }
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
    shards = all;
  };
  return async (seq) => {
    let id = find(seq);
    if (!id) {
      await refresh();
      id = find(seq);
    }
    if (!id) throw new Error(`no shard of the stream holds sequence number ${seq}`);
    return id;
  };
}

