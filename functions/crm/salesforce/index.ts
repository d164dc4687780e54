/**
 * Salesforce for Cultivate: Outbound Messages (SOAP) and flow HTTP callouts in at
 * POST /webhooks/salesforce[/<token>], Event Relay change events through `parseRelayEvent`, and
 * tasks and opt-outs back through the REST API. Set-up for the admin: docs/crm/salesforce.md.
 */
import type { CrmAnswer, CrmDefinition, CrmInboundAdapter, CrmNotification, CrmSettings } from '../types.ts';
import { createSalesforceApi, hasApiSettings, type ApiOptions, type SalesforceApi } from './api.ts';
import { authenticateSalesforce } from './auth.ts';
import { idList } from './ids.ts';
import { normaliseSalesforce } from './normalise.ts';
import { createSalesforceOutbound } from './outbound.ts';
import { parseSalesforce } from './parse.ts';
import { SF } from './settings.ts';
import { SOAP_ACK } from './soap.ts';

export { parseRelayEvent, RelayEventError } from './relay.ts';
export { SF as salesforceSettings } from './settings.ts';

/** Outbound Messages wait for the SOAP Ack (or retry for 24 h); flow callouts get JSON. */
export function acceptedAnswer(notifications: readonly CrmNotification[]): CrmAnswer {
  const soap = notifications.some((n) => (n.payload as { via?: string } | undefined)?.via === 'outbound-message');
  return soap
    ? { status: 200, contentType: 'text/xml; charset=utf-8', body: SOAP_ACK }
    : { status: 202, contentType: 'application/json', body: JSON.stringify({ accepted: notifications.length }) };
}

export function salesforceInbound(settings: CrmSettings, apiOptions?: ApiOptions): CrmInboundAdapter {
  let api: SalesforceApi | undefined;
  const apiNow = () => (hasApiSettings(settings) ? (api ??= createSalesforceApi(settings, apiOptions)) : undefined);
  return {
    crm: 'salesforce',
    authenticate: (req) => authenticateSalesforce(req, settings),
    parse: (json, auth, receivedAt) => parseSalesforce(json, auth, receivedAt),
    accepted: acceptedAnswer,
    normalise: (notification, ctx) => normaliseSalesforce(notification, ctx, apiNow()),
  };
}

export const salesforceDefinition: CrmDefinition = {
  crm: 'salesforce',
  requiredSettings: [SF.orgIds, SF.token],
  optionalSettings: [SF.apiUrl, SF.clientId, SF.clientSecret, SF.apiVersion],
  secretSettings: [SF.token, SF.clientSecret],
  inbound: (settings) => salesforceInbound(settings),
  outbound(settings) {
    if (!hasApiSettings(settings)) return undefined;
    const api = createSalesforceApi(settings);
    // The allow-list is read per delivery (settings may change); ids of other orgs are never written to.
    return {
      crm: 'salesforce',
      async deliver(message, ctx) {
        return createSalesforceOutbound(api, idList(await settings.get(SF.orgIds))).deliver(message, ctx);
      },
    };
  },
};
