/**
 * Setting names for Salesforce, as in issue #5. Outbound Messages cannot add headers and flows
 * cannot compute a signature, so a shared secret token (in the path or a Named Credential header)
 * plus an allow-list of org ids is what Salesforce can do; the API settings are optional and only
 * needed to fetch contact roles and to write tasks and opt-outs back.
 */
export const SF = {
  /** Required. Comma-separated org ids (15 or 18 characters) whose deliveries are accepted. */
  orgIds: 'CULTIVATE_SALESFORCE_ORG_IDS',
  /** Required, secret. The shared token; comma-separated for rotation (old and new both accepted). */
  token: 'CULTIVATE_SALESFORCE_TOKEN',
  /** Optional. The org's My Domain URL, e.g. https://acme.my.salesforce.com (tests: the fake's URL). */
  apiUrl: 'CULTIVATE_SALESFORCE_API_URL',
  /** Optional. Consumer key of the external client app with the client credentials flow enabled. */
  clientId: 'CULTIVATE_SALESFORCE_CLIENT_ID',
  /** Optional, secret. Consumer secret of that app. */
  clientSecret: 'CULTIVATE_SALESFORCE_CLIENT_SECRET',
  /** Optional. REST API version, default 62.0 (Winter '25). */
  apiVersion: 'CULTIVATE_SALESFORCE_API_VERSION',
  /** Cultivate's own public base URL (shared setting), for links back in task descriptions. */
  publicBaseUrl: 'CULTIVATE_PUBLIC_BASE_URL',
} as const;

export const DEFAULT_API_VERSION = '62.0';

/** config/crm.yaml `salesforce.fields` keys this adapter reads, with their defaults. */
export const FIELD_DEFAULTS = {
  /** Opportunity field holding the lost reason (a custom picklist most orgs add). */
  lostReason: 'Loss_Reason__c',
  /** Optional Opportunity field with the rep's note on the loss, e.g. Loss_Notes__c (none by default). */
  lostNote: '',
  /** Task field where reps record the outcome of a Cultivate task (CallDisposition is standard). */
  taskOutcome: 'CallDisposition',
  /** Optional Task text field holding the Cultivate touch id; without it the id is read from the description. */
  touchId: '',
} as const;

export type FieldKey = keyof typeof FIELD_DEFAULTS;

export function fieldName(fields: Record<string, string>, key: FieldKey): string | undefined {
  const configured = Object.entries(fields).find(([k]) => k.trim().toLowerCase() === key.toLowerCase())?.[1]?.trim();
  const name = configured ?? FIELD_DEFAULTS[key];
  return name ? name : undefined;
}

/** Cultivate writes this line last in every task it creates; a completed task comes back through it. */
export const TOUCH_MARKER = 'Cultivate touch id:';
