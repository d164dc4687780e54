import { describe, expect, it } from 'vitest';
import { routingTable } from '#catalog/routing';
import { ARCHIVE_RETENTION_DAYS } from '../../lib/bus.ts';
import { logicalId, resources, synthStack } from './synth.ts';

const { stack, template } = synthStack();
const allRules = resources(template, 'AWS::Events::Rule');
const queues = resources(template, 'AWS::SQS::Queue');
const invokeConfigs = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig'));
const busId = logicalId(stack, stack.events.bus);
/** Rules on the custom bus (the SES events rule lives on the default bus: ses.test.ts). */
const rules = Object.fromEntries(Object.entries(allRules).filter(([, r]) => r.Properties?.EventBusName?.Ref === busId));

const targetFunction = {
  relationship: logicalId(stack, stack.relationships.relationshipFunction),
  crmOutbound: logicalId(stack, stack.relationships.crmOutboundFunction),
  crmNormalise: logicalId(stack, stack.relationships.crmNormaliseFunction),
};
const sesEventsId = logicalId(stack, stack.sesEvents.sesEventsFunction);

describe('EventBridge bus, archive and rules', () => {
  it('custom bus named from context (default cultivate)', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'cultivate' });
    synthStack({ busName: 'cultivate-dev' }).template.hasResourceProperties('AWS::Events::EventBus', { Name: 'cultivate-dev' });
  });

  it('archive keeps 30 days of all events on the bus', () => {
    expect(ARCHIVE_RETENTION_DAYS).toBe(30);
    const archives = Object.values(resources(template, 'AWS::Events::Archive'));
    expect(archives).toHaveLength(1);
    expect(archives[0]!.Properties?.RetentionDays).toBe(30);
    expect(archives[0]!.Properties?.SourceArn).toEqual({ 'Fn::GetAtt': [busId, 'Arn'] });
    expect(archives[0]!.Properties?.EventPattern).toEqual({ source: [{ prefix: '' }] });
  });

  it('one rule per routing-table entry, on the custom bus, with exactly its sources and detail-types', () => {
    expect(Object.keys(rules)).toHaveLength(routingTable.length);
    // + on the default bus: the SES events rule, AppConfig's "deployment complete" (starts the replan
    // job) and the 15-minute check of the replan job (a schedule)
    expect(Object.keys(allRules)).toHaveLength(routingTable.length + 3);
    for (const route of routingTable) {
      const matching = Object.values(rules).filter(
        (r) =>
          JSON.stringify([...(r.Properties?.EventPattern.source ?? [])].sort()) === JSON.stringify([...route.sources].sort()) &&
          JSON.stringify([...(r.Properties?.EventPattern['detail-type'] ?? [])].sort()) ===
            JSON.stringify([...route.detailTypes].sort()),
      );
      expect(matching, route.id).toHaveLength(1);
      const rule = matching[0]!;
      expect(Object.keys(rule.Properties?.EventPattern).sort()).toEqual(['detail-type', 'source']);
      expect(rule.Properties?.EventBusName).toEqual({ Ref: busId });
      expect(rule.Properties?.State ?? 'ENABLED').toBe('ENABLED');
      const targets = rule.Properties?.Targets as any[];
      expect(targets).toHaveLength(1);
      expect(targets[0].Arn).toEqual({ 'Fn::GetAtt': [targetFunction[route.target], 'Arn'] });
    }
  });

  it('every rule target has an encrypted, SSL-only DLQ, retries and a maximum event age', () => {
    const queuePolicies = Object.values(resources(template, 'AWS::SQS::QueuePolicy'));
    for (const [id, rule] of Object.entries(allRules)) {
      for (const target of rule.Properties?.Targets as any[]) {
        expect(target.DeadLetterConfig?.Arn, id).toBeDefined();
        const dlqId = target.DeadLetterConfig.Arn['Fn::GetAtt'][0] as string;
        const dlq = queues[dlqId]!;
        expect(dlq.Properties?.SqsManagedSseEnabled ?? dlq.Properties?.KmsMasterKeyId).toBeTruthy();
        expect(dlq.Properties?.MessageRetentionPeriod).toBe(14 * 24 * 3600);
        expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
        expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThan(0);
        const policy = queuePolicies.find((p) => (p.Properties?.Queues as any[]).some((q) => q.Ref === dlqId));
        const statements = JSON.stringify(policy?.Properties?.PolicyDocument.Statement);
        expect(statements).toContain('"aws:SecureTransport":"false"');
        expect(statements).toContain('events.amazonaws.com');
      }
    }
  });

  it('every function that is a rule target has an on-failure destination, 2 retries and a max event age', () => {
    // Function targets only: the replan rule targets a FIFO queue (its own DLQ, checked in rules.test.ts).
    const targetIds = new Set(
      Object.values(allRules)
        .flatMap((r) => (r.Properties?.Targets as any[]).map((t) => t.Arn['Fn::GetAtt'][0] as string))
        .filter((id) => resources(template, 'AWS::Lambda::Function')[id] !== undefined),
    );
    expect(targetIds).toEqual(new Set([targetFunction.relationship, targetFunction.crmOutbound, targetFunction.crmNormalise, sesEventsId]));
    for (const fnId of targetIds) {
      const config = invokeConfigs.find((c) => c.Properties?.FunctionName?.Ref === fnId);
      expect(config, fnId).toBeDefined();
      expect(config!.Properties?.MaximumRetryAttempts).toBe(2);
      expect(config!.Properties?.MaximumEventAgeInSeconds).toBeGreaterThan(0);
      const destination = config!.Properties?.DestinationConfig?.OnFailure?.Destination;
      expect(destination, fnId).toBeDefined();
      const queueId = destination['Fn::GetAtt'][0] as string;
      expect(queues[queueId]?.Properties?.SqsManagedSseEnabled).toBe(true);
    }
  });

  it('every DLQ and on-failure queue has an alarm at more than 0 visible messages', () => {
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
    const sendQueueId = logicalId(stack, stack.sending.sendQueue);
    // Rule DLQs (custom bus + SES events), 5 on-failure queues (relationship, CRM outbound, CRM
    // normaliser, SES events, inbound mail), the send DLQ, the sweep schedule DLQ, the metrics
    // stream's on-failure queue; the replan job's DLQ and its start rule's DLQ; plus the two work
    // queues (send, replan), which are not dead letters.
    const replanQueueId = logicalId(stack, stack.rules.replanQueue);
    expect(Object.keys(queues).length).toBe(routingTable.length + 1 + 5 + 3 + 2 + 2);
    expect(Object.keys(queues)).toContain(logicalId(stack, stack.metrics.deadLetterQueue));
    expect(Object.keys(queues)).toContain(logicalId(stack, stack.rules.replanDeadLetterQueue));
    expect(Object.keys(queues)).toContain(logicalId(stack, stack.rules.eventsDeadLetterQueue));
    for (const queueId of Object.keys(queues).filter((id) => id !== sendQueueId && id !== replanQueueId)) {
      const alarm = alarms.find(
        (a) =>
          a.Properties?.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          JSON.stringify(a.Properties?.Dimensions).includes(`"${queueId}"`),
      );
      expect(alarm, queueId).toBeDefined();
      expect(alarm!.Properties?.Threshold).toBe(0);
      expect(alarm!.Properties?.ComparisonOperator).toBe('GreaterThanThreshold');
      expect(alarm!.Properties?.AlarmActions).toHaveLength(1);
    }
  });

  it('alarms on API 5xx and ingest errors go to an encrypted, SSL-only topic; email from context', () => {
    const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
    expect(alarms.some((a) => a.Properties?.MetricName === '5xx' && a.Properties?.Namespace === 'AWS/ApiGateway')).toBe(true);
    expect(alarms.some((a) => a.Properties?.MetricName === 'Errors' && a.Properties?.Namespace === 'AWS/Lambda')).toBe(true);
    const topics = Object.values(resources(template, 'AWS::SNS::Topic'));
    expect(topics).toHaveLength(1);
    expect(topics[0]!.Properties?.KmsMasterKeyId).toBeDefined();
    expect(JSON.stringify(resources(template, 'AWS::SNS::TopicPolicy'))).toContain('"aws:SecureTransport":"false"');
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    synthStack({ alarmEmail: 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});
