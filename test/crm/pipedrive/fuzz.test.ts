/**
 * Fuzz: `authenticate` and `parse` answer every input, however broken, with a result and never
 * throw (a throw would be a 500). Inputs: random headers, random JSON, and Pipedrive's documented
 * examples (https://pipedrive.readme.io/docs/webhooks-v2-migration-guide#webhooks-v2-examples)
 * with fields removed or replaced at random.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipedriveDefinition } from '#crm/pipedrive/index';
import type { CrmRequest } from '#crm/types';
import { BASIC, basicHeader, fixture, NOW, settingsOf } from './helpers.ts';

const adapter = pipedriveDefinition.inbound(settingsOf({ CULTIVATE_PIPEDRIVE_BASIC_AUTH: JSON.stringify([BASIC, 'other:pair']) }));
const names = ['doc-create-deal', 'doc-update-deal', 'doc-delete-deal', 'doc-update-activity', 'doc-update-person', 'doc-update-user', 'doc-create-lead'];
const EVENT_ID = /^[\w.:\-/@]+$/;

const requestWith = (authorization: string | undefined, raw: Uint8Array): CrmRequest => ({
  method: 'POST',
  pathAndQuery: '/webhooks/pipedrive',
  raw,
  header: (n) => (n.toLowerCase() === 'authorization' ? authorization : undefined),
});

const headerArb = fc.oneof(
  fc.constant(undefined),
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string().map((s) => `Basic ${s}`),
  fc.base64String().map((s) => `Basic ${s}`),
  fc.string({ unit: 'binary' }).map((s) => basicHeader(s)),
  fc.constantFrom(BASIC, 'other:pair').map((pair) => basicHeader(pair).toLowerCase()),
);

/** A documented example with one path removed or replaced by anything. */
const mangledArb = fc
  .tuple(fc.constantFrom(...names), fc.array(fc.constantFrom('meta', 'data', 'previous', 'action', 'entity', 'id', 'company_id', 'timestamp', 'version', 'status', 'entity_id'), { minLength: 1, maxLength: 3 }), fc.option(fc.anything(), { nil: undefined }))
  .map(([name, path, value]) => {
    const body = fixture(name);
    let node: any = body;
    for (const key of path.slice(0, -1)) {
      if (node === null || typeof node !== 'object') return body;
      node = node[key];
    }
    if (node !== null && typeof node === 'object') {
      const last = path[path.length - 1] as string;
      if (value === undefined) delete node[last];
      else node[last] = value;
    }
    return body;
  });

describe('pipedrive fuzz', () => {
  it('authenticate answers every header with a result, and accepts only the configured pairs', async () => {
    await fc.assert(
      fc.asyncProperty(headerArb, fc.uint8Array({ maxLength: 64 }), async (header, raw) => {
        const r = await adapter.authenticate(requestWith(header, raw), NOW);
        expect(typeof r.ok).toBe('boolean');
        if (r.ok) expect([basicHeader(BASIC), basicHeader('other:pair')].map((h) => h.toLowerCase())).toContain(header?.toLowerCase());
      }),
      { numRuns: 3000 },
    );
  });

  it('parse answers any JSON value with notifications or named issues', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), mangledArb, mangledArb), (json) => {
        const r = adapter.parse(json, {}, NOW);
        if (r.ok) {
          expect(r.notifications).toHaveLength(1);
          const id = r.notifications[0]?.id ?? '';
          expect(id).toMatch(EVENT_ID);
          expect(id.length).toBeLessThanOrEqual(80);
        } else {
          expect(r.issues.length).toBeGreaterThan(0);
          for (const i of r.issues) expect(typeof i.path === 'string' && typeof i.message === 'string').toBe(true);
        }
      }),
      { numRuns: 4000 },
    );
  });

  it('parse survives hostile objects (throwing getters, proxies, deep nesting)', () => {
    const throwing = { get meta() { throw new Error('boom'); }, data: {} };
    const proxy = new Proxy({}, { get: () => { throw new Error('trap'); }, ownKeys: () => { throw new Error('trap'); } });
    let deep: unknown = {};
    for (let i = 0; i < 5000; i++) deep = { meta: deep };
    for (const json of [throwing, proxy, deep, { meta: proxy, data: proxy }]) {
      const r = adapter.parse(json, {}, NOW);
      expect(r.ok).toBe(false);
    }
  });
});
