/**
 * The contract every CRM adapter (HubSpot, Salesforce, Pipedrive) implements. The shared ingest
 * (`ingest.ts`) does what is the same for every CRM: the 256 KB limit, the 404 for a CRM whose
 * settings are absent, 401 / 400 answers, quarantine of authentic input it cannot understand, the
 * claim check and the bus. An adapter only says how its CRM authenticates, what its delivery looks
 * like, how to acknowledge it, and how one notification becomes catalog events (`normalise`, run
 * asynchronously behind the bus, where CRM API calls and their rate limits belong).
 */
import type { InboundEvent } from '#catalog/events';
import type { OutboundMessage } from '#handlers/crm-outbound';
import type { Logger } from '#ports/ports';
import type { CrmMapping } from './mappings.ts';

export const crmNames = ['hubspot', 'salesforce', 'pipedrive'] as const;
export type CrmName = (typeof crmNames)[number];

/** What the adapter sees of the HTTP request. `raw` is the exact body bytes (signatures are over them). */
export interface CrmRequest {
  method: string;
  /** Path and query exactly as received, e.g. `/webhooks/hubspot?x=1` (HubSpot v3 signs the public URL: rebuild it from the configured base URL). */
  pathAndQuery: string;
  raw: Uint8Array;
  header(name: string): string | undefined;
}

/** The outcome of authentication. `portal` names the CRM instance (HubSpot portal id, Salesforce org id, Pipedrive company id) when known. */
export type AuthResult = { ok: true; portal?: string } | { ok: false; reason: string };

/**
 * One unit of work a CRM sent (one HubSpot subscription event, one Salesforce notification, one
 * Pipedrive webhook). Kept in the inbox (it may hold personal data), referenced on the bus by id.
 */
export interface CrmNotification {
  /** Stable across the CRM's own retries (never includes an attempt number): the dedupe key, e.g. `hubspot:123:9876`. */
  id: string;
  crm: CrmName;
  /** The CRM instance: HubSpot portal id, Salesforce org id, Pipedrive company id. */
  portal: string;
  /** The CRM's own kind, e.g. `deal.propertyChange`, `Opportunity`, `change.deal` (for logs and metrics; no personal data). */
  kind: string;
  /** ISO instant the CRM says it happened (or received time when the CRM gives none). */
  occurredAt: string;
  /** The CRM's JSON for this one notification, as received (parsed), for `normalise`. */
  payload: unknown;
}

export interface Issue {
  path: string;
  message: string;
}

export type ParseResult =
  | { ok: true; notifications: CrmNotification[] }
  /** The body is not this CRM's delivery format: 400 naming every bad field (and quarantined, since it was authentic). */
  | { ok: false; error: string; issues: Issue[] };

/** An HTTP answer the adapter shapes (Salesforce expects a SOAP acknowledgement, others JSON). */
export interface CrmAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** What `normalise` may use. Everything that talks to the CRM is inside the adapter (its API client). */
export interface NormaliseContext {
  mapping: CrmMapping;
  now: Date;
  logger: Logger;
}

export type NormaliseResult =
  /** Catalog events to apply (may be empty: nothing Cultivate acts on, e.g. a stage that is not closed-lost). Each event id must be derived from the notification id, so a retried delivery dedupes. */
  | { kind: 'events'; events: InboundEvent[] }
  /**
   * Authentic, but the mapping in config/crm.yaml does not cover it (an unmapped stage or lost
   * reason): kept in quarantine with this reason and replayed once the mapping is fixed. `paths`
   * name where (no values: they may be personal data).
   */
  | { kind: 'unmapped'; reason: string; paths: string[] };

export interface CrmInboundAdapter {
  readonly crm: CrmName;
  /** Verifies the request as this CRM signs or authenticates it. `now` is the wall clock (freshness). */
  authenticate(req: CrmRequest, now: Date): Promise<AuthResult> | AuthResult;
  /**
   * Validates the delivery's own format (zod) and splits it into notifications. Pure: no I/O.
   * `body` is the parsed JSON when the body is valid JSON; otherwise the body's UTF-8 text as a
   * string (Salesforce's SOAP XML arrives this way). A body that is not UTF-8 never gets here.
   */
  parse(body: unknown, auth: { portal?: string }, receivedAt: Date): ParseResult;
  /** The answer for an accepted delivery (after it was kept and published). */
  accepted(notifications: readonly CrmNotification[]): CrmAnswer;
  /** Turns one notification into catalog events, fetching what the CRM did not send through its API. Throws to retry (the bus retries, then dead-letters). */
  normalise(notification: CrmNotification, ctx: NormaliseContext): Promise<NormaliseResult>;
}

/** What the outbound adapter may use. */
export interface OutboundContext {
  mapping: CrmMapping;
  logger: Logger;
  /** The owner's profile from config/owners.yaml, after the inactive → manager → fallback routing. */
  owner(email: string | undefined): { email: string; name: string; timezone: string };
}

export interface CrmOutboundAdapter {
  readonly crm: CrmName;
  /**
   * Delivers one message (task-assigned, relationship-re-engaged, relationship-retired,
   * consent-changed, reply-forwarded) to the CRM in its own format. Returns 'skipped' with why
   * when the message has nothing for this CRM (no id of this CRM on the person). Throws to retry.
   * Callers make delivery idempotent on `message.key`.
   */
  deliver(message: OutboundMessage, ctx: OutboundContext): Promise<{ delivered: true; ref?: string } | { delivered: false; why: string }>;
}

/**
 * Settings of one CRM, named as in the issue (`CULTIVATE_HUBSPOT_CLIENT_SECRET`, ...). Locally
 * they come from the environment; on AWS secrets come from Secrets Manager (the value is read at run
 * time) and plain values from CDK context. `has` is synchronous (decides the 404); `get` may fetch.
 */
export interface CrmSettings {
  has(name: string): boolean;
  get(name: string): Promise<string | undefined>;
}

export interface CrmDefinition {
  readonly crm: CrmName;
  /** Settings without which the route answers 404 naming them. */
  readonly requiredSettings: readonly string[];
  /** Optional settings (API base URL, API token for fetching and outbound). */
  readonly optionalSettings: readonly string[];
  /** Which settings are secrets (Secrets Manager on AWS) rather than plain values. */
  readonly secretSettings: readonly string[];
  inbound(settings: CrmSettings): CrmInboundAdapter;
  /** Undefined when the settings needed to call the CRM's API are absent. */
  outbound(settings: CrmSettings): CrmOutboundAdapter | undefined;
}
