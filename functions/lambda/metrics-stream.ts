/**
 * The table's stream (event source mapping: one reader per shard, filtered to relationship items)
 * -> metric aggregates. Partial batch failures are reported; the per-shard marker makes the
 * redelivery count only what was not counted yet. With the counts, the auto-pause counters and
 * judgement (cadence.yaml `autoPause`), with the rules in force (AppConfig, cached).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { DynamoAutoPause } from '#adapters/dynamo-auto-pause';
import { DynamoMetricsStore, streamShardResolver } from '#adapters/dynamo-metrics';
import { documentClient } from '#adapters/dynamo-store';
import { loadConfig } from '#config/load';
import { loadMetricsConfig } from '#config/metrics';
import { type DynamoDBRecord, handleMetricsStream, type MetricsStreamDeps, metricsContext } from '#handlers/metrics-stream';
import { rulesConfigInForce } from './config.ts';
import { clock, dynamo, env, logger } from './runtime.ts';

const dir = process.env.CULTIVATE_CONFIG_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'config');
const streams = new DynamoDBStreamsClient({});
// One resolver (and its cached shard ranges) per stream: a table's stream ARN changes if the stream is re-enabled.
const resolvers = new Map<string, (sequenceNumber: string) => Promise<string>>();
function resolverFor(arn: string) {
  let r = resolvers.get(arn);
  if (!r) {
    r = streamShardResolver(streams, arn);
    resolvers.set(arn, r);
  }
  return r;
}

const doc = documentClient(dynamo());
const deps: MetricsStreamDeps = {
  store: new DynamoMetricsStore(doc, env('TABLE_NAME')),
  context: metricsContext(loadConfig(dir), loadMetricsConfig(dir)),
  shardOf: (record: DynamoDBRecord) => {
    const arn = 'eventSourceARN' in record ? record.eventSourceARN : undefined;
    const seq = record.dynamodb?.SequenceNumber;
    if (!arn || !seq) return Promise.reject(new Error('stream record without eventSourceARN or SequenceNumber'));
    return resolverFor(arn)(seq);
  },
  logger,
  clock,
  autoPause: { rules: rulesConfigInForce, store: new DynamoAutoPause(doc, env('TABLE_NAME')) },
};

export const handler = async (event: DynamoDBStreamEvent) => {
  const { batchItemFailures } = await handleMetricsStream(deps, event);
  return { batchItemFailures };
};
