/**
 * Salesforce Event Relay (optional, context `salesforceEventRelaySource`): the partner event bus for
 * the org's event source (`aws.partner/salesforce.com/<orgId>/<channelId>`, created pending by
 * Salesforce when the admin sets up the relay), a rule for relayed change events, and the function
 * that turns them into CRM notifications on Cultivate's own bus. The rule target has a DLQ and the
 * function an on-failure queue, like every other asynchronous path.
 */
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RULE_MAX_EVENT_AGE, RULE_RETRY_ATTEMPTS } from './bus.ts';
import type { CrmSettingsBinding } from './crm-settings.ts';
import { CultivateFunction, lambdaEntry } from './cultivate-function.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';

export interface SalesforceRelayProps {
  /** The partner event source name, e.g. aws.partner/salesforce.com/00D.../0YL... */
  readonly eventSourceName: string;
  readonly table: dynamodb.ITableV2;
  /** Cultivate's bus: the notifications go there, to the normaliser. */
  readonly bus: events.IEventBus;
  readonly crmSettings: CrmSettingsBinding;
}

export class SalesforceRelay extends Construct {
  public readonly partnerBus: events.EventBus;
  public readonly relayFunction: CultivateFunction;
  public readonly rule: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: SalesforceRelayProps) {
    super(scope, id);
    if (!/^aws\.partner\/salesforce\.com\/[A-Za-z0-9]{15,18}\/[A-Za-z0-9]+$/.test(props.eventSourceName)) {
      throw new Error(`context "salesforceEventRelaySource" must be a Salesforce partner event source such as aws.partner/salesforce.com/<orgId>/<channelId>, got ${props.eventSourceName}`);
    }
    this.partnerBus = new events.EventBus(this, 'PartnerBus', { eventSourceName: props.eventSourceName });

    this.relayFunction = new CultivateFunction(this, 'SalesforceRelay', {
      entry: lambdaEntry('salesforce-relay'),
      description: 'Cultivate: Salesforce Event Relay change events to CRM notifications',
      asyncInvoked: true,
      maxEventAge: Duration.hours(6),
    })
      // Inbox and quarantine writes only.
      .bindTable({ table: props.table, access: 'write' })
      .bindBus(props.bus);
    props.crmSettings.bind(this.relayFunction, 'none');

    this.deadLetterQueue = deadLetterQueue(this, 'RelayDlq', 'the Salesforce Event Relay rule target');
    this.rule = new events.Rule(this, 'ChangeEvents', {
      eventBus: this.partnerBus,
      description: 'Salesforce change events relayed by Event Relay',
      eventPattern: { source: events.Match.prefix('aws.partner/salesforce.com'), detailType: events.Match.suffix('ChangeEvent') },
      targets: [new targets.LambdaFunction(this.relayFunction, { deadLetterQueue: this.deadLetterQueue, retryAttempts: RULE_RETRY_ATTEMPTS, maxEventAge: RULE_MAX_EVENT_AGE })],
    });
  }
}
