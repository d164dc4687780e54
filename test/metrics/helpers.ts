/** Test helpers: a table's worth of stream records, built by hand, and an in-memory metrics store. */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { ApplyReport, Unit } from '#adapters/dynamo-metrics';
import { position } from '#adapters/dynamo-metrics';
import { keyString, mergeDeltas } from '#domain/metrics/deltas';
import type { MetricsState } from '#domain/metrics/profile';
import type { RebuildContext } from '#domain/metrics/rebuild';
import type { AggregateReader } from '#domain/metrics/report';
import type { ItemKey, TaskInfo } from '#domain/metrics/types';
import { newRelationship } from '#domain/relationship';
import type { Stage, TimelineEntry } from '#domain/types';
import type { MetricsConfig } from '#config/metrics';
import type { MetricsStore } from '#handlers/metrics-stream';

export const metricsConfig: MetricsConfig = {
  holdout: { percent: 10, salt: 'test-salt-2026' },
  costPerTouch: { currency: 'USD', email: 0.002, task: 12.5 },
  power: { minimumDetectableLift: 0.05, alpha: 0.05, power: 0.8 },
  reviewThresholds: { bounceRate: 0.05, complaintRate: 0.001, alarmAt: 0.5 },
  taskOnTimeGraceHours: 24,
};

const SERIES: Record<string, string> = { 'stale-deal-audit': 'pipeline-hygiene', 'exit-criteria-template': 'pipeline-hygiene', 'forecast-categories': 'forecasting' };

export const context: RebuildContext = {
  holdout: metricsConfig.holdout,
  trackOf: ({ lostReason: reason }) => (reason === 'unresponsive' || reason === 'bad-fit' ? 'light' : 'standard'),
  seriesOf: (id) => (id ? (SERIES[id] ?? 'other') : 'none'),
  onTimeGraceHours: metricsConfig.taskOnTimeGraceHours,
};

type Img = Record<string, unknown>;

/** Builds the stream a table would produce: state writes and timeline inserts, in order. */
export class StreamSim {
  readonly records: DynamoDBRecord[] = [];
  readonly states = new Map<string, MetricsState>();
  readonly timelines = new Map<string, Img[]>();
  /** The states as they stood once each record was written (what a read at processing time finds). */
  readonly snapshots: Map<string, MetricsState>[] = [];
  private seq = 1000;

  private push(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', at: string, oldImage?: Img, newImage?: Img) {
    this.seq += 10;
    this.records.push({
      eventName,
      eventSourceARN: 'arn:aws:dynamodb:us-east-1:000000000000:table/cultivate/stream/2026-01-01T00:00:00.000',
      dynamodb: {
        SequenceNumber: String(this.seq),
        ApproximateCreationDateTime: Date.parse(at) / 1000,
        ...(oldImage && { OldImage: marshall(oldImage, { removeUndefinedValues: true }) as never }),
        ...(newImage && { NewImage: marshall(newImage, { removeUndefinedValues: true }) as never }),
      },
    });
    this.snapshots.push(new Map(this.states));
  }

  private stateImage(s: MetricsState): Img {
    const { version, ...rest } = s;
    return { pk: `REL#${s.id}`, sk: 'STATE', v: version, s: rest };
  }

  save(s: MetricsState, at: string) {
    const old = this.states.get(s.id);
    const next = { ...s, version: (old?.version ?? 0) + 1, updatedAt: at };
    this.states.set(s.id, next);
    this.push(old ? 'MODIFY' : 'INSERT', at, old && this.stateImage(old), this.stateImage(next));
  }

  entry(id: string, e: TimelineEntry) {
    const image = { pk: `REL#${id}`, sk: `TL#${e.at}#${e.eventId}`, e };
    this.timelines.set(id, [...(this.timelines.get(id) ?? []), image]);
    this.push('INSERT', e.at, undefined, image);
  }

  /** A lost deal: the state moves to nurturing, then its timeline entry. */
  lose(id: string, at: string, opts: { reason?: string; group?: 'nurtured' | 'holdout'; email?: string; accountId?: string; owner?: string; role?: string }) {
    const base = this.states.get(id) ?? newRelationship(id, at);
    this.save(
      {
        ...base,
        stage: 'nurturing',
        stageChangedAt: at,
        accountId: opts.accountId ?? `${id}.example`,
        owner: opts.owner ?? 'sam@seller.example',
        contact: { email: opts.email ?? `${id}@company.example`, role: (opts.role ?? 'champion') as never },
        nurture: { lostReason: (opts.reason ?? 'timing') as never, lostAt: at },
        ...(opts.group && { holdout: { group: opts.group, percent: metricsConfig.holdout.percent, assignedAt: at } }),
      },
      at,
    );
    this.entry(id, { at, eventId: `crm:lost-${id}-${at}`, type: 'lead-closed-lost', summary: `Closed lost: ${opts.reason ?? 'timing'}`, detail: { reason: opts.reason ?? 'timing' } });
  }

  stage(id: string, stage: Stage, at: string, entry?: Omit<TimelineEntry, 'at'>) {
    const s = this.states.get(id) as MetricsState;
    this.save({ ...s, stage, stageChangedAt: at }, at);
    if (entry) this.entry(id, { at, ...entry });
  }

  /** An e-mail sent: the history first (the state is saved before its timeline entry). */
  email(id: string, at: string, contentId: string, touch: string) {
    const s = this.states.get(id) as MetricsState;
    this.save({ ...s, history: { ...s.history, emailsSent: s.history.emailsSent + 1, sentContent: [...s.history.sentContent, contentId] } }, at);
    this.entry(id, { at, eventId: `touch:${touch}`, type: 'email-sent', summary: 'E-mail sent', detail: { touchId: `${id}.${touch}`, kind: 'value-email', channel: 'email', dueAt: at, rule: 'test', messageId: `m-${id}-${touch}`, contentId } });
  }

  erase(id: string, at: string) {
    const old = this.states.get(id) as MetricsState;
    this.states.delete(id);
    this.timelines.delete(id);
    this.push('REMOVE', at, this.stateImage(old));
  }

  /** Final states and timelines, as a scan would find them. */
  relationships() {
    return [...this.states.values()].map((state) => ({ state, timeline: this.timelines.get(state.id) ?? [] }));
  }
}

/** The DynamoDB metrics store's semantics in memory: ADD, markers per shard, guard items. */
export class MemoryMetricsStore implements MetricsStore, AggregateReader {
  readonly items = new Map<string, Record<string, number>>();
  readonly markers = new Map<string, string>();
  readonly guards = new Set<string>();
  partitionReads = 0;
  /** Index of the last record delivered: state reads see the table as it was then (default: the end). */
  cursor: number | undefined;

  constructor(private readonly sim: StreamSim) {}

  async apply(shard: string, units: readonly Unit[]): Promise<ApplyReport> {
    const marker = this.markers.get(shard);
    let applied = 0;
    let skipped = 0;
    for (const u of units) {
      const pos = position(u.sequenceNumber);
      if (marker !== undefined && pos <= marker) {
        skipped++;
        continue;
      }
      for (const d of mergeDeltas(u.deltas)) {
        const cur = this.items.get(keyString(d.key)) ?? {};
        for (const [a, v] of Object.entries(d.add)) cur[a] = (cur[a] ?? 0) + v;
        this.items.set(keyString(d.key), cur);
      }
      for (const g of u.guards) this.guards.add(keyString(g));
      this.markers.set(shard, pos);
      applied++;
    }
    return { applied, skipped, transactions: 1, writes: 0 };
  }

  async guardsPresent(keys: readonly ItemKey[]): Promise<Set<string>> {
    return new Set(keys.map(keyString).filter((k) => this.guards.has(k)));
  }

  async states(ids: readonly string[]): Promise<Map<string, MetricsState>> {
    const states = this.cursor === undefined ? this.sim.states : (this.sim.snapshots[this.cursor] as Map<string, MetricsState>);
    return new Map(ids.flatMap((id) => (states.has(id) ? [[id, states.get(id) as MetricsState] as const] : [])));
  }

  async taskOf(rel: string, touchId: string): Promise<TaskInfo | undefined> {
    const e = (this.sim.timelines.get(rel) ?? []).map((i) => i.e as TimelineEntry).find((x) => x.type === 'task-assigned' && x.detail?.touchId === touchId);
    return e ? { dueAt: String(e.detail?.dueAt), kind: String(e.detail?.kind) } : undefined;
  }

  async partition(pk: string): Promise<Record<string, unknown>[]> {
    this.partitionReads++;
    return [...this.items].filter(([k]) => k.split('\u0000')[0] === pk).map(([k, v]) => ({ pk, sk: k.split('\u0000')[1], ...v }));
  }
}

/** Aggregates without zero-valued attributes (a gauge back at 0 equals no item). */
export function nonZero(items: Iterable<[string, Record<string, number>]>): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const [k, v] of items) {
    const kept = Object.fromEntries(Object.entries(v).filter(([, n]) => n !== 0));
    if (Object.keys(kept).length > 0) out.set(k, kept);
  }
  return out;
}

export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
