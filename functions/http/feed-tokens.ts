/**
 * Feed tokens (docs/adr/0006-metrics-readers.md): people manage them, feed readers present them.
 *
 * Management, for people (JWT on AWS, open locally like the other JWT routes):
 *   POST   /metrics/tokens {"name": "slack-leadership", "expiresInDays": 90}
 *          201 with the token, shown this once, and the feed URLs that carry it
 *   GET    /metrics/tokens        every token with its status; never a secret or a hash
 *   DELETE /metrics/tokens/{id}   revoke: 200 (again 200 for one revoked before), 404 unknown id
 *
 * Reading, for feed readers: the metrics routes' GETs under `/feeds` (`/feeds/metrics/feed.json`,
 * `/feeds/metrics.csv`, `/feeds/metrics`, `/feeds/dashboard`, `/feeds/dashboard/owners`). API Gateway has no authorizer on
 * them: the middleware here verifies the token (`Authorization: Bearer cvt_…` or `?token=cvt_…`,
 * since feed readers often cannot set headers) with one consistent read, and anything but GET is
 * 405, so the rebuild is never reachable with a feed token.
 */
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import {
  decideFeedToken,
  FEED_TOKEN_ID_RE,
  FEED_TOKEN_MAX_DAYS,
  FEED_TOKEN_NAME_MAX,
  FEED_TOKEN_NAME_RE,
  type FeedTokenInfo,
  type FeedTokenRefusal,
  feedTokenStatus,
  issueFeedToken,
  parseFeedToken,
} from '#domain/feed-token';
import type { Clock, FeedTokenStore, Logger } from '#ports/ports';
import { zodIssues } from '#shared/zod-issues';

export interface FeedTokenRoutesDeps {
  tokens: FeedTokenStore;
  /** The wall clock: token dates are real time, also on the local stack whose pipeline clock moves. */
  clock: Clock;
  logger: Logger;
}

/** Where a token reads, relative to the API's base URL. */
export const FEED_PATHS = { feed: '/feeds/metrics/feed.json', csv: '/feeds/metrics.csv', dashboard: '/feeds/dashboard', dashboardOwners: '/feeds/dashboard/owners', json: '/feeds/metrics' } as const;
export const FEED_TOKEN_REALM = 'cultivate-feeds';
const REFUSAL = { error: 'a valid feed token is required' } as const;

export const CreateFeedTokenRequest = z.strictObject({
  name: z
    .string({ message: 'name is required: what will read with this token, e.g. "slack-leadership"' })
    .min(1, 'name must not be empty')
    .max(FEED_TOKEN_NAME_MAX, `name may be at most ${FEED_TOKEN_NAME_MAX} characters`)
    .regex(FEED_TOKEN_NAME_RE, 'name may hold letters, digits, spaces, dots, underscores and hyphens, and must not start or end with a space'),
  expiresInDays: z
    .int({ message: 'expiresInDays must be a whole number of days' })
    .min(1, 'expiresInDays must be at least 1')
    .max(FEED_TOKEN_MAX_DAYS, `expiresInDays may be at most ${FEED_TOKEN_MAX_DAYS}`)
    .optional(),
});
export type CreateFeedTokenRequest = z.input<typeof CreateFeedTokenRequest>;

const issuesOf = zodIssues;

/** The JWT subject API Gateway's authorizer verified (hono/aws-lambda passes the event as env); none locally. */
function jwtSubject(c: Context): string | undefined {
  const env = c.env as { event?: { requestContext?: { authorizer?: { jwt?: { claims?: Record<string, unknown> } } } } } | undefined;
  const sub = env?.event?.requestContext?.authorizer?.jwt?.claims?.sub;
  return typeof sub === 'string' && sub.length > 0 && sub.length <= 256 ? sub : undefined;
}

const withStatus = (t: FeedTokenInfo, now: Date) => ({ ...t, status: feedTokenStatus(t, now) });

const ISSUE_ATTEMPTS = 3;

export function feedTokenRoutes(deps: FeedTokenRoutesDeps): Hono {
  const app = new Hono();

  app.post(
    '/metrics/tokens',
    bodyLimit({ maxSize: 4 * 1024, onError: (c) => c.json({ error: 'body too large: a token request is a name and a number of days' }, 413) }),
    async (c) => {
      let body: unknown;
      try {
        body = JSON.parse(await c.req.text());
      } catch {
        return c.json({ error: 'the body must be JSON, e.g. {"name": "slack-leadership", "expiresInDays": 90}' }, 400);
      }
      const parsed = CreateFeedTokenRequest.safeParse(body);
      if (!parsed.success) return c.json({ error: 'invalid request', issues: issuesOf(parsed.error.issues) }, 400);
      const createdBy = jwtSubject(c);
      for (let attempt = 1; attempt <= ISSUE_ATTEMPTS; attempt++) {
        const { token, record } = issueFeedToken({ name: parsed.data.name, now: deps.clock.now(), ...(parsed.data.expiresInDays !== undefined && { expiresInDays: parsed.data.expiresInDays }), ...(createdBy && { createdBy }) });
        // An id already taken (64 random bits: practically never) is not overwritten: draw again.
        if (!(await deps.tokens.create(record))) continue;
        // The id only: the consumer's name is a label people choose, kept out of logs all the same.
        deps.logger.info('feed token created', { tokenId: record.id, ...(record.expiresAt && { expiresAt: record.expiresAt }) });
        const url = new URL(c.req.url);
        const base = `${url.protocol}//${url.host}`;
        const q = `?token=${encodeURIComponent(token)}`;
        const { secretHash, ...info } = record;
        // The secret is in this answer and nowhere else: no cache may keep it.
        c.header('Cache-Control', 'no-store');
        return c.json(
          {
            ...withStatus(info, deps.clock.now()),
            token,
            urls: { feed: `${base}${FEED_PATHS.feed}${q}`, csv: `${base}${FEED_PATHS.csv}${q}`, dashboard: `${base}${FEED_PATHS.dashboard}${q}`, dashboardOwners: `${base}${FEED_PATHS.dashboardOwners}${q}`, json: `${base}${FEED_PATHS.json}${q}` },
            note: 'The token is shown this once; Cultivate keeps only its hash. A link holding it is a password: share it only with the consumer it names, and revoke it when they stop reading.',
          },
          201,
        );
      }
      throw new Error(`no free feed token id after ${ISSUE_ATTEMPTS} attempts`);
    },
  );

  app.get('/metrics/tokens', async (c) => {
    const now = deps.clock.now();
    const tokens = (await deps.tokens.list()).sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id.localeCompare(b.id)));
    c.header('Cache-Control', 'no-store');
    return c.json({ tokens: tokens.map((t) => withStatus(t, now)) });
  });

  app.delete('/metrics/tokens/:id', async (c) => {
    const id = c.req.param('id');
    if (!FEED_TOKEN_ID_RE.test(id)) {
      return c.json({ error: 'invalid request', issues: [{ path: 'id', message: 'a token id is 16 lower-case hex characters (the part after "cvt_" in the token)' }] }, 400);
    }
    const now = deps.clock.now();
    const result = await deps.tokens.revoke(id, now);
    if (result.outcome === 'unknown') return c.json({ error: `no feed token with id ${id}` }, 404);
    if (result.outcome === 'revoked') deps.logger.info('feed token revoked', { tokenId: id });
    return c.json({ ...withStatus(result.token, now), alreadyRevoked: result.outcome === 'already-revoked' });
  });

  return app;
}

export interface FeedReaderDeps {
  tokens: Pick<FeedTokenStore, 'get'>;
  /** The wall clock (expiry is real time). */
  clock: Clock;
  logger: Logger;
}

/** `Authorization: Bearer <token>` (scheme case-insensitive), else the `token` query parameter. */
function presentedToken(c: Context): string | undefined {
  const header = c.req.header('authorization');
  const bearer = header ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1] : undefined;
  return bearer ?? c.req.query('token') ?? undefined;
}

/**
 * The `/feeds` sub-app: `metrics` (the metrics routes, an instance of their own) behind the token
 * check. Mount it with `app.route('/feeds', feedReaderRoutes(deps, metricsRoutes(...)))`; the pages
 * link relatively, so a dashboard read here links to `/feeds/...` with the same token.
 */
export function feedReaderRoutes(deps: FeedReaderDeps, metrics: Hono): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    // HEAD too: link checkers and some feed readers ask it first (Hono answers it from the GET route).
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return c.json({ error: 'feeds are read-only: only GET and HEAD are allowed here' }, 405, { Allow: 'GET, HEAD' });
    const refuse = (reason: FeedTokenRefusal, tokenId?: string) => {
      // The reason and the id only: never the token, and one answer for every reason.
      deps.logger.debug('feed token refused', { reason, ...(tokenId && { tokenId }) });
      return c.json(REFUSAL, 401, { 'WWW-Authenticate': `Bearer realm="${FEED_TOKEN_REALM}"`, 'Cache-Control': 'no-store' });
    };
    const presented = presentedToken(c);
    if (!presented) return refuse('missing');
    const token = parseFeedToken(presented);
    if (!token) return refuse('malformed');
    const decision = decideFeedToken(await deps.tokens.get(token.id), token.secret, deps.clock.now());
    if (!decision.ok) return refuse(decision.reason, token.id);
    deps.logger.debug('feed token accepted', { tokenId: token.id });
    await next();
    // The URL may hold the token: a page must not hand it on to the sites it links to.
    c.res.headers.set('Referrer-Policy', 'no-referrer');
  });
  app.route('/', metrics);
  return app;
}
