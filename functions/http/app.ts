/**
 * HTTP routes, written once with Hono: the same app serves API Gateway (through hono/aws-lambda)
 * and Node (through @hono/node-server) locally.
 */
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { emailAddress } from '#catalog/events';
import { ingestGenericWebhook, type IngestDeps, MAX_BODY_BYTES } from '#handlers/ingest';
import { findRelationshipByEmail, readRelationship, type ReadDeps } from '#handlers/read';
import type { Logger } from '#ports/ports';
import { type CrmIngestDeps, ingestCrmWebhook } from '#crm/ingest';
import type { CrmRegistry } from '#crm/registry';
import { replayQuarantined, type ReplayDeps } from '#crm/replay';
import { crmNames, type CrmName } from '#crm/types';
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

export interface CrmRoutesDeps {
  registry: CrmRegistry;
  ingest: CrmIngestDeps;
}

const isCrm = (s: string): s is CrmName => (crmNames as readonly string[]).includes(s);

export function webhookRoutes(deps: IngestDeps & { beforeIngest?: () => Promise<void>; crm?: CrmRoutesDeps }): Hono {
  const app = new Hono();
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    // The rest of the body stays unread, so the connection cannot be reused: say so.
    onError: (c) => {
      c.header('Connection', 'close');
      return c.json({ error: `body over the limit of ${MAX_BODY_BYTES} bytes` }, 413);
    },
  });
  const handle = async (c: Context, source: string) => {
    if (source === 'generic') {
      await deps.beforeIngest?.();
      const raw = new Uint8Array(await c.req.arrayBuffer());
      const res = await ingestGenericWebhook(deps, { raw, header: (name) => c.req.header(name) });
      return c.json(res.body, res.status);
    }
    if (!isCrm(source) || !deps.crm) return c.json({ error: `no webhook source '${source}'; available: generic, ${crmNames.join(', ')}` }, 404);
    const found = deps.crm.registry.inbound(source);
    if ('missing' in found) {
      return c.json({ error: `the ${source} webhook is not configured: set ${found.missing.join(' and ')}`, missingSettings: found.missing }, 404);
    }
    await deps.beforeIngest?.();
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const url = new URL(c.req.url);
    const answer = await ingestCrmWebhook(deps.crm.ingest, found.adapter, {
      method: c.req.method,
      pathAndQuery: url.pathname + url.search,
      raw,
      header: (name) => c.req.header(name),
    });
    return c.body(answer.body, answer.status as ContentfulStatusCode, { 'content-type': answer.contentType });
  };
  app.post('/webhooks/:source', limit, (c) => handle(c, c.req.param('source')));
  // Salesforce Outbound Messages cannot add headers: their secret travels in the path.
  app.post('/webhooks/:source/:token', limit, (c) => handle(c, c.req.param('source')));
  app.get('/health', (c) => c.json({ status: 'ok' }));
  return app;
}

const Day = z.iso.date();

/** Quarantine review (JWT on AWS): what was kept on a day, and replaying one entry once its cause is fixed. */
export function quarantineRoutes(deps: ReplayDeps): Hono {
  const app = new Hono();
  app.get('/quarantine', async (c) => {
    const day = c.req.query('day') ?? deps.clock.now().toISOString().slice(0, 10);
    if (!Day.safeParse(day).success) return c.json({ error: 'query parameter day must be a date YYYY-MM-DD', issues: [{ path: 'day', message: 'not a date' }] }, 400);
    return c.json({ day, items: await deps.quarantine.list(day) });
  });
  app.post('/quarantine/:id/replay', async (c) => {
    const result = await replayQuarantined(deps, c.req.param('id'));
    return result.status === 200 ? c.json({ outcome: result.outcome, item: result.item }) : c.json({ error: result.error, ...(result.issues && { issues: result.issues }) }, result.status);
  });
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
