/**
 * The local stack as a CHILD PROCESS (`node --import tsx bin/local.ts`), driven from outside over
 * HTTP exactly as an integrator or a CRM would (DESIGN.md §6). Everything the process writes to
 * stdout and stderr is kept, so a test can search the logs for personal data (DESIGN.md §5).
 *
 * Each stack gets a fresh data folder (DynamoDB Local's files and the local keys), port 0 and
 * DEBUG logs; `stop()` sends SIGTERM (the process stops DynamoDB Local itself), waits for the exit
 * and removes the folder. The child runs in its own process group, so a stack that does not stop
 * in time is killed with everything it started (Java included).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LOCAL_DEFAULT_WEBHOOK_SECRET, signBody } from '#shared/hmac';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const BANNER = /Cultivate is running locally at (http:\/\/\S+)/;
const DYNAMO_LINE = /DynamoDB Local: (http:\/\/\S+) \(table ([^,\s)]+)/;

export interface StackProcessOptions {
  /** The local clock's start (CULTIVATE_CLOCK_START); default: the real now. */
  clockStart?: string | Date;
  /** Extra environment for the child (overrides the defaults above). */
  env?: Record<string, string>;
  /** How long to wait for the banner (default 90 s: DynamoDB Local on a busy 2-core box). */
  startTimeoutMs?: number;
}

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  /** The body parsed as JSON when it is JSON, else the text. */
  body: T;
  text: string;
}

export interface WebhookOptions {
  /** Signing secret (default: the local stack's default secret). */
  secret?: string;
  /** Unix seconds of the signature (default: the real now: freshness is checked on the wall clock). */
  t?: number;
  /** Replace the whole signature header (or omit it with null). */
  signature?: string | null;
  headers?: Record<string, string>;
}

export interface StackProcess {
  url: string;
  dynamoEndpoint: string;
  tableName: string;
  dataDir: string;
  pid: number;
  /** Everything the child wrote to stdout and stderr so far. */
  logs(): string;
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<HttpResult<T>>;
  get<T = any>(path: string, headers?: Record<string, string>): Promise<HttpResult<T>>;
  /** POST /webhooks/generic, signed: events (an object or an array, sent as JSON) or raw bytes. */
  webhook<T = any>(events: unknown | string | Buffer | Uint8Array, opts?: WebhookOptions): Promise<HttpResult<T>>;
  /** Every item of the main table (real SDK Scan against DynamoDB Local, all pages, unmarshalled). */
  scanTable(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A worker that dies without running afterAll must not leave Node and Java behind.
  process.once('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  });
}

async function asResult<T>(res: Response): Promise<HttpResult<T>> {
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}

export async function startStackProcess(opts: StackProcessOptions = {}): Promise<StackProcess> {
  installExitHook();
  const dataDir = mkdtempSync(join(tmpdir(), 'cultivate-e2e-'));
  const clockStart = opts.clockStart instanceof Date ? opts.clockStart.toISOString() : opts.clockStart;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    CULTIVATE_DATA_DIR: dataDir,
    CULTIVATE_LOG_LEVEL: 'DEBUG',
    ...(clockStart && { CULTIVATE_CLOCK_START: clockStart }),
    ...opts.env,
  };
  // Vitest's own settings must not leak into the pipeline under test.
  delete env.VITEST;
  delete env.VITEST_POOL_ID;
  delete env.VITEST_WORKER_ID;
  delete env.NODE_OPTIONS;

  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.add(child);
  let output = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => (output += d));
  child.stderr?.on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  exited.then(() => running.delete(child));

  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  let url: string;
  let dynamoEndpoint: string;
  let tableName: string;
  try {
    ({ url, dynamoEndpoint, tableName } = await new Promise<{ url: string; dynamoEndpoint: string; tableName: string }>((res, rej) => {
      const timeout = setTimeout(() => finish(new Error(`the local stack printed no banner within ${opts.startTimeoutMs ?? 90_000} ms`)), opts.startTimeoutMs ?? 90_000);
      const check = () => {
        const banner = BANNER.exec(output);
        const dynamo = DYNAMO_LINE.exec(output);
        if (banner?.[1] && dynamo?.[1] && dynamo[2]) finish(undefined, { url: banner[1], dynamoEndpoint: dynamo[1], tableName: dynamo[2] });
      };
      const onExit = (code: number | null) => finish(new Error(`the local stack exited with code ${code} before it was ready`));
      function finish(err?: Error, value?: { url: string; dynamoEndpoint: string; tableName: string }) {
        clearTimeout(timeout);
        child.stdout?.off('data', check);
        child.off('exit', onExit);
        if (err) rej(err);
        else res(value as { url: string; dynamoEndpoint: string; tableName: string });
      }
      child.stdout?.on('data', check);
      child.once('exit', onExit);
      check();
    }));
  } catch (err) {
    killGroup(child, 'SIGKILL');
    await exited;
    cleanup();
    throw new Error(`${(err as Error).message}\n--- output ---\n${output.slice(-4000)}`);
  }

  const ddb = new DynamoDBClient({
    endpoint: dynamoEndpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  const request = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> => {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      if (typeof body === 'string' || body instanceof Uint8Array) init.body = body;
      else {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
      }
    }
    return asResult<T>(await fetch(`${url}${path}`, init));
  };

  let stopped: Promise<void> | undefined;
  return {
    url,
    dynamoEndpoint,
    tableName,
    dataDir,
    pid: child.pid as number,
    logs: () => output,
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path, headers) => request('GET', path, undefined, headers),
    async webhook(events, o = {}) {
      const raw =
        typeof events === 'string' ? Buffer.from(events, 'utf8') : events instanceof Uint8Array ? Buffer.from(events) : Buffer.from(JSON.stringify(events), 'utf8');
      const t = o.t ?? Math.floor(Date.now() / 1000);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...o.headers };
      // The server answers 413 before reading an oversized body and then drops the connection
      // without saying `Connection: close`; a kept-alive socket would fail the next request.
      if (raw.byteLength > 256 * 1024) headers.connection ??= 'close';
      if (o.signature !== null) headers['cultivate-signature'] = o.signature ?? signBody(o.secret ?? LOCAL_DEFAULT_WEBHOOK_SECRET, raw, t);
      return request('POST', '/webhooks/generic', new Uint8Array(raw), headers);
    },
    async scanTable() {
      const items: Record<string, unknown>[] = [];
      let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
      do {
        const out = await ddb.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }));
        for (const item of out.Items ?? []) items.push(unmarshall(item));
        start = out.LastEvaluatedKey;
      } while (start);
      return items;
    },
    stop() {
      stopped ??= (async () => {
        ddb.destroy();
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
          await exited;
          clearTimeout(timer);
        }
        // Anything the stack left in its group (it should have stopped DynamoDB Local itself).
        killGroup(child, 'SIGKILL');
        cleanup();
      })();
      return stopped;
    },
  };
}

/** Every line of `logs` that contains any of `needles` (case-insensitive), for a readable failure. */
export function linesContaining(logs: string, needles: readonly string[]): { needle: string; line: string }[] {
  const hits: { needle: string; line: string }[] = [];
  const lower = needles.map((n) => n.toLowerCase());
  for (const line of logs.split('\n')) {
    const l = line.toLowerCase();
    lower.forEach((n, i) => {
      if (l.includes(n)) hits.push({ needle: needles[i] as string, line: line.slice(0, 500) });
    });
  }
  return hits;
}
