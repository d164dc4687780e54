/**
 * The metrics wiring in the template: the stream mapping's settings (one reader per shard, partial
 * failures, bisect, retries, TRIM_HORIZON, the relationship-item filter, an encrypted SSL-only
 * on-failure queue with an alarm), least privilege for both functions, and the JWT routes.
 */
import { describe, expect, it } from 'vitest';
import { apiRoutes } from '../../lib/ingest-api.ts';
import { METRICS_STREAM_FILTER, METRICS_STREAM_RETRY_ATTEMPTS } from '../../lib/metrics.ts';
import { functionRoleId, logicalId, resources, roleActions, roleStatements, synthStack } from './synth.ts';

const { stack, template } = synthStack();
const tableId = logicalId(stack, stack.tables.table);
const streamFnId = logicalId(stack, stack.metrics.streamFunction);
const apiFnId = logicalId(stack, stack.api.metricsFunction);
const dlqId = logicalId(stack, stack.metrics.deadLetterQueue);
const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping')).filter((m) => m.Properties?.FunctionName?.Ref === streamFnId);

const statementsOf = (fnId: string) => roleStatements(template, functionRoleId(template, fnId));
const resourcesOf = (fnId: string, action: string) => JSON.stringify(statementsOf(fnId).filter((s) => s.actions.includes(action)).map((s) => s.resources));

describe('metrics stream mapping', () => {
  it('reads the table stream with one reader per shard, partial failures, bisect, bounded retries, from TRIM_HORIZON', () => {
    expect(mappings).toHaveLength(1);
    const p = mappings[0]!.Properties!;
    expect(p.EventSourceArn).toEqual({ 'Fn::GetAtt': [tableId, 'StreamArn'] });
    expect(p.ParallelizationFactor).toBe(1);
    expect(p.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(p.BisectBatchOnFunctionError).toBe(true);
    expect(p.MaximumRetryAttempts).toBe(METRICS_STREAM_RETRY_ATTEMPTS);
    expect(p.MaximumRecordAgeInSeconds).toBe(24 * 3600);
    expect(p.StartingPosition).toBe('TRIM_HORIZON');
  });

  it('lets only relationship state items and timeline entries through (the documented filter)', () => {
    const filters = mappings[0]!.Properties!.FilterCriteria.Filters as { Pattern: string }[];
    expect(filters).toHaveLength(1);
    expect(JSON.parse(filters[0]!.Pattern)).toEqual({ dynamodb: { Keys: { sk: { S: ['STATE', { prefix: 'TL#' }] } } } });
    expect(METRICS_STREAM_FILTER).toEqual(JSON.parse(filters[0]!.Pattern));
  });

  it('sends a batch that keeps failing to an encrypted, SSL-only queue that is alarmed', () => {
    const dest = mappings[0]!.Properties!.DestinationConfig.OnFailure.Destination;
    expect(dest).toEqual({ 'Fn::GetAtt': [dlqId, 'Arn'] });
    const queue = resources(template, 'AWS::SQS::Queue')[dlqId]!;
    expect(queue.Properties?.SqsManagedSseEnabled).toBe(true);
    expect(queue.Properties?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    const policy = Object.values(resources(template, 'AWS::SQS::QueuePolicy')).find((p) => (p.Properties?.Queues as { Ref: string }[]).some((q) => q.Ref === dlqId));
    expect(JSON.stringify(policy?.Properties?.PolicyDocument.Statement)).toContain('"aws:SecureTransport":"false"');
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
    const dlqAlarm = alarms.find((a) => a.Properties?.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Properties?.Dimensions).includes(`"${dlqId}"`));
    expect(dlqAlarm?.Properties?.AlarmActions).toHaveLength(1);
    const lag = alarms.find((a) => a.Properties?.MetricName === 'IteratorAge' && JSON.stringify(a.Properties?.Dimensions).includes(`"${streamFnId}"`));
    expect(lag?.Properties?.Threshold).toBe(15 * 60 * 1000);
  });
});

describe('metrics least privilege', () => {
  it('stream function: reads and Put/Update (what TransactWriteItems is authorized by) on the table, stream reads; nothing else', () => {
    const a = roleActions(template, functionRoleId(template, streamFnId));
    const dynamo = [...a].filter((x) => x.startsWith('dynamodb:')).sort();
    expect(dynamo).toEqual(
      ['dynamodb:BatchGetItem', 'dynamodb:DescribeStream', 'dynamodb:GetItem', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'].sort(),
    );
    expect(resourcesOf(streamFnId, 'dynamodb:UpdateItem')).toContain(tableId);
    expect(resourcesOf(streamFnId, 'dynamodb:DescribeStream')).toContain('StreamArn');
    expect(resourcesOf(streamFnId, 'dynamodb:DescribeStream')).not.toContain('"*"');
    for (const x of ['dynamodb:DeleteItem', 'dynamodb:Scan', 'dynamodb:BatchWriteItem', 'events:PutEvents', 'secretsmanager:GetSecretValue', 'ses:SendEmail']) expect(a.has(x), x).toBe(false);
    expect(resourcesOf(streamFnId, 'sqs:SendMessage')).toContain(dlqId);
  });

  it('metrics API function: Query and Scan on the table (a writing rebuild is refused on AWS), single-item reads and writes for feed tokens only (api.test.ts checks the key condition); no batch writes, no secrets, no bus', () => {
    const a = roleActions(template, functionRoleId(template, apiFnId));
    expect([...a].filter((x) => x.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem']);
    expect(resourcesOf(apiFnId, 'dynamodb:Query')).toContain(tableId);
    for (const x of ['events:PutEvents', 'secretsmanager:GetSecretValue', 'sqs:SendMessage']) expect(a.has(x), x).toBe(false);
  });
});

describe('metrics routes', () => {
  const routes = Object.values(resources(template, 'AWS::ApiGatewayV2::Route'));
  const integrations = resources(template, 'AWS::ApiGatewayV2::Integration');
  const keys = ['GET /metrics', 'GET /metrics.csv', 'GET /metrics/feed.json', 'POST /metrics/rebuild', 'GET /dashboard', 'GET /dashboard/owners', 'POST /metrics/tokens', 'GET /metrics/tokens', 'DELETE /metrics/tokens/{id}'];

  it('the people routes (report, CSV, feed, rebuild, dashboard and its owners page, token management) carry the JWT authorizer and go to the metrics function', () => {
    expect(apiRoutes.filter((r) => r.fn === 'metrics' && r.auth === 'jwt').map((r) => `${r.method} ${r.path}`).sort()).toEqual([...keys].sort());
    for (const key of keys) {
      const route = routes.find((r) => r.Properties?.RouteKey === key);
      expect(route, key).toBeDefined();
      expect(route!.Properties?.AuthorizationType, key).toBe('JWT');
      const target = String(route!.Properties?.Target['Fn::Join'][1][1].Ref);
      const uri = integrations[target]?.Properties?.IntegrationUri as { 'Fn::GetAtt': [string, string] };
      expect(uri['Fn::GetAtt'][0], key).toBe(apiFnId);
    }
  });
});
