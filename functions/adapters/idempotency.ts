/** Powertools idempotency for the side effects nothing else guards (one persistence layer per function). */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';

/** At least 48 hours (DESIGN.md §3): longer than any retry or redelivery window. */
export const IDEMPOTENCY_EXPIRY_SECONDS = 3 * 86_400;

export type Idempotent<T, R> = ((input: T) => Promise<R>) & {
  /**
   * Call at the start of every Lambda invocation: an "in progress" record then expires with the
   * invocation, so a timed-out attempt does not block its retries for days.
   */
  registerContext(context: Context): void;
};

export function idempotentOn<T extends { key: string }, R>(
  fn: (input: T) => Promise<R>,
  opts: {
    client: DynamoDBClient;
    tableName: string;
    /** Outside Lambda (the local stack): each call gets this long before its "in progress" record lapses. */
    outsideLambdaTimeoutMs?: number;
  },
): Idempotent<T, R> {
  const persistenceStore = new DynamoDBPersistenceLayer({ tableName: opts.tableName, awsSdkV3Client: opts.client });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', expiresAfterSeconds: IDEMPOTENCY_EXPIRY_SECONDS, throwOnNoIdempotencyKey: true });
  const wrapped = makeIdempotent(fn, { persistenceStore, config }) as (input: T) => Promise<R>;
  const timeout = opts.outsideLambdaTimeoutMs;
  const call =
    timeout === undefined
      ? wrapped
      : (input: T) => {
          // The same bound a Lambda's context gives: a crashed call's record lapses, its retry proceeds.
          const deadline = Date.now() + timeout;
          config.registerLambdaContext({ getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) } as Context);
          return wrapped(input);
        };
  return Object.assign(call, { registerContext: (context: Context) => config.registerLambdaContext(context) });
}
