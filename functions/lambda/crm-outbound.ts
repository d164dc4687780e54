/** EventBridge rule target: tasks, briefs and consent changes back to the CRM, once per cause. */
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { idempotentOn } from '#adapters/idempotency';
import { handleCrmOutbound, type OutboundMessage, signedWebhookOutbound } from '#handlers/crm-outbound';
import { clock, dynamo, env, logger, secret } from './runtime.ts';

const url = process.env.CULTIVATE_OUTBOUND_WEBHOOK_URL;
const remote = url ? signedWebhookOutbound(url, () => secret('OUTBOUND_SECRET_ARN'), clock) : undefined;

const deliver = idempotentOn(
  async (m: OutboundMessage) => {
    if (!remote) {
      // No CRM configured: the fact stays on the relationship's timeline; say so once per message.
      logger.warn('no outbound CRM configured (context outboundWebhookUrl); message not sent', { type: m.type, relationshipId: m.relationshipId });
      return { delivered: false };
    }
    await remote.deliver(m);
    return { delivered: true };
  },
  { client: dynamo(), tableName: env('IDEMPOTENCY_TABLE_NAME') },
);

export const handler = async (event: EventBridgeEvent<string, unknown>, context: Context) => {
  deliver.registerContext(context);
  await handleCrmOutbound({ clock, logger, deliver }, event);
};
