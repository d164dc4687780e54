/**
 * The local SES v2 server (aws-ses-v2-local) for integration tests: one per test file, its store
 * cleared before each test, and the real SDK client pointed at it. What was "sent" is read back
 * from the server's own store, so a test sees what SES received, not what a fake recorded.
 */
import type { Server } from 'node:http';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import sesLocal from 'aws-ses-v2-local';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/**
 * aws-ses-v2-local is CommonJS with `exports.default`: Node's ESM loader hands back `module.exports`
 * (so `.default` is the function), Vitest's interop hands back the function itself. Accept both.
 */
type StartSes = (config?: Partial<{ host: string; port: number }>) => Promise<Server>;
const sesModule = sesLocal as unknown as StartSes | { default: StartSes };
const startSes: StartSes = typeof sesModule === 'function' ? sesModule : sesModule.default;

export interface StoredEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
  headers?: { name: string; value: string }[];
}

export interface LocalSes {
  readonly endpoint: string;
  readonly client: SESv2Client;
  /** Every e-mail the server received since the test began. */
  all(): Promise<StoredEmail[]>;
  /** Those addressed to `address`. */
  sentTo(address: string): Promise<StoredEmail[]>;
}

/**
 * Registers beforeAll/afterAll/beforeEach hooks; the returned object is filled in by beforeAll, so
 * read its properties inside tests, not at module load.
 */
export function withLocalSes(): LocalSes {
  let server: Server | undefined;
  let endpoint = '';
  let client: SESv2Client | undefined;
  const all = async () => ((await (await fetch(`${endpoint}/store`)).json()) as { emails: StoredEmail[] }).emails;
  const fixture: LocalSes = {
    get endpoint() {
      return endpoint;
    },
    get client() {
      if (!client) throw new Error('the local SES server is not started yet (read it inside a test)');
      return client;
    },
    all,
    sentTo: async (address) => (await all()).filter((e) => e.destination.to.includes(address)),
  };
  beforeAll(async () => {
    server = await startSes({ host: '127.0.0.1', port: 0 });
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    client = new SESv2Client({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => {
    client?.destroy();
    await new Promise<void>((res) => (server ? server.close(() => res()) : res()));
  });
  beforeEach(async () => {
    await fetch(`${endpoint}/clear-store`, { method: 'POST' });
  });
  return fixture;
}
