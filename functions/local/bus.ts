/** The in-process bus: routes by the same routing table as the CDK rules, one queue per route. */
import { type Route, type RouteTarget, routingTable } from '#catalog/routing';
import type { BusEntry, EventPublisher, Logger } from '#ports/ports';
import { LocalQueue } from './queue.ts';

/** What a rule delivers to a target: the EventBridge event shape, so handlers see the same thing. */
export interface LocalBusEvent {
  id: string;
  source: string;
  'detail-type': string;
  time: string;
  detail: unknown;
}

export type TargetHandler = (event: LocalBusEvent) => Promise<unknown>;

export class LocalBus implements EventPublisher {
  private readonly queues = new Map<string, { route: Route; queue: LocalQueue<LocalBusEvent> }>();
  readonly published: { source: string; detailType: string; time: string }[] = [];

  constructor(
    targets: Record<RouteTarget, TargetHandler>,
    logger: Logger,
    private readonly now: () => Date,
  ) {
    for (const route of routingTable) {
      this.queues.set(route.id, {
        route,
        queue: new LocalQueue(`rule:${route.id}`, targets[route.target], logger, { concurrency: 8, maxAttempts: 3, now }),
      });
    }
  }

  async publish(entries: readonly BusEntry[]): Promise<void> {
    for (const e of entries) {
      const event: LocalBusEvent = {
        id: crypto.randomUUID(),
        source: e.source,
        'detail-type': e.detailType,
        time: this.now().toISOString(),
        // A round trip through JSON, as on the wire: no shared references between publisher and handler.
        detail: JSON.parse(JSON.stringify(e.detail)),
      };
      this.published.push({ source: e.source, detailType: e.detailType, time: event.time });
      for (const { route, queue } of this.queues.values()) {
        if ((route.sources as readonly string[]).includes(e.source) && (route.detailTypes as readonly string[]).includes(e.detailType)) {
          queue.send(event);
        }
      }
    }
  }

  get depth(): number {
    let n = 0;
    for (const { queue } of this.queues.values()) n += queue.depth;
    return n;
  }

  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map(({ queue }) => queue.idle()));
  }

  get deadLetters() {
    return [...this.queues.values()].flatMap(({ queue }) => queue.deadLetters);
  }
}
