/** SendQueue on SQS: SendMessageBatch of 10, partial failures retried with backoff. */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { SendQueue, TouchMessage } from '#ports/ports';

const MAX_ATTEMPTS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SqsSendQueue implements SendQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly baseDelayMs = 50,
  ) {}

  async enqueue(messages: readonly TouchMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      let pending: SendMessageBatchRequestEntry[] = messages.slice(i, i + 10).map((m, idx) => ({ Id: String(idx), MessageBody: JSON.stringify(m) }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= MAX_ATTEMPTS) throw new Error(`SQS refused ${pending.length} send-queue messages after retries`);
        if (attempt > 0) await sleep(this.baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2));
        try {
          const out = await this.client.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: pending }));
          const failed = new Set((out.Failed ?? []).map((f) => f.Id));
          pending = pending.filter((e) => failed.has(e.Id));
        } catch (err) {
          if (attempt === MAX_ATTEMPTS - 1) throw err;
        }
      }
    }
  }
}
