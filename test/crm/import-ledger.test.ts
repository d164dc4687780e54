/**
 * The import ledger in the table (DynamoDB Local): what a re-run of `cultivate import` consults so
 * it publishes nothing twice, with more ids than one BatchGetItem (100) or BatchWriteItem (25) takes.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoImportLedger } from '#adapters/dynamo-import-ledger';
import { TTL_ATTRIBUTE } from '#adapters/table';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';

const db = withDynamoDbLocal('cultivate-import-ledger');

describe('DynamoImportLedger', () => {
  it('remembers what was imported, answers which of many ids it has seen, and lets each record expire', async () => {
    const ledger = new DynamoImportLedger(db.doc, db.table);
    const ids = Array.from({ length: 230 }, (_, i) => `hubspot:62515:import:${9000 + i}`);
    expect(await ledger.seen(ids)).toEqual(new Set());
    const expiresAt = new Date('2028-01-01T00:00:00Z');
    await ledger.remember(ids.slice(0, 130).map((id) => ({ id, expiresAt })));
    const seen = await ledger.seen([...ids, ids[0] as string]);
    expect(seen.size).toBe(130);
    expect(seen.has(ids[129] as string)).toBe(true);
    expect(seen.has(ids[130] as string)).toBe(false);
    const item = await db.doc.send(new GetCommand({ TableName: db.table, Key: { pk: `IMPORT#${ids[0]}`, sk: 'IMPORT' } }));
    expect(item.Item?.[TTL_ATTRIBUTE]).toBe(Math.floor(expiresAt.getTime() / 1000));
  });
});
