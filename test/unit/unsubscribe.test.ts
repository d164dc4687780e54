/**
 * Unsubscribe (DESIGN.md §5, RFC 8058): the signed token (functions/shared/unsubscribe-token.ts)
 * and the Hono routes (`unsubscribeRoutes` in functions/http/app.ts) with in-memory fakes. GET only
 * shows a page (link scanners follow GETs); POST acts, the one-click POST from the mailbox included.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { newRelationship } from '#domain/relationship';
import type { RelationshipState, TimelineEntry } from '#domain/types';
import { unsubscribeRoutes } from '#http/app';
import type { UnsubscribeDeps } from '#handlers/unsubscribe';
import type { Identity, RelationshipStore, SuppressionRecord } from '#ports/ports';
import { createKeyedHasher } from '#shared/hmac';
import { signUnsubscribeToken, verifyUnsubscribeToken } from '#shared/unsubscribe-token';
import { MemoryInbox, NOW, RecordingPublisher, fixedClock, recordingLogger } from '../helpers/fixtures.ts';

const KEY = 'unsubscribe-test-key-current';
const OLD_KEY = 'unsubscribe-test-key-previous';
const REL = 'rel_0b7d9a3c-5e2f-4a61-8c1d-2f3e4a5b6c7d';
const EMAIL = 'dana.unsub.fixture@example.com';
const payload = { relationshipId: REL, touchId: `${REL}.t4`, topic: 'pricing' };

const decodeBody = (token: string) => JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8')) as Record<string, unknown>;

/** Flip one base64url character at `i` to a different one that changes the decoded bits. */
function flip(token: string, i: number): string {
  const c = token[i] as string;
  const replacement = c === 'A' ? 'B' : 'A';
  return token.slice(0, i) + replacement + token.slice(i + 1);
}

describe('unsubscribe tokens', () => {
  const token = signUnsubscribeToken(KEY, payload);

  it('round-trip', () => {
    expect(verifyUnsubscribeToken([KEY], token)).toEqual(payload);
    const noTopic = signUnsubscribeToken(KEY, { relationshipId: REL, touchId: 't1' });
    expect(verifyUnsubscribeToken([KEY], noTopic)).toEqual({ relationshipId: REL, touchId: 't1' });
  });

  it('are URL-safe as a path segment', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(encodeURIComponent(token)).toBe(token);
  });

  it('carry ids only, never an e-mail address', () => {
    const body = decodeBody(token);
    expect(body).toEqual({ r: REL, t: `${REL}.t4`, p: 'pricing' });
    expect(JSON.stringify(body)).not.toContain('@');
    expect(Buffer.from(token.split('.')[0] as string, 'base64url').toString('utf8')).not.toContain(EMAIL);
  });

  it('verify under any of the keys in rotation, and not under a wrong key', () => {
    const old = signUnsubscribeToken(OLD_KEY, payload);
    expect(verifyUnsubscribeToken([KEY, OLD_KEY], old)).toEqual(payload);
    expect(verifyUnsubscribeToken([KEY], old)).toBeUndefined();
    expect(verifyUnsubscribeToken(['another-key'], token)).toBeUndefined();
    expect(verifyUnsubscribeToken([], token)).toBeUndefined();
    expect(verifyUnsubscribeToken([`${KEY} `], token)).toBeUndefined();
  });

  it('refuse a tampered body (even a re-encoded, different payload)', () => {
    const [, sig] = token.split('.');
    const otherBody = Buffer.from(JSON.stringify({ r: 'rel_someone-else', t: 't4', p: 'pricing' }), 'utf8').toString('base64url');
    expect(verifyUnsubscribeToken([KEY], `${otherBody}.${sig}`)).toBeUndefined();
    for (let i = 0; i < token.indexOf('.'); i += 7) expect(verifyUnsubscribeToken([KEY], flip(token, i)), `flip at ${i}`).toBeUndefined();
  });

  it('refuse a tampered signature', () => {
    const dot = token.indexOf('.');
    // every character but the last carries 6 bits of the MAC
    for (let i = dot + 1; i < token.length - 1; i += 5) expect(verifyUnsubscribeToken([KEY], flip(token, i)), `flip at ${i}`).toBeUndefined();
  });

  it('refuse truncated tokens, at any length', () => {
    for (let n = 0; n < token.length - 1; n++) expect(verifyUnsubscribeToken([KEY], token.slice(0, n)), `first ${n} chars`).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], token.slice(0, token.indexOf('.')))).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], token.slice(token.indexOf('.')))).toBeUndefined();
  });

  it('refuse extra segments and padding tricks', () => {
    expect(verifyUnsubscribeToken([KEY], `${token}.x`)).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], `x.${token}`)).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], token.replace('.', '..'))).toBeUndefined();
  });

  it('refuse a correctly signed body that is not a valid payload (over-long ids, extra or missing keys, not JSON)', () => {
    expect(verifyUnsubscribeToken([KEY], signUnsubscribeToken(KEY, { relationshipId: 'x'.repeat(81), touchId: 't' }))).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], signUnsubscribeToken(KEY, { relationshipId: REL, touchId: 't'.repeat(129) }))).toBeUndefined();
    // The MAC as the module computes it (HMAC-SHA256 over "unsubscribe.<body>"), to sign bodies the
    // public signer would never produce.
    const signed = (raw: string) => {
      const body = Buffer.from(raw, 'utf8').toString('base64url');
      return `${body}.${createHmac('sha256', KEY).update(`unsubscribe.${body}`, 'utf8').digest('base64url')}`;
    };
    expect(verifyUnsubscribeToken([KEY], signed(JSON.stringify({ r: REL, t: 't1' })))).toEqual({ relationshipId: REL, touchId: 't1' });
    expect(verifyUnsubscribeToken([KEY], signed(JSON.stringify({ r: REL, t: 't1', email: EMAIL })))).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], signed(JSON.stringify({ r: REL })))).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], signed(JSON.stringify({ r: 1, t: 't1' })))).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], signed('not json'))).toBeUndefined();
    expect(verifyUnsubscribeToken([KEY], signed('null'))).toBeUndefined();
  });

  it('property: arbitrary strings never verify and never throw', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (s) => {
        expect(verifyUnsubscribeToken([KEY], s)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
    const b64 = fc.stringMatching(/^[A-Za-z0-9_-]{0,120}$/);
    fc.assert(
      fc.property(b64, b64, (a, b) => {
        expect(verifyUnsubscribeToken([KEY, OLD_KEY], `${a}.${b}`)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('property: any payload round-trips and never verifies under another key', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }), fc.string({ minLength: 1, maxLength: 128 }), fc.option(fc.string({ minLength: 1, maxLength: 64 }), { nil: undefined }), (r, t, p) => {
        const tok = signUnsubscribeToken(KEY, { relationshipId: r, touchId: t, ...(p && { topic: p }) });
        expect(verifyUnsubscribeToken([KEY], tok)).toEqual({ relationshipId: r, touchId: t, ...(p && { topic: p }) });
        expect(verifyUnsubscribeToken([OLD_KEY], tok)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------------------------------------
// The routes

const hasher = createKeyedHasher('unsubscribe-route-hash-key');

/** A RelationshipStore in memory that counts every write. */
class MemoryStore implements RelationshipStore {
  readonly states = new Map<string, RelationshipState>();
  readonly suppressions = new Map<string, SuppressionRecord>();
  readonly writes: string[] = [];
  async resolve(identity: Identity) {
    return identity.relationshipId;
  }
  async claimIdentity(relationshipId: string) {
    this.writes.push('claimIdentity');
    return relationshipId;
  }
  async get(id: string) {
    const s = this.states.get(id);
    return s ? structuredClone(s) : undefined;
  }
  async save(state: RelationshipState) {
    this.writes.push('save');
    this.states.set(state.id, structuredClone(state));
    return 'saved' as const;
  }
  async appendTimeline(_id: string, _entries: readonly TimelineEntry[]) {
    this.writes.push('appendTimeline');
  }
  async timeline() {
    return [];
  }
  async erase() {
    this.writes.push('erase');
  }
  async getSuppression(hashes: readonly string[]) {
    const scopes = hashes.flatMap((h) => this.suppressions.get(h)?.scopes ?? []);
    return scopes.length > 0 ? { scopes: structuredClone(scopes) } : undefined;
  }
  async putSuppression(hashes: readonly string[], record: SuppressionRecord) {
    this.writes.push('putSuppression');
    for (const h of hashes) this.suppressions.set(h, structuredClone(record));
  }
  async addSuppressionScope(hash: string, scope: SuppressionRecord['scopes'][number]) {
    this.writes.push('putSuppression');
    // As the DynamoDB adapter: one entry per scope (and topic).
    const existing = this.suppressions.get(hash)?.scopes ?? [];
    if (existing.some((x) => x.scope === scope.scope && x.topic === scope.topic)) return;
    this.suppressions.set(hash, { scopes: [...existing, structuredClone(scope)] });
  }
}

class CountingInbox extends MemoryInbox {
  puts = 0;
  override async putMany(items: Parameters<MemoryInbox['putMany']>[0]) {
    this.puts++;
    return super.putMany(items);
  }
}

function setup() {
  const store = new MemoryStore();
  const inbox = new CountingInbox();
  const publisher = new RecordingPublisher();
  const logger = recordingLogger();
  const state: RelationshipState = {
    ...newRelationship(REL, '2026-11-20T15:00:00.000Z'),
    stage: 'nurturing',
    accountId: 'acme.example',
    contact: { email: EMAIL, name: 'Dana Unsub' },
    emailHash: hasher.emailHash(EMAIL),
    crmIds: ['generic:default:hs-777'],
    consent: { email: 'granted', basis: 'opt-in', at: '2026-03-02T10:00:00.000Z' },
  };
  store.states.set(REL, state);
  const deps: UnsubscribeDeps = { clock: fixedClock(), store, inbox, publisher, unsubscribeKeys: async () => [KEY, OLD_KEY], logger };
  const app = unsubscribeRoutes(deps);
  const token = signUnsubscribeToken(KEY, payload);
  const writes = () => store.writes.length + inbox.puts + publisher.calls;
  return { store, inbox, publisher, logger, app, token, state, writes };
}

const form = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

describe('unsubscribe routes', () => {
  let t: ReturnType<typeof setup>;
  beforeEach(() => {
    t = setup();
  });

  it('GET shows the choices and writes nothing', async () => {
    const res = await t.app.request(`/unsubscribe/${t.token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain(`<form method="post" action="/unsubscribe/${t.token}">`);
    expect(html).toContain('name="scope" value="topic"');
    expect(html).toContain('Stop e-mails about pricing');
    expect(html).toContain('name="scope" value="all"');
    expect(html).not.toContain(EMAIL);
    // a link scanner following it twice changes nothing
    await t.app.request(`/unsubscribe/${t.token}`);
    expect(t.writes()).toBe(0);
    expect(t.store.suppressions.size).toBe(0);
    expect(t.publisher.published).toEqual([]);
    expect(t.inbox.items.size).toBe(0);
  });

  it('HEAD writes nothing either', async () => {
    await t.app.request(`/unsubscribe/${t.token}`, { method: 'HEAD' });
    expect(t.writes()).toBe(0);
  });

  it('the one-click POST (List-Unsubscribe=One-Click) stops all e-mail: one consent-changed, the keyed-hash suppression', async () => {
    const res = await t.app.request(`/unsubscribe/${t.token}`, form('List-Unsubscribe=One-Click'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('no more e-mail from us');

    expect(t.publisher.published).toHaveLength(1);
    const entry = t.publisher.published[0];
    expect(entry?.source).toBe('cultivate.unsubscribe');
    expect(entry?.detailType).toBe('consent-changed');
    const detail = entry?.detail as Record<string, unknown>;
    expect(detail).toMatchObject({ type: 'consent-changed', source: 'cultivate.unsubscribe', identity: { relationshipId: REL, crmIds: [] }, occurredAt: NOW.toISOString() });
    const wire = JSON.stringify(detail);
    expect(wire).not.toContain(EMAIL);
    expect(wire).not.toContain('@');
    expect(wire).not.toContain(t.state.emailHash as string);

    // the full event waits in the inbox, by the key the envelope names
    const parked = t.inbox.items.get(detail.inboxKey as string);
    expect(parked).toMatchObject({ type: 'consent-changed', data: { action: 'stop-all-email', source: 'unsubscribe-link' } });
    expect(JSON.stringify(parked)).not.toContain(EMAIL);

    // the suppression is written at once by keyed hash, so the sender's last check sees it
    expect([...t.store.suppressions.keys()]).toEqual([t.state.emailHash]);
    expect(t.store.suppressions.get(t.state.emailHash as string)?.scopes).toEqual([{ scope: 'all-email', at: NOW.toISOString() }]);
    // and the relationship itself is left to the bus (no direct state write)
    expect(t.store.writes).not.toContain('save');
  });

  it('the one-click POST as multipart/form-data (how some mailbox providers send it) acts the same', async () => {
    const body = new FormData();
    body.set('List-Unsubscribe', 'One-Click');
    const res = await t.app.request(`/unsubscribe/${t.token}`, { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(t.store.suppressions.get(t.state.emailHash as string)?.scopes.map((s) => s.scope)).toEqual(['all-email']);
    expect(t.publisher.ofType('consent-changed')).toHaveLength(1);
  });

  it('a second click adds no second suppression and publishes the same event id (a duplicate downstream)', async () => {
    await t.app.request(`/unsubscribe/${t.token}`, form('List-Unsubscribe=One-Click'));
    await t.app.request(`/unsubscribe/${t.token}`, form('List-Unsubscribe=One-Click'));
    expect(t.store.suppressions.get(t.state.emailHash as string)?.scopes).toHaveLength(1);
    const ids = t.publisher.published.map((e) => (e.detail as { id: string }).id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
  });

  it('POST scope=topic stops just that topic', async () => {
    const res = await t.app.request(`/unsubscribe/${t.token}`, form('scope=topic'));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('no more e-mails about pricing');
    const scopes = t.store.suppressions.get(t.state.emailHash as string)?.scopes;
    expect(scopes).toEqual([{ scope: 'topic', topic: 'pricing', at: NOW.toISOString() }]);
    expect(scopes?.some((s) => s.scope === 'all-email')).toBe(false);
    expect(t.publisher.published).toHaveLength(1);
    const detail = t.publisher.published[0]?.detail as { inboxKey: string };
    expect(t.inbox.items.get(detail.inboxKey)).toMatchObject({ data: { action: 'stop-topic', topic: 'pricing' } });
    // then all e-mail: both on record
    await t.app.request(`/unsubscribe/${t.token}`, form('scope=all'));
    expect(t.store.suppressions.get(t.state.emailHash as string)?.scopes.map((s) => s.scope).sort()).toEqual(['all-email', 'topic']);
  });

  it('POST scope=topic on a token without a topic stops all e-mail (the safe reading)', async () => {
    const token = signUnsubscribeToken(KEY, { relationshipId: REL, touchId: 't9' });
    await t.app.request(`/unsubscribe/${token}`, form('scope=topic'));
    expect(t.store.suppressions.get(t.state.emailHash as string)?.scopes.map((s) => s.scope)).toEqual(['all-email']);
  });

  it('a token signed with the previous key still works', async () => {
    const token = signUnsubscribeToken(OLD_KEY, payload);
    expect((await t.app.request(`/unsubscribe/${token}`, form('List-Unsubscribe=One-Click'))).status).toBe(200);
    expect(t.publisher.published).toHaveLength(1);
  });

  it('an invalid token is a 400 for GET and POST, and nothing is written', async () => {
    const bad = [flip(t.token, 3), t.token.slice(0, -4), 'not-a-token', signUnsubscribeToken('wrong-key', payload)];
    for (const token of bad) {
      const get = await t.app.request(`/unsubscribe/${encodeURIComponent(token)}`);
      expect(get.status, `GET ${token}`).toBe(400);
      expect(await get.text()).toContain('This link is not valid');
      const post = await t.app.request(`/unsubscribe/${encodeURIComponent(token)}`, form('List-Unsubscribe=One-Click'));
      expect(post.status, `POST ${token}`).toBe(400);
    }
    expect(t.writes()).toBe(0);
  });

  it('a person erased since: the POST succeeds quietly and writes nothing', async () => {
    t.store.states.clear();
    const res = await t.app.request(`/unsubscribe/${t.token}`, form('List-Unsubscribe=One-Click'));
    expect(res.status).toBe(200);
    expect(t.writes()).toBe(0);
  });
});
