/** Rule target on the default bus (SES publishes there): bounces, complaints and clicks. */
import type { EventBridgeEvent } from 'aws-lambda';
import { documentClient } from '#adapters/dynamo-store';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { handleSesEvent } from '#handlers/ses-events';
import { pipeline, refreshRules } from './config.ts';
import { clock, dynamo, env, logger, publisher, relationshipStore } from './runtime.ts';

const bus = publisher();
const touches = new DynamoTouchStore(documentClient(dynamo()), env('TABLE_NAME'));

export const handler = async (event: EventBridgeEvent<string, unknown>) => {
  await refreshRules();
  return { outcome: await handleSesEvent({ clock, store: relationshipStore(), touches, planner: pipeline().planner, logger, publisher: bus }, event.detail) };
};
