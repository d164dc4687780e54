/** HTTP API behind the JWT authorizer: the read side. */
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { readRoutes, withErrors } from '#http/app';
import { hasher, logger, relationshipStore } from './runtime.ts';

const app = withErrors(new Hono(), logger);
app.route('/', readRoutes({ store: relationshipStore(), hasher }));

export const handler = handle(app);
