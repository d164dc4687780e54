/** Fuzz: authenticate and parse return a result for any input, and never throw (no 5xx for anything a client sends). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRelayEvent, RelayEventError, salesforceDefinition } from '#crm/salesforce/index';
import { baseSettings, fixture, ORG, RECEIVED, request, TOKEN } from './helpers.ts';

const adapter = salesforceDefinition.inbound(baseSettings());
const xml = fixture('outbound-message-opportunities.xml');
const flow = fixture('flow-opportunity-lost.json');

/** Bodies near the real ones: cut, spliced, with random bytes inserted, and plain random text and JSON. */
const body = fc.oneof(
  fc.string({ maxLength: 2000 }),
  fc.uint8Array({ maxLength: 2000 }),
  fc.json().map((j) => j),
  fc.tuple(fc.constantFrom(xml, flow), fc.nat(), fc.nat(), fc.string({ maxLength: 50 })).map(([base, a, b, insert]) => {
    const i = a % base.length;
    const j = i + (b % 200);
    return base.slice(0, i) + insert + base.slice(j);
  }),
  fc.constantFrom(xml, flow).map((b) => b.replace(/>[^<]{1,40}</, '><!DOCTYPE x [<!ENTITY a "b">]><')),
);
const header = fc.option(fc.oneof(fc.string({ maxLength: 80 }), fc.constant(TOKEN)), { nil: undefined });
const path = fc.oneof(fc.constant('/webhooks/salesforce'), fc.constant(`/webhooks/salesforce/${TOKEN}`), fc.string({ maxLength: 100 }).map((s) => `/webhooks/salesforce/${s}`));

describe('salesforce fuzz', () => {
  it('authenticate always answers (never throws) for random bodies, paths and headers', async () => {
    await fc.assert(
      fc.asyncProperty(body, path, header, async (b, p, h) => {
        const raw = typeof b === 'string' ? b : b instanceof Uint8Array ? b : JSON.stringify(b);
        const result = await adapter.authenticate(request(raw, { path: p, ...(h !== undefined && { headers: { 'x-cultivate-token': h } }) }), new Date());
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('parse always answers ok or issues with paths (never throws) for random bodies', () => {
    fc.assert(
      fc.property(body, fc.option(fc.constantFrom(ORG, '00D000000000001AAA'), { nil: undefined }), (b, portal) => {
        const result = adapter.parse(b, portal ? { portal } : {}, RECEIVED);
        if (result.ok) expect(result.notifications.length).toBeGreaterThan(0);
        else for (const i of result.issues) expect(typeof i.path).toBe('string');
      }),
      { numRuns: 3000 },
    );
  });

  it('parseRelayEvent answers notifications or a RelayEventError naming the fields', () => {
    const base = JSON.parse(fixture('relay-opportunity-change-event.json')) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.json().map((j) => ({ ...base, detail: JSON.parse(j) as unknown })), fc.record({ commitTimestamp: fc.double(), sequenceNumber: fc.integer() }).map((h) => {
          const e = structuredClone(base) as { detail: { payload: { ChangeEventHeader: Record<string, unknown> } } };
          Object.assign(e.detail.payload.ChangeEventHeader, h);
          return e;
        })), (e) => {
        try {
          expect(Array.isArray(parseRelayEvent(e))).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(RelayEventError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
