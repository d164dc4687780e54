/** SQS consumer of the send queue: one touch per record, partial batch failures reported. */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import pThrottle from 'p-throttle';
import { DynamoCapacityStore } from '#adapters/dynamo-capacity';
import { documentClient, DynamoLunchIndex } from '#adapters/dynamo-store';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { SesMailer } from '#adapters/ses-mailer';
import { controlFor } from '#domain/cadence';
import { lunchSettings } from '#domain/lunch';
import { sendTouch, type SendDeps } from '#handlers/send';
import type { TouchMessage } from '#ports/ports';
import { pipeline, refreshRules } from './config.ts';
import { clock, dynamo, env, hasher, logger, publisher, relationshipStore, secretList } from './runtime.ts';

const processor = new BatchProcessor(EventType.SQS);

/** One SendEmail per second per container (p-throttle), so concurrency = SES rate means sends/s <= SES rate. */
function pacedSend(mailer: SesMailer): SesMailer['send'] {
  const throttle = pThrottle({ limit: 1, interval: 1000 });
  return throttle((mail: Parameters<SesMailer['send']>[0]) => mailer.send(mail));
}
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
    mailer: { send: pacedSend(new SesMailer(new SESv2Client({}), config.settings.configurationSetName)) },
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
    // Lunches group one owner's people in one city (cadence.yaml `lunches`, read at each send).
    lunches: { index: new DynamoLunchIndex(doc, env('TABLE_NAME')), settings: () => lunchSettings(config.rules) },
    guardrails: {
      capacity: new DynamoCapacityStore(doc, env('TABLE_NAME'), (e) => ownerHasher.emailHash(e)),
      // A getter: the rules in force at each send, not those of the cold start.
      get rules() {
        return config.guardrails;
      },
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

// One record at a time, and at most one SES call per second per container (pacedSend): with the event
// source's maximum concurrency equal to the SES rate, the sends per second stay under that rate
// (concurrency alone bounds calls in flight, not calls per second). A batch of 10 takes ~10 s.
export const handler = async (event: SQSEvent, context: Context) => {
  // The published rules in force for this batch (AppConfig, cached): the deps read them through `pipeline()`.
  await refreshRules();
  return processPartialResponse(event, record, processor, { context, processInParallel: false });
};
