/**
 * EventBridge rule target: tasks, briefs and consent changes to every configured target (the
 * generic signed webhook and each CRM with API settings), once per (target, cause). Reserved
 * concurrency and Lambda's own event queue bound the rate; each CRM client throttles per process.
 */
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { handleCrmOutbound } from '#handlers/crm-outbound';
import { refreshRules } from './config.ts';
import { outboundDelivery } from './crm.ts';
import { clock, logger } from './runtime.ts';

const outbound = outboundDelivery();

export const handler = async (event: EventBridgeEvent<string, unknown>, context: Context) => {
  outbound.registerContext(context);
  // Owner routing (owners.yaml) of the published rules in force.
  await refreshRules();
  await handleCrmOutbound({ clock, logger, deliver: outbound.deliver }, event);
};
