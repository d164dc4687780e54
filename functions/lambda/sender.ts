/** SQS consumer of the send queue: one touch per record, partial batch failures reported. */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { DynamoCapacityStore } from '#adapters/dynamo-capacity';
import { documentClient } from '#adapters/dynamo-store';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { SesMailer } from '#adapters/ses-mailer';
import { controlFor } from '#domain/cadence';
import { sendTouch, type SendDeps } from '#handlers/send';
import type { TouchMessage } from '#ports/ports';
import { pipeline } from './config.ts';
import { clock, dynamo, env, hasher, logger, publisher, relationshipStore, secretList } from './runtime.ts';

const processor = new BatchProcessor(EventType.SQS);
const store = relationshipStore();
let deps: SendDeps | undefined;

async function sendDeps(): Promise<SendDeps> {
  if (deps) return deps;
  const config = pipeline();
  // Owner counters are keyed by the keyed hash of the owner's address (no address in a key).
  const ownerHasher = await hasher();
  const doc = documentClient(dynamo());
  deps = {
    clock,
    touches: new DynamoTouchStore(doc, env('TABLE_NAME')),
    store,
    mailer: new SesMailer(new SESv2Client({}), config.settings.configurationSetName),
    publisher: publisher(),
    planner: config.planner,
    logger,
    leaseSeconds: config.sending.leaseSeconds,
    settings: config.settings,
    owner: config.owner,
    content: config.content,
    // Sign with the current key (the first); the unsubscribe route accepts every key in the list while rotating.
    unsubscribeKey: async () => (await secretList('UNSUBSCRIBE_KEY_SECRET_ARN'))[0] as string,
    suppressionsFor: async (state) => {
      const h = await hasher();
      return (await store.getSuppression([...(state.emailHash ? [state.emailHash] : []), ...state.crmIds.map((id) => h.crmHash(id))]))?.scopes ?? [];
    },
    // Kill switches and dry-run (config/controls.yaml), checked at the final claim.
    controls: (state) => controlFor(config.rules, state),
    guardrails: {
      capacity: new DynamoCapacityStore(doc, env('TABLE_NAME'), (e) => ownerHasher.emailHash(e)),
      rules: config.guardrails,
      contactZone: config.contactZone,
      ownerZone: config.ownerZone,
      managerOf: config.managerOf,
    },
  };
  return deps;
}

const record = async (r: SQSRecord) => {
  const outcome = await sendTouch(await sendDeps(), JSON.parse(r.body) as TouchMessage);
  return { outcome };
};

// One record at a time: the event source's maximum concurrency then bounds the sends in flight to
// the SES rate (records in parallel would multiply it by the batch size).
export const handler = async (event: SQSEvent, context: Context) => processPartialResponse(event, record, processor, { context, processInParallel: false });
