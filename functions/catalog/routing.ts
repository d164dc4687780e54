/**
 * Event sources, detail-types and the routing table: one declaration read by the CDK (one
 * EventBridge rule per route, each with a DLQ) and by the local in-process bus. Routes are
 * restricted to what both can express: a list of sources and a list of detail-types.
 */
import { inboundTypes, type InboundType, type InternalType } from './events.ts';

export const EventSources = {
  /** Inbound events normalised by the webhook ingest, one source per CRM adapter. */
  ingestGeneric: 'cultivate.ingest.generic',
  ingestHubspot: 'cultivate.ingest.hubspot',
  ingestSalesforce: 'cultivate.ingest.salesforce',
  ingestPipedrive: 'cultivate.ingest.pipedrive',
  /** A CRM's own notification, authenticated and kept, waiting to be normalised (fetching what it lacks from the CRM's API). */
  crmNotifications: 'cultivate.crm',
  /** Consent changes made by a person through an unsubscribe link. */
  unsubscribe: 'cultivate.unsubscribe',
  /** Replies received on the reply subdomain (human replies, unsubscribes in words, "I have left"). */
  replies: 'cultivate.replies',
  /** Events Cultivate itself emits about relationships. */
  relationships: 'cultivate.relationships',
  /** The send path (touches issue). */
  touches: 'cultivate.touches',
} as const;
export type EventSource = (typeof EventSources)[keyof typeof EventSources];

/** Sources that are CRMs: a consent change from one is not echoed back to it. */
export const crmSources: readonly EventSource[] = [
  EventSources.ingestGeneric,
  EventSources.ingestHubspot,
  EventSources.ingestSalesforce,
  EventSources.ingestPipedrive,
];

/** The source a CRM adapter's normalised events are published under. */
export function ingestSourceOf(crm: 'generic' | 'hubspot' | 'salesforce' | 'pipedrive'): EventSource {
  return `cultivate.ingest.${crm}` as EventSource;
}
/** Everything that carries an inbound event (by reference) for the relationship handler. */
export const inboundSources: readonly EventSource[] = [...crmSources, EventSources.unsubscribe, EventSources.replies];

export type DetailType = InboundType | InternalType;

/** The functions the bus delivers to. The CDK maps each to a Lambda; the local runtime to a handler. */
export type RouteTarget = 'relationship' | 'crmOutbound' | 'crmNormalise';

export interface Route {
  readonly id: string;
  readonly description: string;
  readonly sources: readonly EventSource[];
  readonly detailTypes: readonly DetailType[];
  readonly target: RouteTarget;
}

export const routingTable: readonly Route[] = [
  {
    id: 'InboundToRelationships',
    description: 'CRM events update relationship state',
    sources: inboundSources,
    detailTypes: inboundTypes,
    target: 'relationship',
  },
  {
    id: 'RelationshipNewsToCrm',
    description: 'Tasks, re-engagement briefs and consent changes go back to the CRM',
    sources: [EventSources.relationships, EventSources.touches],
    detailTypes: ['task-assigned', 'relationship-re-engaged', 'relationship-retired', 'consent-changed'],
    target: 'crmOutbound',
  },
  {
    id: 'CrmNotificationsToNormaliser',
    description: 'Authenticated CRM notifications are normalised into catalog events (with CRM API lookups)',
    sources: [EventSources.crmNotifications],
    detailTypes: ['crm-notification'],
    target: 'crmNormalise',
  },
];

export function routesFor(source: string, detailType: string): Route[] {
  return routingTable.filter(
    (r) => (r.sources as readonly string[]).includes(source) && (r.detailTypes as readonly string[]).includes(detailType),
  );
}
