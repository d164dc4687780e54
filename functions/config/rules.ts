/**
 * Published rules: the files planning reads (cadence.yaml, content.yaml, owners.yaml and
 * controls.yaml) as one versioned bundle. sending.yaml, crm.yaml and metrics.yaml stay with the
 * deployment: sending.yaml must match what the stack set up (sending domain, SES rate), crm.yaml
 * maps CRM webhooks next to their secrets, and metrics.yaml's holdout is an analysis decision
 * taken once per person; none of them decides when a touch is planned.
 *
 * A bundle is validated by the same `parseConfig` as `config check` before it is stored, and its
 * files keep their text, so a problem is reported at its line and column.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Planner } from '#domain/planner';
import type { StampedTouch } from '#domain/replan';
import type { PublishedRules, RulesFileName, RulesFiles } from '#ports/ports';
import { CONFIG_FILES, ConfigError, type ConfigProblem, type ConfigSources, parseConfig } from './load.ts';
import type { CultivateConfig } from './schema.ts';

export type { PublishedRules, RulesFileName, RulesFiles };

export const RULES_FILES = [CONFIG_FILES.cadence, CONFIG_FILES.content, CONFIG_FILES.owners, CONFIG_FILES.controls] as RulesFileName[];

/**
 * Bytes of UTF-8 the rule files of one version may hold together: under DynamoDB's 400 KB item (the
 * versions are items locally, and the limit counts bytes, so a playbook in Japanese reaches it
 * with a third of the characters) with room for the rest of it; AppConfig's hosted 2 MB is far.
 */
export const MAX_RULES_BYTES = 350_000;

// A string of at most N bytes has at most N characters: the stored bundle's loose bound.
const fileText = z.string().max(MAX_RULES_BYTES);

/** A published bundle as stored (DynamoDB locally, the AppConfig hosted configuration on AWS). */
export const PublishedRulesSchema = z.strictObject({
  version: z.int().min(1),
  files: z.strictObject({
    'cadence.yaml': fileText,
    'content.yaml': fileText,
    'owners.yaml': fileText,
    'controls.yaml': fileText.optional(),
  }),
  publishedAt: z.iso.datetime(),
  note: z.string().max(500),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  rollbackOf: z.int().min(0).optional(),
});

/**
 * True when only `controls.yaml` (kill switches, dry-run) differs: such a version should reach every
 * function at once, not through the gradual rollout meant for cadence changes.
 */
export function onlyControlsChanged(before: RulesFiles, after: RulesFiles): boolean {
  const controls: RulesFileName = 'controls.yaml';
  return RULES_FILES.every((name) => name === controls || before[name] === after[name]) && before[controls] !== after[controls];
}

/** SHA-256 over each file's name and text, in a fixed order. */
export function rulesHash(files: RulesFiles): string {
  const h = createHash('sha256');
  for (const name of RULES_FILES) {
    const text = files[name];
    if (text === undefined) continue;
    h.update(`${name}\u0000${Buffer.byteLength(text)}\u0000`);
    h.update(text);
  }
  return h.digest('hex');
}

/** The files as `parseConfig` reads them, reported as `<prefix><file>` (e.g. `cadence.yaml`). */
export function sourcesOf(files: RulesFiles, prefix = ''): ConfigSources {
  const source = (name: RulesFileName) => ({ name: `${prefix}${name}`, text: files[name] ?? '' });
  return {
    cadence: source('cadence.yaml'),
    content: source('content.yaml'),
    owners: source('owners.yaml'),
    ...(files['controls.yaml'] !== undefined && { controls: source('controls.yaml') }),
  };
}

export function filesOf(sources: ConfigSources): RulesFiles {
  return {
    'cadence.yaml': sources.cadence.text,
    'content.yaml': sources.content.text,
    'owners.yaml': sources.owners.text,
    ...(sources.controls && { 'controls.yaml': sources.controls.text }),
  };
}

/** `proposed` over `current`: a file not given stays as it is in force (as `cultivate diff` compares). */
export function withCurrent(proposed: RulesFiles, current: RulesFiles): RulesFiles {
  const merged: RulesFiles = { ...current };
  for (const name of RULES_FILES) if (proposed[name] !== undefined) merged[name] = proposed[name];
  return merged;
}

export type RulesCheck = { ok: true; config: CultivateConfig } | { ok: false; problems: ConfigProblem[] };

/** The same `parseConfig` as `config check`, plus the size a version may have. */
export function checkRules(files: RulesFiles): RulesCheck {
  const size = RULES_FILES.reduce((n, f) => n + Buffer.byteLength(files[f] ?? '', 'utf8'), 0);
  if (size > MAX_RULES_BYTES) {
    return { ok: false, problems: [{ file: 'cadence.yaml', line: 1, col: 1, message: `the rule files together are ${size} bytes (UTF-8); a version holds at most ${MAX_RULES_BYTES}` }] };
  }
  for (const name of ['cadence.yaml', 'content.yaml', 'owners.yaml'] as const) {
    if (files[name] === undefined) return { ok: false, problems: [{ file: name, line: 1, col: 1, message: 'missing: a version needs cadence.yaml, content.yaml and owners.yaml' }] };
  }
  try {
    return { ok: true, config: parseConfig(sourcesOf(files)) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: [...err.problems] };
    throw err;
  }
}

/**
 * The planner of rules version `version`: every touch it plans carries the version, and (for a
 * published version) says so in its rule, so `cultivate explain` reads "... (rules v3)" on each
 * touch planned, sent, pushed or skipped.
 */
export function stampedPlanner(inner: Planner, version: number): Planner {
  return {
    planNext(state, ctx) {
      const touch = inner.planNext(state, ctx);
      if (!touch) return null;
      const stamped: StampedTouch = { ...touch, rulesVersion: version, ...(version > 0 && { rule: `${touch.rule} (rules v${version})` }) };
      return stamped;
    },
    ...(inner.insideSendWindow && { insideSendWindow: inner.insideSendWindow.bind(inner) }),
    ...(inner.planInputs && { planInputs: inner.planInputs.bind(inner) }),
  };
}
