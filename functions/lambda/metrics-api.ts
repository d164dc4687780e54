/**
 * The metrics function. Behind the JWT authorizer: GET /metrics, /metrics.csv, /metrics/feed.json,
 * POST /metrics/rebuild and the feed token management (/metrics/tokens). Without an authorizer:
 * the same GETs under /feeds, where this function verifies a feed token itself (docs/adr/0006).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { DynamoFeedTokens } from '#adapters/dynamo-feed-tokens';
import { DynamoMetricsStore } from '#adapters/dynamo-metrics';
import { documentClient } from '#adapters/dynamo-store';
import { loadConfig } from '#config/load';
import { loadMetricsConfig } from '#config/metrics';
import { metricsContext } from '#handlers/metrics-stream';
import { withErrors } from '#http/app';
import { metricsApi } from '#http/metrics-api';
import { clock, dynamo, env, logger } from './runtime.ts';

const dir = process.env.CULTIVATE_CONFIG_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'config');
const config = loadMetricsConfig(dir);
const doc = documentClient(dynamo());
const table = env('TABLE_NAME');

const app = withErrors(new Hono(), logger);
app.route(
  '/',
  metricsApi({ store: () => new DynamoMetricsStore(doc, table), config, context: metricsContext(loadConfig(dir), config), clock, logger, tokens: new DynamoFeedTokens(doc, table), wallClock: clock }),
);

export const handler = handle(app);
