/**
 * The replan job on AWS: an SQS FIFO consumer (one message group, so one run at a time). A message
 * is either AppConfig's "On Deployment Complete" event (the extension puts it on the default bus; a
 * rule forwards it here): the version now in force gets its job, superseding an older one; or
 * `{"continue": n}`, which this function sends itself when its time runs short, so a large store is
 * replanned over several invocations from the cursor in the job item. A failure leaves the message
 * to be received again (then the DLQ); the checkpoint before it stands.
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
import { type ReplanDeps, runReplan, startReplan } from '#handlers/config-replan';
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

/** The version in force now, and the one in force before it (the newest two completed deployments). */
async function inForce(): Promise<{ version: number; previous: number } | undefined> {
  const [current, previous] = await versions.completed();
  return current === undefined ? undefined : { version: current, previous: previous ?? 0 };
}

export const handler = async (event: SQSEvent, context: Context) => {
  for (const record of event.Records) {
    const body = JSON.parse(record.body) as { continue?: number; 'detail-type'?: string; source?: string };
    let version: number;
    if (typeof body.continue === 'number') {
      version = body.continue;
    } else {
      const now = await inForce();
      if (!now) {
        logger.info('deployment event without a completed rules version: nothing to replan', { detailType: body['detail-type'] });
        continue;
      }
      version = now.version;
      await startReplan(baseDeps, now.version, now.previous);
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
