/**
 * The rules in force, for the handlers: the newest published version (functions/config/rules.ts),
 * or the config/ folder deployed with the code as "version 0" until anything is published.
 *
 * Handlers keep one `pipeline` (a live view) and call `refresh()` at the start of an invocation:
 * the view then answers with the version in force. Building a version's planner happens once per
 * version (by content hash); `latest` decides how fresh "in force" is: on AWS the Powertools
 * AppConfig provider with a `maxAge`, locally the store itself and `use()` right after a publish.
 *
 * What paused itself (cadence.yaml `autoPause`) is not in any version: `paused` reads it from the
 * table (cached), `refresh()` merges it into the rules in force (`CultivateConfig.paused`), and
 * the planner is rebuilt only when the set of paused ids changes.
 */
import type { PublishedRules } from '#ports/ports';
import { NO_PAUSES, pauseSetKey, withPauses } from '#domain/auto-pause';
import type { Planner } from '#domain/planner';
import type { ReplanRules } from '#handlers/config-replan';
import { type ConfigSources, parseConfig } from './load.ts';
import type { MetricsConfig } from './metrics.ts';
import { type PipelineConfig, pipelineConfig } from './pipeline.ts';
import { filesOf, rulesHash, type RulesFiles, sourcesOf, stampedPlanner } from './rules.ts';
import type { PauseSet } from './schema.ts';
import type { SendingConfig } from './sending.ts';

export interface RulesInForce {
  /** 0: the deployed config/ folder; 1, 2, ...: a published version. */
  version: number;
  files: RulesFiles;
  hash: string;
  /** When it was published (absent for version 0). */
  publishedAt?: string;
  note?: string;
  pipeline: PipelineConfig;
}

export interface RulesSourceOptions {
  /** The deployed config/ folder's rule files (version 0). */
  bundled: () => ConfigSources;
  /** The newest published version, or undefined when none is (yet). Called by `refresh()`. */
  latest?: () => Promise<PublishedRules | undefined>;
  /** Not versioned: they stay with the deployment (functions/config/rules.ts says why). */
  sending: SendingConfig;
  metrics?: MetricsConfig;
  publicBaseUrl: string;
  configurationSetName?: string;
  /** What paused itself (the table; cached by the caller). Absent: nothing is ever paused. */
  paused?: () => Promise<PauseSet>;
}

export class RulesSource {
  private inForce: RulesInForce | undefined;
  private readonly built = new Map<string, PipelineConfig>();
  private readonly parsed = new Map<string, ReturnType<typeof parseConfig>>();
  private paused: PauseSet = NO_PAUSES;
  private pausedKey = pauseSetKey(NO_PAUSES);
  /** One settings object for every version: the local stack learns its URL after it started. */
  private settings: PipelineConfig['settings'] | undefined;
  /** Answers with the version in force at each call: hand it to handlers once. */
  readonly pipeline: PipelineConfig;

  constructor(private readonly opts: RulesSourceOptions) {
    this.pipeline = liveView(() => this.current.pipeline, opts);
  }

  /** The version in force (the deployed folder until the first refresh finds a published one). */
  get current(): RulesInForce {
    this.inForce ??= this.build(0, filesOf(this.opts.bundled()));
    return this.inForce;
  }

  /** Asks `latest` for the newest published version and makes it the one in force. */
  async refresh(): Promise<RulesInForce> {
    const published = this.opts.latest ? await this.opts.latest() : undefined;
    if (published && published.version !== this.inForce?.version) this.use(published);
    await this.refreshPauses();
    return this.current;
  }

  /** Reads what paused itself (`paused`) and, when that changed, rebuilds the version in force with it. */
  async refreshPauses(): Promise<PauseSet> {
    if (this.opts.paused) this.setPaused(await this.opts.paused());
    return this.paused;
  }

  private setPaused(set: PauseSet): void {
    const key = pauseSetKey(set);
    if (key === this.pausedKey) return;
    this.paused = set;
    this.pausedKey = key;
    // Pipelines of the old set are never asked for again.
    this.built.clear();
    if (this.inForce) this.inForce = { ...this.inForce, pipeline: this.build(this.inForce.version, this.inForce.files).pipeline };
  }

  /** Makes `published` the version in force at once (the local stack, right after a publish). */
  use(published: PublishedRules): RulesInForce {
    this.inForce = this.build(published.version, published.files, published);
    return this.inForce;
  }

  /** A version's pipeline without making it the one in force (the replan job of a given version). */
  pipelineOf(version: number, files: RulesFiles): PipelineConfig {
    return this.build(version, files).pipeline;
  }

  private build(version: number, files: RulesFiles, published?: PublishedRules): RulesInForce {
    const hash = rulesHash(files);
    const key = `${version}:${hash}`;
    let pipeline = this.built.get(key);
    if (!pipeline) {
      let rules = this.parsed.get(key);
      if (!rules) {
        rules = parseConfig(sourcesOf(files, version === 0 ? 'config/' : `rules v${version}/`));
        this.parsed.set(key, rules);
      }
      const built = pipelineConfig(withPauses(rules, this.paused), this.opts.sending, this.opts.publicBaseUrl, this.opts.configurationSetName, this.opts.metrics);
      this.settings ??= built.settings;
      pipeline = { ...built, settings: this.settings, planner: stampedPlanner(built.planner, version) };
      this.built.set(key, pipeline);
    }
    return { version, files, hash, pipeline, ...(published && { publishedAt: published.publishedAt, note: published.note }) };
  }
}

/**
 * A `PipelineConfig` whose every answer comes from `get()` at the time of the call, so handler
 * dependencies built once (at a cold start, or when the local stack starts) follow a publish.
 */
function liveView(get: () => PipelineConfig, opts: RulesSourceOptions): PipelineConfig {
  const planner: Planner = {
    planNext: (state, ctx) => get().planner.planNext(state, ctx),
    insideSendWindow: (state, touch, at) => get().planner.insideSendWindow?.(state, touch, at) ?? true,
    planInputs: (state) => get().planner.planInputs?.(state) ?? {},
  };
  return {
    get rules() {
      return get().rules;
    },
    sending: opts.sending,
    get settings() {
      return get().settings;
    },
    planner,
    owner: (email) => get().owner(email),
    content: (id) => get().content(id),
    skipWeek: (state) => get().skipWeek(state),
    get guardrails() {
      return get().guardrails;
    },
    contactZone: (state) => get().contactZone(state),
    ownerZone: (state) => get().ownerZone(state),
    managerOf: (email) => get().managerOf(email),
    ...(opts.metrics && { metrics: opts.metrics }),
  };
}

/** What the replan job needs of a version: its planner, and where a touch's local time is read (the contact's zone for e-mail, the owner's for tasks). */
export function replanRulesOf(pipeline: PipelineConfig): ReplanRules {
  return { planner: pipeline.planner, zoneOf: (state, touch) => (touch.channel === 'email' ? pipeline.contactZone(state) : pipeline.ownerZone(state)) };
}
