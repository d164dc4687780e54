/**
 * The HTTP API: CRM webhooks and health (no authorizer; the function verifies signatures over the
 * raw bytes), unsubscribe links (no authorizer; the tokens are signed) and the relationship read
 * API and the metrics (JWT authorizer), and the metrics for feed readers under /feeds (no
 * authorizer; the metrics function verifies a feed token, docs/adr/0006). Routes are declared once
 * in `apiRoutes`; nothing under /local is ever deployed (the guard throws at synth).
 */
import { CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { FEED_TOKEN_PK } from '#adapters/dynamo-feed-tokens';
import { PAUSE_PK } from '#domain/auto-pause';
import { copyConfigHooks, CultivateFunction, lambdaEntry, toRetentionDays } from './cultivate-function.ts';
import type { CrmSettingsBinding } from './crm-settings.ts';
import { readSettings } from './settings.ts';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** The functions behind the API. */
export type ApiFunctionName = 'ingest' | 'api' | 'unsubscribe' | 'quarantine' | 'config' | 'crmImport' | 'metrics';
/**
 * `none`: public (webhooks verify signatures, health, signed unsubscribe links); `jwt`: the JWT
 * authorizer; `token`: no API Gateway authorizer, the metrics function verifies a feed token
 * (GET under /feeds only; the guard below holds it to that).
 */
export type ApiAuth = 'none' | 'jwt' | 'token';

/** The feed-token routes' reason on record for having no API Gateway authorizer (cdk-nag APIG4). */
export const FEED_TOKEN_AUTH_REASON =
  'Feed readers (feed readers, chat integrations, spreadsheets) cannot sign in for a JWT: the metrics function verifies a revocable per-consumer feed token, stored hashed, on every request (docs/adr/0006).';
const FEEDS_PREFIX = '/feeds/';

export interface ApiRoute {
  readonly method: ApiMethod;
  /** API Gateway path, `{param}` for path parameters. */
  readonly path: string;
  readonly fn: ApiFunctionName;
  readonly auth: ApiAuth;
  /** Why a public route is public (required when auth is `none`; becomes the cdk-nag APIG4 acknowledgement). */
  readonly publicBecause?: string;
}

/** Every deployed route. The local server adds its own /local routes; they are never deployed. */
export const apiRoutes: readonly ApiRoute[] = [
  {
    method: 'POST',
    path: '/webhooks/{source}',
    fn: 'ingest',
    auth: 'none',
    publicBecause: 'CRM webhooks are authenticated by the HMAC signature the ingest function verifies over the raw body.',
  },
  {
    method: 'POST',
    path: '/webhooks/{source}/{token}',
    fn: 'ingest',
    auth: 'none',
    publicBecause: 'Salesforce Outbound Messages cannot add headers: the function checks the secret token in the path (timing-safe) and the org allow-list.',
  },
  {
    method: 'GET',
    path: '/health',
    fn: 'ingest',
    auth: 'none',
    publicBecause: 'Health check for uptime monitors; returns no data.',
  },
  {
    method: 'GET',
    path: '/unsubscribe/{token}',
    fn: 'unsubscribe',
    auth: 'none',
    publicBecause: 'Unsubscribe page from a link in the e-mail; the token is signed and GET changes nothing.',
  },
  {
    method: 'POST',
    path: '/unsubscribe/{token}',
    fn: 'unsubscribe',
    auth: 'none',
    publicBecause: 'RFC 8058 one-click unsubscribe from mailbox providers cannot authenticate; the token is signed.',
  },
  { method: 'GET', path: '/relationships', fn: 'api', auth: 'jwt' },
  { method: 'GET', path: '/relationships/{id}', fn: 'api', auth: 'jwt' },
  { method: 'GET', path: '/quarantine', fn: 'quarantine', auth: 'jwt' },
  { method: 'POST', path: '/quarantine/{id}/replay', fn: 'quarantine', auth: 'jwt' },
  { method: 'GET', path: '/metrics', fn: 'metrics', auth: 'jwt' },
  { method: 'GET', path: '/metrics.csv', fn: 'metrics', auth: 'jwt' },
  { method: 'GET', path: '/metrics/feed.json', fn: 'metrics', auth: 'jwt' },
  { method: 'POST', path: '/metrics/rebuild', fn: 'metrics', auth: 'jwt' },
  { method: 'GET', path: '/dashboard', fn: 'metrics', auth: 'jwt' },
  { method: 'GET', path: '/dashboard/owners', fn: 'metrics', auth: 'jwt' },
  { method: 'POST', path: '/metrics/tokens', fn: 'metrics', auth: 'jwt' },
  { method: 'GET', path: '/metrics/tokens', fn: 'metrics', auth: 'jwt' },
  { method: 'DELETE', path: '/metrics/tokens/{id}', fn: 'metrics', auth: 'jwt' },
  // The same metrics GETs for feed readers: the function checks the token, and refuses any other method.
  { method: 'GET', path: '/feeds/metrics', fn: 'metrics', auth: 'token' },
  { method: 'GET', path: '/feeds/metrics.csv', fn: 'metrics', auth: 'token' },
  { method: 'GET', path: '/feeds/metrics/feed.json', fn: 'metrics', auth: 'token' },
  { method: 'GET', path: '/feeds/dashboard', fn: 'metrics', auth: 'token' },
  { method: 'GET', path: '/feeds/dashboard/owners', fn: 'metrics', auth: 'token' },
  { method: 'POST', path: '/config/diff', fn: 'config', auth: 'jwt' },
  // cultivate config publish / rollback / versions / replan (AppConfig; lib/rules.ts).
  { method: 'POST', path: '/config/publish', fn: 'config', auth: 'jwt' },
  { method: 'POST', path: '/config/rollback', fn: 'config', auth: 'jwt' },
  { method: 'GET', path: '/config/versions', fn: 'config', auth: 'jwt' },
  { method: 'GET', path: '/config/versions/{version}', fn: 'config', auth: 'jwt' },
  { method: 'GET', path: '/config/replan', fn: 'config', auth: 'jwt' },
  // cultivate config pauses / resume: what paused itself (cadence.yaml autoPause).
  { method: 'GET', path: '/config/pauses', fn: 'config', auth: 'jwt' },
  { method: 'DELETE', path: '/config/pauses/{kind}/{id}', fn: 'config', auth: 'jwt' },
  { method: 'POST', path: '/crm/{crm}/import', fn: 'crmImport', auth: 'jwt' },
];

/**
 * Throws if a route must not be deployed: anything under /local, duplicates, public routes without
 * a reason, a feed-token route that is not a GET under /feeds to the metrics function (the only
 * function that checks feed tokens), or anything else under /feeds.
 */
export function assertDeployableRoutes(routes: readonly ApiRoute[]): void {
  const seen = new Set<string>();
  for (const route of routes) {
    if (route.path.toLowerCase().startsWith('/local')) {
      throw new Error(`route ${route.method} ${route.path} is local-only and must never be deployed`);
    }
    if (!route.path.startsWith('/')) throw new Error(`route path must start with "/": ${route.path}`);
    const key = `${route.method} ${route.path}`;
    if (seen.has(key)) throw new Error(`duplicate API route ${key}`);
    seen.add(key);
    if (route.auth === 'none' && !route.publicBecause) {
      throw new Error(`public route ${key} needs a publicBecause reason`);
    }
    const underFeeds = route.path.toLowerCase().startsWith(FEEDS_PREFIX);
    if (route.auth === 'token' && (!underFeeds || route.method !== 'GET' || route.fn !== 'metrics')) {
      throw new Error(`feed-token route ${key} must be a GET under ${FEEDS_PREFIX} to the metrics function`);
    }
    if (underFeeds && route.auth !== 'token') throw new Error(`route ${key} is under ${FEEDS_PREFIX}, where only feed-token routes belong`);
  }
}

export interface IngestApiProps {
  readonly table: dynamodb.ITableV2;
  readonly bus: events.IEventBus;
  readonly webhookSecret: secretsmanager.ISecret;
  readonly identityKey: secretsmanager.ISecret;
  /** Verifies unsubscribe tokens. */
  readonly unsubscribeKey: secretsmanager.ISecret;
  /** @default apiRoutes */
  readonly routes?: readonly ApiRoute[];
  /** CRM settings from context: the ingest function reads the webhook-authentication secrets. */
  readonly crmSettings: CrmSettingsBinding;
}

export class IngestApi extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly ingestFunction: CultivateFunction;
  public readonly apiFunction: CultivateFunction;
  public readonly unsubscribeFunction: CultivateFunction;
  public readonly quarantineFunction: CultivateFunction;
  /** GET /metrics, /metrics.csv, /metrics/feed.json, /dashboard (also under /feeds); POST /metrics/rebuild; /metrics/tokens. */
  public readonly metricsFunction: CultivateFunction;
  public readonly configFunction: CultivateFunction;
  public readonly crmImportFunction: CultivateFunction;
  public readonly functions: Record<ApiFunctionName, CultivateFunction>;
  public readonly authorizer: HttpJwtAuthorizer;
  /** Created only when context `jwtIssuer` is not set. */
  public readonly userPool: cognito.UserPool | undefined;
  public readonly userPoolClient: cognito.UserPoolClient | undefined;
  public readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    const routes = props.routes ?? apiRoutes;
    assertDeployableRoutes(routes);
    const settings = readSettings(this);

    this.ingestFunction = new CultivateFunction(this, 'Ingest', {
      entry: lambdaEntry('ingest'),
      description: 'Cultivate: verify, validate and normalise CRM webhooks; publish to the bus',
    })
      .bindTable({ table: props.table, access: 'write' })
      .bindBus(props.bus)
      .bindSecret('WEBHOOK_SECRET_ARN', props.webhookSecret)
      .bindSecret('IDENTITY_KEY_SECRET_ARN', props.identityKey);
    // HubSpot signs the public URL: the function rebuilds it from the configured base URL.
    this.ingestFunction.addEnvironment('CULTIVATE_PUBLIC_BASE_URL', settings.publicBaseUrl);
    props.crmSettings.bind(this.ingestFunction, 'inbound');

    this.quarantineFunction = new CultivateFunction(this, 'Quarantine', {
      entry: lambdaEntry('quarantine'),
      description: 'Cultivate: list and replay what was kept in quarantine',
      timeout: Duration.seconds(30),
    })
      .bindTable({ table: props.table, access: 'readwrite' })
      .bindBus(props.bus)
      .bindSecret('IDENTITY_KEY_SECRET_ARN', props.identityKey);
    props.crmSettings.bind(this.quarantineFunction, 'none');

    this.apiFunction = new CultivateFunction(this, 'Api', {
      entry: lambdaEntry('api'),
      description: 'Cultivate: relationship read API',
    })
      .bindTable({ table: props.table, access: 'read' })
      .bindSecret('IDENTITY_KEY_SECRET_ARN', props.identityKey);

    this.unsubscribeFunction = new CultivateFunction(this, 'Unsubscribe', {
      entry: lambdaEntry('unsubscribe'),
      description: 'Cultivate: unsubscribe links (GET shows the choices, POST acts)',
    })
      // Reads the relationship, writes the keyed-hash suppression and the claim-check inbox item.
      .bindTable({ table: props.table, access: 'readwrite' })
      .bindBus(props.bus)
      .bindSecret('UNSUBSCRIBE_KEY_SECRET_ARN', props.unsubscribeKey);

    this.metricsFunction = new CultivateFunction(this, 'Metrics', {
      entry: lambdaEntry('metrics-api'),
      description: 'Cultivate: metrics report, CSV, weekly JSON Feed and rebuild',
      // The rebuild scans the table; API Gateway waits at most 30 s for an answer.
      timeout: Duration.seconds(29),
      memorySize: 512,
      // config/ travels with it (metrics.yaml, tracks and content series); no pipeline() here.
      bundling: { commandHooks: copyConfigHooks },
    });
    // Reads: one Query per aggregate partition; the rebuild's dry run Scans. No BatchWriteItem: a
    // writing rebuild needs the stream paused, which this deployment cannot do (it answers 409), and
    // this function also serves /feeds without a JWT. No secrets, no bus.
    props.table.grant(this.metricsFunction, 'dynamodb:Query', 'dynamodb:Scan');
    // Feed tokens: GetItem to verify one (the /feeds routes are reachable without a JWT), PutItem
    // and UpdateItem to create and revoke, and only in the feed-token partition.
    iam.Grant.addToPrincipal({
      grantee: this.metricsFunction,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [props.table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [FEED_TOKEN_PK] } },
    });
    this.metricsFunction.addEnvironment('TABLE_NAME', props.table.tableName);
    const cfnTable = props.table.node.defaultChild;
    if (cfnTable instanceof CfnElement && this.metricsFunction.role) {
      Validations.of(this.metricsFunction.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(cfnTable).getLogicalId(cfnTable)}.Arn>/index/*]`,
        reason: `Table grants cover ${props.table.node.id}'s own secondary indexes only (Query and Scan listed, no action wildcard); the feed-token grant is the table alone.`,
      });
    }

    // The construct id predates publishing; kept, since renaming it would replace the function.
    this.configFunction = new CultivateFunction(this, 'ConfigDiff', {
      entry: lambdaEntry('config-api'),
      description: 'Cultivate: cultivate diff, config publish and rollback (rules versions), against the live store',
      timeout: Duration.seconds(29),
      memorySize: 1024,
      // The published rules (config/) travel with it; no pipeline() here.
      bundling: { commandHooks: copyConfigHooks },
    }).bindTable({ table: props.table, access: 'read' });
    // `cultivate config resume`: the resume's baseline and the pause it removes, only in the PAUSE partition.
    iam.Grant.addToPrincipal({
      grantee: this.configFunction,
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resourceArns: [props.table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [PAUSE_PK] } },
    });

    this.crmImportFunction = new CultivateFunction(this, 'CrmImport', {
      entry: lambdaEntry('crm-import'),
      description: 'Cultivate: cultivate import, past lost deals from a CRM',
      timeout: Duration.seconds(29),
      // config/crm.yaml (mappings, import age rule) travels with it.
      bundling: { commandHooks: copyConfigHooks },
    })
      // The import ledger (reads and writes), the inbox, the bus.
      .bindTable({ table: props.table, access: 'readwrite' })
      .bindBus(props.bus);
    // It calls the CRMs' search APIs with their API secrets.
    props.crmSettings.bind(this.crmImportFunction, 'api');

    this.functions = {
      crmImport: this.crmImportFunction,
      config: this.configFunction,
      ingest: this.ingestFunction,
      api: this.apiFunction,
      unsubscribe: this.unsubscribeFunction,
      quarantine: this.quarantineFunction,
      metrics: this.metricsFunction,
    };

    // JWT issuer: from context, or a Cognito user pool created here.
    let issuer: string;
    let audience: string[];
    if (settings.jwtIssuer) {
      issuer = settings.jwtIssuer;
      audience = [...settings.jwtAudience];
    } else {
      this.userPool = new cognito.UserPool(this, 'UserPool', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        passwordPolicy: {
          minLength: 14,
          requireLowercase: true,
          requireUppercase: true,
          requireDigits: true,
          requireSymbols: true,
          tempPasswordValidity: Duration.days(3),
        },
        mfa: cognito.Mfa.REQUIRED,
        mfaSecondFactor: { otp: true, sms: false },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        featurePlan: cognito.FeaturePlan.PLUS,
        standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.userPoolClient = this.userPool.addClient('ApiClient', {
        generateSecret: false,
        authFlows: { userSrp: true },
        preventUserExistenceErrors: true,
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
      });
      issuer = this.userPool.userPoolProviderUrl;
      audience = [this.userPoolClient.userPoolClientId];
      new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId, description: 'Cognito user pool for API users' });
      new CfnOutput(this, 'UserPoolClientId', {
        value: this.userPoolClient.userPoolClientId,
        description: 'Cognito app client (JWT audience)',
      });
    }
    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', issuer, { jwtAudience: audience });

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `${Stack.of(this).stackName}-api`,
      description: 'Cultivate: CRM webhooks, unsubscribe links and relationship API',
      createDefaultStage: false,
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', {
      retention: toRetentionDays(settings.logRetentionDays),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: settings.apiThrottleRateLimit, burstLimit: settings.apiThrottleBurstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        // No client IP or user agent: access logs carry no personal data.
        format: apigw.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTimeEpoch',
            routeKey: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            latency: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationLatency: '$context.integrationLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });

    const integrations: Record<ApiFunctionName, HttpLambdaIntegration> = {
      ingest: new HttpLambdaIntegration('IngestIntegration', this.ingestFunction),
      api: new HttpLambdaIntegration('ApiIntegration', this.apiFunction),
      unsubscribe: new HttpLambdaIntegration('UnsubscribeIntegration', this.unsubscribeFunction),
      quarantine: new HttpLambdaIntegration('QuarantineIntegration', this.quarantineFunction),
      metrics: new HttpLambdaIntegration('MetricsIntegration', this.metricsFunction),
      config: new HttpLambdaIntegration('ConfigDiffIntegration', this.configFunction),
      crmImport: new HttpLambdaIntegration('CrmImportIntegration', this.crmImportFunction),
    };
    for (const route of routes) {
      const [httpRoute] = this.httpApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: integrations[route.fn],
        authorizer: route.auth === 'jwt' ? this.authorizer : new apigwv2.HttpNoneAuthorizer(),
      });
      if (route.auth === 'none' && httpRoute) {
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: route.publicBecause ?? '' });
      }
      if (route.auth === 'token' && httpRoute) {
        Validations.of(httpRoute).acknowledge({ id: 'AwsSolutions-APIG4', reason: FEED_TOKEN_AUTH_REASON });
      }
    }

    new CfnOutput(this, 'ApiUrl', { value: this.stage.url, description: 'Base URL of the Cultivate HTTP API' });
  }
}
