/**
 * The whole pipeline on one machine (DESIGN.md §6): the same handlers and the real AWS SDK clients,
 * pointed at DynamoDB Local and a local SES v2 server; an in-process bus routed by the same table as
 * the CDK rules; the same HTTP routes on 127.0.0.1, plus local-only routes to drive the clock.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException, UpdateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { serve, type ServerType } from '@hono/node-server';
import { Logger } from '@aws-lambda-powertools/logger';
import { Hono } from 'hono';
import { DynamoInboxStore, DynamoLunchIndex, DynamoRelationshipStore, documentClient } from '#adapters/dynamo-store';
import { DynamoQuarantine } from '#adapters/dynamo-quarantine';
import { idempotentOn } from '#adapters/idempotency';
import { controlFor } from '#domain/cadence';
import { lunchSettings } from '#domain/lunch';
import { DynamoRelationshipPages } from '#adapters/dynamo-relationship-pages';
import { configDiffRoutes, configPauseRoutes, configRulesRoutes } from '#http/config';
import { DynamoAutoPause } from '#adapters/dynamo-auto-pause';
import { startLocalRules } from '#config/local-rules';
import { sourcesOf } from '#config/rules';
import { DynamoImportLedger } from '#adapters/dynamo-import-ledger';
import { importRoutes, lostDealListers } from '#http/import';
import { LUNCH_INDEX, TTL_ATTRIBUTE, idempotencyTableDefinition, lunchIndexDefinition, tableDefinition } from '#adapters/table';
import type { Planner } from '#domain/planner';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { SesMailer } from '#adapters/ses-mailer';
import { dailyCapFor } from '#config/sending';
import { sendTouch, type SendDeps, sweepDue, type SweepDeps } from '#handlers/send';
import { handleSesEvent } from '#handlers/ses-events';
import { z } from 'zod';
import type { TouchMessage } from '#ports/ports';
import { LocalQueue } from './queue.ts';
import type { FiredTouch } from './routes.ts';
import { handleCrmOutbound, type OutboundMessage, signedWebhookOutbound } from '#handlers/crm-outbound';
import type { IngestDeps } from '#handlers/ingest';
import { handleInboundEnvelope, type RelationshipDeps } from '#handlers/relationship';
import { handleInboundMail, type RepliesDeps } from '#handlers/replies';
import { type CrmRoutesDeps, quarantineRoutes, readRoutes, unsubscribeRoutes, webhookRoutes, withErrors } from '#http/app';
import { DynamoMassCloseCounter } from '#adapters/dynamo-mass-close';
import { DynamoCapacityStore } from '#adapters/dynamo-capacity';
import { DynamoMetricsStore } from '#adapters/dynamo-metrics';
import { loadMetricsConfig } from '#config/metrics';
import { handleMetricsStream, metricsContext } from '#handlers/metrics-stream';
import { metricsApi } from '#http/metrics-api';
import { DynamoFeedTokens } from '#adapters/dynamo-feed-tokens';
import { loadCrmConfig } from '#crm/config';
import { handleCrmNotification, mappingOf, type NormaliseDeps } from '#crm/normalise';
import { deliverToAll, type DeliveryJob, outboundTargets } from '#crm/outbound';
import { crmRegistry } from '#crm/registry';
import { envSettings } from '#crm/settings';
import { ownerContact } from '#crm/owner';
import { createKeyedHasher } from '#shared/hmac';
import { LocalBus } from './bus.ts';
import { LocalClock } from './clock.ts';
import { startDynamoDbLocal } from './dynamodb-local.ts';
import { startSesLocal } from './ses-local.ts';
import { localRoutes, type LocalControl } from './routes.ts';
import { StreamPoller } from './stream-poller.ts';

export { LOCAL_DEFAULT_WEBHOOK_SECRET as DEFAULT_WEBHOOK_SECRET } from '#shared/hmac';
import { LOCAL_DEFAULT_WEBHOOK_SECRET as DEFAULT_WEBHOOK_SECRET } from '#shared/hmac';

export interface LocalStackOptions {
  /** Folder for DynamoDB Local's data and local keys; undefined keeps everything in memory. */
  dataDir?: string;
  /** 0 picks a free port. */
  port?: number;
  webhookSecret?: string;
  clockStart?: Date;
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  outboundWebhookUrl?: string;
  /** Replaces the cadence planner from config/ (tests). */
  planner?: Planner;
  /** Folder of the YAML config (default: config). */
  configDir?: string;
  /** Absolute base URL used in e-mail links (default: this server's own URL). */
  publicBaseUrl?: string;
  /** Sweep the due index every minute of real time, as the deployed schedule does (default true). */
  sweepEveryMinute?: boolean;
  /** CRM settings (`CULTIVATE_HUBSPOT_CLIENT_SECRET`, ...): `npm start` passes the environment. */
  crmEnv?: Record<string, string | undefined>;
}

export interface LocalStack {
  url: string;
  port: number;
  clock: LocalClock;
  bus: LocalBus;
  ddb: DynamoDBClient;
  tableName: string;
  sesEndpoint: string;
  dynamoEndpoint: string;
  webhookSecret: string;
  control: LocalControl;
  /** The CRMs whose settings are present. */
  crms: string[];
  stop(): Promise<void>;
}

const TABLE = 'cultivate-local';
const IDEMPOTENCY_TABLE = 'cultivate-local-idempotency';

async function ensureTable(ddb: DynamoDBClient, def: ReturnType<typeof tableDefinition>, ttl: string): Promise<void> {
  try {
    await ddb.send(new DescribeTableCommand({ TableName: def.TableName }));
    return;
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  await ddb.send(new CreateTableCommand(def));
  await ddb.send(new UpdateTimeToLiveCommand({ TableName: def.TableName, TimeToLiveSpecification: { Enabled: true, AttributeName: ttl } }));
}

/** A table kept from before the lunch index gets it now (DynamoDB Local fills it from the items). */
async function ensureLunchIndex(ddb: DynamoDBClient, tableName: string): Promise<void> {
  const table = (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  if (table?.GlobalSecondaryIndexes?.some((i) => i.IndexName === LUNCH_INDEX)) return;
  await ddb.send(
    new UpdateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [
        { AttributeName: 'lunchPk', AttributeType: 'S' },
        { AttributeName: 'lunchSk', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexUpdates: [{ Create: lunchIndexDefinition() }],
    }),
  );
}

/** The main table's stream ARN; a table kept from before the metrics had no stream: it gets one now. */
async function ensureStream(ddb: DynamoDBClient, tableName: string): Promise<string> {
  const table = (await ddb.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  if (table?.StreamSpecification?.StreamEnabled && table.LatestStreamArn) return table.LatestStreamArn;
  const out = await ddb.send(new UpdateTableCommand({ TableName: tableName, StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }));
  const arn = out.TableDescription?.LatestStreamArn;
  if (!arn) throw new Error(`DynamoDB Local gave table ${tableName} no stream`);
  return arn;
}

/**
 * Local keys (identity hashing, unsubscribe tokens) must not change between runs, or hashes and
 * links stop matching: generated once and kept in the data folder, like a local secret store.
 */
function localKey(dataDir: string | undefined, name: 'identity' | 'unsubscribe', envName: string): string {
  if (process.env[envName]) return process.env[envName] as string;
  if (!dataDir) return randomBytes(32).toString('base64url');
  const file = join(dataDir, `${name}.key`);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64url');
  writeFileSync(file, key, { mode: 0o600 });
  return key;
}

export async function startLocalStack(opts: LocalStackOptions = {}): Promise<LocalStack> {
  const logger = new Logger({ serviceName: 'cultivate-local', logLevel: opts.logLevel ?? 'INFO' });
  const dynamo = await startDynamoDbLocal(opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined);
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const ddb = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'local', credentials });
  await ensureTable(ddb, tableDefinition(TABLE), TTL_ATTRIBUTE);
  await ensureLunchIndex(ddb, TABLE);
  await ensureTable(ddb, idempotencyTableDefinition(IDEMPOTENCY_TABLE), 'expiration');
  const streamArn = await ensureStream(ddb, TABLE);
  const { server: sesServer, endpoint: sesEndpoint } = await startSesLocal();

  const clock = new LocalClock(opts.clockStart);
  const wallClock = { now: () => new Date() };
  const doc = documentClient(ddb);
  const store = new DynamoRelationshipStore(doc, TABLE);
  const inbox = new DynamoInboxStore(doc, TABLE, clock);
  const quarantine = new DynamoQuarantine(doc, TABLE);
  const hasher = createKeyedHasher(localKey(opts.dataDir, 'identity', 'CULTIVATE_IDENTITY_KEY'));
  const unsubscribeKey = localKey(opts.dataDir, 'unsubscribe', 'CULTIVATE_UNSUBSCRIBE_KEY');
  // What paused itself (cadence.yaml autoPause): read at start, before each sweep, after a pause and a resume.
  const autoPause = new DynamoAutoPause(doc, TABLE);
  // The rules in force: the newest published version (cultivate config publish), else config/; a live view.
  const localRules = await startLocalRules({
    doc,
    table: TABLE,
    clock,
    logger,
    configDir: opts.configDir ?? 'config',
    publicBaseUrl: opts.publicBaseUrl ?? 'http://127.0.0.1',
    paused: () => autoPause.pauseSet(),
  });
  const refreshPauses = async () => void (await localRules.source.refreshPauses());
  const config = localRules.source.pipeline;
  const planner = opts.planner ?? config.planner;
  const metricsConfig = config.metrics ?? loadMetricsConfig(opts.configDir ?? 'config');
  const webhookSecret = opts.webhookSecret ?? DEFAULT_WEBHOOK_SECRET;

  const outbound: (OutboundMessage & { targets?: string[] })[] = [];
  const crmConfig = loadCrmConfig(opts.configDir ?? 'config');
  const crmEnv = opts.crmEnv ?? {};
  const crmSettings = envSettings(crmEnv);
  // The public base URL is known once the server listens (port 0 picks one).
  const registry = crmRegistry({
    has: (name) => name === 'CULTIVATE_PUBLIC_BASE_URL' || crmSettings.has(name),
    get: async (name) => (name === 'CULTIVATE_PUBLIC_BASE_URL' ? config.settings.publicBaseUrl : crmSettings.get(name)),
  });
  const remote = opts.outboundWebhookUrl ? signedWebhookOutbound(opts.outboundWebhookUrl, async () => webhookSecret, wallClock) : undefined;
  const targets = outboundTargets({
    adapters: registry.outbound(),
    ctx: (crm) => ({ mapping: mappingOf(crmConfig, crm), logger, owner: (email) => ownerContact(config.owner, email) }),
    ...(remote && { generic: remote }),
    // Every message is also recorded for GET /local/outbound, with the targets it went to.
    extra: { local: async (m) => outbound.push({ ...m, targets: targets.names().filter((t) => t !== 'local') }) },
    logger,
  });
  const deliverJob = idempotentOn((job: DeliveryJob) => targets.deliverJob(job), { client: ddb, tableName: IDEMPOTENCY_TABLE, outsideLambdaTimeoutMs: 30_000 });
  const deliver = (m: OutboundMessage) => deliverToAll(targets, deliverJob, m);

  let relationshipDeps: RelationshipDeps;
  const bus = new LocalBus(
    {
      relationship: (e) => handleInboundEnvelope(relationshipDeps, e.detail),
      crmOutbound: (e) => handleCrmOutbound({ clock, logger, deliver }, e),
      crmNormalise: (e) => handleCrmNotification(normaliseDeps, e.detail),
    },
    logger,
    () => clock.now(),
  );
  relationshipDeps = { clock, store, inbox, publisher: bus, planner, hasher: async () => hasher, logger, holdout: metricsConfig.holdout };
  const normaliseDeps: NormaliseDeps = {
    clock,
    logger,
    inbox,
    publisher: bus,
    quarantine,
    hasher: async () => hasher,
    adapter: (crm) => registry.adapter(crm),
    crmConfig,
    massClose: new DynamoMassCloseCounter(doc, TABLE),
  };

  // The send path: the same sweep and sender as on AWS; the SQS queue is an in-process queue whose
  // concurrency follows the SES sending rate; SES is the local SES v2 server.
  const touches = new DynamoTouchStore(doc, TABLE);
  const ses = new SESv2Client({ endpoint: sesEndpoint, region: 'local', credentials });
  const sentRecords = new Map<string, { relationshipId: string; touchId: string; sentAt: string }>();
  const fired: FiredTouch[] = [];
  const sendDeps: SendDeps = {
    clock,
    touches,
    store,
    mailer: new SesMailer(ses),
    publisher: bus,
    planner,
    logger,
    leaseSeconds: config.sending.leaseSeconds,
    settings: config.settings,
    owner: config.owner,
    content: config.content,
    unsubscribeKey: async () => unsubscribeKey,
    suppressionsFor: async (state) =>
      (await store.getSuppression([...(state.emailHash ? [state.emailHash] : []), ...state.crmIds.map((id) => hasher.crmHash(id))]))?.scopes ?? [],
    onSent: (r) => sentRecords.set(r.messageId, r),
    // Kill switches and dry-run (config/controls.yaml), checked at the final claim.
    controls: (state) => controlFor(config.rules, state),
    // Lunches group one owner's people in one city (cadence.yaml `lunches`, read at each send).
    lunches: { index: new DynamoLunchIndex(doc, TABLE), settings: () => lunchSettings(config.rules) },
    guardrails: {
      capacity: new DynamoCapacityStore(doc, TABLE, (e) => hasher.emailHash(e)),
      get rules() {
        return config.guardrails;
      },
      contactZone: config.contactZone,
      ownerZone: config.ownerZone,
      managerOf: config.managerOf,
    },
  };
  const sendQueue = new LocalQueue<TouchMessage>(
    'send-queue',
    async (m) => {
      const outcome = await sendTouch(sendDeps, m);
      fired.push({ relationshipId: m.relationshipId, touchId: m.touchId, channel: m.channel, kind: m.kind, dueAt: m.dueAt, outcome });
    },
    logger,
    { concurrency: config.sending.sesMaxSendRate, maxAttempts: 5, now: () => clock.now() },
  );
  const sweepDeps: SweepDeps = {
    clock,
    touches,
    store,
    queue: { enqueue: async (ms) => ms.forEach((m) => sendQueue.send(m)) },
    planner,
    logger,
    leaseSeconds: config.sending.leaseSeconds,
    emailBudget: () => {
      const now = clock.now();
      return touches.emailBudget(now.toISOString().slice(0, 10), dailyCapFor(config.sending, now));
    },
  };
  const sweep = async () => {
    const start = fired.length;
    await refreshPauses();
    await sweepDue(sweepDeps);
    await sendQueue.idle();
    return fired.slice(start);
  };

  // Metrics: the table's stream read by a poller standing in for the event source mapping, with
  // the same handler as the Lambda. The local clock is the pipeline's time, so the records' wall
  // clock creation time is dropped and the handler falls back to the clock.
  const metricsStore = new DynamoMetricsStore(doc, TABLE);
  const metricsCtx = metricsContext(config.rules, metricsConfig);
  const streams = new DynamoDBStreamsClient({ endpoint: dynamo.endpoint, region: 'local', credentials });
  const poller = new StreamPoller(
    streams,
    streamArn,
    (shardId, records) =>
      handleMetricsStream(
        { store: metricsStore, context: metricsCtx, shardOf: async () => shardId, logger, clock, autoPause: { rules: () => config.rules, store: autoPause, onPaused: refreshPauses } },
        { Records: records.map((r) => ({ ...r, ...(r.dynamodb && { dynamodb: { ...r.dynamodb, ApproximateCreationDateTime: undefined } }) })) },
      ),
    logger,
    { now: () => clock.now() },
  );

  const control: LocalControl = {
    clock,
    bus,
    logger,
    outbound,
    outbox: async () => {
      const res = await fetch(`${sesEndpoint}/store`);
      const { emails } = (await res.json()) as { emails: { messageId: string }[] };
      // SES's own store has headers and bodies but wall-clock times; sentAt comes from Cultivate's send record.
      const withRecord = emails.flatMap((e) => {
        const record = sentRecords.get(e.messageId);
        return record ? [{ ...e, ...record }] : [];
      });
      return withRecord.sort((a, b) => (a.sentAt < b.sentAt ? -1 : a.sentAt > b.sentAt ? 1 : 0));
    },
    sweep,
    nextDueAt: (until) => touches.earliestDue(until),
    // The send queue, then the metrics: a drain or a clock step ends with the aggregates up to date.
    extraIdle: async () => {
      await sendQueue.idle();
      await poller.drain();
    },
    deadLetters: () => [...sendQueue.deadLetters, ...poller.deadLetters],
  };
  // Replies: the same handler as the inbound-mail Lambda; a message that cannot be read is kept
  // under <data dir>/inbound-quarantine/ (a temporary folder when the data is in memory).
  const quarantineDir = join(opts.dataDir ?? join(tmpdir(), 'cultivate-local'), 'inbound-quarantine');
  const inboundStats: Record<string, number> = {};
  const count = (k: string) => (inboundStats[k] = (inboundStats[k] ?? 0) + 1);
  const repliesDeps: RepliesDeps = {
    clock,
    store,
    inbox,
    publisher: bus,
    logger,
    planner,
    unsubscribeKeys: async () => [unsubscribeKey],
    replyDomain: config.sending.replyDomain,
    skipWeek: (state) => config.skipWeek(state),
    forward: deliver,
    quarantine: async (raw, reason, key) => {
      mkdirSync(quarantineDir, { recursive: true });
      writeFileSync(join(quarantineDir, `${clock.now().toISOString().replace(/[:.]/g, '-')}-${reason}-${key}.eml`), raw, { mode: 0o600 });
    },
  };
  control.inbound = async (raw) => {
    const result = await handleInboundMail(repliesDeps, raw);
    count('received');
    count(result.outcome);
    if (result.class) count(`class:${result.class}`);
    return result;
  };
  control.inboundStats = () => ({ ...inboundStats });

  const ingestDeps: IngestDeps & { beforeIngest: () => Promise<void>; crm: CrmRoutesDeps } = {
    clock,
    wallClock,
    webhookSecrets: async () => [webhookSecret],
    hasher: async () => hasher,
    inbox,
    publisher: bus,
    logger,
    quarantine,
    beforeIngest: () => control.clockIdle?.() ?? Promise.resolve(),
    crm: { registry, ingest: { clock, wallClock, inbox, publisher: bus, logger, quarantine } },
  };
  const app = withErrors(new Hono(), logger);
  app.route('/', webhookRoutes(ingestDeps));
  app.route('/', readRoutes({ store, hasher: async () => hasher }));
  app.route('/', unsubscribeRoutes({ clock, store, inbox, publisher: bus, unsubscribeKeys: async () => [unsubscribeKey], logger }));
  app.route('/', quarantineRoutes({ clock, logger, inbox, publisher: bus, hasher: async () => hasher, adapter: (crm) => registry.adapter(crm), quarantine, allowedOrgIds: () => crmSettings.get('CULTIVATE_SALESFORCE_ORG_IDS') }));
  // cultivate import: past lost deals from a CRM's own search, through the same normaliser.
  app.route('/', importRoutes({ clock, logger, inbox, publisher: bus, ledger: new DynamoImportLedger(doc, TABLE), rule: crmConfig.import, lister: lostDealListers(crmSettings, crmConfig) }));
  // cultivate diff: proposed rules against the live store (the current rules read from the config folder).
  app.route('/', configDiffRoutes({ clock, logger, pages: new DynamoRelationshipPages(doc, TABLE), currentSources: () => sourcesOf(localRules.source.current.files) }));
  app.route('/', configRulesRoutes(localRules.routes));
  app.route('/', configPauseRoutes({ clock, logger, store: autoPause, trackIds: () => config.rules.cadence.tracks.map((t) => t.id), resumed: refreshPauses }));
  app.route('/', metricsApi({ store: () => new DynamoMetricsStore(doc, TABLE), config: metricsConfig, context: metricsCtx, clock, logger, paused: (work) => poller.paused(work), tokens: new DynamoFeedTokens(doc, TABLE), wallClock }));
  app.route('/', localRoutes(control));
  // Local only: SES has no event stream here, so a bounce, complaint or click on a sent message can
  // be injected in the shape SES publishes to EventBridge, and goes through the same handler.
  const SesEventRequest = z.object({ messageId: z.string().min(1), type: z.enum(['bounce', 'complaint', 'click']), link: z.string().url().optional() }).strict();
  app.post('/local/ses-event', async (c) => {
    const parsed = SesEventRequest.safeParse(await c.req.json().catch(() => undefined));
    if (!parsed.success) return c.json({ error: 'body must be {"messageId": "<from /local/outbox>", "type": "bounce" | "complaint" | "click"}', issues: parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message })) }, 400);
    const sent = sentRecords.get(parsed.data.messageId);
    if (!sent) return c.json({ error: 'no e-mail with that messageId in /local/outbox' }, 404);
    const at = clock.now().toISOString();
    const detail = {
      eventType: parsed.data.type === 'bounce' ? 'Bounce' : parsed.data.type === 'complaint' ? 'Complaint' : 'Click',
      mail: { messageId: parsed.data.messageId, timestamp: sent.sentAt, tags: { relationship: [sent.relationshipId], touch: [sent.touchId] } },
      ...(parsed.data.type === 'bounce' && { bounce: { bounceType: 'Permanent', timestamp: at } }),
      ...(parsed.data.type === 'complaint' && { complaint: { timestamp: at } }),
      ...(parsed.data.type === 'click' && { click: { timestamp: at, link: parsed.data.link ?? 'https://example.com/', userAgent: 'Mozilla/5.0' } }),
    };
    const outcome = await handleSesEvent({ clock, store, touches, planner, logger, publisher: bus }, detail);
    return c.json({ outcome });
  });
  const server: ServerType = await new Promise((res) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 3000, hostname: '127.0.0.1' }, () => res(s));
  });
  const port = (server.address() as { port: number }).port;
  if (!opts.publicBaseUrl) config.settings.publicBaseUrl = `http://127.0.0.1:${port}`;
  const timer = opts.sweepEveryMinute === false ? undefined : setInterval(() => void control.sweep?.().catch((err: Error) => logger.error('sweep failed', { error: err.message })), 60_000);
  timer?.unref();
  poller.start();

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    clock,
    bus,
    ddb,
    tableName: TABLE,
    sesEndpoint,
    dynamoEndpoint: dynamo.endpoint,
    webhookSecret,
    control,
    crms: registry.configured(),
    async stop() {
      if (timer) clearInterval(timer);
      await new Promise<void>((res) => server.close(() => res()));
      await new Promise<void>((res) => sesServer.close(() => res()));
      await bus.idle();
      await localRules.idle();
      await sendQueue.idle();
      await poller.stop();
      streams.destroy();
      ddb.destroy();
      ses.destroy();
      await dynamo.stop();
    },
  };
}
