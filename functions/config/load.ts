/**
 * Reads `config/` (cadence.yaml, content.yaml, owners.yaml, and controls.yaml when present),
 * validates each file against its schema, cross-checks them, and reports every problem at once
 * as `file:line:col: message`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { semanticChecks, type ConfigFileKey } from './checks.ts';
import { CadenceFileSchema, ContentFileSchema, ControlsFileSchema, NO_CONTROLS, OwnersFileSchema, type CultivateConfig } from './schema.ts';
import { type ConfigProblem, withPath, YamlSource } from './yaml-source.ts';

export type { CadenceConfig, ContentItem, ContentLibrary, ControlsConfig, CultivateConfig, Owner, OwnersConfig, TrackConfig, WindowConfig } from './schema.ts';

export type { ConfigProblem };

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  ${p.file}:${p.line}:${p.col}: ${p.message}`);
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export const CONFIG_FILES: Record<ConfigFileKey, string> = {
  cadence: 'cadence.yaml',
  content: 'content.yaml',
  owners: 'owners.yaml',
  controls: 'controls.yaml',
};
export type { ConfigFileKey };

export interface ConfigSource {
  name: string;
  text: string;
}

/**
 * The text of each file, and the name to report it under (e.g. `config/cadence.yaml`). Without
 * `controls`, nothing is paused and nothing is in dry-run.
 */
export type ConfigSources = Record<Exclude<ConfigFileKey, 'controls'>, ConfigSource> & { controls?: ConfigSource };

/** Validates config from text. Throws a `ConfigError` listing every problem. */
export function parseConfig(sources: ConfigSources): CultivateConfig {
  const files: Partial<Record<ConfigFileKey, YamlSource>> = {
    cadence: new YamlSource(sources.cadence.name, sources.cadence.text),
    content: new YamlSource(sources.content.name, sources.content.text),
    owners: new YamlSource(sources.owners.name, sources.owners.text),
    ...(sources.controls && { controls: new YamlSource(sources.controls.name, sources.controls.text) }),
  };
  const problems: ConfigProblem[] = [];
  // A file that is not valid YAML reports its syntax errors; the others are still checked.
  const rawOf = (k: ConfigFileKey): unknown => {
    const f = files[k];
    if (!f) return undefined;
    const data = f.data();
    if (data === undefined) problems.push(...f.syntaxProblems());
    return data;
  };
  const raw = { cadence: rawOf('cadence'), content: rawOf('content'), owners: rawOf('owners'), controls: rawOf('controls') };
  const check = <T>(k: ConfigFileKey, schema: z.ZodType<T>): T | undefined => {
    const f = files[k];
    if (raw[k] === undefined || !f) return undefined;
    const r = schema.safeParse(raw[k]);
    if (r.success) return r.data;
    problems.push(...f.zodProblems(r.error.issues, schema));
    return undefined;
  };
  const cadence = check('cadence', CadenceFileSchema);
  const content = check('content', ContentFileSchema);
  const owners = check('owners', OwnersFileSchema);
  const controls = files.controls ? check('controls', ControlsFileSchema) : NO_CONTROLS;
  for (const p of semanticChecks(raw)) {
    const f = files[p.file];
    if (!f) continue;
    const key = p.atKey ? f.keyAt(p.path.slice(0, -1), String(p.path.at(-1))) : undefined;
    problems.push(key === undefined ? f.at(p.path, p.message) : f.problem(key, withPath(p.path, p.message)));
  }
  if (problems.length > 0 || !cadence || !content || !owners || !controls) {
    const keysInOrder = Object.keys(files) as ConfigFileKey[];
    const order = Object.fromEntries(keysInOrder.map((k, i) => [files[k]?.name, i]));
    problems.sort((a, b) => (order[a.file] ?? 0) - (order[b.file] ?? 0) || a.line - b.line || a.col - b.col);
    throw new ConfigError(problems);
  }
  return { cadence, content, owners, controls };
}

/**
 * The text of `dir`/cadence.yaml, content.yaml, owners.yaml (and controls.yaml when present).
 * Throws a `ConfigError` when a required file cannot be read.
 */
export function readConfigSources(dir = 'config'): ConfigSources {
  const problems: ConfigProblem[] = [];
  const read = (key: ConfigFileKey) => {
    const name = join(dir, CONFIG_FILES[key]);
    try {
      return { name, text: readFileSync(name, 'utf8') };
    } catch (err) {
      problems.push({ file: name, line: 1, col: 1, message: `cannot read file: ${(err as Error).message}` });
      return { name, text: '' };
    }
  };
  const sources: ConfigSources = { cadence: read('cadence'), content: read('content'), owners: read('owners') };
  // controls.yaml is optional: without it, nothing is paused and nothing is in dry-run.
  if (existsSync(join(dir, CONFIG_FILES.controls))) sources.controls = read('controls');
  if (problems.length > 0) throw new ConfigError(problems);
  return sources;
}

/** Reads and validates `dir`/cadence.yaml, content.yaml, owners.yaml (and controls.yaml). Throws a `ConfigError`. */
export function loadConfig(dir = 'config'): CultivateConfig {
  return parseConfig(readConfigSources(dir));
}
