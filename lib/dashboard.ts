/**
 * The CloudWatch dashboard an engineer on call opens first: every alarm's state at the top, then
 * one row per part of the pipeline, in the order a webhook travels (intake, the send path, SES),
 * then what is stuck (dead-letter queues), the metrics stream, every function, and the table.
 *
 * It draws the metrics the constructs expose and the ones the alarms watch; where an alarm watches
 * a drawn metric, its threshold is drawn as a red line taken from the alarm itself, so the picture
 * and the paging cannot disagree. Three counts exist only in the functions' logs (sends, SES
 * throttling, accepted webhooks): metric filters here turn them into metrics, like the quarantine
 * count next to its alarm.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CultivateFunction } from './cultivate-function.ts';
import type { IngestApi } from './ingest-api.ts';
import type { CultivateMetrics } from './metrics.ts';
import { QUARANTINE_KEPT_METRIC, SES_NAMESPACE, SES_REPUTATION_METRICS, SWEEPER_METRICS } from './operations.ts';
import { METRICS_NAMESPACE, METRICS_SERVICE, type Sending } from './sending.ts';

/**
 * Counts taken from the functions' JSON logs (Powertools `message`): what the log line says, and
 * the metric (namespace `METRICS_NAMESPACE`, no dimension) it becomes. The messages are the ones
 * functions/handlers/send.ts, functions/handlers/ingest.ts and functions/crm/ingest.ts write; the
 * dashboard test checks that they still do.
 */
export const LOG_COUNTED_METRICS = {
  touchesSent: { metricName: 'TouchesSent', messages: ['e-mail sent'] },
  touchesThrottled: { metricName: 'TouchesThrottled', messages: ['SES throttled; the touch goes back to the queue'] },
  webhooksAccepted: { metricName: 'WebhooksAccepted', messages: ['webhook accepted', 'CRM webhook accepted'] },
} as const;

/** SES's account sending counts (AWS/SES, no dimension). */
export const SES_SENDING_METRICS = ['Send', 'Delivery', 'Bounce', 'Complaint'] as const;

export interface CultivateDashboardProps {
  /** The HTTP API and its ingest function (intake row). */
  readonly api: IngestApi;
  /** The sweeper, the sender and the send queue (send path row). */
  readonly sending: Sending;
  /** The table stream's function (metrics stream row). */
  readonly metrics: CultivateMetrics;
  /** Every function of the stack: errors, throttles and duration, one line each. */
  readonly functions: readonly CultivateFunction[];
  /** Every dead-letter and on-failure queue. */
  readonly deadLetterQueues: readonly sqs.IQueue[];
  readonly table: dynamodb.ITableV2;
  /** Every alarm of the stack: the status widget, and thresholds drawn on the graphs they watch. */
  readonly alarms: readonly cloudwatch.Alarm[];
}

const FULL_WIDTH = 24;
const GRAPH_HEIGHT = 6;
const ONE_MINUTE = Duration.minutes(1);
const FIVE_MINUTES = Duration.minutes(5);

export class CultivateDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  /** The dashboard in the CloudWatch console (a stack output). */
  public readonly consoleUrl: string;

  constructor(scope: Construct, id: string, props: CultivateDashboardProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboard names are account-wide: the region keeps two deployments of one stack apart.
      dashboardName: `${stack.stackName}-on-call-${stack.region}`,
      defaultInterval: Duration.hours(6),
    });
    this.consoleUrl = `https://console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards/dashboard/${this.dashboard.dashboardName}`;

    const sweeper = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: METRICS_SERVICE }, statistic, period: ONE_MINUTE, label });
    const logCount = (metricName: string, label: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES, label });
    const ses = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: SES_NAMESPACE, metricName, statistic, period: Duration.hours(1), label });

    this.countFromLogs(props.sending.senderFunction, LOG_COUNTED_METRICS.touchesSent);
    this.countFromLogs(props.sending.senderFunction, LOG_COUNTED_METRICS.touchesThrottled);
    this.countFromLogs(props.api.ingestFunction, LOG_COUNTED_METRICS.webhooksAccepted);

    const thresholds = alarmThresholds(stack, props.alarms);
    const graph = (title: string, left: cloudwatch.IMetric[], options: { width?: number; stacked?: boolean; unit?: string } = {}) =>
      new cloudwatch.GraphWidget({
        title,
        left,
        leftAnnotations: left.flatMap(thresholds),
        width: options.width ?? 8,
        height: GRAPH_HEIGHT,
        ...(options.stacked && { stacked: true }),
        ...(options.unit && { leftYAxis: { label: options.unit, showUnits: false, min: 0 } }),
      });
    const section = (markdown: string) => new cloudwatch.TextWidget({ markdown, width: FULL_WIDTH, height: 1, background: cloudwatch.TextWidgetBackground.TRANSPARENT });

    // 1. Alarms: red here means someone was paged; each alarm's description says what to do.
    this.dashboard.addWidgets(section('### 1. Alarms (each alarm\'s description says what broke and what to do)'));
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: `Every alarm (${props.alarms.length})`,
        alarms: [...props.alarms],
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
        width: FULL_WIDTH,
        height: 2 + Math.ceil(props.alarms.length / 4),
      }),
    );

    // 2. Intake: are webhooks arriving and being accepted?
    const httpApi = props.api.httpApi;
    this.dashboard.addWidgets(section('### 2. Intake: CRM webhooks and the HTTP API'));
    this.dashboard.addWidgets(
      graph('API requests', [httpApi.metricCount({ period: FIVE_MINUTES, label: 'requests' })], { width: 6 }),
      graph('API 4xx and 5xx', [httpApi.metricClientError({ period: FIVE_MINUTES, label: '4xx' }), httpApi.metricServerError({ period: FIVE_MINUTES, label: '5xx' })], { width: 6 }),
      graph('API latency p99 (ms)', [httpApi.metricLatency({ period: FIVE_MINUTES, statistic: 'p99', label: 'p99' })], { width: 6 }),
      graph(
        'Webhooks accepted / quarantined',
        [
          logCount(LOG_COUNTED_METRICS.webhooksAccepted.metricName, 'accepted'),
          new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName: QUARANTINE_KEPT_METRIC, statistic: cloudwatch.Stats.SUM, period: FIVE_MINUTES, label: 'quarantined' }),
        ],
        { width: 6 },
      ),
    );

    // 3. The send path: due touches claimed, sent, held back; the queue between sweeper and sender.
    const { sendQueue } = props.sending;
    this.dashboard.addWidgets(section('### 3. Send path: sweeper → send queue → sender'));
    this.dashboard.addWidgets(
      graph('Due touches swept', [sweeper(SWEEPER_METRICS.touchesQueued, cloudwatch.Stats.SUM, 'queued'), sweeper(SWEEPER_METRICS.touchesDeferredByCap, cloudwatch.Stats.SUM, 'deferred by the daily cap')], {
        stacked: true,
      }),
      graph('Touches sent / SES throttled', [logCount(LOG_COUNTED_METRICS.touchesSent.metricName, 'sent'), logCount(LOG_COUNTED_METRICS.touchesThrottled.metricName, 'throttled (retried)')]),
      graph('Touches unknown (lease lapsed while sending)', [sweeper(SWEEPER_METRICS.touchesUnknown, cloudwatch.Stats.SUM, 'unknown')]),
    );
    this.dashboard.addWidgets(
      graph('Oldest due touch age (s)', [sweeper(SWEEPER_METRICS.oldestDueTouchAgeSeconds, cloudwatch.Stats.MAXIMUM, 'oldest due')]),
      graph('Send queue depth', [sendQueue.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: 'visible' }), sendQueue.metricApproximateNumberOfMessagesNotVisible({ period: ONE_MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: 'in flight' })]),
      graph('Send queue oldest message age (s)', [sendQueue.metricApproximateAgeOfOldestMessage({ period: ONE_MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest' })]),
    );

    // 4. SES: volume, and the reputation rates SES reviews an account on (alarms at half of them).
    this.dashboard.addWidgets(section('### 4. SES: sending and reputation (rates as fractions: 0.05 = 5 %)'));
    this.dashboard.addWidgets(
      graph('SES sends and outcomes (per hour)', SES_SENDING_METRICS.map((m) => ses(m, cloudwatch.Stats.SUM, m.toLowerCase()))),
      graph('SES bounce rate', [ses(SES_REPUTATION_METRICS.bounceRate, cloudwatch.Stats.MAXIMUM, 'bounce rate')], { unit: 'fraction' }),
      graph('SES complaint rate', [ses(SES_REPUTATION_METRICS.complaintRate, cloudwatch.Stats.MAXIMUM, 'complaint rate')], { unit: 'fraction' }),
    );

    // 5. Dead letters: anything here is work that did not happen; inspect, fix, redrive.
    const visible = (q: sqs.IQueue) => q.metricApproximateNumberOfMessagesVisible({ period: ONE_MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: q.node.id });
    this.dashboard.addWidgets(section('### 5. Dead-letter and on-failure queues (should all be 0)'));
    this.dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({ title: 'Messages waiting now', metrics: props.deadLetterQueues.map(visible), width: 12, height: GRAPH_HEIGHT }),
      new cloudwatch.GraphWidget({ title: 'Messages waiting', left: props.deadLetterQueues.map(visible), width: 12, height: GRAPH_HEIGHT, leftYAxis: { min: 0 } }),
    );

    // 6. The metrics stream: behind (iterator age) or failing (errors) means stale leadership numbers.
    const stream = props.metrics.streamFunction;
    const iteratorAge = stream.metric('IteratorAge', { period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM, label: 'iterator age (ms)' });
    this.dashboard.addWidgets(section('### 6. Metrics stream (table stream → aggregates)'));
    this.dashboard.addWidgets(
      graph('Metrics stream iterator age (ms)', [iteratorAge], { width: 12 }),
      graph('Metrics stream errors and throttles', [stream.metricErrors({ period: FIVE_MINUTES, label: 'errors' }), stream.metricThrottles({ period: FIVE_MINUTES, label: 'throttles' })], { width: 12 }),
    );

    // 7. Every function: which one is failing, throttled or slow.
    const perFunction = (metric: (fn: CultivateFunction) => cloudwatch.IMetric) => props.functions.map(metric);
    this.dashboard.addWidgets(section('### 7. Lambda functions'));
    this.dashboard.addWidgets(
      graph('Errors by function', perFunction((fn) => fn.metricErrors({ period: FIVE_MINUTES, label: fn.node.id }))),
      graph('Throttles by function', perFunction((fn) => fn.metricThrottles({ period: FIVE_MINUTES, label: fn.node.id }))),
      graph('Duration p99 by function (ms)', perFunction((fn) => fn.metricDuration({ period: FIVE_MINUTES, statistic: 'p99', label: fn.node.id }))),
    );

    // 8. The table everything lives in.
    const table = props.table;
    this.dashboard.addWidgets(section('### 8. DynamoDB table'));
    this.dashboard.addWidgets(
      // Each of these two sums one metric per operation under the same ids: one graph each.
      graph('Table throttled requests', [table.metricThrottledRequestsForOperations({ period: FIVE_MINUTES, label: 'throttled' })]),
      graph('Table system errors', [table.metricSystemErrorsForOperations({ period: FIVE_MINUTES, label: 'system errors' })]),
      graph('Table consumed capacity', [
        table.metricConsumedReadCapacityUnits({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: 'read units' }),
        table.metricConsumedWriteCapacityUnits({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM, label: 'write units' }),
      ]),
    );

    // A new alarm or function the dashboard does not show fails the synth, instead of staying unseen.
    this.node.addValidation({
      validate: () => {
        const alarms = new Set<unknown>(props.alarms);
        const functions = new Set<unknown>(props.functions);
        const all = stack.node.findAll();
        return [
          ...all.filter((c) => c instanceof cloudwatch.Alarm && !alarms.has(c)).map((c) => `alarm ${c.node.path} is not on the dashboard: pass it in CultivateDashboardProps.alarms`),
          ...all.filter((c) => c instanceof CultivateFunction && !functions.has(c)).map((c) => `function ${c.node.path} is not on the dashboard: pass it in CultivateDashboardProps.functions`),
        ];
      },
    });
  }

  /** A metric filter on the function's log group: 1 for each log line whose message is one of these. */
  private countFromLogs(fn: CultivateFunction, counted: { metricName: string; messages: readonly string[] }) {
    new logs.MetricFilter(this, `${fn.node.id}${counted.metricName}Filter`, {
      logGroup: fn.logGroupRef,
      metricNamespace: METRICS_NAMESPACE,
      metricName: counted.metricName,
      filterPattern: logs.FilterPattern.any(...counted.messages.map((m) => logs.FilterPattern.stringValue('$.message', '=', m))),
      metricValue: '1',
      defaultValue: 0,
    });
  }
}

/**
 * For a drawn metric, the thresholds of the alarms that watch the same metric (namespace, name and
 * dimensions), as red horizontal lines.
 */
function alarmThresholds(stack: Stack, alarms: readonly cloudwatch.Alarm[]): (metric: cloudwatch.IMetric) => cloudwatch.HorizontalAnnotation[] {
  const identity = (metric: cloudwatch.IMetric): string | undefined => {
    const stat = metric.toMetricConfig().metricStat;
    if (!stat) return undefined;
    const dimensions = [...(stat.dimensions ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    return JSON.stringify(stack.resolve({ namespace: stat.namespace, metricName: stat.metricName, dimensions }));
  };
  const byMetric = new Map<string, cloudwatch.Alarm[]>();
  for (const alarm of alarms) {
    const key = identity(alarm.metric);
    if (key) byMetric.set(key, [...(byMetric.get(key) ?? []), alarm]);
  }
  return (metric) => {
    const key = identity(metric);
    return (key ? (byMetric.get(key) ?? []) : []).map((alarm) => {
      const annotation = alarm.toAnnotation();
      return { ...annotation, label: `${alarm.node.id}: ${annotation.label ?? ''}`, color: cloudwatch.Color.RED };
    });
  };
}
