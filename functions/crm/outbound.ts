/**
 * The way back, to every configured target: the generic signed webhook (when a URL is set) and each
 * CRM whose API settings are present. Each (target, message) pair is delivered once: the caller
 * wraps `deliverJob` with Powertools idempotency on `job.key`, so a retry after one target failed
 * does not deliver to the others twice.
 */
import type { CrmOutboundPort, OutboundMessage } from '#handlers/crm-outbound';
import type { Logger } from '#ports/ports';
import type { CrmName, CrmOutboundAdapter, OutboundContext } from './types.ts';

export interface DeliveryJob {
  /** `<target>:<message key>`: the idempotency key. */
  key: string;
  target: string;
  message: OutboundMessage;
}

export interface OutboundTargets {
  names(): string[];
  deliverJob(job: DeliveryJob): Promise<unknown>;
}

export function outboundTargets(opts: {
  adapters: readonly CrmOutboundAdapter[];
  /** The context for one CRM (its mapping, owner routing). */
  ctx: (crm: CrmName) => OutboundContext;
  generic?: CrmOutboundPort;
  /** Extra named targets (the local stack records every message at GET /local/outbound). */
  extra?: Record<string, (m: OutboundMessage) => Promise<unknown>>;
  logger: Logger;
}): OutboundTargets {
  const byName = new Map<string, (m: OutboundMessage) => Promise<unknown>>(Object.entries(opts.extra ?? {}));
  if (opts.generic) {
    const generic = opts.generic;
    byName.set('webhook', async (m) => {
      await generic.deliver(m);
      return { delivered: true };
    });
  }
  for (const adapter of opts.adapters) {
    byName.set(adapter.crm, async (m) => {
      const result = await adapter.deliver(m, opts.ctx(adapter.crm));
      if (!result.delivered) opts.logger.info('message not for this CRM', { crm: adapter.crm, type: m.type, relationshipId: m.relationshipId, why: result.why });
      return result;
    });
  }
  return {
    names: () => [...byName.keys()],
    async deliverJob(job) {
      const deliver = byName.get(job.target);
      if (!deliver) throw new Error(`no outbound target ${job.target}`);
      return deliver(job.message);
    },
  };
}

/** Delivers a message to every target, each through the idempotent `deliverJob`. Throws (to retry) if any target failed. */
export async function deliverToAll(targets: OutboundTargets, deliverJob: (job: DeliveryJob) => Promise<unknown>, message: OutboundMessage): Promise<void> {
  const failures: string[] = [];
  for (const target of targets.names()) {
    try {
      await deliverJob({ key: `${target}:${message.key}`, target, message });
    } catch (err) {
      failures.push(`${target}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(`outbound delivery failed for ${failures.length} target(s): ${failures.join('; ')}`);
}
