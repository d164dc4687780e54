/**
 * Feed tokens (docs/adr/0006): the pure token logic, then the adapter, the management routes, the
 * `/feeds` reader routes and the CLI against DynamoDB Local, mounted as the metrics function and
 * the local stack mount them.
 */
import { createHash } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { DynamoFeedTokens, FEED_TOKEN_PK } from '#adapters/dynamo-feed-tokens';
import { DynamoMetricsStore } from '#adapters/dynamo-metrics';
import { decideFeedToken, type FeedTokenRecord, feedTokenStatus, formatFeedToken, hashSecret, issueFeedToken, parseFeedToken } from '#domain/feed-token';
import { FEED_CONTENT_TYPE } from '#domain/metrics/feed';
import { withErrors } from '#http/app';
import { metricsApi } from '#http/metrics-api';
import { feedTokenCommand } from '../../functions/cli/feed-token.ts';
import { scanAll, withDynamoDbLocal } from '../helpers/dynamo.ts';
import { context, metricsConfig } from './helpers.ts';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const DAY_MS = 86_400_000;

/** Bytes 0, 1, 2, ... so ids and secrets are known in advance. */
const counting = (bytes: number) => Buffer.from(Array.from({ length: bytes }, (_, i) => i));

describe('feed token format', () => {
  it('is cvt_<16 hex id>_<43 base64url secret>; only the SHA-256 of the secret is in the record', () => {
    const { token, record } = issueFeedToken({ name: 'slack-leadership', now: NOW }, counting);
    const secret = counting(32).toString('base64url');
    expect(token).toBe(`cvt_0001020304050607_${secret}`);
    expect(secret).toHaveLength(43);
    expect(record).toEqual({ id: '0001020304050607', name: 'slack-leadership', secretHash: createHash('sha256').update(secret).digest('hex'), createdAt: NOW.toISOString() });
    expect(JSON.stringify(record)).not.toContain(secret);
    expect(parseFeedToken(token)).toEqual({ id: '0001020304050607', secret });
  });

  it('expiresInDays sets expiresAt that many days on; createdBy only when given', () => {
    const { record } = issueFeedToken({ name: 'board deck', now: NOW, expiresInDays: 30, createdBy: 'sub-123' });
    expect(record.expiresAt).toBe('2026-12-20T12:00:00.000Z');
    expect(record.createdBy).toBe('sub-123');
    expect(issueFeedToken({ name: 'x', now: NOW }).record).not.toHaveProperty('createdBy');
  });

  it('parses back every token it issues, and two issues never share an id or a secret', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (idBytes, secretBytes) => {
        const id = Buffer.from(idBytes).toString('hex');
        const secret = Buffer.from(secretBytes).toString('base64url');
        expect(parseFeedToken(formatFeedToken(id, secret))).toEqual({ id, secret });
      }),
    );
    const a = parseFeedToken(issueFeedToken({ name: 'a', now: NOW }).token);
    const b = parseFeedToken(issueFeedToken({ name: 'a', now: NOW }).token);
    expect(a?.id).not.toBe(b?.id);
    expect(a?.secret).not.toBe(b?.secret);
  });

  it('refuses anything malformed', () => {
    const good = issueFeedToken({ name: 'x', now: NOW }, counting).token;
    for (const bad of [
      '',
      'cvt_',
      good.replace('cvt_', 'cvx_'),
      good.replace('cvt_', 'CVT_'),
      good.replace('0001020304050607', '000102030405060'),
      good.replace('0001020304050607', '000102030405060A'),
      `${good}A`,
      good.slice(0, -1),
      ` ${good}`,
      good.replace(/_([^_]*)$/, '.$1'),
      `${good.slice(0, -1)}=`,
      `Bearer ${good}`,
    ]) {
      expect(parseFeedToken(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});

describe('feed token verification', () => {
  const issued = issueFeedToken({ name: 'feed reader', now: NOW, expiresInDays: 10 }, counting);
  const { secret } = parseFeedToken(issued.token) as { id: string; secret: string };
  const record: FeedTokenRecord = issued.record;
  const expiry = Date.parse(record.expiresAt as string);

  it('accepts the right secret while the token is neither revoked nor expired', () => {
    expect(decideFeedToken(record, secret, NOW)).toEqual({ ok: true, record });
    expect(decideFeedToken(record, secret, new Date(expiry - 1)).ok).toBe(true);
  });

  it('refuses an unknown id, a wrong secret, a revoked and an expired token, each with its reason', () => {
    expect(decideFeedToken(undefined, secret, NOW)).toEqual({ ok: false, reason: 'unknown' });
    const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    expect(decideFeedToken(record, wrong, NOW)).toEqual({ ok: false, reason: 'wrong-secret' });
    expect(decideFeedToken(record, secret, new Date(expiry))).toEqual({ ok: false, reason: 'expired' });
    expect(decideFeedToken({ ...record, revokedAt: NOW.toISOString() }, secret, NOW)).toEqual({ ok: false, reason: 'revoked' });
    // The secret first: without it, nobody learns (even in the logs) that the token was revoked.
    expect(decideFeedToken({ ...record, revokedAt: NOW.toISOString() }, wrong, NOW)).toEqual({ ok: false, reason: 'wrong-secret' });
    // A damaged stored hash matches nothing, not even the hash of an empty secret.
    expect(decideFeedToken({ ...record, secretHash: '' }, secret, NOW)).toEqual({ ok: false, reason: 'wrong-secret' });
    expect(decideFeedToken({ ...record, secretHash: hashSecret(secret).toUpperCase() }, secret, NOW)).toEqual({ ok: false, reason: 'wrong-secret' });
  });

  it('status: revoked wins over expired; no expiry never expires', () => {
    expect(feedTokenStatus({ expiresAt: NOW.toISOString(), revokedAt: NOW.toISOString() }, NOW)).toBe('revoked');
    expect(feedTokenStatus({ expiresAt: NOW.toISOString() }, NOW)).toBe('expired');
    expect(feedTokenStatus({}, new Date('2999-01-01T00:00:00.000Z'))).toBe('active');
  });
});

// ------------------------------------------------------------------ adapter, routes, CLI

const db = withDynamoDbLocal('cultivate-feed-tokens');

interface LogLine {
  level: string;
  message: string;
  extra: Record<string, unknown>[];
}

/** The metrics function's app (`metricsApi`, as functions/lambda/metrics-api.ts builds it), on DynamoDB Local, a clock the test moves, and the log lines. */
function metricsApp() {
  const clock = { at: NOW, now: () => clock.at };
  const lines: LogLine[] = [];
  const log = (level: string) => (message: string, ...extra: Record<string, unknown>[]) => void lines.push({ level, message, extra });
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const tokens = new DynamoFeedTokens(db.doc, db.table);
  const app = withErrors(new Hono(), logger);
  app.route('/', metricsApi({ store: () => new DynamoMetricsStore(db.doc, db.table), config: metricsConfig, context, clock, logger, tokens, wallClock: clock }));
  return { app, clock, lines, tokens };
}

type Created = { id: string; name: string; token: string; status: string; createdAt: string; expiresAt?: string; urls: Record<string, string> };

async function create(app: Hono, body: unknown, env?: unknown): Promise<Created> {
  const res = await app.request('/metrics/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, env);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Created;
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const q = (token: string) => `token=${encodeURIComponent(token)}`;

async function expectRefused(res: Response) {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Bearer realm="cultivate-feeds"');
  expect(await res.json()).toEqual({ error: 'a valid feed token is required' });
}

describe('feed tokens on DynamoDB Local', () => {
  it('create → read the feed with the header and with ?token= → revoke → 401', async () => {
    const { app, lines } = metricsApp();
    const created = await create(app, { name: 'slack-leadership', expiresInDays: 90 });
    expect(created).toMatchObject({ name: 'slack-leadership', status: 'active', createdAt: NOW.toISOString(), expiresAt: '2027-02-18T12:00:00.000Z' });
    const parsed = parseFeedToken(created.token);
    expect(parsed?.id).toBe(created.id);
    expect(created.urls.feed).toBe(`http://localhost/feeds/metrics/feed.json?${q(created.token)}`);

    const viaHeader = await app.request('/feeds/metrics/feed.json', bearer(created.token));
    expect(viaHeader.status, await viaHeader.clone().text()).toBe(200);
    expect(viaHeader.headers.get('content-type')).toContain(FEED_CONTENT_TYPE);
    expect(viaHeader.headers.get('referrer-policy')).toBe('no-referrer');
    const headerFeed = (await viaHeader.json()) as { version: string; feed_url: string; home_page_url: string };
    expect(headerFeed.version).toBe('https://jsonfeed.org/version/1.1');
    // A reader following feed_url or home_page_url stays at the token door.
    expect(headerFeed.feed_url).toBe('http://localhost/feeds/metrics/feed.json');
    expect(headerFeed.home_page_url).toBe('http://localhost/feeds/dashboard');

    const viaQuery = await app.request(`/feeds/metrics/feed.json?${q(created.token)}`);
    expect(viaQuery.status, await viaQuery.clone().text()).toBe(200);
    const queryFeed = (await viaQuery.json()) as { feed_url: string; home_page_url: string };
    expect(queryFeed.feed_url).toBe(`http://localhost/feeds/metrics/feed.json?${q(created.token)}`);
    expect(queryFeed.home_page_url).toBe(`http://localhost/feeds/dashboard?${q(created.token)}`);
    const csv = await app.request(`/feeds/metrics.csv?from=2026-11-01&to=2026-11-20&${q(created.token)}`);
    expect(csv.status, await csv.clone().text()).toBe(200);
    expect(await csv.text()).toMatch(/^metric,period,dimension,value,n,sum\r\n/);

    // The dashboard and its per-owner page, behind the same check; the owners page links back with the token.
    expect(created.urls.dashboardOwners).toBe(`http://localhost/feeds/dashboard/owners?${q(created.token)}`);
    const dashboard = await app.request(`/feeds/dashboard?${q(created.token)}`);
    expect(dashboard.status).toBe(200);
    expect(await dashboard.text()).toContain(`href="dashboard/owners?from=`);
    const owners = await app.request(`/feeds/dashboard/owners?from=2026-11-01&to=2026-11-20&${q(created.token)}`);
    expect(owners.status, await owners.clone().text()).toBe(200);
    expect(owners.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await owners.text()).toContain(`href="../dashboard?from=2026-11-01&#38;to=2026-11-20&#38;groupBy=week&#38;${q(created.token).replace('&', '&#38;')}"`);
    await expectRefused(await app.request('/feeds/dashboard/owners?from=2026-11-01&to=2026-11-20'));

    // The item: one per token under FEEDTOKEN, the hash and never the secret.
    const item = (await db.doc.send(new GetCommand({ TableName: db.table, Key: { pk: FEED_TOKEN_PK, sk: created.id } }))).Item;
    expect(item?.secretHash).toBe(hashSecret(parsed?.secret as string));
    expect(JSON.stringify(await scanAll(db.doc, db.table))).not.toContain(parsed?.secret);

    const revoked = await app.request(`/metrics/tokens/${created.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    const first = (await revoked.json()) as { status: string; revokedAt: string; alreadyRevoked: boolean };
    expect(first).toMatchObject({ id: created.id, status: 'revoked', revokedAt: NOW.toISOString(), alreadyRevoked: false });

    await expectRefused(await app.request('/feeds/metrics/feed.json', bearer(created.token)));
    await expectRefused(await app.request(`/feeds/metrics.csv?${q(created.token)}`));
    await expectRefused(await app.request(`/feeds/dashboard/owners?${q(created.token)}`));
    const refusal = lines.filter((l) => l.message === 'feed token refused').at(-1);
    expect(refusal).toEqual({ level: 'debug', message: 'feed token refused', extra: [{ reason: 'revoked', tokenId: created.id }] });
    // No log line ever holds the secret.
    expect(JSON.stringify(lines)).not.toContain(parsed?.secret);
  });

  it('revoking again is 200 and keeps the first date; an unknown id is 404, a malformed one 400', async () => {
    const { app, clock } = metricsApp();
    const { id } = await create(app, { name: 'spreadsheet' });
    expect((await app.request(`/metrics/tokens/${id}`, { method: 'DELETE' })).status).toBe(200);
    clock.at = new Date(NOW.getTime() + DAY_MS);
    const again = await app.request(`/metrics/tokens/${id}`, { method: 'DELETE' });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id, status: 'revoked', revokedAt: NOW.toISOString(), alreadyRevoked: true });
    expect(JSON.stringify((await db.doc.send(new GetCommand({ TableName: db.table, Key: { pk: FEED_TOKEN_PK, sk: id } }))).Item)).toContain(NOW.toISOString());

    const unknown = await app.request('/metrics/tokens/ffffffffffffffff', { method: 'DELETE' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'no feed token with id ffffffffffffffff' });
    const malformed = await app.request('/metrics/tokens/not-an-id', { method: 'DELETE' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['id']);
    expect((await scanAll(db.doc, db.table)).some((i) => i.sk === 'ffffffffffffffff' || i.sk === 'not-an-id')).toBe(false);
  });

  it('a listing shows every token and its status, never a secret or a hash', async () => {
    const { app, clock } = metricsApp();
    const a = await create(app, { name: 'listing-a', expiresInDays: 1 });
    const b = await create(app, { name: 'listing-b' });
    await app.request(`/metrics/tokens/${b.id}`, { method: 'DELETE' });
    clock.at = new Date(NOW.getTime() + 2 * DAY_MS);
    const res = await app.request('/metrics/tokens');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    const { tokens } = JSON.parse(text) as { tokens: { id: string; name: string; status: string }[] };
    expect(tokens.find((t) => t.id === a.id)).toMatchObject({ name: 'listing-a', status: 'expired' });
    expect(tokens.find((t) => t.id === b.id)).toMatchObject({ name: 'listing-b', status: 'revoked' });
    for (const t of [a, b]) {
      const { secret } = parseFeedToken(t.token) as { secret: string };
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hashSecret(secret));
    }
    expect(text).not.toContain('secretHash');
  });

  it('every refusal is the same 401; the reason goes to a DEBUG line with the token id only', async () => {
    const { app, clock, lines } = metricsApp();
    const { token, id } = await create(app, { name: 'chat', expiresInDays: 1 });
    const { secret } = parseFeedToken(token) as { secret: string };
    const wrong = formatFeedToken(id, `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`);
    const unknown = issueFeedToken({ name: 'never stored', now: NOW }).token;
    const cases: [RequestInit & { path: string }, string, string | undefined][] = [
      [{ path: '/feeds/metrics/feed.json' }, 'missing', undefined],
      [{ path: '/feeds/metrics/feed.json', headers: { authorization: 'Basic dXNlcjpwYXNz' } }, 'missing', undefined],
      [{ path: '/feeds/metrics/feed.json?token=guess' }, 'malformed', undefined],
      [{ path: '/feeds/metrics/feed.json', ...bearer(`${token}x`) }, 'malformed', undefined],
      [{ path: `/feeds/metrics/feed.json?${q(unknown)}` }, 'unknown', parseFeedToken(unknown)?.id],
      [{ path: '/feeds/metrics/feed.json', ...bearer(wrong) }, 'wrong-secret', id],
    ];
    for (const [{ path, ...init }, reason, tokenId] of cases) {
      lines.length = 0;
      await expectRefused(await app.request(path, init));
      expect(lines, `${path} ${reason}`).toEqual([{ level: 'debug', message: 'feed token refused', extra: [{ reason, ...(tokenId && { tokenId }) }] }]);
    }
    // Valid until the instant it expires, refused from then on.
    clock.at = new Date(NOW.getTime() + DAY_MS - 1);
    expect((await app.request('/feeds/metrics/feed.json', bearer(token))).status).toBe(200);
    clock.at = new Date(NOW.getTime() + DAY_MS);
    lines.length = 0;
    await expectRefused(await app.request('/feeds/metrics/feed.json', bearer(token)));
    expect(lines[0]?.extra).toEqual([{ reason: 'expired', tokenId: id }]);
  });

  it('a feed token only reads: the rebuild, other methods and the token routes are out of reach under /feeds', async () => {
    const { app } = metricsApp();
    const { token } = await create(app, { name: 'reader' });
    const before = await scanAll(db.doc, db.table);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await app.request('/feeds/metrics/rebuild', { method, ...bearer(token) });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
    // HEAD is a read (link checkers, some feed readers): answered like GET, without a body.
    const head = await app.request('/feeds/metrics/feed.json', { method: 'HEAD', ...bearer(token) });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await app.request('/feeds/metrics/feed.json', { method: 'HEAD' })).status).toBe(401);
    expect((await app.request(`/feeds/metrics/rebuild?dryRun=false&${q(token)}`, { method: 'POST' })).status).toBe(405);
    expect((await app.request('/feeds/metrics/tokens', { method: 'POST', ...bearer(token), body: '{"name":"sneaky"}' })).status).toBe(405);
    expect((await app.request('/feeds/metrics/tokens', bearer(token))).status).toBe(404);
    expect((await app.request('/feeds/metrics/rebuild', bearer(token))).status).toBe(404);
    // Nothing was written: the rebuild did not run and no token was made.
    expect(await scanAll(db.doc, db.table)).toEqual(before);
  });

  it('bad requests are 400 naming the field and why', async () => {
    const { app } = metricsApp();
    const cases: [unknown, string][] = [
      [{}, 'name'],
      [{ name: '' }, 'name'],
      [{ name: 'x'.repeat(65) }, 'name'],
      [{ name: 'slack/leadership' }, 'name'],
      [{ name: ' leading space' }, 'name'],
      [{ name: 42 }, 'name'],
      [{ name: 'ok', expiresInDays: 0 }, 'expiresInDays'],
      [{ name: 'ok', expiresInDays: 1.5 }, 'expiresInDays'],
      [{ name: 'ok', expiresInDays: '30' }, 'expiresInDays'],
      [{ name: 'ok', expiresInDays: 3651 }, 'expiresInDays'],
      [{ name: 'ok', scope: 'all' }, 'scope'],
    ];
    for (const [body, field] of cases) {
      const res = await app.request('/metrics/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const answer = (await res.json()) as { issues: { path: string; message: string }[] };
      expect(answer.issues.map((i) => i.path), JSON.stringify(body)).toContain(field);
    }
    for (const body of ['', 'name=x', '{"name":']) {
      const res = await app.request('/metrics/tokens', { method: 'POST', body });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'the body must be JSON, e.g. {"name": "slack-leadership", "expiresInDays": 90}' });
    }
    expect((await create(app, { name: 'Board deck 2026 v1.2_final-B' })).name).toBe('Board deck 2026 v1.2_final-B');
    expect((await create(app, { name: 'x'.repeat(64) })).name).toHaveLength(64);
  });

  it('records the JWT subject API Gateway verified as createdBy, and nothing without one', async () => {
    const { app } = metricsApp();
    const event = { requestContext: { authorizer: { jwt: { claims: { sub: '7d1c0e4a-user', email: 'lead@seller.example' } } } } };
    const withSub = await create(app, { name: 'by-someone' }, { event });
    const without = await create(app, { name: 'local' });
    const stored = async (id: string) => (await db.doc.send(new GetCommand({ TableName: db.table, Key: { pk: FEED_TOKEN_PK, sk: id } }))).Item;
    expect((await stored(withSub.id))?.createdBy).toBe('7d1c0e4a-user');
    expect(JSON.stringify(await stored(withSub.id))).not.toContain('lead@seller.example');
    expect(await stored(without.id)).not.toHaveProperty('createdBy');
  });

  it('the adapter never overwrites: a second create with a taken id is refused', async () => {
    const { tokens } = metricsApp();
    const { record } = issueFeedToken({ name: 'first', now: NOW });
    expect(await tokens.create(record)).toBe(true);
    expect(await tokens.create({ ...record, name: 'second', secretHash: hashSecret('other') })).toBe(false);
    expect(await tokens.get(record.id)).toEqual(record);
    expect(await tokens.get('NOT-AN-ID')).toBeUndefined();
  });

  it('cultivate feed-token create, list and revoke talk to the same routes', async () => {
    const { app } = metricsApp();
    const out: string[] = [];
    const err: string[] = [];
    const calls: { url: string; method: string; authorization: string | null }[] = [];
    const io = {
      out: (t: string) => void out.push(t),
      err: (t: string) => void err.push(t),
      env: {},
      fetch: (async (url: string | URL | Request, init?: RequestInit) => {
        const req = new Request(url, init);
        calls.push({ url: req.url, method: req.method, authorization: req.headers.get('authorization') });
        return app.fetch(req);
      }) as typeof fetch,
    };
    expect(await feedTokenCommand(['create', 'weekly digest', '--expires-in-days', '7', '--url', 'https://api.example/', '--token', 'jwt-abc'], io)).toBe(0);
    const printed = out.join('');
    const token = /cvt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(printed)?.[0] as string;
    const { id } = parseFeedToken(token) as { id: string };
    expect(printed).toContain(`feed token ${id} for "weekly digest", expires 2026-11-27 12:00Z`);
    expect(printed).toContain(`https://api.example/feeds/metrics/feed.json?${q(token)}`);
    expect(printed).toContain(`per owner   https://api.example/feeds/dashboard/owners?${q(token)}`);
    expect(calls[0]).toEqual({ url: 'https://api.example/metrics/tokens', method: 'POST', authorization: 'Bearer jwt-abc' });

    out.length = 0;
    expect(await feedTokenCommand(['list', '--url', 'https://api.example'], io)).toBe(0);
    expect(out.join('')).toMatch(new RegExp(`${id}\\s+active\\s+2026-11-20 12:00Z\\s+2026-11-27 12:00Z\\s+-\\s+weekly digest`));
    expect(out.join('')).not.toContain(parseFeedToken(token)?.secret);

    // A whole token pasted instead of its id: only the id goes over the wire.
    out.length = 0;
    expect(await feedTokenCommand(['revoke', token, '--url', 'https://api.example'], io)).toBe(0);
    expect(out.join('')).toBe(`feed token ${id} ("weekly digest") revoked: it stops working now\n`);
    expect(calls.at(-1)).toEqual({ url: `https://api.example/metrics/tokens/${id}`, method: 'DELETE', authorization: null });
    expect(JSON.stringify(calls)).not.toContain(parseFeedToken(token)?.secret);

    expect(await feedTokenCommand(['revoke', 'ffffffffffffffff', '--url', 'https://api.example'], io)).toBe(1);
    expect(err.join('')).toContain('404 no feed token with id ffffffffffffffff');
    err.length = 0;
    expect(await feedTokenCommand(['create', 'x', '--expires-in-days', 'soon'], io)).toBe(2);
    expect(await feedTokenCommand(['create', 'bad/name', '--url', 'https://api.example'], io)).toBe(1);
    expect(err.join('')).toContain('name: name may hold letters');
    expect(await feedTokenCommand(['rotate'], io)).toBe(2);
  });
});
