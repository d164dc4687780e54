/** The event catalog, its JSON Schema export and the routing table. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InboundEnvelope, InboundEvent, WebhookBody, inboundData, inboundTypes, internalDetail } from '#catalog/events';
import { catalogJsonSchemas } from '#catalog/json-schema';
import { EventSources, inboundSources, routesFor, routingTable } from '#catalog/routing';

/** DESIGN.md §3, "In, from CRMs", written out here so the test does not read the list from the code. */
const DESIGN_INBOUND = [
  'lead-closed-lost',
  'deal-created',
  'deal-reopened',
  'deal-won',
  'meeting-booked',
  'touch-completed',
  'contact-replied',
  'contact-updated',
  'contact-moved',
  'consent-changed',
  'referral-received',
  'relationship-erasure-requested',
];
const DESIGN_OUT = ['task-assigned', 'relationship-re-engaged', 'relationship-retired', 'consent-changed', 'touch-due', 'email-sent'];

const exampleText = readFileSync(new URL('../../examples/lost-deal.json', import.meta.url), 'utf8');
const example = JSON.parse(exampleText) as Record<string, unknown>;

/** A minimal valid `data` per type, to prove each schema is reachable through InboundEvent. */
const minimalData: Record<string, Record<string, unknown>> = {
  'lead-closed-lost': { reason: 'budget' },
  'touch-completed': { touchId: 't1', outcome: 'done' },
  'consent-changed': { action: 'stop-all-email' },
};

describe('inbound catalog', () => {
  it('has a schema for every inbound type of DESIGN.md §3, and nothing unexpected', () => {
    expect([...inboundTypes].sort()).toEqual([...DESIGN_INBOUND].sort());
    for (const t of DESIGN_INBOUND) expect(inboundData[t as keyof typeof inboundData], t).toBeDefined();
  });

  it.each(DESIGN_INBOUND)('%s validates through InboundEvent with its own data schema', (type) => {
    const e = { id: `x-${type}`, type, occurredAt: '2026-11-20T15:04:05Z', contact: { externalId: 'hs-1' }, data: minimalData[type] ?? {} };
    expect(InboundEvent.safeParse(e).success).toBe(true);
    expect(InboundEvent.safeParse({ ...e, data: { ...e.data, unknownField: 1 } }).success).toBe(false);
    expect(InboundEvent.safeParse({ ...e, occurredAt: '2026-11-20 15:04' }).success).toBe(false);
    expect(InboundEvent.safeParse({ ...e, contact: {} }).success).toBe(false);
  });

  it('the README example event validates, alone and in an array', () => {
    expect(InboundEvent.parse(example)).toMatchObject({ id: 'crm-evt-8812', type: 'lead-closed-lost', data: { reason: 'timing' } });
    expect(WebhookBody.safeParse(example).success).toBe(true);
    expect(WebhookBody.safeParse([example, { ...example, id: 'crm-evt-8813' }]).success).toBe(true);
  });

  it('rejects what §3 rules out', () => {
    const bad = (patch: Record<string, unknown>) => InboundEvent.safeParse({ ...example, ...patch }).success;
    expect(bad({ data: { reason: 'price' } })).toBe(false);
    expect(bad({ type: 'lead-lost' })).toBe(false);
    expect(bad({ id: 'has spaces' })).toBe(false);
    expect(bad({ contact: { ...(example.contact as object), timezone: 'Nowhere/Land' } })).toBe(false);
    expect(bad({ contact: { ...(example.contact as object), country: 'usa' } })).toBe(false);
    expect(bad({ contact: { ...(example.contact as object), consent: { email: 'yes' } } })).toBe(false);
    expect(InboundEvent.safeParse({ ...example, type: 'consent-changed', data: { action: 'stop-topic' } }).success).toBe(false);
    expect(InboundEvent.safeParse({ ...example, type: 'consent-changed', data: { action: 'grant-email' } }).success).toBe(false);
    expect(WebhookBody.safeParse(Array.from({ length: 101 }, (_, i) => ({ ...example, id: `e${i}` }))).success).toBe(false);
  });

  it('the bus envelope carries no contact data', () => {
    const shape = Object.keys(InboundEnvelope.shape);
    expect(shape).not.toContain('contact');
    expect(InboundEnvelope.safeParse({
      id: 'generic:x', type: 'deal-won', occurredAt: '2026-11-20T15:04:05Z', receivedAt: '2026-11-20T15:04:05Z',
      source: EventSources.ingestGeneric, identity: { crmIds: [] }, inboxKey: 'generic:x', email: 'a@b.example',
    }).success).toBe(false);
  });

  it('declares the outbound details of §3', () => {
    for (const t of DESIGN_OUT) expect(internalDetail[t as keyof typeof internalDetail], t).toBeDefined();
  });
});

describe('JSON Schema export', () => {
  const schemas = catalogJsonSchemas();

  it('produces an object schema per catalog entry', () => {
    const expected = ['webhook-body', 'inbound-event', 'inbound-envelope', 'contact', 'account', 'consent', ...Object.keys(internalDetail).map((t) => `bus/${t}`)];
    expect(Object.keys(schemas).sort()).toEqual(expected.sort());
    for (const [name, schema] of Object.entries(schemas)) {
      expect(typeof schema, name).toBe('object');
      expect(schema, name).not.toBeNull();
      expect(JSON.parse(JSON.stringify(schema)), `${name} survives JSON`).toEqual(schema);
    }
    for (const name of ['inbound-envelope', 'contact', 'account', 'consent', ...Object.keys(internalDetail).map((t) => `bus/${t}`)]) {
      const s = schemas[name] as { type?: string; properties?: object };
      expect(s.type, name).toBe('object');
      expect(s.properties, name).toBeTypeOf('object');
    }
  });

  it('the inbound event schema has one object branch per inbound type, naming its data', () => {
    const s = schemas['inbound-event'] as { oneOf?: unknown[]; anyOf?: unknown[] };
    const branches = (s.oneOf ?? s.anyOf ?? []) as { type?: string; properties?: { type?: { const?: string }; data?: object } }[];
    expect(branches).toHaveLength(DESIGN_INBOUND.length);
    for (const b of branches) {
      expect(b.type).toBe('object');
      expect(b.properties?.data).toBeTypeOf('object');
    }
    expect(branches.map((b) => b.properties?.type?.const).sort()).toEqual([...DESIGN_INBOUND].sort());
  });

  it('the contact schema lists the §3 fields and the webhook body allows at most 100 events', () => {
    const contact = schemas.contact as { properties: Record<string, unknown> };
    for (const f of ['externalId', 'email', 'name', 'accountId', 'company', 'timezone', 'country', 'language', 'role', 'owner', 'consent', 'postalAddress']) {
      expect(contact.properties, f).toHaveProperty(f);
    }
    expect(JSON.stringify(schemas['webhook-body'])).toContain('"maxItems":100');
  });
});

describe('routing table', () => {
  it('routes every inbound type from the ingest source to the relationship target, once', () => {
    for (const t of DESIGN_INBOUND) {
      const routes = routesFor(EventSources.ingestGeneric, t);
      expect(routes.map((r) => r.target), t).toEqual(['relationship']);
    }
    for (const src of inboundSources) for (const t of DESIGN_INBOUND) expect(routesFor(src, t).length).toBeGreaterThan(0);
  });

  it('sends relationship news to the CRM, and inbound types to no other target', () => {
    for (const t of ['task-assigned', 'relationship-re-engaged', 'relationship-retired', 'consent-changed']) {
      expect(routesFor(EventSources.relationships, t).map((r) => r.target), t).toEqual(['crmOutbound']);
    }
    // A consent-changed from a CRM must not be routed back out to the CRM (no echo).
    expect(routesFor(EventSources.ingestGeneric, 'consent-changed').map((r) => r.target)).toEqual(['relationship']);
    expect(routesFor('somebody.else', 'lead-closed-lost')).toEqual([]);
  });

  it('has unique route ids and only known detail-types', () => {
    const ids = routingTable.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const known = new Set<string>([...inboundTypes, ...Object.keys(internalDetail)]);
    for (const r of routingTable) for (const t of r.detailTypes) expect(known.has(t), `${r.id}: ${t}`).toBe(true);
  });
});
