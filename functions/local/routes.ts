/**
 * Local-only routes (never deployed; a CDK assertion proves it): they make the whole pipeline
 * testable from outside. POST /local/clock steps to each due instant on the way, sweeps and drains
 * until quiet before the next step; webhooks wait while it runs.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { OutboundMessage } from '#handlers/crm-outbound';
import { type InboundMailResult, MAX_INBOUND_MAIL_BYTES } from '#handlers/replies';
import type { Logger } from '#ports/ports';
import type { LocalBus } from './bus.ts';
import { addDuration, type LocalClock } from './clock.ts';

export interface FiredTouch {
  relationshipId: string;
  touchId: string;
  channel: string;
  kind: string;
  dueAt: string;
  outcome: string;
}

export interface LocalControl {
  clock: LocalClock;
  bus: LocalBus;
  logger: Logger;
  outbound: OutboundMessage[];
  outbox: () => Promise<unknown[]>;
  /** One sweep of the due index at the clock's now, then the send queue drained (touches issue). */
  sweep: (() => Promise<FiredTouch[]>) | undefined;
  /** The earliest planned due instant at or before `until`, if any. */
  nextDueAt: ((until: Date) => Promise<Date | undefined>) | undefined;
  /** Extra queues to drain (the send queue). */
  extraIdle?: () => Promise<void>;
  clockIdle?: () => Promise<void>;
  deadLetters?: () => unknown[];
  /** A raw reply e-mail (MIME), as the inbound mail path receives it. */
  inbound?: (raw: Uint8Array) => Promise<InboundMailResult>;
  /** Counts of inbound mail by outcome and class (quarantined included). */
  inboundStats?: () => Record<string, number>;
}

const ClockRequest = z.union([
  z.object({ advanceBy: z.string().min(2) }).strict(),
  z.object({ to: z.iso.datetime({ offset: true }) }).strict(),
]);

const MAX_STEPS = 20_000;

export function localRoutes(control: LocalControl): Hono {
  const app = new Hono();
  let running: Promise<unknown> | undefined;
  control.clockIdle = async () => {
    while (running) await running.catch(() => undefined);
  };

  const drain = async () => {
    for (let i = 0; i < 1000; i++) {
      await control.bus.idle();
      await control.extraIdle?.();
      if (control.bus.depth === 0) return;
    }
  };

  app.post('/local/drain', async (c) => {
    await drain();
    return c.json({ now: control.clock.now().toISOString(), quiet: true });
  });

  app.post('/local/clock', async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return c.json({ error: 'body must be JSON: {"advanceBy":"P7D"} or {"to":"<ISO instant>"}' }, 400);
    }
    const parsed = ClockRequest.safeParse(body);
    if (!parsed.success) {
      return c.json({ error: 'body must be {"advanceBy":"P7D"} or {"to":"<ISO instant>"}', issues: parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })) }, 400);
    }
    await control.clockIdle?.();
    const from = control.clock.now();
    const target = 'to' in parsed.data ? new Date(parsed.data.to) : addDuration(from, parsed.data.advanceBy);
    if (!target) return c.json({ error: `advanceBy must be an ISO 8601 duration such as P7D, PT36H or P1M`, issues: [{ path: 'advanceBy', message: 'not an ISO 8601 duration' }] }, 400);
    if (target < from) return c.json({ error: 'the clock only moves forward', now: from.toISOString() }, 400);

    const fired: FiredTouch[] = [];
    const job = (async () => {
      await drain();
      for (let step = 0; step < MAX_STEPS; step++) {
        const due = control.nextDueAt ? await control.nextDueAt(target) : undefined;
        if (!due) break;
        control.clock.advanceTo(due);
        const before = fired.length;
        fired.push(...((await control.sweep?.()) ?? []));
        await drain();
        if (fired.length === before && due <= control.clock.now()) {
          // Due but nothing fired (a claim lease still running): step past it rather than spin.
          control.clock.advanceTo(new Date(due.getTime() + 60_000));
        }
      }
      control.clock.advanceTo(target);
      fired.push(...((await control.sweep?.()) ?? []));
      await drain();
    })();
    running = job;
    try {
      await job;
    } finally {
      running = undefined;
    }
    return c.json({ from: from.toISOString(), now: control.clock.now().toISOString(), fired });
  });

  app.post('/local/inbound', async (c) => {
    if (!control.inbound) return c.json({ error: 'inbound mail is not wired' }, 501);
    await control.clockIdle?.();
    // Read it all, whatever its size: an oversized message is kept (quarantine) and counted, then 413.
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const result = await control.inbound(raw);
    await drain();
    if (raw.byteLength > MAX_INBOUND_MAIL_BYTES) return c.json({ error: `message over the limit of ${MAX_INBOUND_MAIL_BYTES} bytes: kept, not read`, ...result }, 413);
    return c.json(result, 202);
  });
  app.get('/local/inbound', (c) => c.json(control.inboundStats?.() ?? {}));

  app.get('/local/clock', (c) => c.json({ now: control.clock.now().toISOString() }));
  app.get('/local/outbox', async (c) => c.json(await control.outbox()));
  app.get('/local/outbound', (c) => c.json(control.outbound));
  app.get('/local/dlq', (c) => c.json([...control.bus.deadLetters, ...(control.deadLetters?.() ?? [])]));
  return app;
}
