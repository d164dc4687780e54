/**
 * The metrics aggregates (docs/metrics.md): the table's stream, filtered to relationship items,
 * read by one function per shard (the per-shard sequence markers assume one reader), partial batch
 * failures reported and bisected, and a batch that still fails after the retries recorded in an
 * encrypted, SSL-only on-failure queue (`cultivate metrics rebuild` recovers what it missed).
 */
import { CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { copyConfigHooks, CultivateFunction, lambdaEntry } from './cultivate-function.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';

/** Relationship state items and timeline entries: the only records the metrics read (the handler's own writes stay out). */
export const METRICS_STREAM_FILTER = { dynamodb: { Keys: { sk: { S: ['STATE', { prefix: 'TL#' }] } } } } as const;
export const METRICS_STREAM_BATCH_SIZE = 100;
export const METRICS_STREAM_RETRY_ATTEMPTS = 10;
/** Records older than this are not retried (the stream keeps 24 hours); the rebuild recovers them. */
export const METRICS_STREAM_MAX_RECORD_AGE = Duration.hours(24);
export const METRICS_STREAM_TIMEOUT = Duration.seconds(60);

/** The handler's table actions: reads for profiles, tasks, guards and markers; TransactWriteItems is authorized per action (Put, Update). */
export const METRICS_STREAM_TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

export interface MetricsProps {
  /** The single table; its stream must carry NEW_AND_OLD_IMAGES. */
  readonly table: dynamodb.ITableV2;
}

export class CultivateMetrics extends Construct {
  public readonly streamFunction: CultivateFunction;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly eventSource: DynamoEventSource;

  constructor(scope: Construct, id: string, props: MetricsProps) {
    super(scope, id);

    this.deadLetterQueue = deadLetterQueue(this, 'StreamDlq', 'the metrics stream mapping (its on-failure destination)');

    this.streamFunction = new CultivateFunction(this, 'MetricsStream', {
      entry: lambdaEntry('metrics-stream'),
      description: 'Cultivate: count the table stream into metric aggregates (idempotent per shard and sequence number)',
      timeout: METRICS_STREAM_TIMEOUT,
      // config/ travels with it (tracks and content series name the dimensions); no pipeline() here.
      bundling: { commandHooks: copyConfigHooks },
    });
    props.table.grant(this.streamFunction, ...METRICS_STREAM_TABLE_ACTIONS);
    this.streamFunction.addEnvironment('TABLE_NAME', props.table.tableName);
    const cfnTable = props.table.node.defaultChild;
    if (cfnTable instanceof CfnElement && this.streamFunction.role) {
      Validations.of(this.streamFunction.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(cfnTable).getLogicalId(cfnTable)}.Arn>/index/*]`,
        reason: `Table grants cover ${props.table.node.id}'s own secondary indexes only (the five data-plane actions listed, no action wildcard).`,
      });
    }

    // Binding grants the stream reads (DescribeStream, which the shard resolver also uses, GetRecords, GetShardIterator, ListStreams).
    this.eventSource = new DynamoEventSource(props.table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: METRICS_STREAM_BATCH_SIZE,
      maxBatchingWindow: Duration.seconds(5),
      // The per-shard markers assume one reader per shard.
      parallelizationFactor: 1,
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: METRICS_STREAM_RETRY_ATTEMPTS,
      maxRecordAge: METRICS_STREAM_MAX_RECORD_AGE,
      onFailure: new SqsDlq(this.deadLetterQueue),
      filters: [lambda.FilterCriteria.filter(METRICS_STREAM_FILTER as unknown as Record<string, unknown>)],
    });
    this.streamFunction.addEventSource(this.eventSource);
  }
}
