/**
 * The single-table design's table, and the Powertools idempotency table.
 *
 * Encryption: the AWS managed key (aws/dynamodb). Data is encrypted at rest with a KMS key, every
 * use is in CloudTrail, and no key policy or extra KMS grants have to be kept in step with every
 * function role. A customer managed key adds a monthly key fee and KMS grants on every reader for a
 * control (own key policy, cross-account use, crypto-shredding) that this design does not need:
 * erasure deletes the person's items. Switch to `TableEncryptionV2.customerManagedKey` if that changes.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** Name of the sparse, sharded due index (`DUE#<shard>` / `<dueAt>#<relationship>`). */
export const DUE_INDEX_NAME = 'due';

/** Name of the sparse lunch index (`LUNCH#<owner digest>#<country>#<city>` / `<lunch due>#<relationship>`). */
export const LUNCH_INDEX_NAME = 'lunch';

export class CultivateTables extends Construct {
  /** pk/sk single table: people, accounts, touches, timeline, inbox (claim checks). */
  public readonly table: dynamodb.TableV2;
  /** Powertools idempotency records (`id`, TTL `expiration`). */
  public readonly idempotencyTable: dynamodb.TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.table = new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      timeToLiveAttribute: 'expiresAt',
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      globalSecondaryIndexes: [
        {
          indexName: DUE_INDEX_NAME,
          partitionKey: { name: 'duePk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'dueSk', type: dynamodb.AttributeType.STRING },
          // `lease` lets the sweep pass over running claims without a write (functions/adapters/table.ts).
          projectionType: dynamodb.ProjectionType.INCLUDE,
          nonKeyAttributes: ['lease'],
        },
        {
          // Only items whose next touch is a lunch carry the keys: it costs nothing for the others.
          indexName: LUNCH_INDEX_NAME,
          partitionKey: { name: 'lunchPk', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'lunchSk', type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.INCLUDE,
          nonKeyAttributes: ['lunchAcct', 'lunchTags'],
        },
      ],
    });

    this.idempotencyTable = new dynamodb.TableV2(this, 'IdempotencyTable', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      timeToLiveAttribute: 'expiration',
      // Idempotency records are disposable (they expire after 48 h); losing them on stack deletion is fine.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
