/**
 * The bus targets: the relationship handler (route target `relationship`) and the CRM outbound
 * function (route target `crmOutbound`). Both are invoked asynchronously by EventBridge, so each
 * has an encrypted, SSL-only on-failure queue, two retries and a bounded event age.
 */
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import type { RouteTarget } from '#catalog/routing';
import { CultivateFunction, lambdaEntry } from './cultivate-function.ts';
import { readSettings } from './settings.ts';

export interface RelationshipsProps {
  readonly table: dynamodb.ITableV2;
  readonly idempotencyTable: dynamodb.ITableV2;
  readonly bus: events.IEventBus;
  readonly identityKey: secretsmanager.ISecret;
  readonly outboundSecret: secretsmanager.ISecret;
  /** The relationship handler plans touches with `pipeline()` (config/ travels with it). */
  readonly configurationSet: ses.IConfigurationSet;
}

export class Relationships extends Construct {
  public readonly relationshipFunction: CultivateFunction;
  public readonly crmOutboundFunction: CultivateFunction;
  /** The Lambda for every routing-table target, for `CultivateBus.addRoutes`. */
  public readonly routeTargets: Record<RouteTarget, lambda.IFunction>;

  constructor(scope: Construct, id: string, props: RelationshipsProps) {
    super(scope, id);
    const settings = readSettings(this);

    this.relationshipFunction = new CultivateFunction(this, 'Relationship', {
      entry: lambdaEntry('relationship'),
      description: 'Cultivate: apply CRM events to relationship state',
      asyncInvoked: true,
      maxEventAge: Duration.hours(6),
      pipelineConfig: { configurationSet: props.configurationSet },
    })
      .bindTable({ table: props.table, access: 'readwrite' })
      .bindBus(props.bus)
      .bindSecret('IDENTITY_KEY_SECRET_ARN', props.identityKey);

    this.crmOutboundFunction = new CultivateFunction(this, 'CrmOutbound', {
      entry: lambdaEntry('crm-outbound'),
      description: 'Cultivate: deliver tasks, briefs and consent changes to the CRM',
      asyncInvoked: true,
      maxEventAge: Duration.hours(6),
      environment: settings.outboundWebhookUrl ? { CULTIVATE_OUTBOUND_WEBHOOK_URL: settings.outboundWebhookUrl } : {},
    })
      // No access to the relationship table: the message carries what the CRM needs.
      // Powertools idempotency guards the outbound webhook (a side effect nothing else guards).
      .bindTable({ table: props.idempotencyTable, access: 'readwrite', envName: 'IDEMPOTENCY_TABLE_NAME' })
      .bindSecret('OUTBOUND_SECRET_ARN', props.outboundSecret);

    this.routeTargets = { relationship: this.relationshipFunction, crmOutbound: this.crmOutboundFunction };
  }
}
