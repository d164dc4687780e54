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

/** `owners`: the owner e-mails of owners.yaml, when known: a CRM user mapped to anyone else is an error. */
export function checkCrmConfig(dir: string, owners?: readonly string[]): { problems: ConfigProblem[]; config?: CrmFile } {
  const name = join(dir, CRM_CONFIG_FILE);
  if (!existsSync(name)) return { problems: [], config: CrmFile.parse({}) };
  const source = new YamlSource(name, readFileSync(name, 'utf8'));
  const raw = source.data();
  if (raw === undefined) return { problems: source.syntaxProblems() };
  const problems: ConfigProblem[] = [];
  // Read defensively from the raw data, so an unknown owner is reported with a typo elsewhere, in one pass.
  if (owners && raw && typeof raw === 'object') {
    const known = new Set(owners.map((o) => o.toLowerCase()));
    for (const crm of ['hubspot', 'salesforce', 'pipedrive'] as const) {
      const users = (raw as Record<string, { users?: unknown } | undefined>)[crm]?.users;
      if (!users || typeof users !== 'object') continue;
      for (const [user, email] of Object.entries(users as Record<string, unknown>)) {
        if (typeof email === 'string' && !known.has(email.toLowerCase())) problems.push(source.at([crm, 'users', user], `${email} is not an owner in owners.yaml`));
      }
    }
  }
  const parsed = CrmFile.safeParse(raw);
  if (!parsed.success) return { problems: [...source.zodProblems(parsed.error.issues, CrmFile), ...problems] };
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
