/**
 * The rules the functions plan with: the version deployed in AWS AppConfig (`cultivate config
 * publish`), read through Powertools' AppConfig provider and cached for `RULES_MAX_AGE_SECONDS`,
 * so a publish needs no `cdk deploy`. Until AppConfig has a deployment (or where a function is not
 * bound to it: APPCONFIG_* unset) the config/ folder copied next to the bundle at synth time is in
 * force, as version 0. sending.yaml and metrics.yaml always come from that folder.
 *
 * `pipeline()` is a live view (functions/config/rules-source.ts); handlers call `refreshRules()`
 * at the start of each invocation, and the view then answers with the version in force, with what
 * paused itself (cadence.yaml `autoPause`) merged in: read from the table at most once a minute,
 * where the function has the table (TABLE_NAME).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getAppConfig } from '@aws-lambda-powertools/parameters/appconfig';
import { cachedPauseSet, DynamoAutoPause } from '#adapters/dynamo-auto-pause';
import { documentClient } from '#adapters/dynamo-store';
import { type CultivateConfig, parseConfig, readConfigSources } from '#config/load';
import { loadMetricsConfig } from '#config/metrics';
import type { PipelineConfig } from '#config/pipeline';
import { filesOf, PublishedRulesSchema, sourcesOf } from '#config/rules';
import { RulesSource } from '#config/rules-source';
import { loadSendingConfig } from '#config/sending';
import type { PublishedRules } from '#ports/ports';
import { dynamo, env, logger } from './runtime.ts';

/** How stale a function's rules may be after a rollout reached it (AppConfig is asked at most this often). */
export const RULES_MAX_AGE_SECONDS = 60;
/** How stale the set of what paused itself may be (one Query per container at most this often). */
export const PAUSES_MAX_AGE_SECONDS = 60;

export const bundledConfigDir = () => process.env.CULTIVATE_CONFIG_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'config');

/** Where the published rules live, when this function is bound to them (lib/rules.ts `bindReader`). */
export function appConfigIds(): { application: string; environment: string; profile: string } | undefined {
  const application = process.env.APPCONFIG_APPLICATION_ID;
  const environment = process.env.APPCONFIG_ENVIRONMENT_ID;
  const profile = process.env.APPCONFIG_PROFILE_ID;
  return application && environment && profile ? { application, environment, profile } : undefined;
}

/** "Nothing deployed yet" from AppConfig: the session cannot start, or the content is empty. */
function nothingDeployed(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if (e.name === 'ResourceNotFoundException' || e.name === 'BadRequestException') return true;
  }
  return false;
}

async function deployedRules(ids: NonNullable<ReturnType<typeof appConfigIds>>): Promise<PublishedRules | undefined> {
  let value: unknown;
  try {
    value = await getAppConfig(ids.profile, { application: ids.application, environment: ids.environment, maxAge: RULES_MAX_AGE_SECONDS, transform: 'json' });
  } catch (err) {
    if (nothingDeployed(err)) return undefined;
    throw err;
  }
  if (value === undefined || value === null || value === '') return undefined;
  const parsed = PublishedRulesSchema.safeParse(value);
  // The validator refuses anything else before it is deployed; a surprise here is loud, not silent.
  if (!parsed.success) throw new Error(`the deployed AppConfig configuration is not a rules version: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return parsed.data as PublishedRules;
}

let source: RulesSource | undefined;

function rulesSource(): RulesSource {
  if (source) return source;
  const dir = bundledConfigDir();
  const ids = appConfigIds();
  const table = process.env.TABLE_NAME;
  source = new RulesSource({
    bundled: () => readConfigSources(dir),
    ...(ids && { latest: () => deployedRules(ids) }),
    sending: loadSendingConfig(dir),
    metrics: loadMetricsConfig(dir),
    publicBaseUrl: env('CULTIVATE_PUBLIC_BASE_URL'),
    ...(process.env.SES_CONFIGURATION_SET && { configurationSetName: process.env.SES_CONFIGURATION_SET }),
    ...(table && { paused: pausesOf(table) }),
  });
  return source;
}

function pausesOf(table: string) {
  const store = new DynamoAutoPause(documentClient(dynamo()), table);
  return cachedPauseSet(() => store.pauseSet(), PAUSES_MAX_AGE_SECONDS * 1000);
}

let parsed: { key: string; config: CultivateConfig } | undefined;

/**
 * The rules in force as validated config, without a pipeline (the metrics stream judges
 * `autoPause` with them, and counts a touch under the track the planner would take now).
 */
export async function rulesConfigInForce(): Promise<CultivateConfig> {
  const ids = appConfigIds();
  const published = ids ? await deployedRules(ids) : undefined;
  const key = published ? `v${published.version}:${published.hash}` : 'bundled';
  if (parsed?.key !== key) {
    const files = published?.files ?? filesOf(readConfigSources(bundledConfigDir()));
    parsed = { key, config: parseConfig(sourcesOf(files, published ? `rules v${published.version}/` : 'config/')) };
  }
  return parsed.config;
}

/** The pipeline the handlers use: answers with the rules in force at each call. */
export function pipeline(): PipelineConfig {
  return rulesSource().pipeline;
}

/** At the start of an invocation: the version deployed in AppConfig becomes the one in force (cached). */
export async function refreshRules(): Promise<number> {
  const s = rulesSource();
  const before = s.current.version;
  const now = await s.refresh();
  if (now.version !== before) logger.info('rules version in force', { rulesVersion: now.version, previous: before, hash: now.hash });
  return now.version;
}

/** The rules in force, their files (the diff compares proposed files with these). */
export async function rulesInForce() {
  await refreshRules();
  return rulesSource().current;
}
