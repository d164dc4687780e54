/**
 * HTTP API (JWT): the rules routes run in AWS. `POST /config/diff` (`cultivate diff`): proposed
 * rules against the version in force over the live store, paged, without copying people's data
 * out. `POST /config/publish` and `/config/rollback` create an AppConfig hosted configuration
 * version (its LAMBDA validator runs the same `parseConfig`) and start its deployment; the replan
 * job starts when the deployment completes (functions/lambda/config-replan.ts). `GET
 * /config/versions[/{n}]` the history; `GET /config/replan` the job item. `GET /config/pauses`
 * and `DELETE /config/pauses/{kind}/{id}`: what paused itself (cadence.yaml `autoPause`), and its
 * resume (the function may write only the `PAUSE` partition: lib/ingest-api.ts).
 */
import { AppConfigClient } from '@aws-sdk/client-appconfig';
import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { AppConfigRulesVersions } from '#adapters/appconfig-rules';
import { DynamoAutoPause } from '#adapters/dynamo-auto-pause';
import { documentClient } from '#adapters/dynamo-store';
import { DynamoRelationshipPages } from '#adapters/dynamo-relationship-pages';
import { DynamoReplanJobs } from '#adapters/dynamo-rules';
import { parseConfig, readConfigSources } from '#config/load';
import { filesOf, sourcesOf } from '#config/rules';
import { rulesInForce } from '#handlers/config-publish';
import { configDiffRoutes, configPauseRoutes, type ConfigRulesDeps, configRulesRoutes } from '#http/config';
import { withErrors } from '#http/app';
import { bundledConfigDir } from './config.ts';
import { clock, dynamo, env, logger } from './runtime.ts';

const doc = documentClient(dynamo());
const bundled = () => filesOf(readConfigSources(bundledConfigDir()));
const rules: ConfigRulesDeps = {
  clock,
  logger,
  versions: new AppConfigRulesVersions(new AppConfigClient({}), {
    application: env('APPCONFIG_APPLICATION_ID'),
    environment: env('APPCONFIG_ENVIRONMENT_ID'),
    profile: env('APPCONFIG_PROFILE_ID'),
    deploymentStrategy: env('APPCONFIG_DEPLOYMENT_STRATEGY_ID'),
    immediateStrategy: env('APPCONFIG_IMMEDIATE_STRATEGY_ID'),
  }),
  bundled,
  jobs: new DynamoReplanJobs(doc, env('TABLE_NAME')),
};

const app = withErrors(new Hono(), logger);
app.route('/', configDiffRoutes({ clock, logger, pages: new DynamoRelationshipPages(doc, env('TABLE_NAME')), currentSources: async () => sourcesOf((await rulesInForce(rules)).files) }));
app.route('/', configRulesRoutes(rules));
// A content item's counters are summed over the tracks of the rules in force (the stream counts under those).
const trackIds = async () => parseConfig(sourcesOf((await rulesInForce(rules)).files)).cadence.tracks.map((t) => t.id);
app.route('/', configPauseRoutes({ clock, logger, store: new DynamoAutoPause(doc, env('TABLE_NAME')), trackIds }));

export const handler = handle(app);
