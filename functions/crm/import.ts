/**
 * `cultivate import <crm>`: backfills past lost deals (issue #5). Each CRM's `backfill.ts` pages
 * through the CRM's own search and turns every lost deal into a synthetic notification in exactly
 * the shape that CRM's `normalise` reads for a live closed-lost, so the same normalisation,
 * mappings and quarantine apply; this runner applies the age rule (config/crm.yaml `import`),
 * marks each notification for the normaliser (`ImportMark`), and keeps and publishes them through
 * the same claim check as a webhook, at a bounded rate instead of through the mass-close gate.
 *
 * A run is resumable (the CRM's own cursor comes back while more remains) and repeatable: each
 * deal has a stable notification id (`<crm>:<portal>:import:<deal id>`) recorded in a ledger after
 * publishing, and a deal recorded there is never published again.
 */
import type { z } from 'zod';
import type { Clock, EventPublisher, Logger, NotificationInbox } from '#ports/ports';
import { keepAndPublish } from './ingest.ts';
import type { ImportRule } from './mappings.ts';
import type { MaybeImported } from './normalise.ts';
import type { CrmName, CrmNotification } from './types.ts';

const DAY_MS = 86_400_000;
/** CRM pages one run reads at most: a search whose pages hold nothing in the window (Pipedrive lists by update time) still returns in time. */
export const MAX_PAGES_PER_RUN = 10;
/**
 * No new page is read after this long, so a run whose pages hold nothing to publish (or a dry run,
 * which only lists and reads pages up to its limit) still answers behind an HTTP API (29 s on API
 * Gateway). A real run also stops after the first page it published from: a page of 100 deals at
 * 5 a second takes 20 s, so one call publishes one page and hands back the cursor.
 */
export const RUN_BUDGET_MS = 5_000;

/** The window a CRM search covers: deals lost in [since, until). */
export interface ListWindow {
  since: Date;
  until: Date;
  /** The CRM's own paging cursor, from the previous page. */
  cursor?: string;
}

export interface LostDealPage {
  notifications: CrmNotification[];
  /** Present while more pages remain. */
  cursor?: string;
}

/** One CRM's lost-deal search (each `functions/crm/<crm>/backfill.ts` provides one). */
export type ListLostDeals = (window: ListWindow) => Promise<LostDealPage>;

/** Remembers which notification ids were imported, so a re-run imports nothing twice. */
export interface ImportLedger {
  /** The ids among these that were imported before. */
  seen(ids: readonly string[]): Promise<Set<string>>;
  /** Records them; a record may expire once its deal is past `maxAgeDays` (the age rule skips it then anyway). */
  remember(items: readonly { id: string; expiresAt: Date }[]): Promise<void>;
}

export interface ImportDeps {
  clock: Clock;
  logger: Logger;
  inbox: NotificationInbox;
  publisher: EventPublisher;
  ledger: ImportLedger;
  /** config/crm.yaml `import`. */
  rule: z.infer<typeof ImportRule>;
  /** The CRM's lost-deal search, or the settings it lacks (its API settings are absent). */
  lister(crm: CrmName): ListLostDeals | { missing: string[] };
  /** Notifications published per second (each costs the normaliser several CRM API calls). Default 5. */
  ratePerSecond?: number;
  /** Waits between publish batches (tests record instead of waiting). */
  sleep?: (ms: number) => Promise<void>;
}

export interface ImportOptions {
  /** Default: `maxAgeDays` ago (deals lost before that are skipped anyway). */
  since?: Date;
  /** Default: now. */
  until?: Date;
  /** Lists and counts, publishes and records nothing. */
  dryRun?: boolean;
  /**
   * Stop after the page on which this many deals were listed (a CRM page is never split), after
   * `MAX_PAGES_PER_RUN` pages, or once `RUN_BUDGET_MS` has passed. Default 500. A real run stops
   * after the first page it published anything from, whatever the limit (one page per call).
   */
  limit?: number;
  /** Resume where a previous run stopped. */
  cursor?: string;
}

export interface ImportSummary {
  listed: number;
  /** Lost more than `maxAgeDays` ago: not imported. */
  skippedTooOld: number;
  /** Imported by an earlier run: not published again. */
  alreadyImported: number;
  /** Lost more than `permissionAskOnlyAfterDays` ago: enter nurture with the permission ask only (counted in a dry run too). */
  permissionAskOnly: number;
  /** Published for normalising (0 in a dry run). */
  published: number;
  dryRun: boolean;
  /** Present while more remains: pass it back to continue. */
  cursor?: string;
}

export class ImportNotConfiguredError extends Error {
  constructor(
    readonly crm: CrmName,
    readonly missing: string[],
  ) {
    super(`${crm} import needs its API settings: ${missing.join(', ')}`);
    this.name = 'ImportNotConfiguredError';
  }
}

/** A cursor this import did not hand out (or from another CRM): the caller's mistake, answered 400. */
export class ImportCursorError extends Error {
  constructor(crm: CrmName) {
    super(`the cursor is not one a ${crm} import returned`);
    this.name = 'ImportCursorError';
  }
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runImport(deps: ImportDeps, crm: CrmName, opts: ImportOptions = {}): Promise<ImportSummary> {
  const list = deps.lister(crm);
  if ('missing' in list) throw new ImportNotConfiguredError(crm, list.missing);
  const now = deps.clock.now();
  const oldest = now.getTime() - deps.rule.maxAgeDays * DAY_MS;
  const askOnlyBefore = now.getTime() - deps.rule.permissionAskOnlyAfterDays * DAY_MS;
  const since = opts.since ?? new Date(oldest);
  const until = opts.until ?? now;
  const limit = opts.limit ?? 500;
  const dryRun = opts.dryRun ?? false;
  const summary: ImportSummary = { listed: 0, skippedTooOld: 0, alreadyImported: 0, permissionAskOnly: 0, published: 0, dryRun };

  let cursor = opts.cursor;
  let pages = 0;
  const started = Date.now();
  do {
    pages++;
    const page = await list({ since, until, ...(cursor !== undefined && { cursor }) });
    summary.listed += page.notifications.length;
    const fresh: MaybeImported[] = [];
    for (const n of page.notifications) {
      const lostAt = Date.parse(n.occurredAt);
      if (!(lostAt >= oldest)) summary.skippedTooOld++;
      else fresh.push({ ...n, import: { permissionAskOnly: lostAt < askOnlyBefore } });
    }
    const seen = await deps.ledger.seen(fresh.map((n) => n.id));
    const todo = fresh.filter((n) => !seen.has(n.id));
    summary.alreadyImported += fresh.length - todo.length;
    summary.permissionAskOnly += todo.filter((n) => n.import?.permissionAskOnly).length;
    if (!dryRun) summary.published += await publishPaced(deps, todo);
    cursor = page.cursor;
  } while (cursor !== undefined && (dryRun || summary.published === 0) && summary.listed < limit && pages < MAX_PAGES_PER_RUN && Date.now() - started < RUN_BUDGET_MS);

  if (cursor !== undefined) summary.cursor = cursor;
  deps.logger.info('CRM import ran', { crm, ...summary, cursor: undefined, more: cursor !== undefined });
  return summary;
}

/** Publishes at the configured rate, recording each batch in the ledger once it is on the bus. */
async function publishPaced(deps: ImportDeps, notifications: readonly MaybeImported[]): Promise<number> {
  const perSecond = Math.max(1, Math.floor(deps.ratePerSecond ?? 5));
  const sleep = deps.sleep ?? sleepMs;
  let published = 0;
  for (let i = 0; i < notifications.length; i += perSecond) {
    if (i > 0) await sleep(1000);
    const batch = notifications.slice(i, i + perSecond);
    await keepAndPublish(deps, batch, deps.clock.now());
    // Recorded after publishing: a crash in between publishes again on the next run, and the
    // relationship handler applies each event id once.
    await deps.ledger.remember(batch.map((n) => ({ id: n.id, expiresAt: new Date(Date.parse(n.occurredAt) + (deps.rule.maxAgeDays + 1) * DAY_MS) })));
    published += batch.length;
  }
  return published;
}

