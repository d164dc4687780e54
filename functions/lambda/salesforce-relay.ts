/** Rule target on the Salesforce Event Relay partner bus: relayed change events to CRM notifications. */
import type { EventBridgeEvent } from 'aws-lambda';
import { handleSalesforceRelay } from '#crm/salesforce-relay';
import { crmSettings, quarantine } from './crm.ts';
import { clock, inboxStore, logger, publisher } from './runtime.ts';

const deps = {
  clock,
  logger,
  inbox: inboxStore(),
  publisher: publisher(),
  quarantine: quarantine(),
  allowedOrgIds: () => crmSettings.get('CULTIVATE_SALESFORCE_ORG_IDS'),
};

export const handler = async (event: EventBridgeEvent<string, unknown>) => {
  logger.appendKeys({ busEventId: event.id });
  return { outcome: await handleSalesforceRelay(deps, event) };
};
