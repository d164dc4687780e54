/**
 * Quarantine in the table: one item per rejected authentic request, under its day, with the raw
 * bytes and why; expires after 14 days (it may hold personal data). Listed per day by a query.
 */
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Quarantine, QuarantineEntry } from '#ports/ports';
import { TTL_ATTRIBUTE } from './table.ts';

export const QUARANTINE_TTL_SECONDS = 14 * 86_400;

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
          reason: entry.reason,
          paths: entry.paths.slice(0, 50),
          body: entry.raw,
          [TTL_ATTRIBUTE]: Math.floor(entry.receivedAt.getTime() / 1000) + QUARANTINE_TTL_SECONDS,
        },
      }),
    );
    return id;
  }

  /** What was kept on a day (UTC YYYY-MM-DD), oldest first, without the bodies. */
  async list(day: string): Promise<{ id: string; source: string; reason: string; paths: string[] }[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `QUAR#${day}` },
        ProjectionExpression: 'sk, #src, reason, paths',
        ExpressionAttributeNames: { '#src': 'source' },
      }),
    );
    return (out.Items ?? []).map((i) => ({ id: i.sk as string, source: i.source as string, reason: i.reason as string, paths: (i.paths as string[]) ?? [] }));
  }
}
