/**
 * Published rules in AWS AppConfig (the `RulesVersions` port on AWS): each version is a hosted
 * configuration version of the freeform profile (JSON: the files' text, the note, the hash, and its
 * own number, which is AppConfig's version number), deployed to the environment with the stack's
 * deployment strategy. AppConfig runs the LAMBDA validator (the same `parseConfig`) before the
 * deployment starts, watches the environment's alarms while it rolls out, and rolls back on alarm.
 *
 * "In force" is the newest COMPLETE deployment: a version whose rollout was rolled back stays in
 * the history but never counts as current. One rollout at a time: a publish while one is going on
 * is refused as `RolloutRunning` (wait for it, or stop it in AppConfig), not as a stale version.
 */
import {
  type AppConfigClient,
  ConflictException,
  CreateHostedConfigurationVersionCommand,
  type DeploymentSummary,
  GetHostedConfigurationVersionCommand,
  ListDeploymentsCommand,
  ListHostedConfigurationVersionsCommand,
  ResourceNotFoundException,
  StartDeploymentCommand,
} from '@aws-sdk/client-appconfig';
import { onlyControlsChanged, PublishedRulesSchema } from '#config/rules';
import type { PublishedRules, RolloutRunning, RulesFiles, RulesVersions } from '#ports/ports';

export interface AppConfigRulesIds {
  application: string;
  environment: string;
  profile: string;
  deploymentStrategy: string;
  /** For a version that changes only controls.yaml (a kill switch): all at once, alarms still watched. */
  immediateStrategy?: string;
}

const ROLLING_OUT = new Set(['DEPLOYING', 'BAKING', 'VALIDATING', 'ROLLING_BACK']);

/** A hosted version's content as rules (undefined when it is not a rules bundle). */
export function rulesOfContent(content: Uint8Array | undefined): PublishedRules | undefined {
  if (!content || content.byteLength === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(content).toString('utf8'));
  } catch {
    // A version someone created by hand in the console (or not JSON at all) is not a rules version.
    return undefined;
  }
  const parsed = PublishedRulesSchema.safeParse(json);
  return parsed.success ? (parsed.data as PublishedRules) : undefined;
}

export class AppConfigRulesVersions implements RulesVersions {
  constructor(
    private readonly client: AppConfigClient,
    private readonly ids: AppConfigRulesIds,
  ) {}

  /** This profile's deployments to the environment, newest first (one page: the newest 50). */
  private async deployments(): Promise<DeploymentSummary[]> {
    const out = await this.client.send(new ListDeploymentsCommand({ ApplicationId: this.ids.application, EnvironmentId: this.ids.environment, MaxResults: 50 }));
    return (out.Items ?? []).filter((d) => d.ConfigurationProfileId === undefined || d.ConfigurationProfileId === this.ids.profile);
  }

  async publish(rules: Omit<PublishedRules, 'version'>, expectedCurrent: number, inForceFiles: RulesFiles): Promise<PublishedRules | 'conflict' | RolloutRunning> {
    const deployments = await this.deployments();
    const rolling = deployments.find((d) => d.State && ROLLING_OUT.has(d.State));
    if (rolling) return { kind: 'rolling-out', version: Number(rolling.ConfigurationVersion ?? 0), state: String(rolling.State) };
    const inForce = deployments.find((d) => d.State === 'COMPLETE');
    if (Number(inForce?.ConfigurationVersion ?? 0) !== expectedCurrent) return 'conflict';
    const latest = await this.client.send(new ListHostedConfigurationVersionsCommand({ ApplicationId: this.ids.application, ConfigurationProfileId: this.ids.profile, MaxResults: 1 }));
    const latestNumber = latest.Items?.[0]?.VersionNumber ?? 0;
    const published: PublishedRules = { ...rules, version: latestNumber + 1 };
    // A kill switch must not wait for the linear rollout of a cadence change. Compared with the
    // files the caller read as in force (version 0's too: on a fresh stack nothing is deployed yet).
    const strategy = this.ids.immediateStrategy && onlyControlsChanged(inForceFiles, rules.files) ? this.ids.immediateStrategy : this.ids.deploymentStrategy;
    try {
      await this.client.send(
        new CreateHostedConfigurationVersionCommand({
          ApplicationId: this.ids.application,
          ConfigurationProfileId: this.ids.profile,
          Content: Buffer.from(JSON.stringify(published)),
          ContentType: 'application/json',
          Description: (rules.note || `rules v${published.version}`).slice(0, 1024),
          VersionLabel: `v${published.version}`,
          // The lock: another publisher created a version since we looked, so ours would not be next.
          LatestVersionNumber: latestNumber,
        }),
      );
      await this.client.send(
        new StartDeploymentCommand({
          ApplicationId: this.ids.application,
          EnvironmentId: this.ids.environment,
          ConfigurationProfileId: this.ids.profile,
          DeploymentStrategyId: strategy,
          ConfigurationVersion: String(published.version),
          Description: `rules v${published.version}${rules.note ? `: ${rules.note}` : ''}`.slice(0, 1024),
        }),
      );
    } catch (err) {
      if (err instanceof ConflictException) return 'conflict';
      throw err;
    }
    return published;
  }

  /** The versions whose rollout completed, newest first (the first is the one in force). */
  async completed(): Promise<number[]> {
    return (await this.deployments()).filter((d) => d.State === 'COMPLETE' && d.ConfigurationVersion).map((d) => Number(d.ConfigurationVersion));
  }

  async current(): Promise<PublishedRules | undefined> {
    const inForce = (await this.deployments()).find((d) => d.State === 'COMPLETE');
    return inForce?.ConfigurationVersion ? this.get(Number(inForce.ConfigurationVersion)) : undefined;
  }

  async get(version: number): Promise<PublishedRules | undefined> {
    if (!Number.isInteger(version) || version < 1) return undefined;
    try {
      const out = await this.client.send(new GetHostedConfigurationVersionCommand({ ApplicationId: this.ids.application, ConfigurationProfileId: this.ids.profile, VersionNumber: version }));
      return rulesOfContent(out.Content);
    } catch (err) {
      if (err instanceof ResourceNotFoundException) return undefined;
      throw err;
    }
  }

  async list(limit: number): Promise<PublishedRules[]> {
    const out = await this.client.send(new ListHostedConfigurationVersionsCommand({ ApplicationId: this.ids.application, ConfigurationProfileId: this.ids.profile, MaxResults: Math.min(50, limit) }));
    const found = await Promise.all((out.Items ?? []).map((i) => (i.VersionNumber ? this.get(i.VersionNumber) : undefined)));
    return found.filter((v): v is PublishedRules => v !== undefined).sort((a, b) => b.version - a.version);
  }
}
