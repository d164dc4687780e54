/**
 * The metrics API as every runtime serves it (the `metrics` Lambda, the local stack, the tests):
 * the people's routes (JWT on AWS), feed token management, and the same GETs under `/feeds` for
 * token holders, who never reach the rebuild (docs/adr/0006).
 */
import { Hono } from 'hono';
import { feedReaderRoutes, feedTokenRoutes } from './feed-tokens.ts';
import { metricsRoutes, type MetricsRoutesDeps } from './metrics.ts';
import type { Clock, FeedTokenStore } from '#ports/ports';

export interface MetricsApiDeps extends MetricsRoutesDeps {
  tokens: FeedTokenStore;
  /** The wall clock for token dates and expiry (the local stack's pipeline clock moves). */
  wallClock: Clock;
}

export function metricsApi(deps: MetricsApiDeps): Hono {
  const { tokens, wallClock, paused: _paused, ...reader } = deps;
  const app = new Hono();
  app.route('/', metricsRoutes(deps));
  app.route('/', feedTokenRoutes({ tokens, clock: wallClock, logger: deps.logger }));
  // Read-only there: without `paused`, and the reader routes refuse anything but GET and HEAD.
  app.route('/feeds', feedReaderRoutes({ tokens, clock: wallClock, logger: deps.logger }, metricsRoutes(reader)));
  return app;
}
