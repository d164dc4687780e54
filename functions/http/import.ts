/**
 * `POST /crm/{crm}/import` (JWT on AWS) and its client, `cultivate import <crm>`: one contract in
 * one place. Body (every field optional):
 *
 *   {"since": "2025-01-01", "until": "2026-11-01T00:00:00Z", "dryRun": true, "limit": 500, "cursor": "..."}
 *
 * 200 with the summary (`listed`, `skippedTooOld`, `alreadyImported`, `permissionAskOnly`,
 * `published`, `dryRun`, and `cursor` while more remains: post again with it); 400 naming every
 * bad field; 404 for a CRM Cultivate does not know or whose API settings are absent (naming
 * them); 502 when the CRM refuses the search; 503 when the bus refuses (retry with the same
 * cursor: what was published is in the ledger and is not published again).
 */
import { parseArgs } from 'node:util';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { hubspotLostDeals } from '#crm/hubspot/backfill';
import { CrmApiError } from '#crm/http-client';
import { type ImportDeps, ImportCursorError, ImportNotConfiguredError, type ImportSummary, type ListLostDeals, runImport } from '#crm/import';
import { type CrmFile, emptyMapping } from '#crm/mappings';
import { pipedriveLostDeals } from '#crm/pipedrive/backfill';
import { salesforceLostDeals } from '#crm/salesforce/backfill';
import { type CrmName, crmNames, type CrmSettings } from '#crm/types';
import { PublishError } from '#ports/ports';
import { zodIssues } from '#shared/zod-issues';

/** Deals one request lists at most (a dry run only lists; a real run stops after its first page, see RUN_BUDGET_MS). */
export const IMPORT_MAX_LIMIT = 2_000;

const when = z.union([z.iso.date(), z.iso.datetime({ offset: true })], { message: 'must be a date (YYYY-MM-DD) or an ISO 8601 instant' });

export const ImportRequest = z
  .strictObject({
    since: when.optional(),
    until: when.optional(),
    dryRun: z.boolean().default(false),
    limit: z.int().min(1).max(IMPORT_MAX_LIMIT).default(500),
    cursor: z.string().min(1).max(2048).optional(),
  })
  .refine((b) => !b.since || !b.until || Date.parse(b.since) < Date.parse(b.until), { message: 'must be before until', path: ['since'] });
export type ImportRequest = z.input<typeof ImportRequest>;

const isCrm = (s: string): s is CrmName => (crmNames as readonly string[]).includes(s);

/** Each CRM's lost-deal search on the deployment's settings and config/crm.yaml mappings. */
export function lostDealListers(settings: CrmSettings, crmConfig: CrmFile): (crm: CrmName) => ListLostDeals | { missing: string[] } {
  return (crm) => {
    if (crm === 'hubspot') return hubspotLostDeals(settings, crmConfig.hubspot ?? emptyMapping);
    if (crm === 'salesforce') return salesforceLostDeals(settings);
    return pipedriveLostDeals(settings);
  };
}

export function importRoutes(deps: ImportDeps): Hono {
  const app = new Hono();
  app.post(
    '/crm/:crm/import',
    bodyLimit({ maxSize: 16 * 1024, onError: (c) => c.json({ error: 'body too large: an import request is a few fields' }, 413) }),
    async (c) => {
      const crm = c.req.param('crm');
      if (!isCrm(crm)) return c.json({ error: `no CRM named ${crm}; one of ${crmNames.join(', ')}` }, 404);
      const text = await c.req.text();
      let body: unknown = {};
      try {
        if (text.trim()) body = JSON.parse(text);
      } catch {
        return c.json({ error: 'the body must be JSON, e.g. {"dryRun": true}' }, 400);
      }
      const parsed = ImportRequest.safeParse(body);
      if (!parsed.success) return c.json({ error: 'invalid request', issues: zodIssues(parsed.error.issues) }, 400);
      const { since, until, dryRun, limit, cursor } = parsed.data;
      // The schema compares the two when both are given; until defaults to now.
      if (since && !until && Date.parse(since) >= deps.clock.now().getTime()) return c.json({ error: 'invalid request', issues: [{ path: 'since', message: 'must be before until (default: now)' }] }, 400);
      try {
        const summary = await runImport(deps, crm, { dryRun, limit, ...(since && { since: new Date(since) }), ...(until && { until: new Date(until) }), ...(cursor && { cursor }) });
        return c.json(summary);
      } catch (err) {
        if (err instanceof ImportNotConfiguredError) return c.json({ error: err.message, missing: err.missing }, 404);
        if (err instanceof ImportCursorError) return c.json({ error: 'invalid request', issues: [{ path: 'cursor', message: err.message }] }, 400);
        if (err instanceof PublishError) return c.json({ error: 'the event bus is not accepting events right now; retry with the same cursor' }, 503);
        if (err instanceof CrmApiError) {
          deps.logger.warn('CRM import search failed', { crm, status: err.status });
          return c.json({ error: `${crm} refused the search (${err.status || 'no answer'}); check its API settings and permissions` }, 502);
        }
        if (err instanceof z.ZodError) {
          // The CRM answered in a shape its documentation does not describe: its fault, not the client's.
          deps.logger.warn('CRM import search answered in an unexpected shape', { crm, paths: err.issues.slice(0, 5).map((i) => i.path.join('.')) });
          return c.json({ error: `${crm} answered the search in an unexpected shape; nothing was imported from that page` }, 502);
        }
        throw err;
      }
    },
  );
  return app;
}

// ------------------------------------------------------------------------------------- the CLI

export const IMPORT_USAGE = [
  '  import <crm> [--since DATE] [--until DATE] [--dry-run] [--url U] [--token T] [--json]',
  '                  backfill past lost deals from hubspot, salesforce or pipedrive (config/crm.yaml `import` sets the age limits;',
  '                  --dry-run counts without publishing; a stopped run resumes with --cursor C)',
].join('\n');

export interface ImportIO {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

const totals = (a: ImportSummary, b: ImportSummary): ImportSummary => ({
  listed: a.listed + b.listed,
  skippedTooOld: a.skippedTooOld + b.skippedTooOld,
  alreadyImported: a.alreadyImported + b.alreadyImported,
  permissionAskOnly: a.permissionAskOnly + b.permissionAskOnly,
  published: a.published + b.published,
  dryRun: b.dryRun,
});

/** `cultivate import <crm> ...`: posts until the CRM has no more pages, then prints the totals. Returns the exit code. */
export async function importCommand(args: string[], io: ImportIO): Promise<number> {
  let values: { since?: string; until?: string; 'dry-run'?: boolean; url?: string; token?: string; cursor?: string; json?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { since: { type: 'string' }, until: { type: 'string' }, 'dry-run': { type: 'boolean' }, url: { type: 'string' }, token: { type: 'string' }, cursor: { type: 'string' }, json: { type: 'boolean' } },
    }));
  } catch (err) {
    io.err(`cultivate import: ${(err as Error).message}\n${IMPORT_USAGE}\n`);
    return 2;
  }
  const crm = positionals[0];
  if (!crm || positionals.length > 1) {
    io.err(`cultivate import: name one CRM (${crmNames.join(', ')})\n${IMPORT_USAGE}\n`);
    return 2;
  }
  const base = (values.url ?? io.env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const token = values.token ?? io.env.CULTIVATE_API_TOKEN;
  const call = io.fetch ?? fetch;
  let total: ImportSummary = { listed: 0, skippedTooOld: 0, alreadyImported: 0, permissionAskOnly: 0, published: 0, dryRun: values['dry-run'] ?? false };
  let cursor = values.cursor;
  do {
    const body = { ...(values.since && { since: values.since }), ...(values.until && { until: values.until }), dryRun: values['dry-run'] ?? false, ...(cursor && { cursor }) };
    const res = await call(`${base}/crm/${encodeURIComponent(crm)}/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      let answer: { error?: string; issues?: { path: string; message: string }[] } = {};
      try {
        answer = JSON.parse(text) as typeof answer;
      } catch {
        answer = { error: text.slice(0, 300) };
      }
      io.err(`cultivate import ${crm}: ${res.status} ${answer.error ?? ''}\n${(answer.issues ?? []).map((i) => `  ${i.path === 'since' || i.path === 'until' ? `--${i.path}` : i.path}: ${i.message}\n`).join('')}`);
      if (total.listed > 0) io.err(`  before that: ${describe(total)}${cursor ? `; resume with --cursor ${cursor}` : ''}\n`);
      return 1;
    }
    const page = JSON.parse(text) as ImportSummary;
    total = totals(total, page);
    cursor = page.cursor;
  } while (cursor);
  io.out(values.json ? `${JSON.stringify(total, null, 2)}\n` : `${crm}: ${describe(total)}\n`);
  return 0;
}

function describe(s: ImportSummary): string {
  const published = s.dryRun ? `${s.listed - s.skippedTooOld - s.alreadyImported} would be imported (dry run: nothing published)` : `${s.published} published`;
  return `${s.listed} lost deals listed, ${s.skippedTooOld} skipped as too old, ${s.alreadyImported} imported before, ${published}, ${s.permissionAskOnly} of them with the permission ask only`;
}
