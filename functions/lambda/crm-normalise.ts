/** EventBridge rule target: one CRM notification normalised into catalog events (with CRM API lookups). */
import type { EventBridgeEvent } from 'aws-lambda';
import { DynamoMassCloseCounter } from '#adapters/dynamo-mass-close';
import { documentClient } from '#adapters/dynamo-store';
import { handleCrmNotification, type NormaliseDeps } from '#crm/normalise';
import { crmConfig, quarantine, registry } from './crm.ts';
import { clock, dynamo, env, hasher, inboxStore, logger, publisher } from './runtime.ts';

const deps: NormaliseDeps = {
  clock,
  logger,
  inbox: inboxStore(),
  publisher: publisher(),
  quarantine: quarantine(),
  hasher,
  adapter: (crm) => registry.adapter(crm),
  crmConfig: crmConfig(),
  massClose: new DynamoMassCloseCounter(documentClient(dynamo()), env('TABLE_NAME')),
};

export const handler = async (event: EventBridgeEvent<string, unknown>) => {
  logger.appendKeys({ busEventId: event.id });
  return { outcome: await handleCrmNotification(deps, event.detail) };
};
