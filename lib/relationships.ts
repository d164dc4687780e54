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
import type { CrmSettingsBinding } from './crm-settings.ts';
import { readSettings } from './settings.ts';



export interface RelationshipsProps {
  readonly table: dynamodb.ITableV2;
  readonly idempotencyTable: dynamodb.ITableV2;
  readonly bus: events.IEventBus;
  readonly identityKey: secretsmanager.ISecret;
  readonly outboundSecret: secretsmanager.ISecret;
  /** The relationship handler plans touches with `pipeline()` (config/ travels with it). */
  readonly configurationSet: ses.IConfigurationSet;
  /** CRM settings from context (normaliser and outbound read their secrets). */
  readonly crmSettings: CrmSettingsBinding;
}

export class Relationships extends Construct {
  public readonly relationshipFunction: CultivateFunction;
  public readonly crmOutboundFunction: CultivateFunction;
  public readonly crmNormaliseFunction: CultivateFunction;
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

    // Functions that call CRM APIs: few at once (context crmReservedConcurrency), so with each CRM
    // client's own throttle the CRM-wide rate stays under its published limit.
    const crmConcurrency = settings.crmReservedConcurrency > 0 ? { reservedConcurrentExecutions: settings.crmReservedConcurrency } : {};
    this.crmOutboundFunction = new CultivateFunction(this, 'CrmOutbound', {
      entry: lambdaEntry('crm-outbound'),
      description: 'Cultivate: deliver tasks, briefs and consent changes to the CRM',
      asyncInvoked: true,
      maxEventAge: Duration.hours(6),
      // CRM APIs have rate limits: few concurrent deliveries, the rest wait in Lambda's event queue.
      ...crmConcurrency,
      timeout: Duration.seconds(30),
      // Owner routing (owners.yaml) and config/crm.yaml travel with it.
      pipelineConfig: { configurationSet: props.configurationSet },
      environment: settings.outboundWebhookUrl ? { CULTIVATE_OUTBOUND_WEBHOOK_URL: settings.outboundWebhookUrl } : {},
    })
      // No access to the relationship table: the message carries what the CRM needs.
      // Powertools idempotency guards the outbound webhook (a side effect nothing else guards).
      .bindTable({ table: props.idempotencyTable, access: 'readwrite', envName: 'IDEMPOTENCY_TABLE_NAME' })
      .bindSecret('OUTBOUND_SECRET_ARN', props.outboundSecret);

    props.crmSettings.bind(this.crmOutboundFunction, 'api');

    this.crmNormaliseFunction = new CultivateFunction(this, 'CrmNormalise', {
      entry: lambdaEntry('crm-normalise'),
      description: 'Cultivate: normalise CRM notifications into catalog events (CRM API lookups)',
      asyncInvoked: true,
      maxEventAge: Duration.hours(6),
      ...crmConcurrency,
      timeout: Duration.seconds(60),
      // config/crm.yaml travels with it.
      pipelineConfig: { configurationSet: props.configurationSet },
    })
      .bindTable({ table: props.table, access: 'readwrite' })
      .bindBus(props.bus)
      .bindSecret('IDENTITY_KEY_SECRET_ARN', props.identityKey);
    props.crmSettings.bind(this.crmNormaliseFunction, 'api');

    this.routeTargets = {
      relationship: this.relationshipFunction,
      crmOutbound: this.crmOutboundFunction,
      crmNormalise: this.crmNormaliseFunction,
    };
  }
}
