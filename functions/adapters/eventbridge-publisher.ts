/** EventPublisher on EventBridge: 10 entries per PutEvents, partial failures retried with backoff. */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { type BusEntry, type EventPublisher, PublishError } from '#ports/ports';

const MAX_ATTEMPTS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly baseDelayMs = 50,
  ) {}

  async publish(entries: readonly BusEntry[]): Promise<void> {
    let failed = 0;
    for (let i = 0; i < entries.length; i += 10) {
      failed += await this.publishChunk(entries.slice(i, i + 10));
    }
    if (failed > 0) throw new PublishError(`EventBridge refused ${failed} of ${entries.length} entries after retries`, failed);
  }

  private async publishChunk(chunk: readonly BusEntry[]): Promise<number> {
    let pending: PutEventsRequestEntry[] = chunk.map((e) => ({
      EventBusName: this.busName,
      Source: e.source,
      DetailType: e.detailType,
      Detail: JSON.stringify(e.detail),
    }));
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(this.baseDelayMs * 2 ** attempt * (0.5 + Math.random() / 2));
      try {
        const out = await this.client.send(new PutEventsCommand({ Entries: pending }));
        if (!out.FailedEntryCount) return 0;
        // Results are positional: keep exactly the entries that carry an error code.
        pending = pending.filter((_, idx) => out.Entries?.[idx]?.ErrorCode !== undefined);
      } catch (err) {
        if (attempt === MAX_ATTEMPTS - 1) return pending.length;
        void err;
      }
    }
    return pending.length;
  }
}
