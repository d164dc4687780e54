/**
 * The send path of DESIGN.md §4: every minute an EventBridge Scheduler schedule runs the due
 * sweeper, which claims due touches into the SQS send queue; the sender consumes the queue at a
 * concurrency capped by the SES send rate, claims again, sends through SES and records the send.
 * Throttled sends are handed back and retried by the queue (10 receives before the DLQ).
 */
import { join } from 'node:path';
import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONFIG_DIR, CultivateFunction, lambdaEntry, projectRoot } from './cultivate-function.ts';
import type { CultivateEmail } from './email.ts';
import { readSendingYaml, readSettings } from './settings.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';

/** Namespace and service of the sweeper's Powertools metrics (functions/lambda/sweeper.ts). */
export const METRICS_NAMESPACE = 'Cultivate';
export const METRICS_SERVICE = 'cultivate';

export const SENDER_TIMEOUT = Duration.seconds(30);
/** SQS guidance for Lambda consumers: visibility timeout at least six times the function timeout. */
export const SEND_QUEUE_VISIBILITY = Duration.seconds(SENDER_TIMEOUT.toSeconds() * 6);
/** Throttled sends go back to the queue; ten receives (about 30 minutes) before the DLQ. */
export const SEND_QUEUE_MAX_RECEIVE_COUNT = 10;
export const SENDER_BATCH_SIZE = 10;
/** A sweep must end before the next one starts. */
export const SWEEPER_TIMEOUT = Duration.seconds(50);
/** A sweep that could not start within this is superseded by a later one. */
export const SWEEP_MAX_EVENT_AGE = Duration.minutes(2);
export const SWEEP_RETRY_ATTEMPTS = 2;

export interface SendingProps {
  readonly table: dynamodb.ITableV2;
  readonly bus: events.IEventBus;
  readonly email: CultivateEmail;
  readonly unsubscribeKey: secretsmanager.ISecret;
  readonly identityKey: secretsmanager.ISecret;
}

export class Sending extends Construct {
  public readonly sendQueue: sqs.Queue;
  public readonly sendDeadLetterQueue: sqs.Queue;
  public readonly sweeperFunction: CultivateFunction;
  public readonly senderFunction: CultivateFunction;
  public readonly schedule: scheduler.Schedule;
  public readonly scheduleDeadLetterQueue: sqs.Queue;
  public readonly senderEventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: SendingProps) {
    super(scope, id);
    const settings = readSettings(this);
    const pipelineConfig = { configurationSet: props.email.configurationSet };

    // A claim outlives the sender's run; otherwise a slow send could become `unknown` mid-flight.
    const { leaseSeconds } = readSendingYaml(join(projectRoot, CONFIG_DIR, 'sending.yaml'));
    if (leaseSeconds !== undefined && leaseSeconds <= SENDER_TIMEOUT.toSeconds()) {
      throw new Error(
        `config/sending.yaml leaseSeconds (${leaseSeconds}) must exceed the sender timeout (${SENDER_TIMEOUT.toSeconds()} s)`,
      );
    }

    this.sendDeadLetterQueue = deadLetterQueue(this, 'SendDlq', 'the send queue');
    this.sendQueue = new sqs.Queue(this, 'SendQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: SEND_QUEUE_VISIBILITY,
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.sendDeadLetterQueue, maxReceiveCount: SEND_QUEUE_MAX_RECEIVE_COUNT },
    });

    this.sweeperFunction = new CultivateFunction(this, 'Sweeper', {
      entry: lambdaEntry('sweeper'),
      description: 'Cultivate: every minute, claim due touches into the send queue',
      pipelineConfig,
      timeout: SWEEPER_TIMEOUT,
      // Sweeps are safe to overlap (claims are conditional); a small reservation keeps a slow table
      // from stacking them up. 0: no reservation.
      ...(settings.sweeperReservedConcurrency > 0 ? { reservedConcurrentExecutions: settings.sweeperReservedConcurrency } : {}),
      // Scheduler invokes asynchronously and retries itself; a failed sweep is redone a minute later.
      retryAttempts: 0,
      maxEventAge: SWEEP_MAX_EVENT_AGE,
      environment: { SEND_QUEUE_URL: this.sendQueue.queueUrl },
    }).bindTable({ table: props.table, access: 'readwrite' });
    this.sendQueue.grantSendMessages(this.sweeperFunction);

    this.scheduleDeadLetterQueue = deadLetterQueue(this, 'SweepScheduleDlq', 'the sweep schedule target');
    // Own role (not the stack-wide singleton) so its one acknowledgement sits on it.
    const scheduleRole = new iam.Role(this, 'SweepScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
      description: 'EventBridge Scheduler: invoke the Cultivate due sweeper, dead-letter to its DLQ',
    });
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.sweeperFunction.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the sweeper function and its own versions/aliases only (grantInvoke adds <arn>:*).',
    });
    this.schedule = new scheduler.Schedule(this, 'SweepSchedule', {
      description: 'Cultivate: run the due sweeper every minute',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      target: new LambdaInvoke(this.sweeperFunction, {
        role: scheduleRole,
        deadLetterQueue: this.scheduleDeadLetterQueue,
        retryAttempts: SWEEP_RETRY_ATTEMPTS,
        maxEventAge: SWEEP_MAX_EVENT_AGE,
      }),
    });

    this.senderFunction = new CultivateFunction(this, 'Sender', {
      entry: lambdaEntry('sender'),
      description: 'Cultivate: send claimed touches through SES (or assign the CRM task) and record them',
      pipelineConfig,
      timeout: SENDER_TIMEOUT,
    })
      .bindTable({ table: props.table, access: 'readwrite' })
      .bindBus(props.bus)
      .bindSecret('UNSUBSCRIBE_KEY_SECRET_ARN', props.unsubscribeKey)
      .bindSecret('IDENTITY_KEY_SECRET_ARN', props.identityKey);
    // ses:SendEmail is authorized on the From identity and on the configuration set the message names.
    props.email.identity.grantSendEmail(this.senderFunction);
    // The L2 grant covers the identity only; SendEmail naming a configuration set also needs it there.
    this.senderFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ses:SendEmail'], resources: [props.email.configurationSetArn] }),
    );

    this.senderEventSource = new SqsEventSource(this.sendQueue, {
      batchSize: SENDER_BATCH_SIZE,
      reportBatchItemFailures: true,
      // One concurrent sender per message per second SES allows: the queue absorbs the rest.
      maxConcurrency: settings.sesMaxSendRate,
    });
    this.senderFunction.addEventSource(this.senderEventSource);
  }
}
