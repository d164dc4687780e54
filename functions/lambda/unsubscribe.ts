/** Public HTTP routes GET and POST /unsubscribe/{token}: signed tokens, no address in them. */
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { unsubscribeRoutes, withErrors } from '#http/app';
import { clock, inboxStore, logger, publisher, relationshipStore, secretList } from './runtime.ts';

const app = withErrors(new Hono(), logger);
app.route(
  '/',
  unsubscribeRoutes({
    clock,
    store: relationshipStore(),
    inbox: inboxStore(),
    publisher: publisher(),
    unsubscribeKeys: () => secretList('UNSUBSCRIBE_KEY_SECRET_ARN'),
    logger,
  }),
);

export const handler = handle(app);
