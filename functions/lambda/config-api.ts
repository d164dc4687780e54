/**
 * HTTP API (JWT): POST /config/diff, `cultivate diff` run in AWS: proposed rules against the
 * published ones (bundled config/) over the live store, paged, without copying people's data out.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { documentClient } from '#adapters/dynamo-store';
import { readConfigSources } from '#config/load';
import { DynamoRelationshipPages } from '#adapters/dynamo-relationship-pages';
import { configDiffRoutes } from '#http/config';
import { withErrors } from '#http/app';
import { clock, dynamo, env, logger } from './runtime.ts';

const configDir = process.env.CULTIVATE_CONFIG_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'config');
const app = withErrors(new Hono(), logger);
app.route('/', configDiffRoutes({ clock, logger, pages: new DynamoRelationshipPages(documentClient(dynamo()), env('TABLE_NAME')), currentSources: () => readConfigSources(configDir) }));

export const handler = handle(app);
