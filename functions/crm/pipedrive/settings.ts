/**
 * Pipedrive setting names (described in functions/crm/pipedrive/index.ts). Apart from the adapter
 * so the API client (api.ts) can read them without importing the adapter that uses it.
 */
export const PIPEDRIVE_SETTINGS = {
  basicAuth: 'CULTIVATE_PIPEDRIVE_BASIC_AUTH',
  apiToken: 'CULTIVATE_PIPEDRIVE_API_TOKEN',
  apiUrl: 'CULTIVATE_PIPEDRIVE_API_URL',
  rateLimit: 'CULTIVATE_PIPEDRIVE_RATE_LIMIT',
} as const;
