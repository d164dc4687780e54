/** HTTP API: POST /webhooks/{source} (generic and each configured CRM) and GET /health. */
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { webhookRoutes, withErrors } from '#http/app';
import { quarantine, registry } from './crm.ts';
import { clock, hasher, inboxStore, logger, publisher, secretList } from './runtime.ts';

const inbox = inboxStore();
const bus = publisher();
const kept = quarantine();

const app = withErrors(new Hono(), logger);
app.route(
  '/',
  webhookRoutes({
    clock,
    wallClock: clock,
    webhookSecrets: () => secretList('WEBHOOK_SECRET_ARN'),
    hasher,
    inbox,
    publisher: bus,
    logger,
    quarantine: kept,
    crm: { registry, ingest: { clock, wallClock: clock, inbox, publisher: bus, logger, quarantine: kept } },
  }),
);

export const handler = handle(app);
