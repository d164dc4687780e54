/**
 * HubSpot for Cultivate: webhook subscriptions and workflow webhooks in (signature v3), tasks,
 * notes and e-mail unsubscribes out. Set-up for a HubSpot admin: docs/crm/hubspot.md.
 */
import type { CrmDefinition, CrmInboundAdapter, CrmOutboundAdapter, CrmSettings } from '../types.ts';
import { hubspotApiFromSettings, type HubSpotApi } from './api.ts';
import { acceptedAnswer, parseDelivery } from './delivery.ts';
import { normaliseHubSpot } from './normalise.ts';
import { hubspotOutbound } from './outbound.ts';
import { HUBSPOT_SETTINGS } from './settings.ts';
import { splitSecrets, verifyV3 } from './signature.ts';

/** One API client (and so one rate limiter) per settings object, made on first use. */
function lazyApi(settings: CrmSettings): () => Promise<HubSpotApi> {
  let api: Promise<HubSpotApi> | undefined;
  return () => {
    api ??= hubspotApiFromSettings(settings).catch((err: unknown) => {
      api = undefined;
      throw err;
    });
    return api;
  };
}

const apis = new WeakMap<CrmSettings, () => Promise<HubSpotApi>>();
function apiFor(settings: CrmSettings): () => Promise<HubSpotApi> {
  let api = apis.get(settings);
  if (!api) {
    api = lazyApi(settings);
    apis.set(settings, api);
  }
  return api;
}

function inbound(settings: CrmSettings): CrmInboundAdapter {
  const api = apiFor(settings);
  return {
    crm: 'hubspot',
    async authenticate(req, now) {
      try {
        const [secrets, publicBaseUrl] = await Promise.all([settings.get(HUBSPOT_SETTINGS.clientSecret), settings.get(HUBSPOT_SETTINGS.publicBaseUrl)]);
        return verifyV3(req, now, { secrets: splitSecrets(secrets), publicBaseUrl });
      } catch {
        return { ok: false, reason: 'HubSpot settings could not be read' };
      }
    },
    parse: parseDelivery,
    accepted: acceptedAnswer,
    async normalise(notification, ctx) {
      return normaliseHubSpot(await api(), notification, ctx);
    },
  };
}

function outbound(settings: CrmSettings): CrmOutboundAdapter | undefined {
  if (!settings.has(HUBSPOT_SETTINGS.token)) return undefined;
  return hubspotOutbound(apiFor(settings));
}

export const hubspotDefinition: CrmDefinition = {
  crm: 'hubspot',
  requiredSettings: [HUBSPOT_SETTINGS.clientSecret, HUBSPOT_SETTINGS.token],
  optionalSettings: [HUBSPOT_SETTINGS.apiUrl, HUBSPOT_SETTINGS.ratePer10s],
  secretSettings: [HUBSPOT_SETTINGS.clientSecret, HUBSPOT_SETTINGS.token],
  inbound,
  outbound,
};
