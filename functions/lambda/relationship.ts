/** EventBridge rule target: one inbound event (by reference) applied to its relationship. */
import type { EventBridgeEvent } from 'aws-lambda';
import { handleInboundEnvelope, type RelationshipDeps } from '#handlers/relationship';
import { pipeline, refreshRules } from './config.ts';
import { clock, hasher, inboxStore, logger, publisher, relationshipStore } from './runtime.ts';

const config = pipeline();
const deps: RelationshipDeps = {
  clock,
  store: relationshipStore(),
  inbox: inboxStore(),
  publisher: publisher(),
  planner: config.planner,
  hasher,
  logger,
  ...(config.metrics && { holdout: config.metrics.holdout }),
};

export const handler = async (event: EventBridgeEvent<string, unknown>) => {
  logger.appendKeys({ busEventId: event.id });
  // The published rules in force (AppConfig, cached): `deps.planner` plans with them.
  await refreshRules();
  return { outcome: await handleInboundEnvelope(deps, event.detail) };
};
