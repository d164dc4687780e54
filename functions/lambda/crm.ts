/**
 * CRM wiring shared by the ingest, normaliser and CRM outbound functions: settings from the
 * environment (plain values) and Secrets Manager (`<NAME>_SECRET_ARN`, cached five minutes), the
 * adapter registry, config/crm.yaml (bundled with the function like the rest of config/).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoQuarantine } from '#adapters/dynamo-quarantine';
import { documentClient } from '#adapters/dynamo-store';
import { loadCrmConfig } from '#crm/config';
import type { CrmFile } from '#crm/mappings';
import { crmRegistry } from '#crm/registry';
import { envSettings } from '#crm/settings';
import type { Context } from 'aws-lambda';
import { idempotentOn } from '#adapters/idempotency';
import { ownerContact } from '#crm/owner';
import { mappingOf } from '#crm/normalise';
import { deliverToAll, type DeliveryJob, outboundTargets } from '#crm/outbound';
import { type OutboundMessage, signedWebhookOutbound } from '#handlers/crm-outbound';
import { pipeline } from './config.ts';
import { clock, dynamo, env, logger, secret, secretText } from './runtime.ts';

export const crmSettings = envSettings(process.env, (arn) => secretText(arn, 'of a CRM setting'));
export const registry = crmRegistry(crmSettings);

let config: CrmFile | undefined;
export function crmConfig(): CrmFile {
  config ??= loadCrmConfig(process.env.CULTIVATE_CONFIG_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'config'));
  return config;
}

export function quarantine() {
  return new DynamoQuarantine(documentClient(dynamo()), env('TABLE_NAME'));
}

/**
 * The way back to every configured target (generic signed webhook, each CRM with API settings),
 * once per (target, cause): used by the CRM outbound function and the inbound-mail function (reply forwards).
 */
export function outboundDelivery() {
  const url = process.env.CULTIVATE_OUTBOUND_WEBHOOK_URL;
  const targets = outboundTargets({
    adapters: registry.outbound(),
    ctx: (crm) => ({ mapping: mappingOf(crmConfig(), crm), logger, owner: (email) => ownerContact(pipeline().owner, email) }),
    ...(url && { generic: signedWebhookOutbound(url, () => secret('OUTBOUND_SECRET_ARN'), clock) }),
    logger,
  });
  if (targets.names().length === 0) {
    // Nothing configured: the facts stay on the relationship's timeline.
    logger.warn('no outbound target configured (context outboundWebhookUrl or CRM API settings); messages are not sent anywhere');
  }
  const deliverJob = idempotentOn((job: DeliveryJob) => targets.deliverJob(job), { client: dynamo(), tableName: env('IDEMPOTENCY_TABLE_NAME') });
  return {
    deliver: (m: OutboundMessage) => deliverToAll(targets, deliverJob, m),
    registerContext: (context: Context) => deliverJob.registerContext(context),
  };
}
