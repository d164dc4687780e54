import { describe, expect, it } from 'vitest';
import { tableDefinition } from '#adapters/table';
import { logicalId, resources, synthStack } from './synth.ts';

const { stack, template } = synthStack();
const tables = resources(template, 'AWS::DynamoDB::GlobalTable');
const main = tables[logicalId(stack, stack.tables.table)]!;
const idem = tables[logicalId(stack, stack.tables.idempotencyTable)]!;

describe('DynamoDB tables', () => {
  it('exactly two tables: the single table and the idempotency table', () => {
    expect(Object.keys(tables)).toHaveLength(2);
    template.resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  it('main table: pk/sk, on demand, PITR, SSE, NEW_AND_OLD_IMAGES stream, TTL expiresAt, retained', () => {
    const p = main.Properties!;
    expect(p.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' }); // AWS managed key (aws/dynamodb)
    expect(p.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(p.Replicas).toHaveLength(1);
    expect(p.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.Replicas[0].DeletionProtectionEnabled).toBe(true);
    expect((main as any).DeletionPolicy).toBe('Retain');
    expect((main as any).UpdateReplacePolicy).toBe('Retain');
  });

  it('sparse GSI "due": duePk/dueSk strings, keys plus the projected lease', () => {
    const p = main.Properties!;
    expect(p.GlobalSecondaryIndexes[0]).toEqual(
      {
        IndexName: 'due',
        KeySchema: [
          { AttributeName: 'duePk', KeyType: 'HASH' },
          { AttributeName: 'dueSk', KeyType: 'RANGE' },
        ],
        // `lease` lets the sweep skip running claims without a write.
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['lease'] },
      },
    );
    const attrs = Object.fromEntries((p.AttributeDefinitions as any[]).map((a) => [a.AttributeName, a.AttributeType]));
    expect(attrs).toEqual({ pk: 'S', sk: 'S', duePk: 'S', dueSk: 'S', lunchPk: 'S', lunchSk: 'S' });
  });

  it('sparse GSI "lunch": lunchPk/lunchSk strings, keys plus the account and tags the grouping needs, the same as DynamoDB Local gets', () => {
    const p = main.Properties!;
    expect(p.GlobalSecondaryIndexes).toHaveLength(2);
    const lunch = {
      IndexName: 'lunch',
      KeySchema: [
        { AttributeName: 'lunchPk', KeyType: 'HASH' },
        { AttributeName: 'lunchSk', KeyType: 'RANGE' },
      ],
      // Not the state: only what tells competitors apart.
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['lunchAcct', 'lunchTags'] },
    };
    expect(p.GlobalSecondaryIndexes[1]).toEqual(lunch);
    expect(tableDefinition('local').GlobalSecondaryIndexes?.find((i) => i.IndexName === 'lunch')).toEqual(lunch);
  });

  it('idempotency table: id key, TTL expiration, on demand, PITR, SSE', () => {
    const p = idem.Properties!;
    expect(p.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: 'expiration', Enabled: true });
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' }); // AWS managed key (aws/dynamodb)
    expect(p.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.GlobalSecondaryIndexes).toBeUndefined();
  });
});
