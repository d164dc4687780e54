/**
 * The Cultivate stack: composes one construct per part. The bus is passed to the parts that
 * publish to it; the routing table wires rules to the relationship functions.
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CultivateBus } from './bus.ts';
import type { CultivateFunction } from './cultivate-function.ts';
import { IngestApi, type ApiRoute } from './ingest-api.ts';
import { CultivateOperations } from './operations.ts';
import { Relationships } from './relationships.ts';
import { CultivateSecrets } from './secrets.ts';
import { CultivateTables } from './table.ts';

export interface CultivateStackProps extends StackProps {
  /** Override the deployed API routes (tests). @default apiRoutes */
  readonly apiRoutes?: readonly ApiRoute[];
}

export class CultivateStack extends Stack {
  public readonly tables: CultivateTables;
  public readonly secrets: CultivateSecrets;
  public readonly events: CultivateBus;
  public readonly api: IngestApi;
  public readonly relationships: Relationships;
  public readonly operations: CultivateOperations;

  constructor(scope: Construct, id: string, props: CultivateStackProps = {}) {
    super(scope, id, props);

    this.tables = new CultivateTables(this, 'Data');
    this.secrets = new CultivateSecrets(this, 'Secrets');
    this.events = new CultivateBus(this, 'Events');
    const bus = this.events.bus;

    this.api = new IngestApi(this, 'Api', {
      table: this.tables.table,
      bus,
      webhookSecret: this.secrets.webhookSecret,
      identityKey: this.secrets.identityKey,
      ...(props.apiRoutes ? { routes: props.apiRoutes } : {}),
    });

    this.relationships = new Relationships(this, 'Relationships', {
      table: this.tables.table,
      idempotencyTable: this.tables.idempotencyTable,
      bus,
      identityKey: this.secrets.identityKey,
      outboundSecret: this.secrets.outboundSecret,
    });
    this.events.addRoutes(this.relationships.routeTargets);

    this.operations = new CultivateOperations(this, 'Operations');
    for (const { route, deadLetterQueue } of this.events.routeRules) {
      this.operations.alarmOnQueueMessages(`${route.id}DlqAlarm`, deadLetterQueue, `Rule ${route.id} could not deliver events`);
    }
    for (const fn of this.asyncFunctions) {
      if (fn.onFailureQueue) {
        this.operations.alarmOnQueueMessages(`${fn.node.id}OnFailureAlarm`, fn.onFailureQueue, `${fn.node.id} failed after retries`);
      }
    }
    this.operations.alarmOnCount(
      'Ingest5xxAlarm',
      this.api.httpApi.metricServerError({ period: this.fiveMinutes }),
      'The HTTP API answered 5xx (webhooks may be lost unless the CRM retries).',
    );
    this.operations.alarmOnCount(
      'IngestErrorsAlarm',
      this.api.ingestFunction.metricErrors({ period: this.fiveMinutes }),
      'The ingest function failed.',
    );

    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName });
    new CfnOutput(this, 'TableName', { value: this.tables.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.alarmTopic.topicArn });
  }

  /** Every function invoked asynchronously (bus targets). */
  get asyncFunctions(): CultivateFunction[] {
    return [this.relationships.relationshipFunction, this.relationships.crmOutboundFunction];
  }

  private get fiveMinutes() {
    return Duration.minutes(5);
  }
}
