/**
 * Auto-pause in the single table (layout: functions/domain/auto-pause.ts). The counters are
 * written by the metrics stream's transaction (`RATE#<trackId>` / `<contentId>`); this adapter
 * reads them for the judge and for a resume, and keeps what paused itself under one partition
 * (`PAUSE`), so listing the pauses is one Query.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DeleteCommand, type DynamoDBDocumentClient, GetCommand, type NativeAttributeValue, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import {
  type AutoPause,
  type Baseline,
  baselineKey,
  PAUSE_PK,
  pauseKey,
  type PauseKind,
  pauseKinds,
  type PauseSet,
  pauseSetOf,
  ratePk,
  type RateCounters,
  rateKey,
  sumCounters,
} from '#domain/auto-pause';
import type { ItemKey } from '#domain/metrics/types';
import type { AutoPauseStore, RateReading } from '#ports/ports';

type Item = Record<string, NativeAttributeValue>;

const MAX_BATCH_ATTEMPTS = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const countersOf = (i: Item | undefined): RateCounters => ({ sent: num(i?.sent), unsubscribed: num(i?.unsubscribed), complained: num(i?.complained) });
const baselineOf = (i: Item | undefined): Baseline | undefined => (i ? { ...countersOf(i), since: String(i.since) } : undefined);
const keyOf = (k: ItemKey) => `${k.pk}\u0000${k.sk}`;

function pauseOf(i: Item): AutoPause | undefined {
  const kind = i.kind as PauseKind;
  if (!pauseKinds.includes(kind) || typeof i.id !== 'string') return undefined;
  return {
    kind,
    id: i.id,
    pausedAt: String(i.pausedAt),
    reason: String(i.reason ?? ''),
    counts: countersOf(i.counts as Item | undefined),
    ...(typeof i.since === 'string' && { since: i.since }),
    crossed: Array.isArray(i.crossed) ? (i.crossed as AutoPause['crossed']) : [],
  };
}

export class DynamoAutoPause implements AutoPauseStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private async batchGet(wanted: readonly ItemKey[]): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    const unique = [...new Map(wanted.map((k) => [keyOf(k), k])).values()];
    for (let i = 0; i < unique.length; i += 100) {
      let pending: ItemKey[] = unique.slice(i, i + 100);
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed`);
        if (attempt > 0) await sleep(Math.min(1000, 20 * 2 ** attempt));
        const out = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
        for (const item of out.Responses?.[this.table] ?? []) found.set(keyOf({ pk: String(item.pk), sk: String(item.sk) }), item);
        pending = (out.UnprocessedKeys?.[this.table]?.Keys ?? []) as ItemKey[];
      }
    }
    return found;
  }

  private async partition(pk: string): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const out = await this.doc.send(new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ConsistentRead: true, ExclusiveStartKey: start }));
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** One BatchGet (the item on each track, both baselines, both pause items) and one Query (the track's items). */
  async read(contentId: string, trackId: string, trackIds: readonly string[]): Promise<RateReading> {
    const tracks = [...new Set([...trackIds, trackId])];
    const contentKeys = tracks.map((t) => rateKey(t, contentId));
    const [got, trackItems] = await Promise.all([
      this.batchGet([...contentKeys, baselineKey('content', contentId), baselineKey('track', trackId), pauseKey('content', contentId), pauseKey('track', trackId)]),
      this.partition(ratePk(trackId)),
    ]);
    return {
      content: {
        total: sumCounters(contentKeys.map((k) => countersOf(got.get(keyOf(k))))),
        ...withBaseline(baselineOf(got.get(keyOf(baselineKey('content', contentId))))),
        paused: got.has(keyOf(pauseKey('content', contentId))),
      },
      track: {
        total: sumCounters(trackItems.map(countersOf)),
        ...withBaseline(baselineOf(got.get(keyOf(baselineKey('track', trackId))))),
        paused: got.has(keyOf(pauseKey('track', trackId))),
      },
    };
  }

  async pause(p: AutoPause): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...pauseKey(p.kind, p.id), kind: p.kind, id: p.id, pausedAt: p.pausedAt, reason: p.reason, counts: p.counts, crossed: p.crossed, ...(p.since && { since: p.since }) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async list(): Promise<Awaited<ReturnType<AutoPauseStore['list']>>> {
    const pauses: AutoPause[] = [];
    const resumed: ({ kind: PauseKind; id: string } & Baseline)[] = [];
    for (const item of await this.partition(PAUSE_PK)) {
      if (String(item.sk).startsWith('baseline#')) {
        const kind = item.kind as PauseKind;
        if (pauseKinds.includes(kind) && typeof item.id === 'string') resumed.push({ kind, id: item.id, ...(baselineOf(item) as Baseline) });
        continue;
      }
      const p = pauseOf(item);
      if (p) pauses.push(p);
    }
    const order = (a: { kind: string; id: string }, b: { kind: string; id: string }) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id);
    return { pauses: pauses.sort(order), resumed: resumed.sort(order) };
  }

  /**
   * The baseline is written before the pause is deleted: a crash in between leaves it paused (resume
   * again), never resumed without a baseline (which would judge it on its old numbers at once).
   */
  async resume(kind: PauseKind, id: string, trackIds: readonly string[], at: Date): Promise<Awaited<ReturnType<AutoPauseStore['resume']>>> {
    const found = await this.doc.send(new GetCommand({ TableName: this.table, Key: pauseKey(kind, id), ConsistentRead: true }));
    const pause = found.Item && pauseOf(found.Item);
    if (!pause) return { outcome: 'not-paused' };
    const total =
      kind === 'content'
        ? sumCounters([...(await this.batchGet(trackIds.map((t) => rateKey(t, id)))).values()].map(countersOf))
        : sumCounters((await this.partition(ratePk(id))).map(countersOf));
    const baseline: Baseline = { ...total, since: at.toISOString() };
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...baselineKey(kind, id), kind, id, ...baseline } }));
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: pauseKey(kind, id) }));
    return { outcome: 'resumed', pause, baseline };
  }

  /** The ids that paused themselves (for the planner and the sender). */
  async pauseSet(): Promise<PauseSet> {
    return pauseSetOf((await this.list()).pauses);
  }
}

const withBaseline = (b: Baseline | undefined) => (b ? { baseline: b } : {});

/**
 * The pause set, read at most once per `maxAgeMs` (the functions that plan or send: one Query a
 * minute per container, not one per touch).
 */
export function cachedPauseSet(read: () => Promise<PauseSet>, maxAgeMs: number, now: () => number = Date.now): () => Promise<PauseSet> {
  let cached: { at: number; set: PauseSet } | undefined;
  return async () => {
    const t = now();
    if (cached && t - cached.at < maxAgeMs) return cached.set;
    const set = await read();
    cached = { at: t, set };
    return set;
  };
}
