/** Powertools idempotency for the side effects nothing else guards (one persistence layer per function). */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';

/** At least 48 hours (DESIGN.md §3): longer than any retry or redelivery window. */
export const IDEMPOTENCY_EXPIRY_SECONDS = 3 * 86_400;

export function idempotentOn<T extends { key: string }, R>(
  fn: (input: T) => Promise<R>,
  opts: { client: DynamoDBClient; tableName: string },
): (input: T) => Promise<R> {
  const persistenceStore = new DynamoDBPersistenceLayer({ tableName: opts.tableName, awsSdkV3Client: opts.client });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: IDEMPOTENCY_EXPIRY_SECONDS, throwOnNoIdempotencyKey: true });
  return makeIdempotent(fn, { persistenceStore, config }) as (input: T) => Promise<R>;
}
