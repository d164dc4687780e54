/**
 * The Cultivate stack: composes one construct per part. The bus is passed to the parts that
 * publish to it; the routing table wires rules to the relationship functions; the send path
 * (sweeper, send queue, sender, SES, SES events) follows DESIGN.md §4.
 */
import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { loadSendingConfig } from '../functions/config/sending.ts';
import { CultivateBus } from './bus.ts';
import { CultivateDashboard } from './dashboard.ts';
import { CONFIG_DIR, CultivateFunction, projectRoot } from './cultivate-function.ts';
import { Replies } from './replies.ts';
import { CrmSettingsBinding } from './crm-settings.ts';
import { CultivateEmail } from './email.ts';
import { IngestApi, type ApiRoute } from './ingest-api.ts';
import { CultivateMetrics } from './metrics.ts';
import { SalesforceRelay } from './salesforce-relay.ts';
import { AUTO_PAUSED_METRIC, CultivateOperations, QUARANTINE_KEPT_METRIC, SES_NAMESPACE, SES_REPUTATION_METRICS, SWEEPER_METRICS } from './operations.ts';
import { Relationships } from './relationships.ts';
import { CultivateRules } from './rules.ts';
import { CultivateSecrets } from './secrets.ts';
import { METRICS_NAMESPACE, METRICS_SERVICE, Sending } from './sending.ts';
import { SesEvents } from './ses-events.ts';
import { PLACEHOLDER_PUBLIC_BASE_URL, readSettings } from './settings.ts';
import { CultivateTables } from './table.ts';

/** The oldest due touch may be this old (seconds) for three minutes running before the alarm. */
export const OLDEST_DUE_ALARM_SECONDS = 900;

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
  public readonly email: CultivateEmail;
  public readonly sending: Sending;
  public readonly sesEvents: SesEvents;
  public readonly operations: CultivateOperations;
  public readonly replies: Replies | undefined;
  public readonly metrics: CultivateMetrics;
  public readonly salesforceRelay: SalesforceRelay | undefined;
  public readonly dashboard: CultivateDashboard;
  public readonly rules: CultivateRules;

  constructor(scope: Construct, id: string, props: CultivateStackProps = {}) {
    super(scope, id, props);
    const settings = readSettings(this);
    if (settings.publicBaseUrl === PLACEHOLDER_PUBLIC_BASE_URL) {
      Annotations.of(this).addWarningV2(
        'cultivate:placeholder-publicBaseUrl',
        `context "publicBaseUrl" is the placeholder ${PLACEHOLDER_PUBLIC_BASE_URL}: unsubscribe links in sent mail would ` +
          'point nowhere. Set it (cdk.json or -c publicBaseUrl=https://...) to the public API URL before deploying.',
      );
    }

    this.tables = new CultivateTables(this, 'Data');
    this.secrets = new CultivateSecrets(this, 'Secrets');
    this.events = new CultivateBus(this, 'Events');
    const bus = this.events.bus;
    this.email = new CultivateEmail(this, 'Email');
    const crmSettings = new CrmSettingsBinding(this);

    this.api = new IngestApi(this, 'Api', {
      table: this.tables.table,
      bus,
      webhookSecret: this.secrets.webhookSecret,
      identityKey: this.secrets.identityKey,
      unsubscribeKey: this.secrets.unsubscribeKey,
      crmSettings,
      ...(props.apiRoutes ? { routes: props.apiRoutes } : {}),
    });

    this.relationships = new Relationships(this, 'Relationships', {
      table: this.tables.table,
      idempotencyTable: this.tables.idempotencyTable,
      bus,
      identityKey: this.secrets.identityKey,
      outboundSecret: this.secrets.outboundSecret,
      configurationSet: this.email.configurationSet,
      crmSettings,
    });
    this.events.addRoutes(this.relationships.routeTargets);

    this.sending = new Sending(this, 'Sending', {
      table: this.tables.table,
      bus,
      email: this.email,
      unsubscribeKey: this.secrets.unsubscribeKey,
      identityKey: this.secrets.identityKey,
    });
    this.sesEvents = new SesEvents(this, 'SesEvents', { table: this.tables.table, email: this.email, bus });

    // Replies are received only when config/sending.yaml names a reply subdomain.
    const replyDomain = loadSendingConfig(join(projectRoot, CONFIG_DIR)).replyDomain;
    this.replies = replyDomain
      ? new Replies(this, 'Replies', {
          table: this.tables.table,
          idempotencyTable: this.tables.idempotencyTable,
          bus,
          replyDomain,
          unsubscribeKey: this.secrets.unsubscribeKey,
          identityKey: this.secrets.identityKey,
          outboundSecret: this.secrets.outboundSecret,
          configurationSet: this.email.configurationSet,
          crmSettings,
          ...(settings.outboundWebhookUrl ? { outboundWebhookUrl: settings.outboundWebhookUrl } : {}),
        })
      : undefined;

    this.metrics = new CultivateMetrics(this, 'Metrics', { table: this.tables.table });

    // Salesforce Event Relay, when an org relays change events to EventBridge (docs/crm/salesforce.md).
    this.salesforceRelay = settings.salesforceEventRelaySource
      ? new SalesforceRelay(this, 'SalesforceRelay', { eventSourceName: settings.salesforceEventRelaySource, table: this.tables.table, bus, crmSettings })
      : undefined;

    this.operations = new CultivateOperations(this, 'Operations');
    for (const { route, deadLetterQueue } of this.events.routeRules) {
      this.operations.alarmOnQueueMessages(`${route.id}DlqAlarm`, deadLetterQueue, `Rule ${route.id} could not deliver events`);
    }
    this.operations.alarmOnQueueMessages('SesEventsDlqAlarm', this.sesEvents.deadLetterQueue, 'The SES events rule could not deliver events');
    if (this.salesforceRelay) {
      this.operations.alarmOnQueueMessages('SalesforceRelayDlqAlarm', this.salesforceRelay.deadLetterQueue, 'The Salesforce Event Relay rule could not deliver events');
    }
    this.operations.alarmOnQueueMessages('SendDlqAlarm', this.sending.sendDeadLetterQueue, 'Touches failed 10 send attempts');
    this.operations.alarmOnQueueMessages(
      'MetricsStreamDlqAlarm',
      this.metrics.deadLetterQueue,
      'A batch of the table stream was not counted after retries (run `cultivate metrics rebuild`)',
    );
    this.operations.alarmAbove(
      'MetricsIteratorAgeAlarm',
      this.metrics.streamFunction.metric('IteratorAge', { period: Duration.minutes(5), statistic: cloudwatch.Stats.MAXIMUM }),
      'The metrics are more than 15 minutes behind the table stream (the function fails or is throttled).',
      { threshold: 15 * 60 * 1000, evaluationPeriods: 3 },
    );
    this.operations.alarmOnQueueMessages(
      'SweepScheduleDlqAlarm',
      this.sending.scheduleDeadLetterQueue,
      'The scheduler could not invoke the due sweeper',
    );
    for (const fn of this.asyncFunctions) {
      if (fn.onFailureQueue) this.operations.alarmOnQueueMessages(`${fn.node.id}OnFailureAlarm`, fn.onFailureQueue, `${fn.node.id} failed after retries`);
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

    this.addSendPathAlarms();
    this.addQuarantineAlarm();
    this.addAutoPauseAlarm();

    // Published rules (AppConfig): a rollout rolls back when the functions that plan with the new
    // version fail, as new dead letters of the relationship function and the sender show
    // (lib/rules.ts). New ones, not waiting ones: see alarmOnQueueGrowth.
    const relationshipOnFailure = this.relationships.relationshipFunction.onFailureQueue;
    const rollbackAlarms = [
      ...(relationshipOnFailure ? [this.operations.alarmOnQueueGrowth('RelationshipFailuresGrowingAlarm', relationshipOnFailure, 'The relationship function failed after retries')] : []),
      this.operations.alarmOnQueueGrowth('SendDlqGrowingAlarm', this.sending.sendDeadLetterQueue, 'Touches failed 10 send attempts'),
    ];
    this.rules = new CultivateRules(this, 'Rules', { table: this.tables.table, rollbackAlarms });
    for (const fn of [
      this.relationships.relationshipFunction,
      this.relationships.crmOutboundFunction,
      this.sending.sweeperFunction,
      this.sending.senderFunction,
      this.sesEvents.sesEventsFunction,
      ...(this.replies ? [this.replies.inboundMailFunction] : []),
      // It judges cadence.yaml `autoPause` with the rules in force, on the tracks the planner uses.
      this.metrics.streamFunction,
    ]) {
      this.rules.bindReader(fn);
    }
    this.rules.bindPublisher(this.api.configFunction);
    this.operations.alarmOnQueueMessages('ReplanDlqAlarm', this.rules.replanDeadLetterQueue, 'The replan job failed 5 times on one page (see the replan function\'s logs; it resumes from its cursor when redriven)');
    this.operations.alarmOnQueueMessages('DeploymentEventsDlqAlarm', this.rules.eventsDeadLetterQueue, 'A rules deployment finished but its replan job could not be started');
    this.operations.alarmOnCount('ReplanErrorsAlarm', this.rules.replanFunction.metricErrors({ period: this.fiveMinutes }), 'The replan function failed (it retries the page from the job\'s cursor).');

    // Last: it shows every alarm and function created above (a validation fails the synth otherwise).
    this.dashboard = new CultivateDashboard(this, 'OnCall', {
      api: this.api,
      sending: this.sending,
      metrics: this.metrics,
      functions: this.node.findAll().filter((c) => c instanceof CultivateFunction),
      deadLetterQueues: this.operations.deadLetterQueues,
      table: this.tables.table,
      alarms: this.operations.alarms,
    });

    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName });
    new CfnOutput(this, 'TableName', { value: this.tables.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.operations.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardUrl', { value: this.dashboard.consoleUrl, description: 'The on-call CloudWatch dashboard' });
  }

  /** Every function invoked asynchronously by an EventBridge rule (custom and default bus targets). */
  get asyncFunctions(): CultivateFunction[] {
    return [
      this.relationships.relationshipFunction,
      this.relationships.crmOutboundFunction,
      this.relationships.crmNormaliseFunction,
      this.sesEvents.sesEventsFunction,
      ...(this.replies ? [this.replies.inboundMailFunction] : []),
      ...(this.salesforceRelay ? [this.salesforceRelay.relayFunction] : []),
    ];
  }

  /** Alarms on the sweeper's metrics (Powertools, namespace Cultivate), the send queue and SES reputation. */
  private addSendPathAlarms(): void {
    const sweeperMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: METRICS_SERVICE },
        statistic,
        period: Duration.minutes(1),
      });
    // Missing data breaches: the sweeper publishes every minute, so silence means it is not running.
    this.operations.alarmAbove(
      'OldestDueTouchAgeAlarm',
      sweeperMetric(SWEEPER_METRICS.oldestDueTouchAgeSeconds, cloudwatch.Stats.MAXIMUM),
      `Due touches are waiting more than ${OLDEST_DUE_ALARM_SECONDS / 60} minutes (or the sweeper is not running).`,
      { threshold: OLDEST_DUE_ALARM_SECONDS, evaluationPeriods: 3, treatMissingData: cloudwatch.TreatMissingData.BREACHING },
    );
    this.operations.alarmAbove(
      'TouchesUnknownAlarm',
      sweeperMetric(SWEEPER_METRICS.touchesUnknown, cloudwatch.Stats.SUM),
      'A touch\'s send lease expired in `sending`: it may or may not have been sent and will not be retried. Investigate.',
      { threshold: 0 },
    );
    this.operations.alarmAbove(
      'SendQueueAgeAlarm',
      this.sending.sendQueue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      `Claimed touches are waiting more than ${OLDEST_DUE_ALARM_SECONDS / 60} minutes in the send queue (SES throttling or sender failures).`,
      { threshold: OLDEST_DUE_ALARM_SECONDS, evaluationPeriods: 3 },
    );
    this.operations.alarmOnCount(
      'SweeperErrorsAlarm',
      this.sending.sweeperFunction.metricErrors({ period: this.fiveMinutes }),
      'The due sweeper failed.',
    );
    // SES reviews an account at a 5 % bounce rate or a 0.1 % complaint rate: alarm at half of each,
    // while there is time to find the list or the content that causes it.
    const reputation = (metricName: string) =>
      new cloudwatch.Metric({ namespace: SES_NAMESPACE, metricName, statistic: cloudwatch.Stats.MAXIMUM, period: Duration.hours(1) });
    this.operations.alarmAbove('SesBounceRateAlarm', reputation(SES_REPUTATION_METRICS.bounceRate), 'SES bounce rate above 2.5 % (half of the 5 % at which SES reviews the account).', {
      threshold: 0.025,
    });
    this.operations.alarmAbove(
      'SesComplaintRateAlarm',
      reputation(SES_REPUTATION_METRICS.complaintRate),
      'SES complaint rate above 0.05 % (half of the 0.1 % at which SES reviews the account).',
      { threshold: 0.0005 },
    );
  }

  /**
   * Quarantine growth: authentic input kept instead of applied (bad bodies, unmapped stages or
   * reasons, a held mass close). The functions log each with a `metric` field; a metric filter per
   * log group counts them into one metric, and any in five minutes alarms: someone should look.
   */
  private addQuarantineAlarm(): void {
    const metricName = QUARANTINE_KEPT_METRIC;
    const sources = [this.api.ingestFunction, this.relationships.crmNormaliseFunction, ...(this.salesforceRelay ? [this.salesforceRelay.relayFunction] : [])];
    for (const fn of sources) {
      new logs.MetricFilter(this, `${fn.node.id}QuarantineFilter`, {
        logGroup: fn.logGroupRef,
        metricNamespace: METRICS_NAMESPACE,
        metricName,
        filterPattern: logs.FilterPattern.any(
          logs.FilterPattern.stringValue('$.metric', '=', 'WebhookQuarantined'),
          logs.FilterPattern.stringValue('$.metric', '=', 'NotificationQuarantined'),
          logs.FilterPattern.stringValue('$.metric', '=', 'MassCloseHeld'),
        ),
        metricValue: '1',
        defaultValue: 0,
      });
    }
    this.operations.alarmOnCount(
      'QuarantineGrowthAlarm',
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, statistic: cloudwatch.Stats.SUM, period: this.fiveMinutes }),
      'Authentic CRM input was kept in quarantine (unmapped stage or reason, unreadable body, or a held mass close): review with `cultivate quarantine list`.',
    );
  }

  /**
   * A content item or track paused itself (cadence.yaml `autoPause`): the metrics stream logs
   * "auto-paused" with `metric: AutoPaused` (ids and numbers only); a metric filter counts it and
   * the alarm tells the alarm topic (on-call, and sales ops when subscribed).
   */
  private addAutoPauseAlarm(): void {
    const metricName = AUTO_PAUSED_METRIC;
    new logs.MetricFilter(this, 'MetricsStreamAutoPausedFilter', {
      logGroup: this.metrics.streamFunction.logGroupRef,
      metricNamespace: METRICS_NAMESPACE,
      metricName,
      filterPattern: logs.FilterPattern.stringValue('$.metric', '=', metricName),
      metricValue: '1',
      defaultValue: 0,
    });
    this.operations.alarmOnCount(
      'AutoPausedAlarm',
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, statistic: cloudwatch.Stats.SUM, period: this.fiveMinutes }),
      'A content item or track paused itself: its unsubscribe or complaint rate crossed cadence.yaml autoPause. See why with `cultivate config pauses`; after fixing the content or the track, `cultivate config resume content|track <id>`.',
    );
  }

  private get fiveMinutes() {
    return Duration.minutes(5);
  }
}
