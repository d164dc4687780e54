/**
 * SES events (bounces, complaints, rejects, deliveries, clicks) arrive on the DEFAULT bus, the only
 * one SES publishes to. One rule there, matching exactly the detail-types of the event types the
 * configuration set publishes (and only mail of that configuration set), targets the SES events function; the target has its own DLQ and the
 * function (invoked asynchronously) an on-failure queue, like the custom bus's targets.
 */
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RULE_MAX_EVENT_AGE, RULE_RETRY_ATTEMPTS } from './bus.ts';
import { CultivateFunction, lambdaEntry } from './cultivate-function.ts';
import { sesDetailTypes, type CultivateEmail } from './email.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';

export interface SesEventsProps {
  readonly table: dynamodb.ITableV2;
  readonly email: CultivateEmail;
  /** Cultivate's bus: consent-changed for the CRM after a hard bounce or a complaint. */
  readonly bus: events.IEventBus;
}

export class SesEvents extends Construct {
  public readonly sesEventsFunction: CultivateFunction;
  public readonly rule: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: SesEventsProps) {
    super(scope, id);

    this.sesEventsFunction = new CultivateFunction(this, 'SesEvents', {
      entry: lambdaEntry('ses-events'),
      description: 'Cultivate: apply SES bounces, complaints and clicks to relationships',
      asyncInvoked: true,
      maxEventAge: Duration.hours(6),
      pipelineConfig: { configurationSet: props.email.configurationSet },
    })
      .bindTable({ table: props.table, access: 'readwrite' })
      // Hard bounces and complaints are e-mail opt-outs in the CRM too (consent-changed).
      .bindBus(props.bus);

    this.deadLetterQueue = deadLetterQueue(this, 'SesEventsDlq', 'the SES events rule target');

    // No eventBus: the rule lives on the account's default bus, where SES publishes.
    this.rule = new events.Rule(this, 'SesEventsRule', {
      description: 'Cultivate: SES events of the Cultivate configuration set to the SES events function',
      eventPattern: {
        source: ['aws.ses'],
        detailType: sesDetailTypes(),
        // Only this stack's mail: other senders in the account publish to the same default bus.
        detail: { mail: { tags: { 'ses:configuration-set': [props.email.configurationSet.configurationSetName] } } },
      },
      targets: [
        new targets.LambdaFunction(this.sesEventsFunction, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: RULE_RETRY_ATTEMPTS,
          maxEventAge: RULE_MAX_EVENT_AGE,
        }),
      ],
    });
  }
}
