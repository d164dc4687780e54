/**
 * Pipedrive: webhooks v2 in (HTTP Basic authentication), API v1/v2 out. Settings:
 * - `CULTIVATE_PIPEDRIVE_BASIC_AUTH` (required, secret): `user:password`, the pair given to the
 *   webhook as http_auth_user / http_auth_password. For rotation the value may be a JSON array or
 *   `{"current","previous"}` of pairs; any of them is accepted.
 * - `CULTIVATE_PIPEDRIVE_API_TOKEN` (optional, secret): an API token (sent as `x-api-token`).
 *   Without it inbound still works from the webhook alone (a lost deal then reaches only the deal's
 *   own person, known by id, without e-mail or name), and nothing goes back to Pipedrive.
 * - `CULTIVATE_PIPEDRIVE_API_URL` (optional): default https://api.pipedrive.com, or the company
 *   domain https://<company>.pipedrive.com (tests: the local fake).
 * - `CULTIVATE_PIPEDRIVE_RATE_LIMIT` (optional): API requests per 2 seconds, default 16 (the
 *   Essential plan allows 20 per api_token); raise it on bigger plans.
 */
import type { CrmDefinition, CrmInboundAdapter, CrmSettings } from '../types.ts';
import { secretValues } from '#shared/hmac';
import { pipedriveApiFromSettings, type PipedriveApi } from './api.ts';
import { verifyBasicAuth } from './auth.ts';
import { PipedriveNormaliser } from './normalise.ts';
import { pipedriveOutbound } from './outbound.ts';
import { PIPEDRIVE_SETTINGS } from './settings.ts';
import { acceptedAnswer, parsePipedriveWebhook } from './webhook.ts';

export { PIPEDRIVE_SETTINGS };

/** One API client per settings object, created on first use (settings may be fetched). */
function lazyApi(settings: CrmSettings, baseDelayMs?: number): () => Promise<PipedriveApi> {
  let api: Promise<PipedriveApi> | undefined;
  return () => (api ??= pipedriveApiFromSettings(settings, { ...(baseDelayMs !== undefined && { baseDelayMs }) }));
}

export function pipedriveInbound(settings: CrmSettings, opts: { baseDelayMs?: number } = {}): CrmInboundAdapter {
  const api = settings.has(PIPEDRIVE_SETTINGS.apiToken) ? lazyApi(settings, opts.baseDelayMs) : undefined;
  return {
    crm: 'pipedrive',
    async authenticate(req) {
      try {
        const raw = await settings.get(PIPEDRIVE_SETTINGS.basicAuth);
        if (!raw) return { ok: false, reason: `${PIPEDRIVE_SETTINGS.basicAuth} is not set` };
        return verifyBasicAuth(req, secretValues(raw));
      } catch {
        return { ok: false, reason: 'credentials unavailable' };
      }
    },
    parse: (json, _auth, receivedAt) => parsePipedriveWebhook(json, receivedAt),
    accepted: acceptedAnswer,
    async normalise(notification, ctx) {
      return new PipedriveNormaliser(api ? await api() : undefined).normalise(notification, ctx);
    },
  };
}

export const pipedriveDefinition: CrmDefinition = {
  crm: 'pipedrive',
  requiredSettings: [PIPEDRIVE_SETTINGS.basicAuth],
  optionalSettings: [PIPEDRIVE_SETTINGS.apiToken, PIPEDRIVE_SETTINGS.apiUrl, PIPEDRIVE_SETTINGS.rateLimit],
  secretSettings: [PIPEDRIVE_SETTINGS.basicAuth, PIPEDRIVE_SETTINGS.apiToken],
  inbound: (settings) => pipedriveInbound(settings),
  outbound(settings) {
    if (!settings.has(PIPEDRIVE_SETTINGS.apiToken)) return undefined;
    const api = lazyApi(settings);
    return { crm: 'pipedrive', deliver: async (message, ctx) => pipedriveOutbound(await api()).deliver(message, ctx) };
  },
};
