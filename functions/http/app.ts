/**
 * HTTP routes, written once with Hono: the same app serves API Gateway (through hono/aws-lambda)
 * and Node (through @hono/node-server) locally.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { emailAddress } from '#catalog/events';
import { ingestGenericWebhook, type IngestDeps, MAX_BODY_BYTES } from '#handlers/ingest';
import { findRelationshipByEmail, readRelationship, type ReadDeps } from '#handlers/read';
import type { Logger } from '#ports/ports';
import { choicesPage, donePage, invalidPage, readToken, unsubscribe, type UnsubscribeDeps, type UnsubscribeScope } from '#handlers/unsubscribe';

export type WebhookSource = 'generic';

export function withErrors(app: Hono, logger: Logger): Hono {
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    // The route pattern, not the path: an unsubscribe path carries a working token.
    logger.error('unhandled error', { name: err.name, message: err.message, route: c.req.routePath });
    return c.json({ error: 'internal error; the request was not processed, retry later' }, 500);
  });
  return app;
}

export function webhookRoutes(deps: IngestDeps & { beforeIngest?: () => Promise<void> }): Hono {
  const app = new Hono();
  app.post(
    '/webhooks/:source',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      // The rest of the body stays unread, so the connection cannot be reused: say so.
      onError: (c) => {
        c.header('Connection', 'close');
        return c.json({ error: `body over the limit of ${MAX_BODY_BYTES} bytes` }, 413);
      },
    }),
    async (c) => {
      const source = c.req.param('source');
      if (source !== 'generic') return c.json({ error: `no webhook source '${source}'; available: generic` }, 404);
      await deps.beforeIngest?.();
      const raw = new Uint8Array(await c.req.arrayBuffer());
      const res = await ingestGenericWebhook(deps, { raw, header: (name) => c.req.header(name) });
      return c.json(res.body, res.status);
    },
  );
  app.get('/health', (c) => c.json({ status: 'ok' }));
  return app;
}

const EmailQuery = z.object({ email: emailAddress });

export function readRoutes(deps: ReadDeps): Hono {
  const app = new Hono();
  app.get('/relationships/:id', async (c) => {
    const view = await readRelationship(deps, c.req.param('id'));
    return view ? c.json(view) : c.json({ error: 'no such relationship' }, 404);
  });
  app.get('/relationships', async (c) => {
    const q = EmailQuery.safeParse({ email: c.req.query('email') });
    if (!q.success) {
      return c.json({ error: 'query parameter email must be an e-mail address', issues: q.error.issues.map((i) => ({ path: 'email', message: i.message })) }, 400);
    }
    const view = await findRelationshipByEmail(deps, q.data.email);
    return view ? c.json(view) : c.json({ error: 'no relationship for that address' }, 404);
  });
  return app;
}

export function unsubscribeRoutes(deps: UnsubscribeDeps): Hono {
  const app = new Hono();
  app.get('/unsubscribe/:token', async (c) => {
    const payload = await readToken(deps, c.req.param('token'));
    if (!payload) return c.html(invalidPage(), 400);
    return c.html(choicesPage(c.req.param('token'), payload.topic));
  });
  app.post(
    '/unsubscribe/:token',
    bodyLimit({
      maxSize: 4096,
      onError: (c) => {
        c.header('Connection', 'close');
        return c.html(invalidPage(), 413);
      },
    }),
    async (c) => {
      const payload = await readToken(deps, c.req.param('token'));
      if (!payload) return c.html(invalidPage(), 400);
      // RFC 8058 one-click posts List-Unsubscribe=One-Click: that is "stop all e-mail".
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const scope: UnsubscribeScope = form.scope === 'topic' && payload.topic ? 'topic' : 'all';
      await unsubscribe(deps, payload, scope);
      return c.html(donePage(scope, payload.topic));
    },
  );
  return app;
}
