/** Shared test fixtures: inbound events, fakes for the ports, a fixed clock. */
import type { InboundEvent, InboundType } from '#catalog/events';
import { InboundEvent as InboundEventSchema } from '#catalog/events';
import type { BusEntry, Clock, EventPublisher, InboxItem, InboxStore, Logger } from '#ports/ports';

export const NOW = new Date('2026-12-01T12:00:00.000Z');

export const DANA = {
  externalId: 'hs-501',
  email: 'dana.reyes.fixture@example.com',
  name: 'Dana Fixture-Reyes',
  accountId: 'acme.example',
  company: 'Acme',
  timezone: 'America/Chicago',
  country: 'US',
  role: 'champion',
  owner: 'sam@seller.example',
} as const;

type DataOf<T extends InboundType> = Extract<InboundEvent, { type: T }>['data'];

/** Builds an inbound event and validates it against the catalog, so fixtures cannot drift. */
export function ev<T extends InboundType>(
  type: T,
  id: string,
  occurredAt: string,
  data: DataOf<T> | Record<string, unknown>,
  contact: Record<string, unknown> = { email: DANA.email, externalId: DANA.externalId },
): Extract<InboundEvent, { type: T }> {
  return InboundEventSchema.parse({ id, type, occurredAt, contact, data }) as Extract<InboundEvent, { type: T }>;
}

export const fixedClock = (d: Date = NOW): Clock => ({ now: () => d });

export class RecordingPublisher implements EventPublisher {
  readonly published: BusEntry[] = [];
  calls = 0;
  /** Throws this many times before recording. */
  constructor(private failures = 0) {}
  async publish(entries: readonly BusEntry[]): Promise<void> {
    this.calls++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('simulated crash before publish');
    }
    this.published.push(...entries);
  }
  ofType(detailType: string): BusEntry[] {
    return this.published.filter((e) => e.detailType === detailType);
  }
}

export class MemoryInbox implements InboxStore {
  readonly items = new Map<string, InboundEvent>();
  async putMany(items: readonly InboxItem[]): Promise<void> {
    for (const i of items) this.items.set(i.key, structuredClone(i.event));
  }
  async get(key: string): Promise<InboundEvent | undefined> {
    return this.items.get(key);
  }
  async delete(key: string): Promise<void> {
    this.items.delete(key);
  }
}

export interface LogLine {
  level: string;
  message: string;
  extra: Record<string, unknown>[];
}

export function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (message: string, ...extra: Record<string, unknown>[]) => void lines.push({ level, message, extra });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
