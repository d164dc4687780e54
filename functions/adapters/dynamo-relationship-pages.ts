/** `cultivate diff`'s view of the store: relationship state items by a paged scan (the RelationshipPages port). */
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { RelationshipState } from '#domain/types';
import { BadCursorError, type RelationshipPages } from '#handlers/config-diff';

/**
 * The relationship state items of the single table, by a paged scan (a diff reads everyone once;
 * no index lists them all). The cursor is the scan's last evaluated key, base64url JSON `{pk, sk}`:
 * the key of whichever item the scan read last (a relationship's, or any other item's, since the
 * filter applies after reading), and keys hold ids and keyed hashes, no personal data.
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

/** DynamoDB's key attribute limits (bytes of UTF-8): a key outside them is refused with a ValidationException. */
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;

const keyPart = (value: unknown, maxBytes: number): value is string =>
  typeof value === 'string' && value.length > 0 && Buffer.byteLength(value, 'utf8') <= maxBytes;

/** A key DynamoDB could have returned as LastEvaluatedKey, or BadCursorError (a 400, never the scan's 500). */
function decodeCursor(cursor: string): Record<string, unknown> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (key && typeof key === 'object') {
      const { pk, sk } = key as { pk?: unknown; sk?: unknown };
      if (keyPart(pk, MAX_PARTITION_KEY_BYTES) && keyPart(sk, MAX_SORT_KEY_BYTES)) return { pk, sk };
    }
  } catch {
    // fall through: not ours
  }
  throw new BadCursorError();
}
