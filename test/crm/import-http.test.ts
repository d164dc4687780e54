/**
 * `POST /crm/{crm}/import` (functions/http/import.ts) and `cultivate import <crm>` against a local
 * Hono server with those routes: the zod-checked body, the answers for a wrong CRM, missing
 * settings, a bad cursor and a refusing CRM, and the CLI following the cursor to the end (in
 * process, and once as the real `bin/cultivate.ts`).
 */
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CrmApiError } from '#crm/http-client';
import { type ImportDeps, ImportCursorError, type ListLostDeals } from '#crm/import';
import type { CrmName, CrmNotification } from '#crm/types';
import { importCommand, importRoutes } from '#http/import';
import { MemoryInbox, RecordingPublisher, fixedClock, recordingLogger } from '../helpers/fixtures.ts';
import { MemoryImportLedger } from '../helpers/import.ts';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const DAY = 86_400_000;
const deal = (id: number, ageDays: number): CrmNotification => ({
  id: `pipedrive:8087566:import:${id}`,
  crm: 'pipedrive',
  portal: '8087566',
  kind: 'import.change.deal',
  occurredAt: new Date(NOW.getTime() - ageDays * DAY).toISOString(),
  payload: {},
});
// 25 deals, 10 a page: three pages; one too old, five past the permission-ask-only age.
const DEALS = Array.from({ length: 25 }, (_, i) => deal(i + 1, i === 0 ? 900 : i <= 5 ? 300 : 30));

const listed: { since: string; until: string; cursor?: string }[] = [];
const pipedrive: ListLostDeals = async (w) => {
  listed.push({ since: w.since.toISOString(), until: w.until.toISOString(), ...(w.cursor && { cursor: w.cursor }) });
  if (w.cursor !== undefined && !/^\d+$/.test(w.cursor)) throw new ImportCursorError('pipedrive');
  const start = Number(w.cursor ?? 0);
  return { notifications: DEALS.slice(start, start + 10), ...(start + 10 < DEALS.length && { cursor: String(start + 10) }) };
};
const refusing: ListLostDeals = async () => {
  throw new CrmApiError('salesforce GET /services/data/v62.0/query answered 403', 403, false);
};

const publisher = new RecordingPublisher();
const inbox = Object.assign(new MemoryInbox(), {
  putNotifications: async () => undefined,
  getNotification: async () => undefined,
});
const deps: ImportDeps = {
  clock: fixedClock(NOW),
  logger: recordingLogger(),
  inbox,
  publisher,
  ledger: new MemoryImportLedger(),
  rule: { maxAgeDays: 730, permissionAskOnlyAfterDays: 180 },
  lister: (crm: CrmName) => (crm === 'pipedrive' ? pipedrive : crm === 'salesforce' ? refusing : { missing: ['CULTIVATE_HUBSPOT_TOKEN'] }),
  ratePerSecond: 100,
};

let server: ReturnType<typeof serve>;
let url = '';
beforeAll(async () => {
  const app = importRoutes(deps);
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), env: { CULTIVATE_URL: url } } };
}

describe('POST /crm/{crm}/import', () => {
  it('answers one part with the summary and a cursor, without publishing on a dry run', async () => {
    const r = await post('/crm/pipedrive/import', { dryRun: true, limit: 10, since: '2024-01-01', until: '2026-11-20T00:00:00Z' });
    expect(r).toEqual({ status: 200, body: { listed: 10, skippedTooOld: 1, alreadyImported: 0, permissionAskOnly: 5, published: 0, dryRun: true, cursor: '10' } });
    expect(listed.at(-1)).toEqual({ since: '2024-01-01T00:00:00.000Z', until: '2026-11-20T00:00:00.000Z' });
    expect(publisher.calls).toBe(0);
  });

  it('names every bad field', async () => {
    const r = await post('/crm/pipedrive/import', { since: 'last year', limit: 0, dryRun: 'yes', extra: 1 });
    expect(r.status).toBe(400);
    // An unknown key is named by itself (functions/shared/zod-issues.ts).
    expect((r.body.issues as { path: string }[]).map((i) => i.path).sort()).toEqual(['dryRun', 'extra', 'limit', 'since']);
    expect(await post('/crm/pipedrive/import', { since: '2026-06-01', until: '2026-01-01' })).toMatchObject({ status: 400, body: { issues: [{ path: 'since', message: 'must be before until' }] } });
    // until defaults to now (2026-11-20 12:00 here).
    expect(await post('/crm/pipedrive/import', { since: '2026-12-01' })).toMatchObject({ status: 400, body: { issues: [{ path: 'since', message: 'must be before until (default: now)' }] } });
    expect(await post('/crm/pipedrive/import', '{not json')).toMatchObject({ status: 400 });
  });

  it('answers 404 for an unknown CRM and for one without API settings, naming them', async () => {
    expect(await post('/crm/zoho/import', {})).toMatchObject({ status: 404, body: { error: 'no CRM named zoho; one of hubspot, salesforce, pipedrive' } });
    expect(await post('/crm/hubspot/import', {})).toMatchObject({ status: 404, body: { missing: ['CULTIVATE_HUBSPOT_TOKEN'] } });
  });

  it('answers 400 for a cursor the CRM did not hand out, 502 when the CRM refuses', async () => {
    expect(await post('/crm/pipedrive/import', { cursor: 'abc' })).toMatchObject({ status: 400, body: { issues: [{ path: 'cursor' }] } });
    expect(await post('/crm/salesforce/import', {})).toMatchObject({ status: 502, body: { error: expect.stringMatching(/salesforce refused the search \(403\)/) } });
  });

  it('answers 502, not 500, when the CRM answers the search in a shape its documentation does not describe', async () => {
    const oddShape: ListLostDeals = async () => {
      z.object({ results: z.array(z.unknown()) }).parse({ unexpected: true });
      return { notifications: [] };
    };
    const app = importRoutes({ ...deps, lister: () => oddShape });
    const res = await app.request('/crm/pipedrive/import', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toContain('unexpected shape');
  });
});

describe('cultivate import <crm>', () => {
  it('follows the cursor to the end and prints the totals; a second run imports nothing again', async () => {
    const first = io();
    expect(await importCommand(['pipedrive'], first.io)).toBe(0);
    expect(first.out.join('')).toBe('pipedrive: 25 lost deals listed, 1 skipped as too old, 0 imported before, 24 published, 5 of them with the permission ask only\n');
    expect(publisher.ofType('crm-notification')).toHaveLength(24);
    const second = io();
    expect(await importCommand(['pipedrive', '--json'], second.io)).toBe(0);
    expect(JSON.parse(second.out.join(''))).toEqual({ listed: 25, skippedTooOld: 1, alreadyImported: 24, permissionAskOnly: 0, published: 0, dryRun: false });
  });

  it('says what went wrong, with the flag that caused it, and exits 1', async () => {
    const run = io();
    expect(await importCommand(['pipedrive', '--since', 'yesterday'], run.io)).toBe(1);
    expect(run.err.join('')).toMatch(/400 invalid request\n {2}--since: must be a date/);
    const usage = io();
    expect(await importCommand([], usage.io)).toBe(2);
    expect(usage.err.join('')).toMatch(/name one CRM/);
  });

  it('runs as `bin/cultivate.ts import` with --dry-run and --url', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'bin/cultivate.ts', 'import', 'pipedrive', '--dry-run', '--url', url], { cwd: process.cwd(), env: { ...process.env, NO_COLOR: '1' } });
    expect(stdout).toBe('pipedrive: 25 lost deals listed, 1 skipped as too old, 24 imported before, 0 would be imported (dry run: nothing published), 0 of them with the permission ask only\n');
  }, 30_000);
});
