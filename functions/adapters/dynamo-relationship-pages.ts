/** `cultivate diff`'s view of the store: relationship state items by a paged scan (the RelationshipPages port). */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { RelationshipState } from '#domain/types';
import { BadCursorError, type RelationshipPages } from '#handlers/config-diff';

/**
 * The relationship state items of the single table, by a paged scan (a diff reads everyone once;
 * no index lists them all). The cursor is the scan's last key (`REL#<id>`, `STATE`): no personal data.
 */
export class DynamoRelationshipPages implements RelationshipPages {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async page(cursor: string | undefined, limit: number): Promise<{ states: RelationshipState[]; scanned: number; cursor?: string }> {
    let start = cursor === undefined ? undefined : decodeCursor(cursor);
    const states: RelationshipState[] = [];
    let scanned = 0;
    do {
      const out = await this.doc.send(
        new ScanCommand({
          TableName: this.table,
          // Limit bounds the items read (before the filter): the work of one request.
          Limit: Math.min(1000, limit - scanned),
          ExclusiveStartKey: start,
          FilterExpression: 'sk = :state AND begins_with(pk, :rel)',
          ExpressionAttributeValues: { ':state': 'STATE', ':rel': 'REL#' },
        }),
      );
      scanned += out.ScannedCount ?? 0;
      for (const item of out.Items ?? []) states.push({ ...(item.s as RelationshipState), version: item.v as number });
      start = out.LastEvaluatedKey;
    } while (start && scanned < limit);
    return { states, scanned, ...(start && { cursor: Buffer.from(JSON.stringify(start)).toString('base64url') }) };
  }
}

function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (key && typeof key === 'object' && typeof (key as { pk?: unknown }).pk === 'string' && typeof (key as { sk?: unknown }).sk === 'string') {
      return { pk: (key as { pk: string }).pk, sk: (key as { sk: string }).sk };
    }
  } catch {
    // fall through: not ours
  }
  throw new BadCursorError();
}
