/**
 * Wiring shared by the Lambda entry points: the real SDK clients (created once per container),
 * secrets from Secrets Manager through Powertools (cached), and the Powertools logger.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Logger } from '@aws-lambda-powertools/logger';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoInboxStore, DynamoRelationshipStore, documentClient } from '#adapters/dynamo-store';
import { EventBridgePublisher } from '#adapters/eventbridge-publisher';
import type { Clock, KeyedHasher } from '#ports/ports';
import { createKeyedHasher, secretValues } from '#shared/hmac';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cultivate' });
export const clock: Clock = { now: () => new Date() };

export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** Secrets are cached for five minutes: rotation reaches every container within that. */
const SECRET_MAX_AGE_SECONDS = 300;

/** A secret's text by ARN or name; `label` names it in the error (never its value). */
export async function secretText(arn: string, label: string): Promise<string> {
  const value = await getSecret(arn, { maxAge: SECRET_MAX_AGE_SECONDS });
  if (typeof value !== 'string' || value.length === 0) throw new Error(`secret ${label} is empty or binary`);
  return value;
}

/** The secret whose ARN is in environment variable `envName`. */
export const secret = (envName: string): Promise<string> => secretText(env(envName), envName);

export const secretList = async (envName: string) => secretValues(await secret(envName));

let hasherCache: { raw: string; hasher: KeyedHasher } | undefined;
export async function hasher(): Promise<KeyedHasher> {
  const raw = await secret('IDENTITY_KEY_SECRET_ARN');
  if (hasherCache?.raw !== raw) hasherCache = { raw, hasher: createKeyedHasher(raw) };
  return hasherCache.hasher;
}

let ddb: DynamoDBClient | undefined;
export function dynamo(): DynamoDBClient {
  ddb ??= new DynamoDBClient({});
  return ddb;
}

export function relationshipStore() {
  return new DynamoRelationshipStore(documentClient(dynamo()), env('TABLE_NAME'));
}

export function inboxStore() {
  return new DynamoInboxStore(documentClient(dynamo()), env('TABLE_NAME'), clock);
}

export function publisher() {
  return new EventBridgePublisher(new EventBridgeClient({}), env('EVENT_BUS_NAME'));
}
