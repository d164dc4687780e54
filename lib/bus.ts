/**
 * The custom EventBridge bus, its 30-day archive, and one rule per entry of the routing table
 * (`functions/catalog/routing.ts`, the same declaration the local in-process bus follows).
 * Every rule target has its own encrypted, SSL-only dead-letter queue and bounded retries.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { routingTable, type Route, type RouteTarget } from '#catalog/routing';
import { readSettings } from './settings.ts';
import { deadLetterQueue } from './dead-letter-queue.ts';

/** How long the archive keeps events (the design caps it at 30 days). */
export const ARCHIVE_RETENTION_DAYS = 30;
/** EventBridge delivery retries to a rule target before the event goes to the rule's DLQ. */
export const RULE_RETRY_ATTEMPTS = 4;
export const RULE_MAX_EVENT_AGE = Duration.hours(2);

export interface RouteRule {
  readonly route: Route;
  readonly rule: events.Rule;
  readonly deadLetterQueue: sqs.Queue;
}

export class CultivateBus extends Construct {
  public readonly bus: events.EventBus;
  public readonly archive: events.Archive;
  /** Filled by `addRoutes`. */
  public readonly routeRules: RouteRule[] = [];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const settings = readSettings(this);
    this.bus = new events.EventBus(this, 'Bus', { eventBusName: settings.busName });
    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      description: `All events on the ${settings.busName} bus, kept ${ARCHIVE_RETENTION_DAYS} days`,
      // An empty prefix on `source` matches every event.
      eventPattern: { source: events.Match.prefix('') },
      retention: Duration.days(ARCHIVE_RETENTION_DAYS),
    });
  }

  /**
   * One rule per routing-table entry, targeting the function for its `target`.
   * @param functions the Lambda for every route target
   * @param routes defaults to the catalog's routing table
   */
  addRoutes(functions: Record<RouteTarget, lambda.IFunction>, routes: readonly Route[] = routingTable): RouteRule[] {
    const seen = new Set<string>();
    for (const route of routes) {
      if (seen.has(route.id)) throw new Error(`duplicate route id ${route.id} in the routing table`);
      seen.add(route.id);
      if (route.sources.length === 0 || route.detailTypes.length === 0) {
        throw new Error(`route ${route.id} needs at least one source and one detail-type`);
      }
      const fn = functions[route.target];
      const dlq = deadLetterQueue(this, `${route.id}Dlq`, `the rule ${route.id}'s target`);
      const rule = new events.Rule(this, route.id, {
        eventBus: this.bus,
        description: route.description.slice(0, 512),
        eventPattern: { source: [...route.sources], detailType: [...route.detailTypes] },
        targets: [
          new targets.LambdaFunction(fn, {
            deadLetterQueue: dlq,
            retryAttempts: RULE_RETRY_ATTEMPTS,
            maxEventAge: RULE_MAX_EVENT_AGE,
          }),
        ],
      });
      this.routeRules.push({ route, rule, deadLetterQueue: dlq });
    }
    return this.routeRules;
  }
}
