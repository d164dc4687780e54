/**
 * The local stream poller against DynamoDB Local's own stream: a record that keeps failing is given
 * up after its attempts (kept as a dead letter, logged), the records around it are still handled,
 * and a record that fails only a few times is retried, not given up.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { StreamPoller } from '#local/stream-poller';
import type { Logger } from '#ports/ports';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';

const db = withDynamoDbLocal('cultivate-stream-poller');

function recordingLogger() {
  const lines: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, extra?: Record<string, unknown>) => void lines.push({ level, message, ...(extra && { extra }) });
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
  return { logger, lines };
}

const skOf = (r: _Record) => r.dynamodb?.Keys?.sk?.S ?? '';
const pkOf = (r: _Record) => r.dynamodb?.Keys?.pk?.S ?? '';

async function put(pk: string, sk: string) {
  await db.doc.send(new PutCommand({ TableName: db.table, Item: { pk, sk, n: 1 } }));
}

async function pollerFor(handle: (records: _Record[]) => { batchItemFailures: { itemIdentifier: string }[] }, maxAttempts: number) {
  const arn = (await db.client.send(new DescribeTableCommand({ TableName: db.table }))).Table?.LatestStreamArn as string;
  const streams = new DynamoDBStreamsClient({ endpoint: db.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const log = recordingLogger();
  const poller = new StreamPoller(streams, arn, async (_shard, records) => handle(records), log.logger, { maxAttempts });
  return { poller, log };
}

describe('local stream poller', () => {
  it('gives a poison record up after its attempts, handles the rest, and says so', async () => {
    await put('REL#a', 'STATE');
    await put('REL#poison', 'STATE');
    await put('REL#b', 'TL#2026-01-01#x');
    await put('REL#ignored', 'GUARD#x'); // filtered out, as the deployed mapping does

    const handled: string[] = [];
    const attempts = new Map<string, number>();
    const { poller, log } = await pollerFor((records) => {
      for (const r of records) {
        const pk = pkOf(r);
        attempts.set(pk, (attempts.get(pk) ?? 0) + 1);
        if (pk === 'REL#poison') return { batchItemFailures: [{ itemIdentifier: r.dynamodb?.SequenceNumber as string }] };
        if (!handled.includes(pk)) handled.push(pk);
      }
      return { batchItemFailures: [] };
    }, 3);

    // A drain stops at a failure (no spinning); each later round is one more attempt.
    for (let i = 0; i < 5; i++) await poller.drain();

    expect(attempts.get('REL#poison')).toBe(3);
    expect(handled).toEqual(['REL#a', 'REL#b']);
    expect(poller.deadLetters).toHaveLength(1);
    expect(poller.deadLetters[0]).toMatchObject({ queue: 'metrics-stream', error: 'reported as a batch item failure', message: { sk: 'STATE', attempts: 3, eventName: 'INSERT' } });
    const given = log.lines.filter((l) => l.level === 'error');
    expect(given).toHaveLength(1);
    expect(given[0]?.message).toMatch(/given up/);
    expect([...attempts.keys()]).not.toContain('REL#ignored');
    await poller.stop();
  });

  it('retries a record that fails a few times and then succeeds, and a handler that throws', async () => {
    await put('REL#flaky', 'STATE');
    let calls = 0;
    const seen: string[] = [];
    const { poller } = await pollerFor((records) => {
      const flaky = records.find((r) => pkOf(r) === 'REL#flaky');
      if (flaky && ++calls <= 2) {
        if (calls === 1) throw new Error('throttled');
        return { batchItemFailures: [{ itemIdentifier: flaky.dynamodb?.SequenceNumber as string }] };
      }
      for (const r of records) seen.push(`${pkOf(r)}|${skOf(r)}`);
      return { batchItemFailures: [] };
    }, 3);
    for (let i = 0; i < 4; i++) await poller.drain();
    expect(seen).toContain('REL#flaky|STATE');
    expect(calls).toBe(3);
    expect(poller.deadLetters).toEqual([]);
    await poller.stop();
  });
});
