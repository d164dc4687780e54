/**
 * `cultivate config check [dir]`: validates every file in the config folder in one pass and
 * reports every problem as `file:line:col: message`.
 *
 * - cadence.yaml, content.yaml, owners.yaml: `loadConfig` (schemas and cross-file checks), plus
 *   the cadence checks of `track-checks.ts` (rules that can never take effect);
 * - sending.yaml: the `SendingConfig` schema, with positions;
 * - crm.yaml (optional): the CRM mappings, and CRM users mapped to owners that exist in owners.yaml;
 * - metrics.yaml (optional): holdout and costs.
 *
 * Online (`crmCoverage`): for each CRM whose API settings are present (or named with --crm), its
 * pipelines, lost reasons, outcomes and users that crm.yaml does not map, as warnings.
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
import { coverage, type CoverageReport, type CrmCatalog } from '#crm/coverage';
import { emptyMapping, type CrmFile, type CrmMapping } from '#crm/mappings';
import { envSettings } from '#crm/settings';
import type { CrmName, CrmSettings } from '#crm/types';
import { hubspotApiFromSettings } from '#crm/hubspot/api';
import { hubspotCatalog } from '#crm/hubspot/catalog';
import { HUBSPOT_SETTINGS } from '#crm/hubspot/settings';
import { createSalesforceApi } from '#crm/salesforce/api';
import { salesforceCatalog } from '#crm/salesforce/catalog';
import { SF } from '#crm/salesforce/settings';
import { pipedriveApiFromSettings } from '#crm/pipedrive/api';
import { pipedriveCatalog } from '#crm/pipedrive/catalog';
import { PIPEDRIVE_SETTINGS } from '#crm/pipedrive/index';

export interface CheckResult {
  problems: ConfigProblem[];
  /** Set when there are no problems. */
  config?: CultivateConfig;
  sending?: SendingConfig;
  crm?: CrmFile;
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
  const crmChecked = checkCrmConfig(dir, owners);
  problems.push(...crmChecked.problems);

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
  return { problems: [], ...(config && { config }), ...(sending && { sending }), ...(crmChecked.config && { crm: crmChecked.config }) };
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

/** The settings each CRM's API needs to list its values (the webhook secrets are not needed here). */
export const CATALOG_SETTINGS: Record<CrmName, readonly string[]> = {
  hubspot: [HUBSPOT_SETTINGS.token],
  salesforce: [SF.apiUrl, SF.clientId, SF.clientSecret],
  pipedrive: [PIPEDRIVE_SETTINGS.apiToken],
};

async function readCatalog(crm: CrmName, settings: CrmSettings, mapping: CrmMapping): Promise<CrmCatalog> {
  if (crm === 'hubspot') return hubspotCatalog(await hubspotApiFromSettings(settings), mapping);
  if (crm === 'salesforce') return salesforceCatalog(createSalesforceApi(settings), mapping);
  return pipedriveCatalog(await pipedriveApiFromSettings(settings));
}

export type CoverageOutcome = { crm: CrmName; report: CoverageReport } | { crm: CrmName; error: string };

/**
 * Asks each CRM for its values and compares them with crm.yaml. `requested`: the CRMs named with
 * --crm (each must have its settings: an error names the missing ones); undefined: every CRM whose
 * settings are present, and none otherwise.
 */
export async function crmCoverage(crm: CrmFile, env: Record<string, string | undefined>, requested?: readonly CrmName[]): Promise<CoverageOutcome[]> {
  const settings = envSettings(env);
  const missing = (name: CrmName) => CATALOG_SETTINGS[name].filter((s) => !settings.has(s));
  const crms = requested ?? (Object.keys(CATALOG_SETTINGS) as CrmName[]).filter((name) => missing(name).length === 0);
  return Promise.all(
    crms.map(async (name): Promise<CoverageOutcome> => {
      const absent = missing(name);
      if (absent.length > 0) return { crm: name, error: `missing setting${absent.length === 1 ? '' : 's'} ${absent.join(', ')}` };
      const mapping = crm[name] ?? emptyMapping;
      try {
        return { crm: name, report: coverage(mapping, await readCatalog(name, settings, mapping)) };
      } catch (err) {
        // The client's errors name the call and the status, never a body or a secret.
        return { crm: name, error: `cannot read its values: ${(err as Error).message}` };
      }
    }),
  );
}

/** The report of one CRM as lines: a summary, then every warning and note. */
export function formatCoverage(report: CoverageReport): string[] {
  const n = report.findings.length;
  const verdict = n === 0 ? 'everything is mapped' : `${n} unmapped`;
  return [
    `${report.crm}: checked ${report.checked.join(', ') || 'nothing'} against crm.yaml: ${verdict}`,
    ...report.findings.map((f) => `${report.crm}: warning: ${f.message}`),
    ...report.notes.map((note) => `${report.crm}: note: ${note}`),
  ];
}
