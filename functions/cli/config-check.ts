/**
 * `cultivate config check [dir]`: validates every file in the config folder in one pass and
 * reports every problem as `file:line:col: message`.
 *
 * - cadence.yaml, content.yaml, owners.yaml: `loadConfig` (schemas and cross-file checks), plus
 *   the cadence checks of `track-checks.ts` (rules that can never take effect);
 * - sending.yaml: the `SendingConfig` schema, with positions;
 * - crm.yaml (optional): the CRM mappings, and CRM users mapped to owners that exist in owners.yaml;
 * - metrics.yaml (optional): holdout and costs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_FILES, ConfigError, loadConfig, type ConfigProblem } from '#config/load';
import type { CultivateConfig } from '#config/schema';
import { SendingConfig } from '#config/sending';
import { loadMetricsConfig, MetricsConfigError } from '#config/metrics';
import { CRM_CONFIG_FILE, checkCrmConfig } from '#crm/config';
import { trackChecks } from './track-checks.ts';
import { YamlSource } from '#config/yaml-source';

export interface CheckResult {
  problems: ConfigProblem[];
  /** Set when there are no problems. */
  config?: CultivateConfig;
  sending?: SendingConfig;
}

function readSource(dir: string, file: string, problems: ConfigProblem[]): YamlSource | undefined {
  const name = join(dir, file);
  try {
    return new YamlSource(name, readFileSync(name, 'utf8'));
  } catch (err) {
    problems.push({ file: name, line: 1, col: 1, message: `cannot read file: ${(err as Error).message}` });
    return undefined;
  }
}

export function checkConfigDir(dir: string): CheckResult {
  const problems: ConfigProblem[] = [];
  let config: CultivateConfig | undefined;
  try {
    config = loadConfig(dir);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }

  // Rules that validate one by one but can never take effect (after loadConfig's own checks).
  const cadence = readSource(dir, CONFIG_FILES.cadence, []);
  const data = cadence?.data();
  if (cadence && data !== undefined) for (const p of trackChecks(data)) problems.push(cadence.at(p.path, p.message));

  let sending: SendingConfig | undefined;
  const sendingFile = readSource(dir, 'sending.yaml', problems);
  if (sendingFile) {
    const raw = sendingFile.data();
    if (raw === undefined) problems.push(...sendingFile.syntaxProblems());
    else {
      const r = SendingConfig.safeParse(raw);
      if (r.success) sending = r.data;
      else problems.push(...sendingFile.zodProblems(r.error.issues, SendingConfig));
    }
  }

  // CRM mappings (optional file): schema, repeated keys, and CRM users mapped to owners that exist.
  const owners = config?.owners.owners.map((o) => o.email);
  problems.push(...checkCrmConfig(dir, owners).problems);

  // Metrics (holdout, costs): its own schema, with positions.
  const metricsFile = join(dir, 'metrics.yaml');
  if (existsSync(metricsFile)) {
    try {
      loadMetricsConfig(dir);
    } catch (err) {
      if (!(err instanceof MetricsConfigError)) throw err;
      problems.push(...err.problems);
    }
  }

  const unique = dedupe(problems);
  const order = [...Object.values(CONFIG_FILES), 'sending.yaml', CRM_CONFIG_FILE, 'metrics.yaml'].map((f) => join(dir, f));
  const rank = (file: string) => {
    const i = order.indexOf(file);
    return i < 0 ? order.length : i;
  };
  unique.sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line || a.col - b.col);
  if (unique.length > 0) return { problems: unique };
  return { problems: [], ...(config && { config }), ...(sending && { sending }) };
}

function dedupe(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}

/** The one-line summary of a valid config. */
export function summary(dir: string, config: CultivateConfig, sending: SendingConfig): string {
  const tracks = config.cadence.tracks.length;
  const items = config.content.items.length;
  const topics = Object.keys(config.content.topics).length;
  const owners = config.owners.owners.length;
  const active = config.owners.owners.filter((o) => o.active).length;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${dir}: OK: ${plural(tracks, 'track')} (${config.cadence.tracks.map((t) => t.id).join(', ')}), ${plural(items, 'content item')} in ${plural(topics, 'topic')}, ${plural(owners, 'owner')} (${active} active), sending from ${sending.sendingDomain}`;
}

/** What controls.yaml switches on, in one line, or undefined when nothing is paused or in dry-run. */
export function controlsSummary(config: CultivateConfig): string | undefined {
  const c = config.controls;
  const on = (key: 'paused' | 'dryRun') => Object.entries(c.tracks).filter(([, t]) => t[key]).map(([id]) => id);
  const parts = [
    c.paused ? 'PAUSED: everything (nothing is sent, no task is assigned)' : on('paused').length > 0 && `PAUSED: track ${on('paused').join(', ')}`,
    c.dryRun ? 'DRY-RUN: every track' : on('dryRun').length > 0 && `DRY-RUN: track ${on('dryRun').join(', ')}`,
  ].filter((p): p is string => typeof p === 'string');
  return parts.length > 0 ? `controls.yaml: ${parts.join('; ')}` : undefined;
}
