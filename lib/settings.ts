/**
 * Every CDK context setting the Cultivate stack reads, with its default and meaning.
 * Set them in cdk.json ("context") or on the command line: `npx cdk deploy -c alarmEmail=ops@example.com`.
 * Values given on the command line arrive as strings; `readSettings` parses them.
 */
import type { IConstruct } from 'constructs';

export interface ContextSetting {
  readonly key: string;
  readonly default: string | number | undefined;
  readonly description: string;
}

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

function num(scope: IConstruct, key: ContextKey, fallback: number, min = 1): number {
  const value = raw(scope, key);
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`context "${key}" must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

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
  };
}
