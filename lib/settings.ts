/**
 * Every CDK context setting the Cultivate stack reads, with its default and meaning.
 * Set them in cdk.json ("context") or on the command line: `npx cdk deploy -c alarmEmail=ops@example.com`.
 * Values given on the command line arrive as strings; `readSettings` parses them.
 */
import { readFileSync } from 'node:fs';
import type { IConstruct } from 'constructs';
import { parse } from 'yaml';

export interface ContextSetting {
  readonly key: string;
  readonly default: string | number | undefined;
  readonly description: string;
  /** Synth fails without it (cdk.json carries a documented placeholder so a fresh clone synthesizes). */
  readonly required?: boolean;
  /** The documented placeholder value: synth warns while it is in use. */
  readonly placeholder?: string;
}

/** Placeholders in cdk.json: fine for `cdk synth` on a fresh clone, never for a real deployment. */
export const PLACEHOLDER_PUBLIC_BASE_URL = 'https://nurture.example.com';
export const PLACEHOLDER_SENDING_DOMAIN = 'mail.seller.example';

export const contextSettings = [
  { key: 'stackName', default: 'Cultivate', description: 'CloudFormation stack name.' },
  { key: 'busName', default: 'cultivate', description: 'Name of the custom EventBridge bus.' },
  { key: 'logRetentionDays', default: 30, description: 'Retention in days of every Lambda and API access log group.' },
  {
    key: 'jwtIssuer',
    default: undefined,
    description: 'JWT issuer URL for the protected API routes; unset: the stack creates a Cognito user pool and uses it.',
  },
  {
    key: 'jwtAudience',
    default: undefined,
    description: 'JWT audience(s), a string or comma-separated list; required when jwtIssuer is set.',
  },
  {
    key: 'outboundWebhookUrl',
    default: undefined,
    description: 'CRM endpoint the CRM outbound function posts tasks, briefs and consent changes to (optional).',
  },
  { key: 'alarmEmail', default: undefined, description: 'E-mail address subscribed to the alarm topic (optional).' },
  { key: 'apiThrottleRateLimit', default: 50, description: 'Default-stage steady-state request rate limit (requests per second).' },
  { key: 'apiThrottleBurstLimit', default: 100, description: 'Default-stage burst limit (requests).' },
  {
    key: 'publicBaseUrl',
    default: undefined,
    required: true,
    placeholder: PLACEHOLDER_PUBLIC_BASE_URL,
    description: 'https:// base URL of the public API (custom domain or stage URL); unsubscribe links are built on it. Required.',
  },
  {
    key: 'sendingDomain',
    default: PLACEHOLDER_SENDING_DOMAIN,
    placeholder: PLACEHOLDER_SENDING_DOMAIN,
    description: 'Sending subdomain: the SES identity (Easy DKIM, MAIL FROM bounce.<domain>); must equal sendingDomain in config/sending.yaml.',
  },
  {
    key: 'sesMaxSendRate',
    default: 14,
    description: "The SES account's maximum send rate (per second): the sender's maximum concurrency (2 to 1000).",
  },
  {
    key: 'sweeperReservedConcurrency',
    default: 2,
    description: 'Reserved concurrency of the due sweeper; 0 reserves none (for accounts whose concurrency quota is 10).',
  },
  {
    key: 'crmReservedConcurrency',
    default: 2,
    description: 'Reserved concurrency of the CRM normaliser and the CRM outbound function (bounds calls to CRM APIs); 0 reserves none.',
  },
  {
    key: 'salesforceEventRelaySource',
    default: undefined,
    description: 'A Salesforce Event Relay partner event source (aws.partner/salesforce.com/<orgId>/<channelId>): adds its partner bus, a rule with a DLQ and the relay function.',
  },
] as const satisfies readonly ContextSetting[];

export type ContextKey = (typeof contextSettings)[number]['key'];

export interface Settings {
  readonly stackName: string;
  readonly busName: string;
  readonly logRetentionDays: number;
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: readonly string[];
  readonly outboundWebhookUrl: string | undefined;
  readonly alarmEmail: string | undefined;
  readonly apiThrottleRateLimit: number;
  readonly apiThrottleBurstLimit: number;
  readonly publicBaseUrl: string;
  readonly sendingDomain: string;
  readonly sesMaxSendRate: number;
  readonly sweeperReservedConcurrency: number;
  readonly crmReservedConcurrency: number;
  readonly salesforceEventRelaySource: string | undefined;
}

function raw(scope: IConstruct, key: ContextKey): unknown {
  const value: unknown = scope.node.tryGetContext(key);
  return value === '' || value === null ? undefined : value;
}

function str(scope: IConstruct, key: ContextKey, fallback: string): string;
function str(scope: IConstruct, key: ContextKey, fallback?: undefined): string | undefined;
function str(scope: IConstruct, key: ContextKey, fallback?: string): string | undefined {
  const value = raw(scope, key);
  if (value === undefined) return fallback;
  if (typeof value !== 'string') throw new Error(`context "${key}" must be a string, got ${JSON.stringify(value)}`);
  return value.trim();
}

function num(scope: IConstruct, key: ContextKey, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const value = raw(scope, key);
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new Error(`context "${key}" must be an integer ${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** An https:// URL without query, fragment or credentials; returned without a trailing slash. */
function httpsBaseUrl(scope: IConstruct, key: ContextKey, meaning: string): string {
  const value = str(scope, key);
  if (value === undefined) {
    throw new Error(
      `context "${key}" is required: ${meaning}. Set it in cdk.json ("context") or with -c ${key}=https://...`,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`context "${key}" must be an https:// URL (${meaning}), got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' || url.search || url.hash || url.username || url.password) {
    throw new Error(`context "${key}" must be an https:// URL without query, fragment or credentials (${meaning}), got ${value}`);
  }
  return value.replace(/\/+$/, '');
}

const DOMAIN = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

function list(scope: IConstruct, key: ContextKey): string[] {
  const value = raw(scope, key);
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : String(value).split(',');
  return items.map((s) => String(s).trim()).filter((s) => s.length > 0);
}

/** Reads and validates every setting from the construct tree's context. */
export function readSettings(scope: IConstruct): Settings {
  const jwtIssuer = str(scope, 'jwtIssuer');
  const jwtAudience = list(scope, 'jwtAudience');
  if (jwtIssuer !== undefined && !jwtIssuer.startsWith('https://')) {
    throw new Error(`context "jwtIssuer" must be an https:// URL, got ${jwtIssuer}`);
  }
  if (jwtIssuer !== undefined && jwtAudience.length === 0) {
    throw new Error('context "jwtAudience" is required when "jwtIssuer" is set');
  }
  const outboundWebhookUrl = str(scope, 'outboundWebhookUrl');
  if (outboundWebhookUrl !== undefined && !outboundWebhookUrl.startsWith('https://')) {
    throw new Error(`context "outboundWebhookUrl" must be an https:// URL, got ${outboundWebhookUrl}`);
  }
  const sendingDomain = str(scope, 'sendingDomain', PLACEHOLDER_SENDING_DOMAIN).toLowerCase();
  if (!DOMAIN.test(sendingDomain)) {
    throw new Error(`context "sendingDomain" must be a domain name such as mail.seller.example, got ${JSON.stringify(sendingDomain)}`);
  }
  return {
    stackName: str(scope, 'stackName', 'Cultivate'),
    busName: str(scope, 'busName', 'cultivate'),
    logRetentionDays: num(scope, 'logRetentionDays', 30),
    jwtIssuer,
    jwtAudience,
    outboundWebhookUrl,
    alarmEmail: str(scope, 'alarmEmail'),
    apiThrottleRateLimit: num(scope, 'apiThrottleRateLimit', 50),
    apiThrottleBurstLimit: num(scope, 'apiThrottleBurstLimit', 100),
    publicBaseUrl: httpsBaseUrl(scope, 'publicBaseUrl', 'the public API base URL that unsubscribe links point to'),
    sendingDomain,
    // Lambda's SQS event source accepts a maximum concurrency from 2 to 1000.
    sesMaxSendRate: num(scope, 'sesMaxSendRate', 14, 2, 1000),
    sweeperReservedConcurrency: num(scope, 'sweeperReservedConcurrency', 2, 0, 10),
    crmReservedConcurrency: num(scope, 'crmReservedConcurrency', 2, 0, 20),
    salesforceEventRelaySource: str(scope, 'salesforceEventRelaySource'),
  };
}

/** The fields of config/sending.yaml the stack cross-checks (present only when the file has them). */
export interface SendingYamlFacts {
  readonly sendingDomain?: string;
  readonly sesMaxSendRate?: number;
  readonly leaseSeconds?: number;
  readonly replyDomain?: string;
}

/**
 * Reads config/sending.yaml for the synth-time cross-checks. Deliberately lenient: the functions
 * validate the whole file (strict schema) at cold start; the stack only needs these three facts.
 */
export function readSendingYaml(file: string): SendingYamlFacts {
  const doc: unknown = parse(readFileSync(file, 'utf8'));
  if (typeof doc !== 'object' || doc === null) throw new Error(`${file}: expected a YAML mapping`);
  const d = doc as Record<string, unknown>;
  return {
    ...(typeof d.sendingDomain === 'string' && { sendingDomain: d.sendingDomain }),
    ...(typeof d.sesMaxSendRate === 'number' && { sesMaxSendRate: d.sesMaxSendRate }),
    ...(typeof d.leaseSeconds === 'number' && { leaseSeconds: d.leaseSeconds }),
    ...(typeof d.replyDomain === 'string' && { replyDomain: d.replyDomain }),
  };
}
