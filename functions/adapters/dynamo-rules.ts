/**
 * Published rules and the replan job in the single table (the local stack; on AWS the versions
 * live in AppConfig and only the job item is here):
 *
 *   RULES  V#<000000000n>   one published version: its files' text, when, the note, the hash
 *   RULES  REPLAN           the replan job: the version it applies, its cursor, its counts
 *
 * Every write is conditional: the next version number is taken once (two publishers cannot both
 * win), the job item only moves to a newer version, and a replanned state is written only over
 * the item version it was decided from.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RelationshipState, TimelineEntry } from '#domain/types';
import type { PublishedRules, ReplanJob, ReplanJobs, ReplanWriter, RulesVersions } from '#ports/ports';
import { stateItem } from './dynamo-store.ts';
import { keys } from './table.ts';

const RULES_PK = 'RULES';
const versionKey = (version: number) => ({ pk: RULES_PK, sk: `V#${String(version).padStart(10, '0')}` });
const JOB_KEY = { pk: RULES_PK, sk: 'REPLAN' };

function rulesOf(item: Record<string, unknown>): PublishedRules {
  return {
    version: item.version as number,
    files: item.files as PublishedRules['files'],
    publishedAt: item.publishedAt as string,
    note: item.note as string,
    hash: item.hash as string,
    ...(typeof item.rollbackOf === 'number' && { rollbackOf: item.rollbackOf }),
  };
}

export class DynamoRulesVersions implements RulesVersions {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  // No rollout here: the version in force is simply the newest, so the in-force files are not needed.
  async publish(rules: Omit<PublishedRules, 'version'>, expectedCurrent: number): Promise<PublishedRules | 'conflict'> {
    const published: PublishedRules = { ...rules, version: expectedCurrent + 1 };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...versionKey(published.version), ...published },
          // The number is free only if nobody published it; a stale `expectedCurrent` loses here too,
          // since the version after it exists.
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return 'conflict';
      throw err;
    }
    return published;
  }

  async current(): Promise<PublishedRules | undefined> {
    return (await this.list(1))[0];
  }

  async get(version: number): Promise<PublishedRules | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: versionKey(version), ConsistentRead: true }));
    return out.Item ? rulesOf(out.Item) : undefined;
  }

  async list(limit: number): Promise<PublishedRules[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': RULES_PK, ':v': 'V#' },
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map(rulesOf);
  }
}

export class DynamoReplanJobs implements ReplanJobs {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async start(job: ReplanJob): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...JOB_KEY, ...job },
          ConditionExpression: 'attribute_not_exists(pk) OR rulesVersion < :v',
          ExpressionAttributeValues: { ':v': job.rulesVersion },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async get(): Promise<ReplanJob | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: JOB_KEY, ConsistentRead: true }));
    if (!out.Item) return undefined;
    const { pk: _pk, sk: _sk, ...job } = out.Item;
    return job as ReplanJob;
  }

  async checkpoint(rulesVersion: number, update: Parameters<ReplanJobs['checkpoint']>[1]): Promise<boolean> {
    // Every attribute by name: `cursor` and `status` are DynamoDB reserved words.
    const fields: Record<string, unknown> = { status: update.status, pages: update.pages, counts: update.counts, updatedAt: update.updatedAt, cursor: update.cursor, finishedAt: update.finishedAt, error: update.error };
    const given = Object.entries(fields).filter(([, v]) => v !== undefined);
    const values: Record<string, unknown> = { ':v': rulesVersion, ...Object.fromEntries(given.map(([k, v]) => [`:${k}`, v])) };
    // No cursor: the next page starts from the beginning (or there is none), so none is kept.
    const remove = update.cursor === undefined ? ' REMOVE #cursor' : '';
    const names = Object.fromEntries([...given.map(([k]) => k), ...(remove ? ['cursor'] : [])].map((k) => [`#${k}`, k]));
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: JOB_KEY,
          UpdateExpression: `SET ${given.map(([k]) => `#${k} = :${k}`).join(', ')}${remove}`,
          ConditionExpression: 'rulesVersion = :v',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}

/** The replanned state item and its timeline entry in one transaction, conditional on the state read. */
export class DynamoReplanWriter implements ReplanWriter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async saveReplanned(state: RelationshipState, expectedVersion: number, entry: TimelineEntry): Promise<'saved' | 'conflict'> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: stateItem({ ...state, version: expectedVersion + 1 }),
                // The item version is enough: every write of a state (a handler's, another job's)
                // moves it, so the plan and rules versions the decision read are still the stored ones.
                ConditionExpression: 'v = :v',
                ExpressionAttributeValues: { ':v': expectedVersion },
              },
            },
            { Put: { TableName: this.table, Item: { ...keys.timeline(state.id, entry.at, entry.eventId), e: entry } } },
          ],
        }),
      );
      return 'saved';
    } catch (err) {
      if (err instanceof TransactionCanceledException && err.CancellationReasons?.some((r) => r.Code === 'ConditionalCheckFailed')) return 'conflict';
      throw err;
    }
  }
}
