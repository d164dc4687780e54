/**
 * The local stand-in for Lambda's DynamoDB event source mapping: reads DynamoDB Local's stream
 * shard by shard (DescribeStream, GetShardIterator from TRIM_HORIZON, GetRecords), keeps only the
 * records the deployed filter lets through, and hands each shard's batch to the handler; a
 * reported failure is read again from the failed record. Starting from TRIM_HORIZON on every start
 * is safe: the handler's per-shard markers skip what was already counted.
 *
 * Idle, it polls every `intervalMs` and backs off to `maxIntervalMs` while the stream is empty.
 * One round at a time: `drain()`, `paused()` and the timer wait for each other.
 *
 * A record that keeps failing (a poison record) is given up after `maxAttempts`, as the deployed
 * mapping does after its retries: logged as an error, kept in `deadLetters` (served on `/local/dlq`,
 * the local stand-in for the mapping's on-failure queue) and skipped, so one bad record cannot stop
 * the metrics for good. `cultivate metrics rebuild` recovers what it missed.
 */
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { Logger } from '#ports/ports';

export type ShardBatchHandler = (shardId: string, records: StreamRecord[]) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

export interface StreamPollerOptions {
  intervalMs?: number;
  maxIntervalMs?: number;
  /** Attempts per record before it is given up (default: the deployed mapping's retries plus the first try). */
  maxAttempts?: number;
  /** The pipeline's clock, for the dead letters' time (as the local queues stamp theirs). */
  now?: () => Date;
}

/** What the on-failure destination of the deployed mapping would receive: where, not what (no item images). */
export interface StreamDeadLetter {
  queue: 'metrics-stream';
  at: string;
  error: string;
  message: { shardId: string; sequenceNumber: string; eventName?: string; sk?: string; attempts: number };
}

/** lib/metrics.ts METRICS_STREAM_RETRY_ATTEMPTS (10 retries) plus the first attempt. */
export const LOCAL_STREAM_MAX_ATTEMPTS = 11;

/** The deployed event source mapping's filter (lib/metrics.ts): relationship state items and timeline entries. */
export function passesMetricsFilter(record: StreamRecord): boolean {
  const sk = record.dynamodb?.Keys?.sk?.S;
  return sk === 'STATE' || (sk !== undefined && sk.startsWith('TL#'));
}

interface ShardCursor {
  iterator: string | undefined;
  lastSequence?: string;
  closed: boolean;
  /** The record that failed last and how often in a row. */
  failing?: { sequence: string; attempts: number };
}

const MAX_ROUNDS_PER_DRAIN = 1000;

export class StreamPoller {
  private readonly shards = new Map<string, ShardCursor>();
  private lock: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private interval: number;
  private stopped = false;
  readonly deadLetters: StreamDeadLetter[] = [];

  constructor(
    private readonly client: DynamoDBStreamsClient,
    private readonly streamArn: string,
    private readonly handle: ShardBatchHandler,
    private readonly logger: Logger,
    private readonly opts: StreamPollerOptions = {},
  ) {
    this.interval = opts.intervalMs ?? 1000;
  }

  start(): void {
    this.schedule();
  }

  /** Reads every shard until a whole round finds nothing new: the aggregates are then up to date. */
  drain(): Promise<void> {
    return this.exclusive(() => this.drainNow());
  }

  /** Runs `work` with the poller held (drained first), e.g. a rebuild that replaces the aggregates. */
  paused<T>(work: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.drainNow();
      return work();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.lock.catch(() => undefined);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.catch(() => undefined).then(work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.exclusive(() => this.round())
        .then((n) => {
          // Busy: poll again soon; empty: back off, so an idle stack costs next to nothing.
          this.interval = n > 0 ? (this.opts.intervalMs ?? 1000) : Math.min(this.interval * 2, this.opts.maxIntervalMs ?? 5000);
        })
        .catch((err: Error) => this.logger.warn('metrics stream poll failed; retrying', { error: err.name, message: err.message.slice(0, 200) }))
        .finally(() => this.schedule());
    }, this.interval);
    this.timer.unref();
  }

  private async drainNow(): Promise<void> {
    for (let i = 0; i < MAX_ROUNDS_PER_DRAIN && !this.stopped; i++) {
      if ((await this.round()) === 0) return;
    }
  }

  private async refreshShards(): Promise<void> {
    let start: string | undefined;
    do {
      const out = await this.client.send(new DescribeStreamCommand({ StreamArn: this.streamArn, ExclusiveStartShardId: start }));
      for (const s of out.StreamDescription?.Shards ?? []) {
        if (s.ShardId && !this.shards.has(s.ShardId)) this.shards.set(s.ShardId, { iterator: undefined, closed: false });
      }
      start = out.StreamDescription?.LastEvaluatedShardId;
    } while (start);
  }

  private async iteratorFor(shardId: string, cursor: ShardCursor): Promise<string | undefined> {
    if (cursor.iterator) return cursor.iterator;
    const out = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shardId,
        ...(cursor.lastSequence ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: cursor.lastSequence } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    cursor.iterator = out.ShardIterator;
    return cursor.iterator;
  }

  /** One GetRecords per open shard. Returns how many records it read (filtered out ones included). */
  private async round(): Promise<number> {
    if (this.stopped) return 0;
    await this.refreshShards();
    let read = 0;
    for (const [shardId, cursor] of this.shards) {
      if (cursor.closed) continue;
      const iterator = await this.iteratorFor(shardId, cursor);
      if (!iterator) {
        cursor.closed = true;
        continue;
      }
      let out;
      try {
        out = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
      } catch (err) {
        if (err instanceof ExpiredIteratorException) {
          cursor.iterator = undefined;
          continue;
        }
        throw err;
      }
      const records = out.Records ?? [];
      read += records.length;
      const wanted = records.filter(passesMetricsFilter);
      const { failed, error } = await this.handleBatch(shardId, wanted);
      if (failed) {
        const index = records.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
        const attempts = cursor.failing?.sequence === failed ? cursor.failing.attempts + 1 : 1;
        cursor.iterator = undefined;
        if (attempts >= (this.opts.maxAttempts ?? LOCAL_STREAM_MAX_ATTEMPTS)) {
          // Give the poison record up and go on after it; the records before it were counted.
          this.giveUp(shardId, records[index], failed, attempts, error);
          cursor.lastSequence = failed;
          cursor.failing = undefined;
          continue;
        }
        cursor.failing = { sequence: failed, attempts };
        // Read again from the failed record on, as Lambda retries a reported failure.
        const prev = index > 0 ? records[index - 1]?.dynamodb?.SequenceNumber : undefined;
        if (prev) cursor.lastSequence = prev;
        // Not progress: a drain ends here and the timer retries later, instead of spinning.
        read -= records.length;
        continue;
      }
      cursor.failing = undefined;
      const last = records[records.length - 1]?.dynamodb?.SequenceNumber;
      if (last) cursor.lastSequence = last;
      cursor.iterator = out.NextShardIterator;
      // A closed shard ends with no next iterator; its children appear in DescribeStream.
      if (!out.NextShardIterator) cursor.closed = true;
    }
    return read;
  }

  /**
   * The handler's verdict on one shard batch: the first failed record. A handler that throws
   * fails the whole batch, from its first record on (as a Lambda error does).
   */
  private async handleBatch(shardId: string, wanted: StreamRecord[]): Promise<{ failed?: string; error: string }> {
    if (wanted.length === 0) return { error: '' };
    try {
      const failed = (await this.handle(shardId, wanted)).batchItemFailures[0]?.itemIdentifier;
      return failed ? { failed, error: 'reported as a batch item failure' } : { error: '' };
    } catch (err) {
      const first = wanted[0]?.dynamodb?.SequenceNumber;
      this.logger.warn('metrics stream batch failed; it is read again', { shardId, error: (err as Error).name, message: (err as Error).message.slice(0, 200) });
      return { ...(first && { failed: first }), error: `${(err as Error).name}: ${(err as Error).message.slice(0, 200)}` };
    }
  }

  private giveUp(shardId: string, record: StreamRecord | undefined, sequenceNumber: string, attempts: number, error: string): void {
    const letter: StreamDeadLetter = {
      queue: 'metrics-stream',
      at: (this.opts.now?.() ?? new Date()).toISOString(),
      error,
      message: {
        shardId,
        sequenceNumber,
        attempts,
        ...(record?.eventName && { eventName: record.eventName }),
        ...(record?.dynamodb?.Keys?.sk?.S && { sk: record.dynamodb.Keys.sk.S }),
      },
    };
    this.deadLetters.push(letter);
    this.logger.error('metrics stream record given up after its retries; `cultivate metrics rebuild` recovers it', { ...letter.message, error });
  }
}
