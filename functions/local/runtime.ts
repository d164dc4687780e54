/**
 * The whole pipeline on one machine (DESIGN.md §6): the same handlers and the real AWS SDK clients,
 * pointed at DynamoDB Local and a local SES v2 server; an in-process bus routed by the same table as
 * the CDK rules; the same HTTP routes on 127.0.0.1, plus local-only routes to drive the clock.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { serve, type ServerType } from '@hono/node-server';
import { Logger } from '@aws-lambda-powertools/logger';
import { Hono } from 'hono';
import sesLocalModule from 'aws-ses-v2-local';
import { DynamoInboxStore, DynamoRelationshipStore, documentClient } from '#adapters/dynamo-store';
import { idempotentOn } from '#adapters/idempotency';
import { TTL_ATTRIBUTE, idempotencyTableDefinition, tableDefinition } from '#adapters/table';
import { firstTouchPlanner, type Planner } from '#domain/planner';
import { handleCrmOutbound, type OutboundMessage, signedWebhookOutbound } from '#handlers/crm-outbound';
import type { IngestDeps } from '#handlers/ingest';
import { handleInboundEnvelope, type RelationshipDeps } from '#handlers/relationship';
import { readRoutes, webhookRoutes, withErrors } from '#http/app';
import { createKeyedHasher } from '#shared/hmac';
import { LocalBus } from './bus.ts';
import { LocalClock } from './clock.ts';
import { startDynamoDbLocal } from './dynamodb-local.ts';
import { localRoutes, type LocalControl } from './routes.ts';

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
  planner?: Planner;
}

export interface LocalStack {
  url: string;
  port: number;
  clock: LocalClock;
  bus: LocalBus;
  ddb: DynamoDBClient;
  tableName: string;
  sesEndpoint: string;
  webhookSecret: string;
  control: LocalControl;
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

/** The identity key must not change between runs (hashes would no longer match): kept in the data folder. */
function localIdentityKey(dataDir: string | undefined): string {
  if (process.env.CULTIVATE_IDENTITY_KEY) return process.env.CULTIVATE_IDENTITY_KEY;
  if (!dataDir) return randomBytes(32).toString('base64url');
  const file = join(dataDir, 'identity.key');
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
  await ensureTable(ddb, idempotencyTableDefinition(IDEMPOTENCY_TABLE), 'expiration');
  const ses: Server = await sesLocalModule.default({ host: '127.0.0.1', port: 0 });
  const sesEndpoint = `http://127.0.0.1:${(ses.address() as { port: number }).port}`;

  const clock = new LocalClock(opts.clockStart);
  const wallClock = { now: () => new Date() };
  const doc = documentClient(ddb);
  const store = new DynamoRelationshipStore(doc, TABLE);
  const inbox = new DynamoInboxStore(doc, TABLE, clock);
  const hasher = createKeyedHasher(localIdentityKey(opts.dataDir));
  const webhookSecret = opts.webhookSecret ?? DEFAULT_WEBHOOK_SECRET;

  const outbound: OutboundMessage[] = [];
  const remote = opts.outboundWebhookUrl ? signedWebhookOutbound(opts.outboundWebhookUrl, async () => webhookSecret, wallClock) : undefined;
  const deliver = idempotentOn(
    async (m: OutboundMessage) => {
      await remote?.deliver(m);
      outbound.push(m);
      return { delivered: m.key };
    },
    { client: ddb, tableName: IDEMPOTENCY_TABLE },
  );

  let relationshipDeps: RelationshipDeps;
  const bus = new LocalBus(
    {
      relationship: (e) => handleInboundEnvelope(relationshipDeps, e.detail),
      crmOutbound: (e) => handleCrmOutbound({ clock, logger, deliver }, e),
    },
    logger,
    () => clock.now(),
  );
  relationshipDeps = { clock, store, inbox, publisher: bus, planner: opts.planner ?? firstTouchPlanner, hasher: async () => hasher, logger };

  const control: LocalControl = { clock, bus, logger, outbound, outbox: async () => [], sweep: undefined, nextDueAt: undefined };
  const ingestDeps: IngestDeps & { beforeIngest: () => Promise<void> } = {
    clock,
    wallClock,
    webhookSecrets: async () => [webhookSecret],
    hasher: async () => hasher,
    inbox,
    publisher: bus,
    logger,
    beforeIngest: () => control.clockIdle?.() ?? Promise.resolve(),
  };
  const app = withErrors(new Hono(), logger);
  app.route('/', webhookRoutes(ingestDeps));
  app.route('/', readRoutes({ store, hasher: async () => hasher }));
  app.route('/', localRoutes(control));

  const server: ServerType = await new Promise((res) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 3000, hostname: '127.0.0.1' }, () => res(s));
  });
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    clock,
    bus,
    ddb,
    tableName: TABLE,
    sesEndpoint,
    webhookSecret,
    control,
    async stop() {
      await new Promise<void>((res) => server.close(() => res()));
      await new Promise<void>((res) => ses.close(() => res()));
      await bus.idle();
      ddb.destroy();
      await dynamo.stop();
    },
  };
}
