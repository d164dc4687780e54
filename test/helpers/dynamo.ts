/**
 * DynamoDB Local for integration tests: one in-memory server per test file (about 350 MB, 2-6 s to
 * start), the project's table created from `tableDefinition()`, stopped after the file.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { documentClient } from '#adapters/dynamo-store';
import { tableDefinition } from '#adapters/table';
import { type DynamoDbLocal, startDynamoDbLocal } from '#local/dynamodb-local';

export interface DynamoFixture {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly table: string;
}

export function localClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
}

/**
 * Registers beforeAll/afterAll hooks; the returned object is filled in by beforeAll, so read its
 * properties inside tests, not at module load.
 */
export function withDynamoDbLocal(table = 'cultivate-test'): DynamoFixture {
  let server: DynamoDbLocal | undefined;
  let client: DynamoDBClient | undefined;
  let doc: DynamoDBDocumentClient | undefined;
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`withDynamoDbLocal: ${what} used before beforeAll ran`);
    return v;
  };
  beforeAll(async () => {
    server = await startDynamoDbLocal();
    client = localClient(server.endpoint);
    await client.send(new CreateTableCommand(tableDefinition(table)));
    doc = documentClient(client);
  });
  afterAll(async () => {
    client?.destroy();
    await server?.stop();
  });
  return {
    get endpoint() {
      return need(server, 'endpoint').endpoint;
    },
    get client() {
      return need(client, 'client');
    },
    get doc() {
      return need(doc, 'doc');
    },
    table,
  };
}

/** Every item in the table (all pages). */
export async function scanAll(doc: DynamoDBDocumentClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...((out.Items ?? []) as Record<string, unknown>[]));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}
