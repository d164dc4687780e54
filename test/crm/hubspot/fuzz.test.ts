/** Thousands of malformed bodies and headers: authenticate and parse always answer, never throw. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hubspotDefinition } from '#crm/hubspot/index';
import type { CrmRequest } from '#crm/types';
import { baseSettings, fixture, NOW, signedRequest } from './helpers.ts';

const adapter = hubspotDefinition.inbound(baseSettings());
const documented = (fixture('webhooks-api-example.json') as Record<string, unknown>[])[0] as Record<string, unknown>;

const headerValue = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('', ' ', '0', '-1', '1e400', String(NOW.getTime()), 'sha256=abc', '=='), fc.integer().map(String));
const request: fc.Arbitrary<CrmRequest> = fc
  .record({
    method: fc.oneof(fc.constantFrom('POST', 'GET', 'post', ''), fc.string()),
    pathAndQuery: fc.oneof(fc.constant('/webhooks/hubspot'), fc.string(), fc.webPath(), fc.webUrl()),
    raw: fc.uint8Array({ maxLength: 512 }),
    sig: fc.option(headerValue),
    ts: fc.option(headerValue),
  })
  .map(({ method, pathAndQuery, raw, sig, ts }) => ({
    method,
    pathAndQuery,
    raw,
    header: (n: string) => ({ 'x-hubspot-signature-v3': sig ?? undefined, 'x-hubspot-request-timestamp': ts ?? undefined })[n.toLowerCase()],
  }));

/** Events shaped like HubSpot's, with any field replaced by anything. */
const eventLike = fc
  .dictionary(fc.constantFrom(...Object.keys(documented), 'subscriptionType', 'objectTypeId', '__proto__', 'constructor'), fc.jsonValue(), { maxKeys: 14 })
  .map((over) => ({ ...documented, ...over }));

describe('fuzz', () => {
  it('authenticate never throws and never accepts an unsigned request', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const r = await adapter.authenticate(req, NOW);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('authenticate accepts any body HubSpot signed, bytes as they are', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), fc.webPath(), async (raw, path) => {
        const r = await adapter.authenticate(signedRequest({ body: raw, pathAndQuery: path }), NOW);
        expect(r.ok).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('parse never throws, and every accepted notification has a stable, catalog-safe id', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.array(eventLike, { maxLength: 5 }), eventLike), fc.option(fc.constantFrom('33', '1')), (json, portal) => {
        const r = adapter.parse(json, portal ? { portal } : {}, NOW);
        if (r.ok) {
          for (const n of r.notifications) {
            expect(n.id).toMatch(/^hubspot:\d+:[\w.:\-/@]+$/);
            expect(n.id.length).toBeLessThanOrEqual(100);
            expect(Number.isNaN(Date.parse(n.occurredAt))).toBe(false);
          }
        } else {
          expect(r.issues.length).toBeGreaterThan(0);
          for (const i of r.issues) expect(typeof i.path).toBe('string');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
