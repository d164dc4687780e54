/** The import ledger in the table: which CRM deals `cultivate import` has published (nothing twice). */
import { BatchGetCommand, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ImportLedger } from '#crm/import';
import { batchWrite } from './dynamo-store.ts';
import { TTL_ATTRIBUTE } from './table.ts';

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The ledger in the table: `IMPORT#<notification id>` items, expiring once their deal is past the age limit. */
export class DynamoImportLedger implements ImportLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  private static key(id: string) {
    return { pk: `IMPORT#${id}`, sk: 'IMPORT' };
  }

  async seen(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const unique = [...new Set(ids)];
    // BatchGetItem takes at most 100 keys; unprocessed keys are asked again.
    for (let i = 0; i < unique.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = unique.slice(i, i + 100).map((id) => DynamoImportLedger.key(id));
      for (let attempt = 0; keys && keys.length > 0 && attempt < 8; attempt++) {
        if (attempt > 0) await sleepMs(50 * 2 ** attempt);
        // Consistent: a run right after another (the CLI following a cursor, a retry) must see what it just recorded.
        const out: BatchGetCommandOutput = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ProjectionExpression: 'pk', ConsistentRead: true } } }));
        for (const item of out.Responses?.[this.table] ?? []) found.add(String(item.pk).slice('IMPORT#'.length));
        keys = out.UnprocessedKeys?.[this.table]?.Keys;
      }
      if (keys && keys.length > 0) throw new Error('the import ledger could not be read (DynamoDB left keys unprocessed)');
    }
    return found;
  }

  async remember(items: readonly { id: string; expiresAt: Date }[]): Promise<void> {
    await batchWrite(
      this.doc,
      this.table,
      items.map((i) => ({ PutRequest: { Item: { ...DynamoImportLedger.key(i.id), [TTL_ATTRIBUTE]: Math.floor(i.expiresAt.getTime() / 1000) } } })),
    );
  }
}
