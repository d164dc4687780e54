/**
 * Reads config/crm.yaml (optional: without it every CRM has an empty mapping, so their deals wait
 * in quarantine until one is written) and reports every problem as `file:line:col: message`, like
 * the rest of config/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ConfigProblem } from '#config/load';
import { YamlSource } from '#config/yaml-source';
import { CrmFile } from './mappings.ts';

export const CRM_CONFIG_FILE = 'crm.yaml';

export function checkCrmConfig(dir: string): { problems: ConfigProblem[]; config?: CrmFile } {
  const name = join(dir, CRM_CONFIG_FILE);
  if (!existsSync(name)) return { problems: [], config: CrmFile.parse({}) };
  const source = new YamlSource(name, readFileSync(name, 'utf8'));
  const raw = source.data();
  if (raw === undefined) return { problems: source.syntaxProblems() };
  const parsed = CrmFile.safeParse(raw);
  if (!parsed.success) return { problems: source.zodProblems(parsed.error.issues, CrmFile) };
  const problems: ConfigProblem[] = [];
  // A stage listed as closed-lost in two pipelines is fine; the same pipeline twice (case-insensitive) is a typo.
  for (const crm of ['hubspot', 'salesforce', 'pipedrive'] as const) {
    const m = parsed.data[crm];
    if (!m) continue;
    for (const table of ['closedLostStages', 'lostReasons', 'activityOutcomes', 'contactRoles', 'users'] as const) {
      const seen = new Map<string, string>();
      for (const key of Object.keys(m[table])) {
        const k = key.trim().toLowerCase();
        const first = seen.get(k);
        if (first !== undefined) problems.push(source.at([crm, table, key], `"${key}" repeats "${first}" (keys are compared without case and spaces)`));
        else seen.set(k, key);
      }
    }
  }
  return problems.length > 0 ? { problems } : { problems, config: parsed.data };
}

/** The validated config/crm.yaml; throws a ConfigError listing every problem. */
export function loadCrmConfig(dir: string): CrmFile {
  const { problems, config } = checkCrmConfig(dir);
  if (!config) throw new ConfigError(problems);
  return config;
}
