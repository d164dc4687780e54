/**
 * The CRM notification inbox in the table (DynamoDB Local): notifications are kept as JSON text
 * (`notificationJson`), and one kept by an earlier version as a map (`notification`) before a
 * deploy is still read back, not dropped as missing.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoInboxStore } from '#adapters/dynamo-store';
import { keys } from '#adapters/table';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';

const db = withDynamoDbLocal('cultivate-notification-inbox');

const notification = { id: 'hubspot:62515:4100000001', crm: 'hubspot', portal: '62515', kind: 'deal.propertyChange', occurredAt: '2026-11-20T10:00:00.000Z', payload: { objectId: 8001, propertyName: 'dealstage', propertyValue: 'closedlost' } };

describe('DynamoInboxStore notifications', () => {
  it('keeps a notification as text and reads it back whole, a key DynamoDB cannot store as a map included', async () => {
    const inbox = new DynamoInboxStore(db.doc, db.table);
    const odd = { '': 'an empty key', deep: { a: { b: { c: 'leaf' } } } };
    await inbox.putNotifications([{ key: 'hubspot:62515:4100000001', notification: { ...notification, payload: { ...notification.payload, odd } } }]);
    expect(await inbox.getNotification('hubspot:62515:4100000001')).toEqual({ ...notification, payload: { ...notification.payload, odd } });
    expect(await inbox.getNotification('hubspot:62515:absent')).toBeUndefined();
  });

  it('reads a notification kept before the text attribute existed (the map in `notification`)', async () => {
    const key = 'hubspot:62515:4100000002';
    await db.doc.send(new PutCommand({ TableName: db.table, Item: { ...keys.inbox(key), notification: { ...notification, id: key } } }));
    expect(await new DynamoInboxStore(db.doc, db.table).getNotification(key)).toEqual({ ...notification, id: key });
  });
});
