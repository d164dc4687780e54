/** HTTP API: POST /webhooks/{source} and GET /health. */
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { webhookRoutes, withErrors } from '#http/app';
import { DynamoQuarantine } from '#adapters/dynamo-quarantine';
import { documentClient } from '#adapters/dynamo-store';
import { clock, dynamo, env, hasher, inboxStore, logger, publisher, secretList } from './runtime.ts';

const app = withErrors(new Hono(), logger);
app.route(
  '/',
  webhookRoutes({
    clock,
    wallClock: clock,
    webhookSecrets: () => secretList('WEBHOOK_SECRET_ARN'),
    hasher,
    inbox: inboxStore(),
    publisher: publisher(),
    logger,
    quarantine: new DynamoQuarantine(documentClient(dynamo()), env('TABLE_NAME')),
  }),
);

export const handler = handle(app);
