/**
 * What Pipedrive has that config/crm.yaml should map, for `cultivate config check`: the company's
 * predefined lost reasons (the options of the `lost_reason` deal field), the active activity
 * types (by key, as activities carry them) and the active users. Closed-lost is a deal's status,
 * so stages need no mapping and are not listed.
 */
import type { CrmCatalog } from '../coverage.ts';
import type { PipedriveApi } from './api.ts';

export async function pipedriveCatalog(api: PipedriveApi): Promise<CrmCatalog> {
  const notes: string[] = [];
  const [fields, types, users] = await Promise.all([api.dealFields(), api.activityTypes(), api.users()]);
  const lost = fields.find((f) => f.key === 'lost_reason');
  const options = lost?.options ?? [];
  // Deals carry the reason's text, and reps may type their own when free-form reasons are allowed.
  if (options.length === 0) notes.push('Pipedrive has no predefined lost reasons (free-form only), so they cannot be listed: not checked');
  return {
    crm: 'pipedrive',
    ...(options.length > 0 && { lostReasons: { source: 'Pipedrive lost reasons', values: options.map((o) => ({ key: o.label })) } }),
    outcomes: {
      source: 'activity type',
      values: types.filter((t) => t.active_flag !== false).map((t) => ({ key: t.key_string, label: t.name ?? undefined })),
      unmapped: 'ignored',
      acceptsOutcomeNames: false,
    },
    users: { source: 'user', values: users.filter((u) => u.active_flag !== false).map((u) => ({ key: String(u.id), label: u.email ?? u.name ?? undefined })) },
    notes,
  };
}
