/**
 * The queue every asynchronous path in Cultivate ends in: encrypted (SQS managed), SSL only, kept
 * 14 days to inspect and redrive. cdk-nag's AwsSolutions-SQS3 ("this queue has no DLQ") is
 * acknowledged on it, naming what it catches, so one helper keeps the nine alike.
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export const DEAD_LETTER_RETENTION = Duration.days(14);

/** `of`: what it is the dead-letter queue of, e.g. "the send queue" (the acknowledgement's reason). */
export function deadLetterQueue(scope: Construct, id: string, of: string, opts: { fifo?: boolean } = {}): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    ...(opts.fifo && { fifo: true }),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_RETENTION,
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: `This queue is itself the dead-letter queue of ${of}.` });
  return queue;
}
