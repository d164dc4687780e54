/**
 * Alarms and where they go: an encrypted, SSL-only SNS topic (optionally with an e-mail
 * subscription from context `alarmEmail`), an alarm on every dead-letter / on-failure queue that
 * holds a message, alarms on ingest 5xx, and the send path's alarms (age of the oldest due touch,
 * touches in `unknown`, SES reputation).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { readSettings } from './settings.ts';

/**
 * The sweeper's Powertools metrics (namespace `METRICS_NAMESPACE`, dimension `service`, published by
 * functions/lambda/sweeper.ts), read by the send path's alarms and the dashboard.
 */
export const SWEEPER_METRICS = {
  oldestDueTouchAgeSeconds: 'OldestDueTouchAgeSeconds',
  touchesQueued: 'TouchesQueued',
  touchesUnknown: 'TouchesUnknown',
  touchesDeferredByCap: 'TouchesDeferredByCap',
} as const;

/** Quarantined CRM input, counted from the functions' logs by metric filters (namespace `METRICS_NAMESPACE`, no dimension). */
export const QUARANTINE_KEPT_METRIC = 'QuarantineKept';

/** Content items and tracks that paused themselves (cadence.yaml `autoPause`), counted from the metrics stream's log. */
export const AUTO_PAUSED_METRIC = 'AutoPaused';

/** SES's account metrics: the reputation rates the alarms watch and the dashboard draws. */
export const SES_NAMESPACE = 'AWS/SES';
export const SES_REPUTATION_METRICS = { bounceRate: 'Reputation.BounceRate', complaintRate: 'Reputation.ComplaintRate' } as const;

export interface ThresholdAlarmOptions {
  readonly threshold: number;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default evaluationPeriods (every period breaching) */
  readonly datapointsToAlarm?: number;
  /** @default NOT_BREACHING */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

export class CultivateOperations extends Construct {
  public readonly alarmTopic: sns.Topic;
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** Every queue alarmed on by `alarmOnQueueMessages`: the dead-letter and on-failure queues. */
  public readonly deadLetterQueues: sqs.IQueue[] = [];
  private readonly action: cwActions.SnsAction;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const settings = readSettings(this);
    // A customer managed key: CloudWatch alarms cannot publish to a topic under the AWS managed
    // aws/sns key, whose policy cannot grant cloudwatch.amazonaws.com.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Cultivate alarm topic encryption',
      enableKeyRotation: true,
    });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Cultivate alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (settings.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    }
    this.action = new cwActions.SnsAction(this.alarmTopic);
  }

  /** Alarms as soon as the queue holds a message (DLQs and on-failure destinations). */
  alarmOnQueueMessages(id: string, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    this.deadLetterQueues.push(queue);
    return this.add(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: `${what}: messages waiting in ${queue.node.path}; inspect, fix, redrive.`,
        metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /**
   * In ALARM while the queue grows (its depth rose within the last minute), OK again once it stops:
   * what a rules rollout watches. A bad version adds dead letters; the depth alarm above would stay
   * in ALARM until someone redrives, and AppConfig would roll back every version published
   * meanwhile, the kill switch pulled during that incident included. No notification: the depth
   * alarm on the same queue pages; this one only tells AppConfig.
   */
  alarmOnQueueGrowth(id: string, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    const depth = queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' });
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: `${what}: ${queue.node.path} grew within the last minute (rolls a rules rollout back; the depth alarm pages).`,
      metric: new cloudwatch.MathExpression({ expression: 'DIFF(depth)', usingMetrics: { depth }, period: Duration.minutes(1), label: 'dead letters added per minute' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms.push(alarm);
    return alarm;
  }

  /** Alarms when the metric's sum over 5 minutes reaches `threshold` (default 1). */
  alarmOnCount(id: string, metric: cloudwatch.IMetric, description: string, threshold = 1): cloudwatch.Alarm {
    return this.add(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /** Alarms when the metric is above `threshold` in `datapointsToAlarm` of `evaluationPeriods` periods. */
  alarmAbove(id: string, metric: cloudwatch.IMetric, description: string, options: ThresholdAlarmOptions): cloudwatch.Alarm {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    return this.add(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold: options.threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods,
        datapointsToAlarm: options.datapointsToAlarm ?? evaluationPeriods,
        treatMissingData: options.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  private add(alarm: cloudwatch.Alarm): cloudwatch.Alarm {
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }
}
