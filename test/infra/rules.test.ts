/**
 * lib/rules.ts: published rules in AppConfig (validated by the same parseConfig, rolled out
 * linearly, rolled back on alarm), the replan job's start signal and queue, and who may read or
 * publish the rules.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DEPLOYMENT_EVENTS_EXTENSION, REPLAN_MAX_RECEIVE_COUNT } from '../../lib/rules.ts';
import { functionRoleId, logicalId, resources, roleActions, roleStatements, synthStack } from './synth.ts';

const { stack, template } = synthStack();
const rules = stack.rules;
const fnId = (fn: { node: { defaultChild?: unknown } }) => logicalId(stack, fn);
const functions = resources(template, 'AWS::Lambda::Function');
const ids = {
  APPCONFIG_APPLICATION_ID: { Ref: logicalId(stack, rules.application) },
  APPCONFIG_ENVIRONMENT_ID: { Ref: logicalId(stack, rules.environment) },
  APPCONFIG_PROFILE_ID: { Ref: stack.getLogicalId(rules.profile) },
};
const envOf = (fn: { node: { defaultChild?: unknown } }) => (functions[fnId(fn)]?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;

describe('AppConfig: the rules profile, its rollout and its rollback alarms', () => {
  it('keeps the rules in a hosted freeform profile with a LAMBDA validator that AppConfig may invoke', () => {
    template.hasResourceProperties('AWS::AppConfig::ConfigurationProfile', {
      LocationUri: 'hosted',
      Type: 'AWS.Freeform',
      Validators: [{ Type: 'LAMBDA', Content: { 'Fn::GetAtt': [fnId(rules.validatorFunction), 'Arn'] } }],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [fnId(rules.validatorFunction), 'Arn'] },
      Principal: 'appconfig.amazonaws.com',
      Action: 'lambda:InvokeFunction',
    });
  });

  it('never deploys a version itself: `cdk deploy` cannot overwrite what sales ops published', () => {
    expect(resources(template, 'AWS::AppConfig::HostedConfigurationVersion')).toEqual({});
    expect(resources(template, 'AWS::AppConfig::Deployment')).toEqual({});
  });

  it('rolls out linearly, 50 % every 5 minutes, then bakes 15 minutes', () => {
    template.hasResourceProperties('AWS::AppConfig::DeploymentStrategy', {
      GrowthType: 'LINEAR',
      GrowthFactor: 50,
      DeploymentDurationInMinutes: 10,
      FinalBakeTimeInMinutes: 15,
    });
  });

  it('rolls back when the relationship function fails or touches dead-letter (the environment monitors those alarms)', () => {
    const env = Object.values(resources(template, 'AWS::AppConfig::Environment'));
    expect(env).toHaveLength(1);
    const monitors = env[0]?.Properties?.Monitors as { AlarmArn: { 'Fn::GetAtt': [string, string] }; AlarmRoleArn: unknown }[];
    const alarmIds = monitors.map((m) => m.AlarmArn['Fn::GetAtt'][0]);
    expect(alarmIds).toHaveLength(2);
    expect(alarmIds.some((id) => id.includes('SendDlqGrowingAlarm'))).toBe(true);
    expect(alarmIds.some((id) => id.includes('RelationshipFailuresGrowingAlarm'))).toBe(true);
    for (const m of monitors) expect(m.AlarmRoleArn).toBeDefined();
  });

  it('watches new dead letters, not waiting ones: a kill switch pulled while the DLQ still holds messages is not rolled back', () => {
    const alarms = resources(template, 'AWS::CloudWatch::Alarm');
    const env = Object.values(resources(template, 'AWS::AppConfig::Environment'))[0];
    const monitored = (env?.Properties?.Monitors as { AlarmArn: { 'Fn::GetAtt': [string, string] } }[]).map((m) => m.AlarmArn['Fn::GetAtt'][0]);
    const queues = { SendDlqGrowingAlarm: stack.sending.sendDeadLetterQueue, RelationshipFailuresGrowingAlarm: stack.relationships.relationshipFunction.onFailureQueue };
    for (const id of monitored) {
      const p = alarms[id]?.Properties;
      // DIFF of the depth over one minute: above 0 only while dead letters arrive, OK once they stop.
      expect(p).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
      const [expr, depth] = p?.Metrics as { Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: { Value: unknown }[] }; Period: number; Stat: string } }[];
      expect(expr?.Expression).toBe('DIFF(depth)');
      expect(depth?.MetricStat).toMatchObject({ Metric: { MetricName: 'ApproximateNumberOfMessagesVisible' }, Period: 60, Stat: 'Maximum' });
      const queue = Object.entries(queues).find(([name]) => id.includes(name))?.[1];
      expect(depth?.MetricStat?.Metric.Dimensions[0]?.Value).toEqual({ 'Fn::GetAtt': [logicalId(stack, queue as never), 'QueueName'] });
      // It only tells AppConfig: the depth alarm on the same queue pages.
      expect(p?.AlarmActions).toBeUndefined();
    }
    // The depth alarms still page the on-call.
    const depthAlarm = Object.entries(alarms).find(([id]) => id.includes('SendDlqAlarm') && !id.includes('Growing'))?.[1];
    expect(depthAlarm?.Properties?.AlarmActions).toHaveLength(1);
  });
});

describe('the replan job', () => {
  it('starts from the AWS-authored deployment-events extension on the environment, through a rule on "On Deployment Complete"', () => {
    template.hasResourceProperties('AWS::AppConfig::ExtensionAssociation', {
      ExtensionIdentifier: DEPLOYMENT_EVENTS_EXTENSION,
      ResourceIdentifier: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.appconfig'], 'detail-type': ['On Deployment Complete'] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack, rules.replanQueue), 'Arn'] },
          SqsParameters: { MessageGroupId: 'replan' },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack, rules.eventsDeadLetterQueue), 'Arn'] } },
        }),
      ],
    });
  });

  it('is checked every 15 minutes: an {} on the same FIFO group starts a missing job or resumes a stalled one', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId(stack, rules.replanQueue), 'Arn'] },
          Input: '{}',
          SqsParameters: { MessageGroupId: 'replan' },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack, rules.eventsDeadLetterQueue), 'Arn'] } },
        }),
      ],
    });
  });

  it('runs one page range at a time from an encrypted, SSL-only FIFO queue with a DLQ', () => {
    const queue = resources(template, 'AWS::SQS::Queue')[logicalId(stack, rules.replanQueue)]?.Properties;
    expect(queue).toMatchObject({
      FifoQueue: true,
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      RedrivePolicy: { maxReceiveCount: REPLAN_MAX_RECEIVE_COUNT, deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, rules.replanDeadLetterQueue), 'Arn'] } },
    });
    for (const q of [rules.replanQueue, rules.replanDeadLetterQueue, rules.eventsDeadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: logicalId(stack, q) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId(rules.replanFunction) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack, rules.replanQueue), 'Arn'] },
      BatchSize: 1,
    });
    expect(functions[fnId(rules.replanFunction)]?.Properties?.Timeout).toBe(300);
    expect(envOf(rules.replanFunction)).toMatchObject({ REPLAN_QUEUE_URL: { Ref: logicalId(stack, rules.replanQueue) }, ...ids });
    // It continues itself by re-queueing its cursor, and writes the replanned states.
    const actions = roleActions(template, functionRoleId(template, fnId(rules.replanFunction)));
    expect(actions).toContain('sqs:SendMessage');
    expect(actions).toContain('dynamodb:PutItem');
    expect(actions).not.toContain('appconfig:StartDeployment');
  });

  it('alarms on its dead letters and errors', () => {
    const alarms = Object.keys(resources(template, 'AWS::CloudWatch::Alarm'));
    for (const name of ['ReplanDlqAlarm', 'DeploymentEventsDlqAlarm', 'ReplanErrorsAlarm']) expect(alarms.some((id) => id.includes(name)), name).toBe(true);
  });
});

describe('who reads and who publishes the rules', () => {
  // The metrics stream too: it judges cadence.yaml autoPause with the rules in force.
  const readers = [stack.relationships.relationshipFunction, stack.sending.senderFunction, stack.sending.sweeperFunction, stack.sesEvents.sesEventsFunction, stack.metrics.streamFunction];

  it('the functions that plan read the deployed version through AppConfig (StartConfigurationSession, GetLatestConfiguration) and know where', () => {
    for (const fn of readers) {
      const statements = roleStatements(template, functionRoleId(template, fnId(fn)));
      const read = statements.find((s) => s.actions.includes('appconfig:GetLatestConfiguration'));
      expect(read?.actions.sort(), fn.node.id).toEqual(['appconfig:GetLatestConfiguration', 'appconfig:StartConfigurationSession']);
      expect(JSON.stringify(read?.resources)).toContain('/configuration/*');
      expect(envOf(fn)).toMatchObject(ids);
      const actions = roleActions(template, functionRoleId(template, fnId(fn)));
      expect(actions.has('appconfig:CreateHostedConfigurationVersion'), fn.node.id).toBe(false);
    }
  });

  it('only the config API function publishes: creates a hosted version of the rules profile and starts its deployment', () => {
    const publishers = Object.keys(functions).filter((id) => {
      const role = functionRoleId(template, id);
      return roleActions(template, role).has('appconfig:CreateHostedConfigurationVersion');
    });
    expect(publishers).toEqual([fnId(stack.api.configFunction)]);
    const statements = roleStatements(template, functionRoleId(template, fnId(stack.api.configFunction)));
    const start = statements.find((s) => s.actions.includes('appconfig:StartDeployment'));
    expect(JSON.stringify(start?.resources)).toContain(logicalId(stack, rules.deploymentStrategy));
    expect(envOf(stack.api.configFunction)).toMatchObject({ ...ids, APPCONFIG_DEPLOYMENT_STRATEGY_ID: { Ref: logicalId(stack, rules.deploymentStrategy) } });
  });

  it('serves publish, rollback, versions and the replan status behind the JWT authorizer', () => {
    const routes = Object.values(resources(template, 'AWS::ApiGatewayV2::Route'));
    for (const key of ['POST /config/publish', 'POST /config/rollback', 'GET /config/versions', 'GET /config/versions/{version}', 'GET /config/replan']) {
      const route = routes.find((r) => r.Properties?.RouteKey === key);
      expect(route?.Properties?.AuthorizationType, key).toBe('JWT');
    }
  });
});
