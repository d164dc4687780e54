/**
 * `cultivate config publish` / `rollback`: a new rules version, validated by the same `parseConfig`
 * as `config check` before it is stored. History is append-only: a rollback publishes an older
 * version's text again, as a new version. Each publish names the version it expects to replace, so
 * a second publisher working from the same version hears "conflict" instead of overwriting.
 *
 * Where a version goes is the `RulesVersions` port: the table locally, AWS AppConfig on AWS
 * (where the deployment, and its automatic rollback on alarm, follows). `published` runs after a
 * version is stored: locally it makes the version the one in force and starts the replan job.
 */
import type { ConfigProblem } from '#config/load';
import { checkRules, rulesHash, type RulesFiles, withCurrent } from '#config/rules';
import type { Clock, Logger, PublishedRules, RulesVersions } from '#ports/ports';

export interface PublishDeps {
  clock: Clock;
  logger: Logger;
  versions: RulesVersions;
  /** The deployed config/ folder's rule files: version 0, in force until the first publish. */
  bundled: () => RulesFiles;
  /** After a version is stored; `previous` is the version that was in force (its files, to compare). */
  published?: (rules: PublishedRules, previous: { version: number; files: RulesFiles }) => Promise<void>;
}

export type PublishResult =
  | { ok: true; published: PublishedRules; previous: number }
  | { ok: false; kind: 'invalid'; problems: ConfigProblem[] }
  | { ok: false; kind: 'conflict'; current: number }
  /** On AWS: version `version` is still rolling out (`state`); nothing published. */
  | { ok: false; kind: 'rolling-out'; version: number; state: string }
  | { ok: false; kind: 'unknown-version'; version: number };

/** The version in force: the newest published, or the deployed folder as version 0. */
export async function rulesInForce(deps: Pick<PublishDeps, 'versions' | 'bundled'>): Promise<{ version: number; files: RulesFiles }> {
  const current = await deps.versions.current();
  return current ?? { version: 0, files: deps.bundled() };
}

/** Version `version` (0: the deployed folder). */
export async function rulesVersion(deps: Pick<PublishDeps, 'versions' | 'bundled'>, version: number): Promise<{ version: number; files: RulesFiles; publishedAt?: string; note?: string; hash: string } | undefined> {
  if (version === 0) {
    const files = deps.bundled();
    return { version: 0, files, hash: rulesHash(files), note: 'the config/ folder deployed with the code' };
  }
  return deps.versions.get(version);
}

/**
 * Publishes `files` (a file not given stays as it is in force) as the next version. With
 * `expectedVersion`, only if that is still the version in force.
 */
export async function publishRules(
  deps: PublishDeps,
  input: { files: RulesFiles; note?: string; expectedVersion?: number; rollbackOf?: number; /** The files are the whole version (a rollback): none taken from the one in force. */ whole?: boolean },
): Promise<PublishResult> {
  const current = await rulesInForce(deps);
  if (input.expectedVersion !== undefined && input.expectedVersion !== current.version) return { ok: false, kind: 'conflict', current: current.version };
  const files = input.whole ? input.files : withCurrent(input.files, current.files);
  const checked = checkRules(files);
  if (!checked.ok) return { ok: false, kind: 'invalid', problems: checked.problems };
  const note = input.note ?? (input.rollbackOf !== undefined ? `rollback to v${input.rollbackOf}` : '');
  const stored = await deps.versions.publish(
    { files, publishedAt: deps.clock.now().toISOString(), note, hash: rulesHash(files), ...(input.rollbackOf !== undefined && { rollbackOf: input.rollbackOf }) },
    current.version,
    current.files,
  );
  if (stored === 'conflict') {
    const now = await rulesInForce(deps);
    return { ok: false, kind: 'conflict', current: now.version };
  }
  if ('kind' in stored) return { ok: false, kind: 'rolling-out', version: stored.version, state: stored.state };
  deps.logger.info('rules published', { version: stored.version, previous: current.version, hash: stored.hash, rollbackOf: stored.rollbackOf });
  await deps.published?.(stored, current);
  return { ok: true, published: stored, previous: current.version };
}

/** Publishes version `to`'s text again (default: the version before the one in force), as a new version. */
export async function rollbackRules(deps: PublishDeps, input: { to?: number; note?: string; expectedVersion?: number }): Promise<PublishResult> {
  const current = await rulesInForce(deps);
  if (input.expectedVersion !== undefined && input.expectedVersion !== current.version) return { ok: false, kind: 'conflict', current: current.version };
  const to = input.to ?? current.version - 1;
  const target = to >= 0 && to <= current.version ? await rulesVersion(deps, to) : undefined;
  if (!target) return { ok: false, kind: 'unknown-version', version: to };
  return publishRules(deps, { files: target.files, whole: true, expectedVersion: current.version, rollbackOf: to, ...(input.note !== undefined && { note: input.note }) });
}
