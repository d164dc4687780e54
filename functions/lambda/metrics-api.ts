/** HTTP API behind the JWT authorizer: GET /metrics, /metrics.csv, /metrics/feed.json and POST /metrics/rebuild. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { DynamoMetricsStore } from '#adapters/dynamo-metrics';
import { documentClient } from '#adapters/dynamo-store';
import { loadConfig } from '#config/load';
import { loadMetricsConfig } from '#config/metrics';
import { metricsContext } from '#handlers/metrics-stream';
import { withErrors } from '#http/app';
import { metricsRoutes } from '#http/metrics';
import { clock, dynamo, env, logger } from './runtime.ts';

const dir = process.env.CULTIVATE_CONFIG_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'config');
const config = loadMetricsConfig(dir);
const doc = documentClient(dynamo());
const table = env('TABLE_NAME');

const app = withErrors(new Hono(), logger);
app.route('/', metricsRoutes({ store: () => new DynamoMetricsStore(doc, table), config, context: metricsContext(loadConfig(dir), config), clock, logger }));

export const handler = handle(app);
