/**
 * Published rules on the local stack (`npm start`): versions in the table, the version in force
 * swapped at once on publish, and the replan job run in this process, one run at a time. A job
 * left running when the stack stopped (or crashed) resumes from its cursor at the next start, and a
 * version stored without its job (the process stopped in between) gets it at the next start.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoRelationshipPages } from '#adapters/dynamo-relationship-pages';
import { DynamoRelationshipStore } from '#adapters/dynamo-store';
import { DynamoReplanJobs, DynamoReplanWriter, DynamoRulesVersions } from '#adapters/dynamo-rules';
import type { ConfigRulesDeps } from '#http/config';
import { reconcileReplan, type ReplanDeps, runReplan, startReplan } from '#handlers/config-replan';
import type { Clock, Logger } from '#ports/ports';
import { readConfigSources } from './load.ts';
import { loadMetricsConfig } from './metrics.ts';
import { filesOf, onlyControlsChanged, type RulesFiles } from './rules.ts';
import { replanRulesOf, RulesSource } from './rules-source.ts';
import type { PauseSet } from './schema.ts';
import { loadSendingConfig } from './sending.ts';

export interface LocalRules {
  source: RulesSource;
  /** For `configRulesRoutes`: publish, rollback, versions, the replan job's status. */
  routes: ConfigRulesDeps;
  /** Resolves when no replan run is going on (tests, and a clean stop). */
  idle(): Promise<void>;
}

export async function startLocalRules(opts: {
  doc: DynamoDBDocumentClient;
  table: string;
  clock: Clock;
  logger: Logger;
  configDir: string;
  publicBaseUrl: string;
  replan?: Pick<ReplanDeps, 'pageSize' | 'perSecond'>;
  /** What paused itself (cadence.yaml `autoPause`), read at start and at each `source.refreshPauses()`. */
  paused?: () => Promise<PauseSet>;
}): Promise<LocalRules> {
  const { doc, table, clock, logger, configDir } = opts;
  const versions = new DynamoRulesVersions(doc, table);
  const bundled = () => filesOf(readConfigSources(configDir));
  const source = new RulesSource({
    bundled: () => readConfigSources(configDir),
    latest: () => versions.current(),
    sending: loadSendingConfig(configDir),
    metrics: loadMetricsConfig(configDir),
    publicBaseUrl: opts.publicBaseUrl,
    ...(opts.paused && { paused: opts.paused }),
  });
  await source.refresh();

  const jobs = new DynamoReplanJobs(doc, table);
  const replanDeps: ReplanDeps = {
    clock,
    logger,
    pages: new DynamoRelationshipPages(doc, table),
    jobs,
    writer: new DynamoReplanWriter(doc, table),
    store: new DynamoRelationshipStore(doc, table),
    rules: async (version) => {
      if (version === source.current.version) return replanRulesOf(source.current.pipeline);
      const found = version === 0 ? { files: bundled() } : await versions.get(version);
      return found && replanRulesOf(source.pipelineOf(version, found.files));
    },
    ...opts.replan,
  };
  // One run at a time: a newer job starts after the older one noticed it was superseded.
  let runs: Promise<void> = Promise.resolve();
  const run = (version: number) => {
    runs = runs
      .then(() => runReplan(replanDeps, version))
      .then(
        (outcome) => logger.info('replan run ended', { rulesVersion: version, outcome }),
        // The checkpoint before the failed page stands: the next start resumes there.
        (err: Error) => logger.error('replan run failed; it resumes from its cursor at the next start', { rulesVersion: version, error: err.message }),
      );
  };

  // The job of a version newly in force (none when only controls.yaml changed: read at send time).
  const startFor = async (version: number, files: RulesFiles, previous: { version: number; files: RulesFiles }) => {
    if (await startReplan({ jobs, clock, logger }, version, previous.version, { controlsOnly: onlyControlsChanged(previous.files, files) })) run(version);
  };

  // A version stored just before the process stopped has no job yet (it starts after the store),
  // and a job left running resumes from its cursor: nothing else runs one in a fresh process.
  const inForce = source.current;
  const previous = inForce.version - 1;
  const before = inForce.version === 0 ? undefined : previous === 0 ? { files: bundled() } : await versions.get(previous);
  const due = await reconcileReplan({ jobs, clock, logger }, { version: inForce.version, files: inForce.files, previous: { version: Math.max(previous, 0), files: before?.files } });
  if (due !== undefined) run(due);

  return {
    source,
    routes: {
      clock,
      logger,
      versions,
      bundled,
      jobs,
      published: async (rules, previous) => {
        source.use(rules);
        await startFor(rules.version, rules.files, previous);
      },
    },
    idle: async () => {
      let seen: Promise<void>;
      do {
        seen = runs;
        await seen;
      } while (seen !== runs);
    },
  };
}
