import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { apiRoutes, assertDeployableRoutes, type ApiRoute, FEED_TOKEN_AUTH_REASON } from '../../lib/ingest-api.ts';
import { FEED_TOKEN_PK } from '#adapters/dynamo-feed-tokens';
import { PAUSE_PK } from '#domain/auto-pause';
import { functionRoleId, logicalId, resources, synthStack } from './synth.ts';

const { stack, template } = synthStack();
const routes = resources(template, 'AWS::ApiGatewayV2::Route');
const integrations = resources(template, 'AWS::ApiGatewayV2::Integration');

function routeByKey(key: string) {
  const found = Object.values(routes).filter((r) => r.Properties?.RouteKey === key);
  expect(found, `route ${key}`).toHaveLength(1);
  return found[0]!;
}

/** Logical id of the function a route's integration invokes. */
function routeFunction(route: { Properties?: Record<string, any> }): string {
  const target = route.Properties?.Target['Fn::Join'][1] as unknown[];
  const integrationRef = (target[1] as { Ref: string }).Ref;
  const uri = integrations[integrationRef]?.Properties?.IntegrationUri as { 'Fn::GetAtt': [string, string] };
  return uri['Fn::GetAtt'][0];
}

describe('HTTP API routes', () => {
  const ingestId = logicalId(stack, stack.api.ingestFunction);
  const apiId = logicalId(stack, stack.api.apiFunction);
  const authorizerIds = Object.keys(resources(template, 'AWS::ApiGatewayV2::Authorizer'));

  it('deploys exactly the declared routes', () => {
    const keys = Object.values(routes).map((r) => r.Properties?.RouteKey).sort();
    expect(keys).toEqual(apiRoutes.map((r) => `${r.method} ${r.path}`).sort());
    expect(keys).toEqual(
      [
        'GET /health',
        'GET /relationships',
        'GET /relationships/{id}',
        'POST /webhooks/{source}',
        'POST /webhooks/{source}/{token}',
        'GET /quarantine',
        'GET /metrics',
        'GET /metrics.csv',
        'GET /metrics/feed.json',
        'POST /metrics/rebuild',
        'GET /dashboard',
        'GET /dashboard/owners',
        'POST /metrics/tokens',
        'GET /metrics/tokens',
        'DELETE /metrics/tokens/{id}',
        'GET /feeds/metrics',
        'GET /feeds/metrics.csv',
        'GET /feeds/metrics/feed.json',
        'GET /feeds/dashboard',
        'GET /feeds/dashboard/owners',
        'POST /config/diff',
        'POST /config/publish',
        'POST /config/rollback',
        'GET /config/versions',
        'GET /config/versions/{version}',
        'GET /config/replan',
        'GET /config/pauses',
        'DELETE /config/pauses/{kind}/{id}',
        'POST /crm/{crm}/import',
        'POST /quarantine/{id}/replay',
        'GET /unsubscribe/{token}',
        'POST /unsubscribe/{token}',
      ].sort(),
    );
  });

  it('unsubscribe GET and POST are public (no authorizer, a reason on record) and go to the unsubscribe function', () => {
    const unsubscribeId = logicalId(stack, stack.api.unsubscribeFunction);
    for (const key of ['GET /unsubscribe/{token}', 'POST /unsubscribe/{token}']) {
      const route = routeByKey(key);
      expect(route.Properties?.AuthorizationType ?? 'NONE', key).toBe('NONE');
      expect(route.Properties?.AuthorizerId, key).toBeUndefined();
      expect(routeFunction(route), key).toBe(unsubscribeId);
      const declared = apiRoutes.find((r) => `${r.method} ${r.path}` === key);
      expect(declared?.auth).toBe('none');
      expect(declared?.publicBecause ?? '').toMatch(/sign/);
    }
    expect(apiRoutes.find((r) => r.method === 'POST' && r.path === '/unsubscribe/{token}')?.publicBecause).toMatch(/RFC 8058/);
    // ...while the relationship routes still carry the JWT authorizer.
    for (const key of ['GET /relationships', 'GET /relationships/{id}']) {
      expect(routeByKey(key).Properties?.AuthorizationType, key).toBe('JWT');
      expect(routeByKey(key).Properties?.AuthorizerId, key).toBeDefined();
    }
  });

  it('webhooks and health are public and go to the ingest function', () => {
    for (const key of ['POST /webhooks/{source}', 'GET /health']) {
      const route = routeByKey(key);
      expect(route.Properties?.AuthorizationType ?? 'NONE').toBe('NONE');
      expect(route.Properties?.AuthorizerId).toBeUndefined();
      expect(routeFunction(route)).toBe(ingestId);
    }
  });

  it('relationship routes need the JWT authorizer and go to the api function', () => {
    expect(authorizerIds).toHaveLength(1);
    for (const key of ['GET /relationships', 'GET /relationships/{id}']) {
      const route = routeByKey(key);
      expect(route.Properties?.AuthorizationType).toBe('JWT');
      expect(route.Properties?.AuthorizerId).toEqual({ Ref: authorizerIds[0] });
      expect(routeFunction(route)).toBe(apiId);
    }
  });

  it('feed readers: the /feeds GETs have no authorizer (the metrics function checks the token), a reason on record, and go to the metrics function', () => {
    const metricsId = logicalId(stack, stack.api.metricsFunction);
    const feeds = ['GET /feeds/metrics', 'GET /feeds/metrics.csv', 'GET /feeds/metrics/feed.json', 'GET /feeds/dashboard', 'GET /feeds/dashboard/owners'];
    expect(apiRoutes.filter((r) => r.auth === 'token').map((r) => `${r.method} ${r.path}`).sort()).toEqual([...feeds].sort());
    for (const key of feeds) {
      const route = routeByKey(key);
      expect(route.Properties?.AuthorizationType ?? 'NONE', key).toBe('NONE');
      expect(route.Properties?.AuthorizerId, key).toBeUndefined();
      expect(routeFunction(route), key).toBe(metricsId);
    }
    // The rebuild has no /feeds twin: nothing but GET is routed there.
    expect(Object.values(routes).filter((r) => String(r.Properties?.RouteKey).includes('/feeds/') && !String(r.Properties?.RouteKey).startsWith('GET '))).toEqual([]);
    expect(FEED_TOKEN_AUTH_REASON).toMatch(/feed token/);
  });

  it('people: /dashboard and the feed token management carry the JWT authorizer and go to the metrics function', () => {
    const metricsId = logicalId(stack, stack.api.metricsFunction);
    for (const key of ['GET /dashboard', 'POST /metrics/tokens', 'GET /metrics/tokens', 'DELETE /metrics/tokens/{id}']) {
      const route = routeByKey(key);
      expect(route.Properties?.AuthorizationType, key).toBe('JWT');
      expect(route.Properties?.AuthorizerId, key).toEqual({ Ref: authorizerIds[0] });
      expect(routeFunction(route), key).toBe(metricsId);
    }
  });

  it('the metrics function reads and writes single items only in the feed-token partition (dynamodb:LeadingKeys)', () => {
    const roleId = functionRoleId(template, logicalId(stack, stack.api.metricsFunction));
    const statements = Object.values(resources(template, 'AWS::IAM::Policy'))
      .filter((p) => (p.Properties?.Roles ?? []).some((r: { Ref?: string }) => r.Ref === roleId))
      .flatMap((p) => p.Properties?.PolicyDocument?.Statement ?? []);
    const single = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    const granting = statements.filter((st: { Action: string | string[] }) => ([] as string[]).concat(st.Action).some((a) => single.includes(a)));
    expect(granting).toHaveLength(1);
    expect(([] as string[]).concat(granting[0].Action).sort()).toEqual(single);
    expect(granting[0].Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [FEED_TOKEN_PK] } });
    expect(JSON.stringify(granting[0].Resource)).toContain(logicalId(stack, stack.tables.table));
    expect(JSON.stringify(granting[0].Resource)).not.toContain('index');
    expect(statements.some((st: { Action: string | string[] }) => ([] as string[]).concat(st.Action).includes('dynamodb:DeleteItem'))).toBe(false);
  });

  it('what paused itself: GET /config/pauses and its resume (DELETE) carry the JWT authorizer and go to the config function, which writes only the PAUSE partition', () => {
    const configId = logicalId(stack, stack.api.configFunction);
    for (const key of ['GET /config/pauses', 'DELETE /config/pauses/{kind}/{id}']) {
      const route = routeByKey(key);
      expect(route.Properties?.AuthorizationType, key).toBe('JWT');
      expect(routeFunction(route), key).toBe(configId);
    }
    const roleId = functionRoleId(template, configId);
    const statements = Object.values(resources(template, 'AWS::IAM::Policy'))
      .filter((p) => (p.Properties?.Roles ?? []).some((r: { Ref?: string }) => r.Ref === roleId))
      .flatMap((p) => p.Properties?.PolicyDocument?.Statement ?? []);
    const writes = ['dynamodb:DeleteItem', 'dynamodb:PutItem'];
    const granting = statements.filter((st: { Action: string | string[] }) => ([] as string[]).concat(st.Action).some((a) => writes.includes(a) || a === 'dynamodb:UpdateItem' || a === 'dynamodb:BatchWriteItem'));
    expect(granting).toHaveLength(1);
    expect(([] as string[]).concat(granting[0].Action).sort()).toEqual(writes);
    expect(granting[0].Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [PAUSE_PK] } });
    expect(JSON.stringify(granting[0].Resource)).not.toContain('index');
  });

  it('the guard holds feed-token routes to GETs under /feeds to the metrics function, and /feeds to them', () => {
    const feed: ApiRoute = { method: 'GET', path: '/feeds/metrics', fn: 'metrics', auth: 'token' };
    expect(() => assertDeployableRoutes([feed])).not.toThrow();
    expect(() => assertDeployableRoutes([{ ...feed, method: 'POST', path: '/feeds/metrics/rebuild' }])).toThrow(/must be a GET under \/feeds\//);
    expect(() => assertDeployableRoutes([{ ...feed, path: '/metrics' }])).toThrow(/must be a GET under \/feeds\//);
    expect(() => assertDeployableRoutes([{ ...feed, fn: 'api', path: '/feeds/relationships' }])).toThrow(/metrics function/);
    expect(() => assertDeployableRoutes([{ ...feed, auth: 'jwt' }])).toThrow(/only feed-token routes/);
    expect(() => assertDeployableRoutes([{ ...feed, auth: 'none', publicBecause: 'x' }])).toThrow(/only feed-token routes/);
    expect(() => synthStack({}, { apiRoutes: [...apiRoutes, { ...feed, method: 'POST', path: '/feeds/metrics/rebuild' }] })).toThrow(/feed-token route/);
  });

  it('every non-public route has an authorizer', () => {
    for (const route of Object.values(routes)) {
      const declared = apiRoutes.find((r) => `${r.method} ${r.path}` === route.Properties?.RouteKey);
      expect(declared).toBeDefined();
      if (declared?.auth === 'jwt') expect(route.Properties?.AuthorizationType).toBe('JWT');
    }
  });

  it('no route under /local is in the template', () => {
    const paths = Object.values(routes).map((r) => String(r.Properties?.RouteKey).split(' ')[1] ?? '');
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) expect(p.toLowerCase().startsWith('/local')).toBe(false);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/ \/local\b/);
  });

  it('the guard throws at synth when a /local route is added', () => {
    const local: ApiRoute = { method: 'POST', path: '/local/clock', fn: 'ingest', auth: 'none', publicBecause: 'x' };
    expect(() => assertDeployableRoutes([...apiRoutes, local])).toThrow(/local-only/);
    expect(() => synthStack({}, { apiRoutes: [...apiRoutes, local] })).toThrow(/local-only/);
    expect(() => synthStack({}, { apiRoutes: [...apiRoutes, { ...local, path: '/LOCAL/outbox', method: 'GET' }] })).toThrow(
      /local-only/,
    );
  });

  it('the guard rejects public routes without a reason and duplicates', () => {
    expect(() => assertDeployableRoutes([{ method: 'GET', path: '/metrics', fn: 'api', auth: 'none' }])).toThrow(/publicBecause/);
    expect(() => assertDeployableRoutes([apiRoutes[0]!, apiRoutes[0]!])).toThrow(/duplicate/);
  });

  it('default stage has JSON access logs with retention and throttling', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
    });
    const stage = Object.values(resources(template, 'AWS::ApiGatewayV2::Stage'))[0]!;
    const logGroupId = stage.Properties?.AccessLogSettings.DestinationArn['Fn::GetAtt'][0];
    expect(resources(template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays).toBe(30);
  });

  it('throttling and retention follow context', () => {
    const { template: t } = synthStack({ apiThrottleRateLimit: '5', apiThrottleBurstLimit: 10, logRetentionDays: 90 });
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
    const retentions = Object.values(resources(t, 'AWS::Logs::LogGroup')).map((g) => g.Properties?.RetentionInDays);
    expect(new Set(retentions)).toEqual(new Set([90]));
  });

  it('without jwtIssuer: a Cognito pool (no self sign-up, MFA, strong passwords, Plus) issues the JWTs', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      UserPoolTier: 'PLUS',
      Policies: { PasswordPolicy: Match.objectLike({ MinimumLength: 14, RequireSymbols: true }) },
    });
    const poolId = Object.keys(resources(template, 'AWS::Cognito::UserPool'))[0]!;
    const clientId = Object.keys(resources(template, 'AWS::Cognito::UserPoolClient'))[0]!;
    const auth = Object.values(resources(template, 'AWS::ApiGatewayV2::Authorizer'))[0]!;
    expect(auth.Properties?.AuthorizerType).toBe('JWT');
    expect(JSON.stringify(auth.Properties?.JwtConfiguration.Issuer)).toContain(poolId);
    expect(auth.Properties?.JwtConfiguration.Audience).toEqual([{ Ref: clientId }]);
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs.some((o) => o.includes('UserPoolId'))).toBe(true);
    expect(outputs.some((o) => o.includes('UserPoolClientId'))).toBe(true);
  });

  it('with jwtIssuer/jwtAudience from context: no user pool, the given issuer and audiences', () => {
    const { template: t } = synthStack({ jwtIssuer: 'https://login.example.com/', jwtAudience: 'cultivate-api, dashboard' });
    t.resourceCountIs('AWS::Cognito::UserPool', 0);
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://login.example.com/', Audience: ['cultivate-api', 'dashboard'] },
    });
    expect(() => synthStack({ jwtIssuer: 'https://login.example.com/' })).toThrow(/jwtAudience/);
  });
});
