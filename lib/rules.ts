/**
 * Published rules on AWS (`cultivate config publish` / `rollback`, config/README.md): an AWS
 * AppConfig application with one environment and a hosted freeform configuration profile holding
 * each rules version, so sales ops publish without a `cdk deploy`.
 *
 * - Validation: a LAMBDA validator (its own small function) runs the same `parseConfig` as `config
 *   check` before any version is deployed.
 * - Rollout: linear, half of the functions' reads every 5 minutes, then a 15-minute bake. The
 *   environment's monitors are the alarms a bad rules version trips within that window; one in
 *   alarm rolls the deployment back, and the functions return to the previous version.
 * - The replan job starts when a deployment completes: the AWS-authored "deployment events to
 *   Amazon EventBridge" extension puts "On Deployment Complete" on the default bus; a rule sends it
 *   to a FIFO queue (one message group: one run at a time), and the replan function works through
 *   pages within its timeout, re-queueing itself with the job's cursor (kept in the table) until done.
 * - The functions that plan read the version in force through Powertools' AppConfig provider
 *   (`bindReader`); the config API function publishes (`bindPublisher`).
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as appconfig from 'aws-cdk-lib/aws-appconfig';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { copyConfigHooks, CultivateFunction, lambdaEntry } from './cultivate-function.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';

/** The AWS-authored extension that puts deployment start, completion and rollback on the default bus. */
export const DEPLOYMENT_EVENTS_EXTENSION = 'AWS.AppConfig.DeploymentNotificationsToEventBridge';
export const ROLLOUT = { growthFactor: 50, deploymentDuration: Duration.minutes(10), finalBakeTime: Duration.minutes(15) };
export const REPLAN_TIMEOUT = Duration.minutes(5);
/** SQS guidance for Lambda consumers: visibility timeout at least six times the function timeout. */
export const REPLAN_QUEUE_VISIBILITY = Duration.seconds(REPLAN_TIMEOUT.toSeconds() * 6);
export const REPLAN_MAX_RECEIVE_COUNT = 5;
/** How often the replan job is checked for (functions/lambda/config-replan.ts: a missing or stalled job). */
export const REPLAN_CHECK_EVERY = Duration.minutes(15);

export interface CultivateRulesProps {
  readonly table: dynamodb.ITableV2;
  /** The alarms that roll a rollout back (the environment's monitors). */
  readonly rollbackAlarms: readonly cloudwatch.IAlarm[];
}

/** AppConfig's predefined strategy: 100 % at once, then a 10-minute bake watching the alarms. */
export const IMMEDIATE_STRATEGY_ID = 'AppConfig.AllAtOnce';

export class CultivateRules extends Construct {
  public readonly application: appconfig.Application;
  public readonly environment: appconfig.Environment;
  public readonly profile: appconfig.CfnConfigurationProfile;
  public readonly deploymentStrategy: appconfig.DeploymentStrategy;
  public readonly validatorFunction: CultivateFunction;
  public readonly replanFunction: CultivateFunction;
  public readonly replanQueue: sqs.Queue;
  public readonly replanDeadLetterQueue: sqs.Queue;
  /** Where "On Deployment Complete" events go when the queue cannot take them. */
  public readonly eventsDeadLetterQueue: sqs.Queue;
  public readonly replanCheckRule: events.Rule;
  public readonly deploymentCompleteRule: events.Rule;

  constructor(scope: Construct, id: string, props: CultivateRulesProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.application = new appconfig.Application(this, 'App', { description: 'Cultivate: the rules sales ops publish (cadence, content, owners, controls)' });

    // AppConfig reads the alarms' state while a version rolls out.
    const monitorRole = new iam.Role(this, 'MonitorRole', {
      assumedBy: new iam.ServicePrincipal('appconfig.amazonaws.com'),
      description: 'AppConfig: read the state of the alarms that roll a rules rollout back',
      inlinePolicies: { DescribeAlarms: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['cloudwatch:DescribeAlarms'], resources: ['*'] })] }) },
    });
    Validations.of(monitorRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: "AppConfig's documented monitor policy grants cloudwatch:DescribeAlarms on * (its calls are not documented to name alarms); the role can only read alarm states.",
    });
    this.environment = new appconfig.Environment(this, 'Live', {
      application: this.application,
      description: 'The rules in force',
      monitors: props.rollbackAlarms.map((alarm) => appconfig.Monitor.fromCloudWatchAlarm(alarm, monitorRole)),
    });

    this.validatorFunction = new CultivateFunction(this, 'RulesValidator', {
      entry: lambdaEntry('rules-validator'),
      description: 'Cultivate: AppConfig validator, the same parseConfig as cultivate config check',
      timeout: Duration.seconds(15),
      memorySize: 512,
    });
    this.validatorFunction.addPermission('AppConfigValidates', {
      principal: new iam.ServicePrincipal('appconfig.amazonaws.com'),
      sourceAccount: stack.account,
    });

    this.profile = new appconfig.CfnConfigurationProfile(this, 'Rules', {
      applicationId: this.application.applicationId,
      name: 'rules',
      description: 'cadence.yaml, content.yaml, owners.yaml and controls.yaml, as one version (JSON)',
      locationUri: 'hosted',
      type: 'AWS.Freeform',
      validators: [{ type: 'LAMBDA', content: this.validatorFunction.functionArn }],
    });

    this.deploymentStrategy = new appconfig.DeploymentStrategy(this, 'Rollout', {
      description: 'Cultivate rules: linear 50 % every 5 minutes, then a 15-minute bake watching the alarms',
      rolloutStrategy: appconfig.RolloutStrategy.linear(ROLLOUT),
    });

    // Start signal for the replan job: deployment events on the default bus.
    new appconfig.CfnExtensionAssociation(this, 'DeploymentEvents', {
      extensionIdentifier: DEPLOYMENT_EVENTS_EXTENSION,
      resourceIdentifier: this.environment.environmentArn,
    });

    this.replanDeadLetterQueue = deadLetterQueue(this, 'ReplanDlq', 'the replan queue', { fifo: true });
    this.replanQueue = new sqs.Queue(this, 'ReplanQueue', {
      fifo: true,
      contentBasedDeduplication: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: REPLAN_QUEUE_VISIBILITY,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.replanDeadLetterQueue, maxReceiveCount: REPLAN_MAX_RECEIVE_COUNT },
    });
    this.eventsDeadLetterQueue = deadLetterQueue(this, 'DeploymentEventsDlq', 'the deployment-complete and replan-check rule targets');
    this.deploymentCompleteRule = new events.Rule(this, 'DeploymentComplete', {
      description: 'Cultivate: a rules version finished rolling out; start the replan job',
      eventPattern: { source: ['aws.appconfig'], detailType: ['On Deployment Complete'] },
      targets: [new targets.SqsQueue(this.replanQueue, { messageGroupId: 'replan', deadLetterQueue: this.eventsDeadLetterQueue, retryAttempts: 8, maxEventAge: Duration.hours(24) })],
    });
    // The deployment event is at least once, not exactly once, and a run can fail past its retries:
    // every 15 minutes the job checks that the version in force has its job and that no job stalled.
    // An `{}` on the same FIFO group waits behind a run in progress; when all is well it reads one item.
    this.replanCheckRule = new events.Rule(this, 'ReplanCheck', {
      description: 'Cultivate: every 15 minutes, start a missing replan job or resume a stalled one',
      schedule: events.Schedule.rate(REPLAN_CHECK_EVERY),
      targets: [
        new targets.SqsQueue(this.replanQueue, {
          message: events.RuleTargetInput.fromObject({}),
          messageGroupId: 'replan',
          deadLetterQueue: this.eventsDeadLetterQueue,
          retryAttempts: 8,
          maxEventAge: Duration.hours(1),
        }),
      ],
    });

    this.replanFunction = new CultivateFunction(this, 'Replan', {
      entry: lambdaEntry('config-replan'),
      description: 'Cultivate: replan planned touches under the rules version just deployed, page by page',
      timeout: REPLAN_TIMEOUT,
      memorySize: 512,
      // config/ travels with it: sending.yaml and version 0 (the deployed folder).
      bundling: { commandHooks: copyConfigHooks },
      environment: { REPLAN_QUEUE_URL: this.replanQueue.queueUrl },
    }).bindTable({ table: props.table, access: 'readwrite' });
    this.grantReadVersions(this.replanFunction);
    this.replanQueue.grantSendMessages(this.replanFunction);
    this.replanFunction.addEventSource(new SqsEventSource(this.replanQueue, { batchSize: 1, reportBatchItemFailures: false }));
  }

  private arn(resourceName: string): string {
    return Stack.of(this).formatArn({ service: 'appconfig', resource: 'application', resourceName: `${this.application.applicationId}/${resourceName}` });
  }

  private setIds(fn: CultivateFunction): void {
    fn.addEnvironment('APPCONFIG_APPLICATION_ID', this.application.applicationId);
    fn.addEnvironment('APPCONFIG_ENVIRONMENT_ID', this.environment.environmentId);
    fn.addEnvironment('APPCONFIG_PROFILE_ID', this.profile.ref);
  }

  /** Reads the versions and the deployments (the history, the version in force). */
  private grantReadVersions(fn: CultivateFunction): void {
    this.setIds(fn);
    // Only those who read the history deal with deployments (publish, rollback, the replan job).
    fn.addEnvironment('APPCONFIG_DEPLOYMENT_STRATEGY_ID', this.deploymentStrategy.deploymentStrategyId);
    const profile = `configurationprofile/${this.profile.ref}`;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['appconfig:ListHostedConfigurationVersions'], resources: [this.arn(profile)] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['appconfig:GetHostedConfigurationVersion'], resources: [this.arn(`${profile}/hostedconfigurationversion/*`)] }));
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['appconfig:ListDeployments'], resources: [this.arn(`environment/${this.environment.environmentId}`)] }));
    this.acknowledgeVersionWildcards(fn);
  }

  private acknowledgeVersionWildcards(fn: CultivateFunction): void {
    if (!fn.role) return;
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[${this.nagResource(this.arn(`configurationprofile/${this.profile.ref}/hostedconfigurationversion/*`))}]`,
      reason: "The rules profile's own hosted versions (numbered as they are published), no other profile.",
    });
    if (fn === this.replanFunction) return;
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[${this.nagResource(this.arn(`environment/${this.environment.environmentId}/deployment/*`))}]`,
      reason: 'Deployments (numbered as they start) of the rules environment only.',
    });
  }

  /** A resource as cdk-nag names it in an IAM5 finding (`<LogicalId>` for references, `<AWS::AccountId>` ...). */
  private nagResource(arn: string): string {
    const render = (v: unknown): string => {
      if (typeof v === 'string') return v;
      const o = v as { Ref?: string; 'Fn::GetAtt'?: string[]; 'Fn::Join'?: [string, unknown[]] };
      if (o.Ref) return `<${o.Ref}>`;
      if (o['Fn::GetAtt']) return `<${o['Fn::GetAtt'].join('.')}>`;
      if (o['Fn::Join']) return o['Fn::Join'][1].map(render).join(o['Fn::Join'][0]);
      return JSON.stringify(v);
    };
    return `Resource::${render(Stack.of(this).resolve(arn))}`;
  }

  /** A function that plans: reads the version in force (Powertools' AppConfig provider, cached). */
  bindReader(fn: CultivateFunction): this {
    this.setIds(fn);
    this.environment.grantReadConfig(fn);
    if (fn.role) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[${this.nagResource(`${this.environment.environmentArn}/configuration/*`)}]`,
        reason: 'Read the configuration deployed to the rules environment only (the environment grant helper; the rules profile is its only configuration).',
      });
    }
    return this;
  }

  /** The config API: publishes (creates a hosted version, starts its deployment) and reads the history. */
  bindPublisher(fn: CultivateFunction): this {
    this.grantReadVersions(fn);
    // A version that changes only controls.yaml (a kill switch) goes out with AppConfig's predefined
    // all-at-once strategy: every function within its cache age, the rollback alarms still watched.
    fn.addEnvironment('APPCONFIG_IMMEDIATE_STRATEGY_ID', IMMEDIATE_STRATEGY_ID);
    const profile = this.arn(`configurationprofile/${this.profile.ref}`);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['appconfig:CreateHostedConfigurationVersion'], resources: [profile] }));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['appconfig:StartDeployment'],
        resources: [
          this.arn(`environment/${this.environment.environmentId}`),
          this.arn(`environment/${this.environment.environmentId}/deployment/*`),
          profile,
          this.deploymentStrategy.deploymentStrategyArn,
          Stack.of(this).formatArn({ service: 'appconfig', resource: 'deploymentstrategy', resourceName: IMMEDIATE_STRATEGY_ID }),
        ],
      }),
    );
    return this;
  }
}
