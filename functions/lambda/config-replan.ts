/**
 * The replan job on AWS: an SQS FIFO consumer (one message group, so one run at a time). A message
 * is AppConfig's "On Deployment Complete" event (the extension puts it on the default bus; a rule
 * forwards it here), or `{}` from a schedule every 15 minutes: either way the version now in force
 * gets its job if the job item is older (superseding it), so an event AppConfig did not deliver is
 * made up for; a version that changed only controls.yaml gets none. Or `{"continue": n}`, which
 * this function sends itself when its time runs short, so a large store is replanned over several
 * invocations from the cursor in the job item. A failure leaves the message to be received again
 * (then the DLQ); the checkpoint before it stands, and a stalled job is resumed by the next message.
 */
import { AppConfigClient } from '@aws-sdk/client-appconfig';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { AppConfigRulesVersions } from '#adapters/appconfig-rules';
import { DynamoRelationshipPages } from '#adapters/dynamo-relationship-pages';
import { documentClient } from '#adapters/dynamo-store';
import { DynamoReplanJobs, DynamoReplanWriter } from '#adapters/dynamo-rules';
import { readConfigSources } from '#config/load';
import { loadSendingConfig } from '#config/sending';
import { filesOf } from '#config/rules';
import { replanRulesOf, RulesSource } from '#config/rules-source';
import { type InForce, reconcileReplan, type ReplanDeps, runReplan } from '#handlers/config-replan';
import { bundledConfigDir } from './config.ts';
import { clock, dynamo, env, logger, relationshipStore } from './runtime.ts';

/** Stop this long before the function's timeout, so the last checkpoint and the re-queue fit. */
const SAFETY_MS = 60_000;
const GROUP = 'replan';

const doc = documentClient(dynamo());
const table = env('TABLE_NAME');
const appConfig = new AppConfigClient({});
const ids = {
  application: env('APPCONFIG_APPLICATION_ID'),
  environment: env('APPCONFIG_ENVIRONMENT_ID'),
  profile: env('APPCONFIG_PROFILE_ID'),
  deploymentStrategy: env('APPCONFIG_DEPLOYMENT_STRATEGY_ID'),
};
const versions = new AppConfigRulesVersions(appConfig, ids);
const sqs = new SQSClient({});
const dir = bundledConfigDir();
// The job plans, and renders no e-mail: the public base URL (links in e-mails) is never read here.
const source = new RulesSource({ bundled: () => readConfigSources(dir), sending: loadSendingConfig(dir), publicBaseUrl: '' });

const baseDeps: Omit<ReplanDeps, 'deadline'> = {
  clock,
  logger,
  pages: new DynamoRelationshipPages(doc, table),
  jobs: new DynamoReplanJobs(doc, table),
  writer: new DynamoReplanWriter(doc, table),
  store: relationshipStore(),
  rules: async (version) => {
    const found = version === 0 ? { files: filesOf(readConfigSources(dir)) } : await versions.get(version);
    return found && replanRulesOf(source.pipelineOf(version, found.files));
  },
  perSecond: Number(process.env.REPLAN_PER_SECOND ?? 50),
};

/**
 * A running job nobody checkpointed for this long has no run going (its runs checkpoint every page
 * and re-queue themselves before the 5-minute timeout): a failed run's retry or the schedule resumes it.
 */
const STALLED_MS = 10 * 60_000;

/** The version in force now and the one in force before it (the newest two completed deployments). */
async function inForce(): Promise<InForce | undefined> {
  const [current, previous = 0] = await versions.completed();
  if (current === undefined) return undefined;
  const [now, before] = await Promise.all([versions.get(current), previous === 0 ? { files: filesOf(readConfigSources(dir)) } : versions.get(previous)]);
  return now && { version: current, files: now.files, previous: { version: previous, files: before?.files } };
}

type ReplanMessage = { continue?: number; 'detail-type'?: string };

/**
 * The message's intent. Anything that is not JSON (someone sent it by hand) is taken as a check,
 * like the schedule's `{}`: a throw would hold the one FIFO group, and every job behind it, for
 * five receives before the DLQ took it.
 */
function messageOf(text: string): ReplanMessage {
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as ReplanMessage) : {};
  } catch {
    logger.warn('replan queue message is not JSON: treated as a check of the job');
    return {};
  }
}

export const handler = async (event: SQSEvent, context: Context) => {
  for (const record of event.Records) {
    const body = messageOf(record.body);
    let version: number | undefined;
    if (typeof body.continue === 'number') {
      version = body.continue;
    } else {
      // A deployment event, or the schedule's `{}`: whatever the message, the version in force gets
      // its job if it has none (a lost or late event), and a stalled job is resumed.
      const now = await inForce();
      version = now && (await reconcileReplan(baseDeps, now, STALLED_MS));
      if (version === undefined) {
        logger.info('nothing to replan', { detailType: body['detail-type'] ?? 'schedule', inForce: now?.version ?? 0 });
        continue;
      }
    }
    const deadline = () => new Date(Date.now() + context.getRemainingTimeInMillis() - SAFETY_MS);
    const outcome = await runReplan({ ...baseDeps, deadline }, version);
    logger.info('replan run ended', { rulesVersion: version, outcome });
    if (outcome === 'continue') {
      const job = await baseDeps.jobs.get();
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: env('REPLAN_QUEUE_URL'),
          MessageBody: JSON.stringify({ continue: version }),
          MessageGroupId: GROUP,
          // One continuation per checkpoint: a retried send is the same message.
          MessageDeduplicationId: `v${version}-p${job?.pages ?? 0}`,
        }),
      );
    }
  }
};
