/**
 * Which of a CRM's own values config/crm.yaml does not cover (`cultivate config check` online,
 * issue #5): pure, from the mapping and what the CRM's API listed (`<crm>/catalog.ts`). Keys are
 * compared as the adapters compare them (case-insensitive, trimmed) and only on what the CRM sends
 * in its records (an id or an option's internal value), so a mapping written with a label that
 * the CRM never sends is reported too, with a hint.
 */
import { touchOutcomes } from '#catalog/events';
import type { CrmMapping } from './mappings.ts';
import type { CrmName } from './types.ts';

/** One value the CRM has: `key` is what its records carry (and the mapping must use), `label` what people see. */
export interface CatalogValue {
  key: string;
  label?: string | undefined;
  /** Other spellings the adapter's lookup also accepts (a Salesforce 15-character id). */
  aliases?: readonly string[];
}

export interface CatalogStage extends CatalogValue {
  /** Closed and not won (HubSpot: closed with probability 0): a stage that should be in closedLostStages. */
  closedLost: boolean;
}

export interface CatalogPipeline extends CatalogValue {
  stages: CatalogStage[];
}

/** What happens to a record whose outcome (or activity type) has no activityOutcomes entry. */
export type UnmappedOutcome = 'quarantined' | 'ignored' | 'done';

/** What one CRM listed. A list that is absent was not checked; `notes` says why. */
export interface CrmCatalog {
  crm: CrmName;
  pipelines?: CatalogPipeline[];
  lostReasons?: { source: string; values: CatalogValue[] };
  outcomes?: { source: string; values: CatalogValue[]; unmapped: UnmappedOutcome; acceptsOutcomeNames: boolean };
  users?: { source: string; values: CatalogValue[] };
  notes: string[];
}

export type FindingKind = 'pipeline' | 'stage' | 'lost-reason' | 'outcome' | 'user';

export interface Finding {
  kind: FindingKind;
  key: string;
  message: string;
}

export interface CoverageReport {
  crm: CrmName;
  /** How many values of each list were compared, e.g. `2 pipelines`. */
  checked: string[];
  findings: Finding[];
  notes: string[];
}

const norm = (s: string) => s.trim().toLowerCase();
const quote = (v: CatalogValue) => (v.label && norm(v.label) !== norm(v.key) ? `"${v.label}" (${v.key})` : `"${v.key}"`);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function mappedKey(table: Record<string, unknown>, value: CatalogValue): string | undefined {
  const wanted = new Set([value.key, ...(value.aliases ?? [])].map(norm));
  return Object.keys(table).find((k) => wanted.has(norm(k)));
}

/** Written with the label the CRM shows, but records carry the key: the lookup will not find it. */
function labelHint(table: Record<string, unknown>, value: CatalogValue): string {
  if (!value.label || norm(value.label) === norm(value.key)) return '';
  const byLabel = Object.keys(table).find((k) => norm(k) === norm(value.label ?? ''));
  return byLabel === undefined ? '' : ` (crm.yaml has its label "${byLabel}", but records carry "${value.key}": use that)`;
}

function pipelineFindings(m: CrmMapping, pipelines: readonly CatalogPipeline[]): Finding[] {
  const out: Finding[] = [];
  for (const p of pipelines) {
    const key = mappedKey(m.closedLostStages, p);
    const candidates = p.stages.filter((s) => s.closedLost);
    if (key === undefined) {
      const hint = candidates.length > 0 ? `; closed-lost candidates: ${candidates.map((s) => s.key).join(', ')}` : '';
      out.push({ kind: 'pipeline', key: p.key, message: `pipeline ${quote(p)} has no closedLostStages entry: deals closing there are quarantined${labelHint(m.closedLostStages, p)}${hint}` });
      continue;
    }
    const listed = m.closedLostStages[key] ?? [];
    for (const stage of listed) {
      const known = p.stages.find((s) => mappedKey({ [stage]: true }, s) !== undefined);
      if (!known) out.push({ kind: 'stage', key: stage, message: `closedLostStages.${key} lists "${stage}", which is not a stage id of pipeline ${quote(p)}` });
    }
    for (const s of candidates) {
      if (!listed.some((l) => mappedKey({ [l]: true }, s) !== undefined))
        out.push({ kind: 'stage', key: s.key, message: `stage ${quote(s)} of pipeline ${quote(p)} is closed and not won, but not in closedLostStages.${key}: deals lost there are not nurtured` });
    }
  }
  return out;
}

const OUTCOME_CONSEQUENCE: Record<UnmappedOutcome, string> = {
  quarantined: 'completed Cultivate tasks with it are quarantined',
  ignored: 'done activities of this type are ignored',
  done: 'it is recorded as outcome "done"',
};

/** Every value of the CRM that config/crm.yaml does not map, with what happens to it today. */
export function coverage(m: CrmMapping, catalog: CrmCatalog): CoverageReport {
  const findings: Finding[] = [];
  const checked: string[] = [];
  if (catalog.pipelines) {
    checked.push(plural(catalog.pipelines.length, 'pipeline'));
    findings.push(...pipelineFindings(m, catalog.pipelines));
  }
  if (catalog.lostReasons) {
    checked.push(plural(catalog.lostReasons.values.length, 'lost reason'));
    const fallback = m.defaultLostReason ? `defaultLostReason (${m.defaultLostReason}) catches it` : 'no defaultLostReason, so deals lost with it are quarantined';
    for (const v of catalog.lostReasons.values)
      if (mappedKey(m.lostReasons, v) === undefined)
        findings.push({ kind: 'lost-reason', key: v.key, message: `lost reason ${quote(v)} (${catalog.lostReasons.source}) has no lostReasons entry: ${fallback}${labelHint(m.lostReasons, v)}` });
  }
  if (catalog.outcomes) {
    const { source, values, unmapped, acceptsOutcomeNames } = catalog.outcomes;
    checked.push(plural(values.length, 'outcome'));
    for (const v of values) {
      if (mappedKey(m.activityOutcomes, v) !== undefined) continue;
      if (acceptsOutcomeNames && (touchOutcomes as readonly string[]).includes(norm(v.key))) continue;
      findings.push({ kind: 'outcome', key: v.key, message: `${source} ${quote(v)} has no activityOutcomes entry: ${OUTCOME_CONSEQUENCE[unmapped]}${labelHint(m.activityOutcomes, v)}` });
    }
  }
  if (catalog.users) {
    checked.push(plural(catalog.users.values.length, 'user'));
    for (const v of catalog.users.values)
      if (mappedKey(m.users, v) === undefined)
        findings.push({ kind: 'user', key: v.key, message: `${catalog.users.source} ${quote(v)} has no users entry: relationships owned there get the fallback owner (owners.yaml)` });
  }
  return { crm: catalog.crm, checked, findings, notes: catalog.notes };
}
