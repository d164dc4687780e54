/**
 * Quarantine in the table: one item per kept request or notification, under its UTC day, with the
 * raw bytes, the kind (how it replays) and why; expires after 14 days (it may hold personal data).
 * See docs/adr/0005 for why the table rather than S3: bodies are at most 256 KB (under the 400 KB
 * item limit), TTL is the lifecycle rule, and the same adapter runs on AWS and against DynamoDB Local.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Quarantine, QuarantinedItem, QuarantineEntry, QuarantineKind } from '#ports/ports';
import { TTL_ATTRIBUTE } from './table.ts';

export const QUARANTINE_TTL_SECONDS = 14 * 86_400;

const ID_RE = /^(\d{4}-\d{2}-\d{2})T[\d:.]+Z#[0-9a-f-]{36}$/;

function keyOf(id: string): { pk: string; sk: string } | undefined {
  const m = ID_RE.exec(id);
  return m ? { pk: `QUAR#${m[1]}`, sk: id } : undefined;
}

function itemOf(i: Record<string, unknown>): QuarantinedItem {
  const id = i.sk as string;
  return {
    id,
    source: i.source as string,
    kind: ((i.kind as QuarantineKind | undefined) ?? 'webhook'),
    reason: i.reason as string,
    paths: (i.paths as string[] | undefined) ?? [],
    receivedAt: id.split('#')[0] as string,
    ...(typeof i.portal === 'string' && { portal: i.portal }),
    ...(typeof i.replayedAt === 'string' && { replayedAt: i.replayedAt }),
    ...(typeof i.replayOutcome === 'string' && { replayOutcome: i.replayOutcome }),
  };
}

export class DynamoQuarantine implements Quarantine {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async keep(entry: QuarantineEntry): Promise<string> {
    const at = entry.receivedAt.toISOString();
    const id = `${at}#${crypto.randomUUID()}`;
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: `QUAR#${at.slice(0, 10)}`,
          sk: id,
          source: entry.source,
          kind: entry.kind ?? 'webhook',
          ...(entry.portal && { portal: entry.portal }),
          reason: entry.reason.slice(0, 1000),
          paths: entry.paths.slice(0, 50),
          body: entry.raw,
          [TTL_ATTRIBUTE]: Math.floor(entry.receivedAt.getTime() / 1000) + QUARANTINE_TTL_SECONDS,
        },
      }),
    );
    return id;
  }

  async list(day: string): Promise<QuarantinedItem[]> {
    const out: QuarantinedItem[] = [];
    // Every page (the SDK's paginator follows LastEvaluatedKey).
    const pages = paginateQuery(
      { client: this.doc },
      {
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `QUAR#${day}` },
        ProjectionExpression: 'sk, #src, kind, reason, paths, portal, replayedAt, replayOutcome',
        ExpressionAttributeNames: { '#src': 'source' },
      },
    );
    for await (const page of pages) out.push(...(page.Items ?? []).map(itemOf));
    return out;
  }

  async get(id: string): Promise<(QuarantinedItem & { raw: Uint8Array }) | undefined> {
    const key = keyOf(id);
    if (!key) return undefined;
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    if (!out.Item) return undefined;
    return { ...itemOf(out.Item), raw: out.Item.body as Uint8Array };
  }

  async markReplayed(id: string, outcome: string, at: Date): Promise<boolean> {
    const key = keyOf(id);
    if (!key) return false;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'SET replayedAt = :at, replayOutcome = :o',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(replayedAt)',
          ExpressionAttributeValues: { ':at': at.toISOString(), ':o': outcome.slice(0, 500) },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }
}
