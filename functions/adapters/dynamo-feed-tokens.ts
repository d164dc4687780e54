/**
 * Feed tokens in the table: one item per token under one partition,
 *
 *   FEEDTOKEN  <id>   name, secretHash (SHA-256 hex), createdAt, expiresAt?, revokedAt?, createdBy?
 *
 * A deployment has a handful of consumers, so one partition holds them all and a listing is one
 * query. `expiresAt` is an ISO string: the table's TTL (same attribute name) only acts on numbers,
 * so an expired token stays listed, as a revoked one does, for the record of who could read what.
 * On AWS the metrics function may write only under this partition (dynamodb:LeadingKeys).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { FEED_TOKEN_ID_RE, type FeedTokenInfo, type FeedTokenRecord } from '#domain/feed-token';
import type { FeedTokenStore } from '#ports/ports';

export const FEED_TOKEN_PK = 'FEEDTOKEN';

const keyOf = (id: string) => ({ pk: FEED_TOKEN_PK, sk: id });

function infoOf(i: Record<string, unknown>): FeedTokenInfo {
  return {
    id: i.sk as string,
    name: i.name as string,
    createdAt: i.createdAt as string,
    ...(typeof i.expiresAt === 'string' && { expiresAt: i.expiresAt }),
    ...(typeof i.revokedAt === 'string' && { revokedAt: i.revokedAt }),
    ...(typeof i.createdBy === 'string' && { createdBy: i.createdBy }),
  };
}

export class DynamoFeedTokens implements FeedTokenStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(record: FeedTokenRecord): Promise<boolean> {
    const { id, ...rest } = record;
    try {
      await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...keyOf(id), ...rest }, ConditionExpression: 'attribute_not_exists(pk)' }));
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async get(id: string): Promise<FeedTokenRecord | undefined> {
    // Not a token id: no read (the caller answers as for an unknown one).
    if (!FEED_TOKEN_ID_RE.test(id)) return undefined;
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keyOf(id), ConsistentRead: true }));
    if (!out.Item) return undefined;
    return { ...infoOf(out.Item), secretHash: typeof out.Item.secretHash === 'string' ? out.Item.secretHash : '' };
  }

  async list(): Promise<FeedTokenInfo[]> {
    const out: FeedTokenInfo[] = [];
    // Every page (the SDK's paginator follows LastEvaluatedKey).
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': FEED_TOKEN_PK },
        // The hash is never read for a listing.
        ProjectionExpression: 'sk, #name, createdAt, expiresAt, revokedAt, createdBy',
        ExpressionAttributeNames: { '#name': 'name' },
      },
    );
    for await (const page of pages) out.push(...(page.Items ?? []).map(infoOf));
    return out;
  }

  async revoke(id: string, at: Date): ReturnType<FeedTokenStore['revoke']> {
    if (!FEED_TOKEN_ID_RE.test(id)) return { outcome: 'unknown' };
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keyOf(id),
          UpdateExpression: 'SET revokedAt = :at',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: { ':at': at.toISOString() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { outcome: 'revoked', token: infoOf(out.Attributes ?? {}) };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      // Either no such token or revoked before: the record says which.
      const current = await this.get(id);
      if (!current) return { outcome: 'unknown' };
      const { secretHash, ...token } = current;
      return { outcome: 'already-revoked', token };
    }
  }
}
