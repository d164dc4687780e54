/**
 * The mass-close gate's counter: closed-lost deals per CRM per fixed window, one item per window
 * (`MASS#<crm>` / `<window start>`), incremented atomically (ADD) and expiring after a day. A
 * redelivered notification counts again: the gate errs towards holding for review, never towards
 * flooding nurture.
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TTL_ATTRIBUTE } from './table.ts';

export interface MassCloseCounter {
  /** Adds one deal to the window containing `at`; returns the window's count after it. */
  count(crm: string, at: Date, windowMinutes: number): Promise<number>;
}

export class DynamoMassCloseCounter implements MassCloseCounter {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async count(crm: string, at: Date, windowMinutes: number): Promise<number> {
    const windowMs = windowMinutes * 60_000;
    const start = new Date(Math.floor(at.getTime() / windowMs) * windowMs).toISOString();
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: `MASS#${crm}`, sk: start },
        UpdateExpression: 'ADD deals :one SET #ttl = if_not_exists(#ttl, :ttl)',
        ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
        ExpressionAttributeValues: { ':one': 1, ':ttl': Math.floor(at.getTime() / 1000) + 86_400 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.deals ?? 1);
  }
}
