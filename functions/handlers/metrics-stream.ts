/**
 * The table's stream -> metric aggregates. Per batch: parse the records, read what the facts need
 * (profiles of relationships whose state is not in the batch, tasks that completions refer to,
 * guard keys), derive facts and deltas, and store them per shard with the sequence marker.
 * Infrastructure failures answer `batchItemFailures` from the shard's first record: the marker
 * makes the redelivery count only what was not counted. A record that cannot be read is logged
 * (ids only) and passed: retrying it would never succeed and would hold the shard.
 */
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { _Record as StreamsApiRecord } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord as LambdaRecord } from 'aws-lambda';
import { z } from 'zod';
import type { ApplyReport, DynamoMetricsStore, Unit } from '#adapters/dynamo-metrics';
import { deltasOf } from '#domain/metrics/deltas';
import { factsOf, type FactContext, type Image, recordKind, relationshipIdOf, stateOf } from '#domain/metrics/facts';
import { GuardLedger, guardKeys } from '#domain/metrics/guards';
import { profileOf, type MetricsState } from '#domain/metrics/profile';
import { rebuildAggregates, type RebuildContext, type Rebuilt } from '#domain/metrics/rebuild';
import type { Fact, TaskInfo } from '#domain/metrics/types';
import type { AutoPauseStore, Logger } from '#ports/ports';
import type { CultivateConfig } from '#config/load';
import type { MetricsConfig } from '#config/metrics';
import { trackFor, trackOfState } from '#domain/cadence';
import { type AutoPause, judge, type RateCounters, rateDelta, sinceResume } from '#domain/auto-pause';

/** A record as Lambda delivers it, or as the Streams API returns it (the local runtime). */
export type DynamoDBRecord = LambdaRecord | StreamsApiRecord;
export interface StreamEvent {
  Records: readonly DynamoDBRecord[];
}

export type MetricsStore = Pick<DynamoMetricsStore, 'apply' | 'guardsPresent' | 'states' | 'taskOf'>;

export interface MetricsStreamDeps {
  store: MetricsStore;
  context: RebuildContext;
  /** The shard a record belongs to (Lambda's records do not say: `streamShardResolver`). */
  shardOf: (record: DynamoDBRecord) => Promise<string>;
  logger: Logger;
  clock: { now(): Date };
  /** Content items and tracks that pause themselves (cadence.yaml `autoPause`). Absent: nothing is counted for it. */
  autoPause?: AutoPauseDeps;
}

export interface AutoPauseDeps {
  /**
   * The rules in force when a batch is counted: `cadence.autoPause` (absent: off) and the tracks
   * (a touch counts under the track the planner would put the person on now, `trackOfState`).
   */
  rules(): CultivateConfig | Promise<CultivateConfig>;
  store: AutoPauseStore;
  /** After a subject paused itself (the local stack makes its planner see it at once). */
  onPaused?(pause: AutoPause): Promise<void> | void;
}

/** The fact context from the validated config: tracks from cadence.yaml, series (topics) from content.yaml. */
export function metricsContext(config: CultivateConfig, metrics: MetricsConfig): RebuildContext {
  const topics = new Map(config.content.items.map((i) => [i.id, i.topic]));
  return {
    holdout: metrics.holdout,
    trackOf: (subject) => trackFor(config, subject)?.id ?? 'none',
    seriesOf: (id) => (id === undefined ? 'none' : (topics.get(id) ?? 'unknown')),
    onTimeGraceHours: metrics.taskOnTimeGraceHours,
  };
}

const attributeMap = z.record(z.string(), z.any());
const StreamRecord = z
  .object({
    eventName: z.enum(['INSERT', 'MODIFY', 'REMOVE']),
    dynamodb: z
      .object({
        SequenceNumber: z.string().regex(/^\d{1,40}$/, 'SequenceNumber must be a decimal stream sequence number'),
        // Lambda sends seconds; the Streams API through the SDK (the local runtime) gives a Date.
        ApproximateCreationDateTime: z.union([z.number(), z.date()]).optional(),
        NewImage: attributeMap.optional(),
        OldImage: attributeMap.optional(),
      })
      .loose(),
  })
  .loose();

interface Parsed {
  seq: string;
  at: string;
  oldImage?: Image;
  newImage?: Image;
}

function parse(record: DynamoDBRecord, now: Date): Parsed | { error: string } {
  const r = StreamRecord.safeParse(record);
  if (!r.success) return { error: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const d = r.data.dynamodb;
  const t = d.ApproximateCreationDateTime;
  const at = t === undefined ? now : t instanceof Date ? t : new Date(t < 1e11 ? t * 1000 : t);
  return {
    seq: d.SequenceNumber,
    at: at.toISOString(),
    ...(d.OldImage && { oldImage: unmarshall(d.OldImage) as Image }),
    ...(d.NewImage && { newImage: unmarshall(d.NewImage) as Image }),
  };
}

export interface StreamBatchReport extends DynamoDBBatchResponse {
  reports: Record<string, ApplyReport>;
}

export async function handleMetricsStream(deps: MetricsStreamDeps, event: StreamEvent): Promise<StreamBatchReport> {
  const now = deps.clock.now();
  const byShard = new Map<string, { record: DynamoDBRecord; parsed: Parsed | { error: string } }[]>();
  const failures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    const seq = record.dynamodb?.SequenceNumber ?? '';
    let shard: string;
    try {
      shard = await deps.shardOf(record);
    } catch (err) {
      deps.logger.error('metrics: shard of a stream record unknown', { sequenceNumber: seq, error: (err as Error).name });
      failures.push({ itemIdentifier: seq });
      // Everything after it in the batch is retried with it.
      break;
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), { record, parsed: parse(record, now) }]);
  }
  const reports: Record<string, ApplyReport> = {};
  for (const [shard, records] of byShard) {
    try {
      reports[shard] = await applyShard(deps, shard, records.map((r) => r.parsed), now);
    } catch (err) {
      deps.logger.error('metrics: batch not stored; the stream retries it', { shard, records: records.length, error: (err as Error).name, message: (err as Error).message.slice(0, 200) });
      failures.push({ itemIdentifier: records[0]?.record.dynamodb?.SequenceNumber ?? '' });
    }
  }
  return { batchItemFailures: failures, reports };
}

async function applyShard(deps: MetricsStreamDeps, shard: string, records: (Parsed | { error: string })[], now: Date): Promise<ApplyReport> {
  const ok: Parsed[] = [];
  for (const r of records) {
    if ('error' in r) deps.logger.warn('metrics: stream record not readable, passed', { shard, problem: r.error.slice(0, 200) });
    else ok.push(r);
  }
  // What the timeline records need and the batch does not hold: read once for the whole batch.
  const latest = new Map<string, MetricsState>();
  const missingStates = new Set<string>();
  const batchTasks = new Map<string, TaskInfo>();
  const taskLookups: { rel: string; touchId: string }[] = [];
  for (const r of ok) {
    const kind = recordKind(r.newImage ?? r.oldImage);
    const image = r.newImage ?? r.oldImage;
    if (!image) continue;
    const rel = relationshipIdOf(image);
    if (kind === 'state' && r.newImage) latest.set(rel, stateOf(r.newImage));
    if (kind === 'timeline' && r.newImage && !r.oldImage) {
      if (!latest.has(rel)) missingStates.add(rel);
      const e = r.newImage.e as { type: string; at: string; detail?: Record<string, unknown> };
      const touchId = typeof e.detail?.touchId === 'string' ? e.detail.touchId : undefined;
      if (e.type === 'task-assigned' && touchId) batchTasks.set(touchId, { dueAt: String(e.detail?.dueAt ?? e.at), kind: String(e.detail?.kind ?? 'unknown') });
      if (e.type === 'touch-completed' && touchId && !batchTasks.has(touchId)) taskLookups.push({ rel, touchId });
    }
  }
  const stored = missingStates.size > 0 ? await deps.store.states([...missingStates]) : new Map<string, MetricsState>();
  const found = new Map<string, TaskInfo>();
  for (const { rel, touchId } of taskLookups) {
    const t = await deps.store.taskOf(rel, touchId);
    if (t) found.set(touchId, t);
  }

  // Facts in stream order, each timeline record read with the state that preceded it.
  const current = new Map<string, MetricsState>(stored);
  const perRecord: { seq: string; facts: Fact[]; state?: MetricsState }[] = [];
  for (const r of ok) {
    const image = r.newImage ?? r.oldImage;
    const kind = recordKind(image);
    const ctx: FactContext = { ...deps.context, at: r.at };
    if (kind === 'state' && r.newImage) current.set(relationshipIdOf(r.newImage), stateOf(r.newImage));
    let state: MetricsState | undefined;
    if (kind === 'timeline' && image) {
      state = current.get(relationshipIdOf(image));
      if (state) ctx.profile = profileOf(state, deps.context.holdout);
      const e = image.e as { type: string; detail?: Record<string, unknown> };
      const touchId = typeof e.detail?.touchId === 'string' ? e.detail.touchId : undefined;
      const task = e.type === 'touch-completed' && touchId ? (batchTasks.get(touchId) ?? found.get(touchId)) : undefined;
      if (task) ctx.task = task;
    }
    perRecord.push({ seq: r.seq, facts: factsOf(r.oldImage, r.newImage, ctx), ...(state && { state }) });
  }

  const all = perRecord.flatMap((p) => p.facts);
  const wanted = guardKeys(all);
  const ledger = new GuardLedger(wanted.length > 0 ? await deps.store.guardsPresent(wanted) : []);
  const rules = deps.autoPause && (await deps.autoPause.rules());
  const autoPause = rules?.cadence.autoPause;
  // (track, content) pairs that got an unsubscribe or complaint in this batch: judged once stored.
  const toJudge = new Map<string, { trackId: string; contentId: string }>();
  const units: Unit[] = perRecord.map((p) => {
    const before = ledger.recorded.length;
    const counted = p.facts.filter((f) => ledger.admit(f));
    const deltas = counted.flatMap(deltasOf);
    // Auto-pause counters, in the same transaction: a redelivered batch counts them once too.
    const trackId = rules && autoPause && p.state ? trackOfState(rules, p.state)?.id : undefined;
    if (trackId !== undefined) {
      for (const f of counted) {
        if (!f.rate) continue;
        deltas.push(rateDelta(trackId, f.rate.contentId, f.rate.counter));
        if (f.rate.counter !== 'sent') toJudge.set(`${trackId}\u0000${f.rate.contentId}`, { trackId, contentId: f.rate.contentId });
      }
    }
    return { sequenceNumber: p.seq, deltas, guards: ledger.recorded.slice(before) };
  });
  const report = await deps.store.apply(shard, units, now);
  deps.logger.info('metrics batch stored', { shard, records: records.length, ...report, stateReads: missingStates.size, taskReads: taskLookups.length, ...(toJudge.size > 0 && { judged: toJudge.size }) });
  // Judged after the counts are stored, also when this delivery found them counted already (a
  // redelivery after a failed judgement): judging again changes nothing that was recorded.
  if (deps.autoPause && rules && autoPause) {
    const trackIds = rules.cadence.tracks.map((t) => t.id);
    for (const { trackId, contentId } of toJudge.values()) await judgeAndPause(deps.autoPause, deps.logger, autoPause, trackIds, trackId, contentId, now);
  }
  return report;
}

/** Reads the content item's and the track's counters and records a pause for each that crossed a threshold. */
async function judgeAndPause(
  deps: AutoPauseDeps,
  logger: Logger,
  settings: NonNullable<CultivateConfig['cadence']['autoPause']>,
  trackIds: readonly string[],
  trackId: string,
  contentId: string,
  now: Date,
): Promise<void> {
  const reading = await deps.store.read(contentId, trackId, trackIds);
  const subjects = [
    { kind: 'content' as const, id: contentId, ...reading.content },
    { kind: 'track' as const, id: trackId, ...reading.track },
  ];
  for (const s of subjects) {
    if (s.paused) continue;
    const counts: RateCounters = sinceResume(s.total, s.baseline);
    const verdict = judge(counts, settings, s.baseline?.since);
    if (!verdict.pause) continue;
    const subject = s.kind === 'content' ? `Content ${s.id}` : `Track ${s.id}`;
    const pause: AutoPause = {
      kind: s.kind,
      id: s.id,
      pausedAt: now.toISOString(),
      reason: `${subject} paused itself: ${verdict.reason}`,
      counts,
      ...(s.baseline && { since: s.baseline.since }),
      crossed: verdict.crossed,
    };
    if (!(await deps.store.pause(pause))) continue;
    // Ids and numbers only: the alarm's metric filter matches `metric`.
    logger.warn('auto-paused', { metric: 'AutoPaused', kind: s.kind, id: s.id, sent: counts.sent, unsubscribed: counts.unsubscribed, complained: counts.complained, crossed: verdict.crossed.join(','), ...(s.baseline && { since: s.baseline.since }) });
    await deps.onPaused?.(pause);
  }
}

export interface RebuildReport extends Omit<Rebuilt, 'deltas' | 'guards'> {
  aggregates: number;
  guards: number;
  deleted?: number;
}

/**
 * Recomputes every aggregate from the relationship items and timelines (one scan). With
 * `write: false` it only computes (to compare with the live aggregates); with `write: true` it
 * replaces them. Pause the stream's event source mapping while it writes.
 */
export async function rebuildMetrics(
  store: Pick<DynamoMetricsStore, 'relationships' | 'replaceAll'>,
  context: RebuildContext,
  opts: { write: boolean },
): Promise<{ report: RebuildReport; rebuilt: Rebuilt }> {
  const rebuilt = await rebuildAggregates(store.relationships(), context);
  const report: RebuildReport = { relationships: rebuilt.relationships, entries: rebuilt.entries, aggregates: rebuilt.deltas.length, guards: rebuilt.guards.length };
  if (opts.write) report.deleted = (await store.replaceAll(rebuilt.deltas, rebuilt.guards)).deleted;
  return { report, rebuilt };
}
