/**
 * The feed read benchmark (issue #7: "feed read time and DynamoDB reads per request at 10,000 and
 * at 1,000,000 people: the same order"). Part of `npm run bench`; alone: `npx tsx bench/feed.ts`.
 *
 * What it does. DynamoDB Local (in memory) gets one table per population. Each is filled with the
 * aggregates a population of that size produces, then `GET /metrics` (default range: twelve weeks),
 * `/metrics.csv`, `/metrics/feed.json` and `GET /metrics?owners=true` are requested through the real
 * routes (`metricsRoutes`, Hono `app.request`) on the real store (`DynamoMetricsStore`), up to
 * BENCH_FEED_N times each (after one warm-up request per route for the first population). Per route
 * it prints the median and p95 time, and per request the queries, the items read and the read units
 * DynamoDB reports (the `Cultivate-Read-Units` header), then the 1M / 10k ratios. No assertion on
 * time: timings depend on the machine; the ratios are what to compare. The first three routes must
 * be the same order at both sizes; `owners=true` asks for every owner's numbers, so it grows with
 * the number of owners by design and is reported, not held to that.
 *
 * The population (synthetic, deterministic). One owner per 300 people, as sales teams are staffed:
 * 34 owners at 10,000 people, 3,334 at 1,000,000. Per owner and week, Poisson counts of what
 * 300 people in nurture produce (the rates are in OWNER_WEEK below: about 3 new losses, 35 value
 * e-mails, 5 tasks, replies, meetings, deals, bounces...), 10 % of accounts held out (no touches).
 * Each count becomes a timeline entry run through the real `factsOf` and `deltasOf` (the stream
 * handler's own code) and counted that many times; its person, day and dimensions are drawn anew for
 * every owner and week, so the items and their cardinality are those the live stream would write. Guards are not written: they live in
 * the people's own partitions, which no feed request reads. Only the partitions the requests read are
 * written (13 weeks from the feed's first and their owner partitions `AGG#W#<week>#O`, the gauges,
 * the cohort months): each request is one Query per partition, so partitions it does not name cost
 * it nothing.
 *
 * What it found (DynamoDB Local in memory, a 2-core box; times vary with the machine, items and read
 * units do not), with the per-owner counters in their own partitions (schema version 2):
 *
 *   people     owners route                      n  median ms    p95 ms  queries     items  read units        bytes
 *   10,000         34 GET /metrics              10       95.2     119.5       18     3,416        28.5       48,574
 *   10,000         34 GET /metrics.csv          10       60.9      92.8       14     3,238        26.5      167,084
 *   10,000         34 GET /metrics/feed.json    10       57.4      79.2       13     3,220        26.0       16,458
 *   10,000         34 GET /metrics?owners=true  10      114.9     144.8       31     6,860        64.5       64,485
 *   1,000,000   3,334 GET /metrics              10       79.4     121.7       18     4,434        38.0       71,305
 *   1,000,000   3,334 GET /metrics.csv          10       62.8      89.7       14     4,210        33.0      227,922
 *   1,000,000   3,334 GET /metrics/feed.json    10       46.8      64.4       13     4,192        32.5       17,406
 *   1,000,000   3,334 GET /metrics?owners=true   3    5,259.1   5,604.9       44   338,712     3,195.0    1,617,121
 *
 *   1M / 10k, GET /metrics, /metrics.csv, /metrics/feed.json: queries 1.0x, items 1.3x, read units
 *   1.2-1.3x, time 0.8-1.0x: the same order. GET /metrics?owners=true: items 49.4x, read units 49.5x,
 *   queries 1.4x, time 46x, for 98x the owners: it grows with owners, by design.
 *   (Run after touch.sent stopped being crossed with the group: a week's owner partition at 1M holds
 *   25,893 items, 19,347 `owner` and 6,546 `group+owner`.)
 *
 * Why. Every dimension but one stays within a few dozen values whatever the population; owners grow
 * with it. A week held 556 items at 34 owners and 29,540 at 3,334, 29,227 of them per owner (`owner`
 * and `group+owner`), and every route read them: 53-56x the items and read units from 10k to 1M
 * (before this change `GET /metrics` read 7,238 → 381,989 items, 65.5 → 3,546.5 read units: the
 * items of the `owners=true` row now, whose read units are a little higher for its extra query per
 * week, each rounded up; those numbers are from before touch.sent stopped being crossed with the
 * group). Those counters now live in `AGG#W#<week>#O` / `AGG#M#<month>#O`
 * (functions/domain/metrics/deltas.ts), read only with `owners=true` and by /dashboard/owners; a
 * week's period partition holds 253 items at 10k and 318 at 1M. What still grows
 * a little (1.3x): small dimensions filling up at volume (providers × series and the like: 13 → 25
 * provider items a week) and the survival items (more distinct event days per entry date, bounded by
 * MAX_SURVIVAL_DAY); both are bounded, neither follows the number of people. Queries are the same
 * at both sizes: no partition the flat routes read passes DynamoDB's 1 MB page any more; with owners
 * each week's owner partition is ~2.5 MB at 1M, two or three pages each (31 → 44 queries). The 10k times
 * include the code warming up (it is the first population measured), which is why 1M reads faster;
 * the time ratio says "flat", nothing finer.
 * The CSV without owners is 224 KB at 1M, well inside Lambda's 6 MB response limit. With
 * `owners=true` it carries the same rows as the 25.5 MB CSV measured before this change, which would
 * fail on AWS: docs/metrics.md ("CSV size") says so and what to ask for instead.
 *
 * The run takes about 1.5 minutes on that box when nothing else runs (4.5 when shared), most of it
 * writing the 385,000 items of the 1M population into DynamoDB Local. Each route stops measuring
 * after ROUTE_BUDGET_MS, so the 1M `owners=true` row is a few requests; BENCH_FEED_N and
 * BENCH_FEED_ROUTE_SECONDS change that.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoMetricsStore } from '#adapters/dynamo-metrics';
import { batchWrite, documentClient } from '#adapters/dynamo-store';
import { tableDefinition } from '#adapters/table';
import { contactRoles, Horizon, lostReasons } from '#catalog/events';
import { loadConfig } from '#config/load';
import { loadMetricsConfig, type MetricsConfig } from '#config/metrics';
import { deltasOf, GAUGE_PK, keyString, ownerPeriodPk, periodPk } from '#domain/metrics/deltas';
import { type FactContext, factsOf, type Image } from '#domain/metrics/facts';
import type { Group } from '#domain/metrics/holdout';
import { weekStart } from '#domain/metrics/feed';
import { isoWeek } from '#domain/metrics/periods';
import type { Delta, Fact, Profile, Provider, TaskInfo } from '#domain/metrics/types';
import { stages } from '#domain/types';
import { metricsContext } from '#handlers/metrics-stream';
import { metricsRoutes } from '#http/metrics';
import { startDynamoDbLocal } from '#local/dynamodb-local';
import type { Clock, Logger } from '#ports/ports';

const DAY_MS = 86_400_000;
/** The routes' clock: fixed, so every run reads the same weeks. */
const NOW = new Date('2026-11-20T12:00:00.000Z');
const POPULATIONS = [10_000, 1_000_000] as const;
const PEOPLE_PER_OWNER = 300;
/**
 * Activity is simulated from the Monday of the earliest week any of the three requests reads: the
 * feed's twelve weeks and the week before them (the report's default 83 days start later).
 */
const SIMULATION_START = weekStart(isoWeek(NOW)).getTime() - 12 * 7 * DAY_MS;
const HOLDOUT_PERCENT = 10;
/** Requests measured per route; fewer when a route's measured time passes ROUTE_BUDGET_MS (at least one). */
const REQUESTS = Number(process.env.BENCH_FEED_N ?? 10);
const ROUTE_BUDGET_MS = Number(process.env.BENCH_FEED_ROUTE_SECONDS ?? 15) * 1000;
/** Parallel BatchWriteItem calls while filling a table. */
const WRITERS = 8;
const ROUTES = ['/metrics', '/metrics.csv', '/metrics/feed.json', '/metrics?owners=true'] as const;
/** Routes whose reads grow with the number of owners by design (they ask for per-owner numbers): reported, not held to "the same order". */
const GROWS_WITH_OWNERS: ReadonlySet<string> = new Set(['/metrics?owners=true']);
/** The dimensions kept in the owner partitions (functions/domain/metrics/deltas.ts). */
const OWNER_DIMENSIONS = ['owner', 'group+owner'] as const;

// Deterministic randomness (the same population on every run).
let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
function weighted<T extends string>(weights: Readonly<Record<T, number>>): T {
  const entries = Object.entries(weights) as [T, number][];
  let r = rand() * entries.reduce((s, [, w]) => s + w, 0);
  for (const [v, w] of entries) if ((r -= w) < 0) return v;
  return (entries[entries.length - 1] as [T, number])[0];
}
/** A Poisson count of mean `mean` (Knuth below 30, the normal approximation above). */
function poisson(mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) {
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rand(); p > limit; p *= rand()) k++;
  return k;
}

const PROVIDERS: Readonly<Record<Provider, number>> = { other: 60, gmail: 20, outlook: 12, yahoo: 5, unknown: 3 };
const TASK_KINDS = ['thank-you-note', 'permission-ask', 'introduction'] as const;

interface EventKind {
  type: string;
  /** Mean count per owner and week, among that owner's ~300 people (nurtured group). */
  perOwnerWeek: number;
  /** Also happens in the holdout (which gets no touches): CRM outcomes and losses. */
  holdout?: boolean;
  /** The episode this event belongs to began this many days earlier at most (0: it begins now). */
  episodeDays: number;
  entry: () => { summary: string; detail?: Record<string, string | number | boolean> };
  task?: (at: string) => TaskInfo;
}

/** What ~300 people in nurture produce in a week (a lost deal gets ~12 e-mails over six months). */
const OWNER_WEEK: readonly EventKind[] = [
  { type: 'lead-closed-lost', perOwnerWeek: 3, holdout: true, episodeDays: 0, entry: () => ((r) => ({ summary: `Closed lost: ${r}`, detail: { reason: r } }))(pick(lostReasons)) },
  { type: 'email-sent', perOwnerWeek: 35, episodeDays: 180, entry: () => ({ summary: 'E-mail sent', detail: { channel: 'email', kind: 'value-email', contentId: pick(CONTENT_IDS) } }) },
  { type: 'task-assigned', perOwnerWeek: 5, episodeDays: 30, entry: () => ({ summary: 'Task assigned', detail: { channel: 'task', kind: pick(TASK_KINDS) } }) },
  {
    type: 'touch-completed',
    perOwnerWeek: 4,
    episodeDays: 30,
    entry: () => ({ summary: 'Task completed', detail: { outcome: weighted({ done: 60, 'no-answer': 10, 'left-message': 8, 'no-future': 7, 'future-opportunity': 8, 'next-step': 7 }) } }),
    // Four in five on time; the rest a few days late.
    task: (at) => ({ dueAt: new Date(Date.parse(at) - (rand() < 0.8 ? 0 : 3) * DAY_MS - 3_600_000).toISOString(), kind: pick(TASK_KINDS) }),
  },
  { type: 'touch-skipped', perOwnerWeek: 1, episodeDays: 180, entry: () => ({ summary: `Touch skipped: ${pick(['suppressed: topic', 'no longer allowed at send time', 'content x not in the library'])}`, detail: { channel: pick(['email', 'task']) } }) },
  { type: 'touch-pushed', perOwnerWeek: 2, episodeDays: 180, entry: () => ({ summary: 'Touch pushed', detail: { channel: 'email', reason: pick(['send-window', 'owner-capacity', 'min-gap', 'holiday', 'company-holiday', 'weekend']) } }) },
  { type: 'touch-unknown', perOwnerWeek: 0.01, episodeDays: 180, entry: () => ({ summary: 'Touch outcome unknown', detail: { channel: 'email' } }) },
  { type: 'contact-replied', perOwnerWeek: 0.7, episodeDays: 180, entry: () => ({ summary: 'Replied', detail: { classification: rand() < 0.2 ? 'missed-me' : 'human' } }) },
  { type: 'meeting-booked', perOwnerWeek: 0.3, holdout: true, episodeDays: 365, entry: () => ({ summary: 'Meeting booked' }) },
  { type: 'deal-created', perOwnerWeek: 0.2, holdout: true, episodeDays: 365, entry: () => ({ summary: 'Deal created', detail: { amount: 5000 + Math.round(rand() * 45_000) } }) },
  { type: 'deal-reopened', perOwnerWeek: 0.1, holdout: true, episodeDays: 365, entry: () => ({ summary: 'Deal reopened' }) },
  { type: 'deal-won', perOwnerWeek: 0.08, holdout: true, episodeDays: 365, entry: () => ({ summary: 'Deal won', detail: { amount: 5000 + Math.round(rand() * 45_000) } }) },
  { type: 'email-hard-bounce', perOwnerWeek: 0.35, episodeDays: 180, entry: () => ({ summary: 'Hard bounce' }) },
  { type: 'email-complaint', perOwnerWeek: 0.02, episodeDays: 180, entry: () => ({ summary: 'Complaint' }) },
  { type: 'email-clicked', perOwnerWeek: 1.4, episodeDays: 180, entry: () => ({ summary: 'Clicked', detail: { likelyScanner: rand() < 0.3 } }) },
  { type: 'consent-changed', perOwnerWeek: 0.2, episodeDays: 180, entry: () => ({ summary: 'Consent changed', detail: { action: weighted({ 'stop-topic': 45, 'stop-all-email': 45, 'do-not-contact': 10 }) } }) },
  { type: 'referral-received', perOwnerWeek: 0.03, holdout: true, episodeDays: 365, entry: () => ({ summary: 'Referral received' }) },
];

const config = loadConfig('config');
const CONTENT_IDS = config.content.items.map((i) => i.id);
/** The shipped holdout is 0 (off); a team with this volume would run one (the example: 10 %). */
const shipped = loadMetricsConfig('config');
const metricsConfig: MetricsConfig = { ...shipped, holdout: { ...shipped.holdout, percent: HOLDOUT_PERCENT } };
const context = metricsContext(config, metricsConfig);

/** Where current relationships stand (the stage gauge), as shares of the population. */
const STAGE_SHARES: Readonly<Partial<Record<(typeof stages)[number], number>>> = { nurturing: 0.6, 're-engaged': 0.05, 'in-deal': 0.03, customer: 0.07, retired: 0.25 };

/** Partitions the requests read: the weeks and their owner partitions (`AGG#W#<week>#O`), the gauges, the cohort months (not the months). */
const readByFeed = (pk: string) => pk.startsWith('AGG#W#') || pk === GAUGE_PK || pk.startsWith('AGG#S#');

/** The aggregate items of a population, keyed like the table (pk, sk), from the real fact and delta code. */
function aggregatesOf(people: number): Map<string, Delta> {
  const owners = Math.ceil(people / PEOPLE_PER_OWNER);
  const items = new Map<string, Delta>();
  const add = (d: Delta, times: number) => {
    if (!readByFeed(d.key.pk)) return;
    const id = keyString(d.key);
    const cur = items.get(id) ?? { key: d.key, add: {} };
    for (const [a, v] of Object.entries(d.add)) cur.add[a] = (cur.add[a] ?? 0) + v * times;
    items.set(id, cur);
  };
  let entryNo = 0;
  for (let week = 0; SIMULATION_START + week * 7 * DAY_MS < NOW.getTime(); week++) {
    // The current week has only run until NOW.
    const days = Math.min(7, (NOW.getTime() - SIMULATION_START) / DAY_MS - week * 7);
    for (let o = 0; o < owners; o++) {
      const owner = `owner-${String(o).padStart(5, '0')}@seller.example`;
      for (const kind of OWNER_WEEK) {
        for (const group of ['nurtured', 'holdout'] as const) {
          if (group === 'holdout' && !kind.holdout) continue;
          const share = group === 'holdout' ? HOLDOUT_PERCENT / 100 : 1 - HOLDOUT_PERCENT / 100;
          const count = poisson((kind.perOwnerWeek * share * days) / 7);
          if (count === 0) continue;
          // One entry stands for the week's count; its person, day and dimensions are drawn anew for
          // every owner and week, so the small dimensions are all present at either size.
          const at = new Date(SIMULATION_START + (week * 7 + rand() * days) * DAY_MS).toISOString();
          for (const fact of factsOfEvent(kind, at, owner, group, ++entryNo)) for (const d of deltasOf(fact)) add(d, count);
        }
      }
    }
  }
  for (const [stage, share] of Object.entries(STAGE_SHARES) as [string, number][]) {
    for (const group of ['nurtured', 'holdout'] as const) {
      const n = Math.round(people * share * (group === 'holdout' ? HOLDOUT_PERCENT / 100 : 1 - HOLDOUT_PERCENT / 100));
      for (const d of deltasOf({ metric: 'relationships', at: NOW.toISOString(), dims: { stage, group }, gauge: 1 })) add(d, n);
    }
  }
  return items;
}

/** One timeline entry of this kind, as the stream delivers it, through the stream handler's fact code. */
function factsOfEvent(kind: EventKind, at: string, owner: string, group: Group, n: number): Fact[] {
  const id = `bench-${n}`;
  const lostAt = kind.episodeDays === 0 ? at : new Date(Date.parse(at) - (1 + rand() * kind.episodeDays) * DAY_MS).toISOString();
  const { summary, detail } = kind.entry();
  const profile: Profile = {
    relationshipId: id,
    accountId: `acct-${n}`,
    group,
    owner,
    role: pick(contactRoles),
    horizon: pick(Horizon.options),
    provider: weighted(PROVIDERS),
    episode: { lostAt, reason: typeof detail?.reason === 'string' ? detail.reason : pick(lostReasons) },
    lastContentId: pick(CONTENT_IDS),
  };
  const image: Image = { pk: `REL#${id}`, sk: `TL#${at}#${kind.type}:${n}`, e: { at, eventId: `${kind.type}:${n}`, type: kind.type, summary, ...(detail && { detail }) } };
  const ctx: FactContext = { ...context, at, profile, ...(kind.task && { task: kind.task(at) }) };
  return factsOf(undefined, image, ctx);
}

async function fill(doc: DynamoDBDocumentClient, table: string, items: Map<string, Delta>): Promise<void> {
  const puts = [...items.values()].map((d) => ({ PutRequest: { Item: { ...d.key, ...d.add } } }));
  let next = 0;
  const chunk = 500;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < puts.length) {
        const from = next;
        next += chunk;
        await batchWrite(doc, table, puts.slice(from, from + chunk));
      }
    }),
  );
}

/** The real store, counting the items its queries return (the route resets its own statistics). */
class CountingStore extends DynamoMetricsStore {
  itemsRead = 0;
  override async partition(pk: string): Promise<Record<string, unknown>[]> {
    const items = await super.partition(pk);
    this.itemsRead += items.length;
    return items;
  }
}

interface RouteResult {
  route: string;
  /** Requests measured. */
  n: number;
  medianMs: number;
  p95Ms: number;
  queries: number;
  items: number;
  readUnits: number;
  bytes: number;
}

const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
const silent: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

/** `warmUp`: one unmeasured request per route first (the first population; the code is warm after it). */
async function measure(doc: DynamoDBDocumentClient, table: string, warmUp: boolean): Promise<RouteResult[]> {
  let last: CountingStore | undefined;
  const clock: Clock = { now: () => NOW };
  const app = metricsRoutes({ store: () => (last = new CountingStore(doc, table)), config: metricsConfig, context, clock, logger: silent });
  const results: RouteResult[] = [];
  for (const route of ROUTES) {
    const times: number[] = [];
    let sample: Omit<RouteResult, 'route' | 'n' | 'medianMs' | 'p95Ms'> | undefined;
    for (let i = warmUp ? 0 : 1; i <= REQUESTS; i++) {
      if (times.length > 0 && times.reduce((a, b) => a + b, 0) >= ROUTE_BUDGET_MS) break;
      const t0 = performance.now();
      const res = await app.request(`http://cultivate.bench${route}`);
      const body = await res.text();
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`${route} answered ${res.status}: ${body.slice(0, 300)}`);
      if (i === 0) continue; // warm-up
      times.push(ms);
      const now = { queries: Number(res.headers.get('Cultivate-Read-Queries')), items: last?.itemsRead ?? 0, readUnits: Number(res.headers.get('Cultivate-Read-Units')), bytes: Buffer.byteLength(body) };
      if (sample && (sample.items !== now.items || sample.queries !== now.queries)) throw new Error(`${route}: two requests read differently (${JSON.stringify(sample)} vs ${JSON.stringify(now)})`);
      sample = now;
    }
    times.sort((a, b) => a - b);
    results.push({ route, n: times.length, medianMs: quantile(times, 0.5), p95Ms: quantile(times, 0.95), ...(sample as NonNullable<typeof sample>) });
  }
  return results;
}

/** How one week's items split by partition and dimension: what grows with the population, and where it lives. */
function weekBreakdown(items: Map<string, Delta>): { week: string; total: number; owners: number; byDimension: Record<string, number> } {
  const period = isoWeek(new Date(NOW.getTime() - 7 * DAY_MS));
  const week = periodPk('week', period);
  const ownerWeek = ownerPeriodPk('week', period);
  const byDimension: Record<string, number> = {};
  let total = 0;
  let owners = 0;
  for (const { key } of items.values()) {
    if (key.pk === ownerWeek) owners++;
    else if (key.pk === week) total++;
    else continue;
    const dim = key.sk.split('#')[2] ?? '?';
    byDimension[dim] = (byDimension[dim] ?? 0) + 1;
  }
  return { week: period, total, owners, byDimension };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function feedBench(): Promise<void> {
  const started = performance.now();
  console.log(`\nfeed reads (GET /metrics, /metrics.csv, /metrics/feed.json, /metrics?owners=true through metricsRoutes, DynamoDB Local), up to ${REQUESTS} requests per route (${ROUTE_BUDGET_MS / 1000} s each at most)`);
  const server = await startDynamoDbLocal();
  const client = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 });
  const doc = documentClient(client);
  const rows: { people: number; owners: number; results: RouteResult[]; breakdown: ReturnType<typeof weekBreakdown> }[] = [];
  try {
    for (const people of POPULATIONS) {
      const table = `cultivate-bench-${people}`;
      // No stream: nothing consumes it here, and DynamoDB Local would record every write for it.
      const { StreamSpecification: _stream, ...definition } = tableDefinition(table);
      await client.send(new CreateTableCommand(definition));
      const t0 = performance.now();
      const items = aggregatesOf(people);
      const t1 = performance.now();
      await fill(doc, table, items);
      const t2 = performance.now();
      const owners = Math.ceil(people / PEOPLE_PER_OWNER);
      console.log(`  ${fmt(people)} people, ${fmt(owners)} owners: ${fmt(items.size)} aggregate items (generated in ${fmt((t1 - t0) / 1000, 1)} s, written in ${fmt((t2 - t1) / 1000, 1)} s)`);
      rows.push({ people, owners, results: await measure(doc, table, rows.length === 0), breakdown: weekBreakdown(items) });
    }
  } finally {
    client.destroy();
    await server.stop();
  }

  const header = ['people', 'owners', 'route', 'n', 'median ms', 'p95 ms', 'queries', 'items', 'read units', 'bytes'];
  const widths = [10, 7, 24, 3, 10, 9, 8, 9, 11, 12];
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' ')}`;
  console.log(line(header));
  for (const r of rows) {
    for (const x of r.results) {
      console.log(line([fmt(r.people), fmt(r.owners), `GET ${x.route}`, String(x.n), fmt(x.medianMs, 1), fmt(x.p95Ms, 1), fmt(x.queries), fmt(x.items), fmt(x.readUnits, 1), fmt(x.bytes)]));
    }
  }
  const [small, large] = rows as [(typeof rows)[number], (typeof rows)[number]];
  console.log(`\n  ${fmt(large.people)} / ${fmt(small.people)} ratios (expectation: the same order, i.e. well under 10x, except where per-owner numbers are asked for)`);
  const ratio = (a: number, b: number) => (b > 0 ? a / b : a > 0 ? Infinity : 1);
  let sameOrder = true;
  for (const [i, x] of large.results.entries()) {
    const s = small.results[i] as RouteResult;
    const r = { time: ratio(x.medianMs, s.medianMs), queries: ratio(x.queries, s.queries), items: ratio(x.items, s.items), units: ratio(x.readUnits, s.readUnits) };
    const worst = Math.max(r.time, r.queries, r.items, r.units);
    const byDesign = GROWS_WITH_OWNERS.has(x.route);
    if (worst >= 10 && !byDesign) sameOrder = false;
    const verdict = byDesign ? `grows with owners by design (${fmt(large.owners / small.owners, 1)}x the owners)` : worst < 10 ? 'same order' : 'NOT the same order';
    console.log(
      `  GET ${x.route.padEnd(21)} time ${fmt(r.time, 1).padStart(6)}x  queries ${fmt(r.queries, 1).padStart(5)}x  items ${fmt(r.items, 1).padStart(6)}x  read units ${fmt(r.units, 1).padStart(6)}x  ${verdict}`,
    );
  }
  console.log(`\n  one week's items (${small.breakdown.week}) by dimension; ${[...OWNER_DIMENSIONS].join(' and ')} are in the week's owner partition, read only with owners=true:`);
  const dims = [...new Set([...Object.keys(small.breakdown.byDimension), ...Object.keys(large.breakdown.byDimension)])].sort(
    (a, b) => (large.breakdown.byDimension[b] ?? 0) - (large.breakdown.byDimension[a] ?? 0),
  );
  for (const d of dims.slice(0, 8)) {
    console.log(`    ${d.padEnd(16)} ${fmt(small.breakdown.byDimension[d] ?? 0).padStart(8)} items at ${fmt(small.people)}  ${fmt(large.breakdown.byDimension[d] ?? 0).padStart(8)} at ${fmt(large.people)}`);
  }
  console.log(`    ${'week partition'.padEnd(16)} ${fmt(small.breakdown.total).padStart(8)} items at ${fmt(small.people)}  ${fmt(large.breakdown.total).padStart(8)} at ${fmt(large.people)}`);
  console.log(`    ${'owner partition'.padEnd(16)} ${fmt(small.breakdown.owners).padStart(8)} items at ${fmt(small.people)}  ${fmt(large.breakdown.owners).padStart(8)} at ${fmt(large.people)}`);
  // Time per item read, against the cheapest route: a route far above it spends its time after the reads.
  const perItem = large.results.map((x) => x.medianMs / Math.max(1, x.items));
  const cheapest = Math.min(...perItem);
  for (const [i, x] of large.results.entries()) {
    const times = (perItem[i] as number) / cheapest;
    if (times >= 3) {
      console.log(`\n  GET ${x.route} takes ${fmt(times, 1)}x the time per item read of the cheapest route at ${fmt(large.people)}: the time goes to processing the rows, not to DynamoDB.`);
    }
  }
  if (!sameOrder) {
    console.log('\n  NOT the same order for a route that should be flat: see the week breakdown above for the dimension that grows, and the header of bench/feed.ts.');
  }
  console.log(`\n  feed bench took ${fmt((performance.now() - started) / 1000, 0)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await feedBench();
