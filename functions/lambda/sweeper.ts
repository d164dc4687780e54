/** Scheduled every minute: claims due touches into the send queue; publishes the age of the oldest due touch. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { documentClient } from '#adapters/dynamo-store';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { SqsSendQueue } from '#adapters/sqs-send-queue';
import { dailyCapFor } from '#config/sending';
import { sweepDue } from '#handlers/send';
import { pipeline, refreshRules } from './config.ts';
import { clock, dynamo, env, logger, relationshipStore } from './runtime.ts';

const metrics = new Metrics({ namespace: 'Cultivate', serviceName: 'cultivate' });
const touches = new DynamoTouchStore(documentClient(dynamo()), env('TABLE_NAME'));
const queue = new SqsSendQueue(new SQSClient({}), env('SEND_QUEUE_URL'));

export const handler = async () => {
  await refreshRules();
  const config = pipeline();
  const report = await sweepDue({
    clock,
    touches,
    store: relationshipStore(),
    queue,
    planner: config.planner,
    logger,
    leaseSeconds: config.sending.leaseSeconds,
    emailBudget: () => {
      const now = clock.now();
      return touches.emailBudget(now.toISOString().slice(0, 10), dailyCapFor(config.sending, now));
    },
  });
  metrics.addMetric('OldestDueTouchAgeSeconds', MetricUnit.Seconds, report.oldestDueAgeSeconds);
  metrics.addMetric('TouchesQueued', MetricUnit.Count, report.queued.length);
  metrics.addMetric('TouchesUnknown', MetricUnit.Count, report.unknown);
  metrics.addMetric('TouchesDeferredByCap', MetricUnit.Count, report.deferredByCap);
  metrics.publishStoredMetrics();
  return { queued: report.queued.length, requeued: report.requeued, unknown: report.unknown };
};
