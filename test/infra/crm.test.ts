/**
 * CRM settings on AWS: the same names as locally, as CDK context; secrets stay in Secrets Manager
 * and each function may read only the ones it uses. Plus the normaliser, the quarantine review
 * function and the quarantine-growth alarm.
 */
import { describe, expect, it } from 'vitest';
import type { CultivateFunction } from '../../lib/cultivate-function.ts';
import { functionRoleId, logicalId, resources, roleStatements, synthStack } from './synth.ts';

const crmContext = {
  CULTIVATE_HUBSPOT_CLIENT_SECRET: 'cultivate/hubspot-client-secret',
  CULTIVATE_HUBSPOT_TOKEN: 'cultivate/hubspot-token',
  CULTIVATE_HUBSPOT_API_URL: 'https://api.hubapi.com',
  CULTIVATE_PIPEDRIVE_BASIC_AUTH: 'cultivate/pipedrive-basic-auth',
};

const { stack, template } = synthStack(crmContext);
const functions = resources(template, 'AWS::Lambda::Function');
const env = (fn: CultivateFunction) => functions[logicalId(stack, fn)]!.Properties!.Environment.Variables as Record<string, unknown>;
/** The secret names (as in the partial ARN) a function may read. */
function readableSecrets(fn: CultivateFunction): string {
  const st = roleStatements(template, functionRoleId(template, logicalId(stack, fn))).filter((s) => s.actions.includes('secretsmanager:GetSecretValue'));
  return JSON.stringify(st.map((s) => s.resources));
}

describe('CRM settings on AWS', () => {
  it('a secret setting becomes <NAME>_SECRET_ARN (never the value); a plain one an environment variable of the same name', () => {
    for (const fn of [stack.api.ingestFunction, stack.relationships.crmNormaliseFunction, stack.relationships.crmOutboundFunction]) {
      const vars = env(fn);
      expect(JSON.stringify(vars.CULTIVATE_HUBSPOT_CLIENT_SECRET_SECRET_ARN)).toContain('cultivate/hubspot-client-secret');
      expect(JSON.stringify(vars.CULTIVATE_HUBSPOT_TOKEN_SECRET_ARN)).toContain('cultivate/hubspot-token');
      expect(vars.CULTIVATE_HUBSPOT_CLIENT_SECRET).toBeUndefined();
      expect(vars.CULTIVATE_HUBSPOT_API_URL).toBe('https://api.hubapi.com');
    }
  });

  it('the ingest function may read the webhook-authentication secrets only; the normaliser, outbound and import the API ones only; the quarantine review none', () => {
    const ingest = readableSecrets(stack.api.ingestFunction);
    expect(ingest).toContain('cultivate/hubspot-client-secret');
    expect(ingest).toContain('cultivate/pipedrive-basic-auth');
    expect(ingest).not.toContain('cultivate/hubspot-token');
    for (const fn of [stack.relationships.crmNormaliseFunction, stack.relationships.crmOutboundFunction, stack.api.crmImportFunction]) {
      expect(readableSecrets(fn)).toContain('cultivate/hubspot-token');
      expect(readableSecrets(fn)).not.toContain('cultivate/hubspot-client-secret');
      expect(readableSecrets(fn)).not.toContain('cultivate/pipedrive-basic-auth');
    }
    const quarantine = readableSecrets(stack.api.quarantineFunction);
    expect(quarantine).not.toContain('cultivate/');
    // It still knows which CRMs are on (to parse a kept body again).
    expect(JSON.stringify(env(stack.api.quarantineFunction).CULTIVATE_HUBSPOT_CLIENT_SECRET_SECRET_ARN)).toContain('cultivate/hubspot-client-secret');
  });

  it('without CRM context no CRM setting reaches any function', () => {
    const { stack: s, template: t } = synthStack();
    for (const fn of Object.values(resources(t, 'AWS::Lambda::Function'))) {
      const keys = Object.keys(fn.Properties?.Environment?.Variables ?? {});
      expect(keys.filter((k) => /^CULTIVATE_(HUBSPOT|SALESFORCE|PIPEDRIVE)_/.test(k))).toEqual([]);
    }
    expect(s.relationships.crmNormaliseFunction).toBeDefined();
  });

  it('a non-string CRM context value fails the synth naming the setting', () => {
    expect(() => synthStack({ CULTIVATE_SALESFORCE_ORG_IDS: 42 })).toThrow(/CULTIVATE_SALESFORCE_ORG_IDS/);
  });
});

describe('CRM functions', () => {
  it('the normaliser and the outbound function have reserved concurrency (context crmReservedConcurrency; 0 reserves none)', () => {
    for (const fn of [stack.relationships.crmNormaliseFunction, stack.relationships.crmOutboundFunction]) {
      expect(functions[logicalId(stack, fn)]!.Properties!.ReservedConcurrentExecutions).toBe(2);
    }
    const { stack: s, template: t } = synthStack({ crmReservedConcurrency: 0 });
    const fns = resources(t, 'AWS::Lambda::Function');
    expect(fns[logicalId(s, s.relationships.crmNormaliseFunction)]!.Properties!.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('quarantine routes use the JWT authorizer and go to the quarantine function', () => {
    const routes = Object.values(resources(template, 'AWS::ApiGatewayV2::Route'));
    const integrations = resources(template, 'AWS::ApiGatewayV2::Integration');
    const quarantineId = logicalId(stack, stack.api.quarantineFunction);
    for (const key of ['GET /quarantine', 'POST /quarantine/{id}/replay']) {
      const route = routes.find((r) => r.Properties?.RouteKey === key);
      expect(route, key).toBeDefined();
      expect(route!.Properties?.AuthorizationType, key).toBe('JWT');
      const integrationId = (route!.Properties?.Target['Fn::Join'][1][1].Ref ?? '') as string;
      expect(JSON.stringify(integrations[integrationId]?.Properties?.IntegrationUri), key).toContain(quarantineId);
    }
  });

  it('kept quarantine entries are counted from the logs of ingest and the normaliser, and alarm', () => {
    // The on-call dashboard adds its own filters (sent, throttled, accepted): the quarantine ones here.
    const filters = Object.values(resources(template, 'AWS::Logs::MetricFilter')).filter((f) => f.Properties?.MetricTransformations?.[0]?.MetricName === 'QuarantineKept');
    expect(filters).toHaveLength(2);
    for (const f of filters) {
      expect(f.Properties?.FilterPattern).toContain('WebhookQuarantined');
      expect(f.Properties?.FilterPattern).toContain('MassCloseHeld');
      expect(f.Properties?.MetricTransformations[0].MetricName).toBe('QuarantineKept');
    }
    const alarm = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).find((a) => a.Properties?.MetricName === 'QuarantineKept');
    expect(alarm).toBeDefined();
    expect(alarm!.Properties?.AlarmActions?.length).toBeGreaterThan(0);
  });
});

describe('Salesforce Event Relay (context salesforceEventRelaySource)', () => {
  const SOURCE = 'aws.partner/salesforce.com/00D5e000000KQ2eEAG/0YL5e000000CabWGAS';

  it('absent by default', () => {
    expect(stack.salesforceRelay).toBeUndefined();
  });

  it('a partner bus for the source, a rule for change events with a DLQ, and the relay function writing to the inbox and Cultivate bus only', () => {
    const { stack: s, template: t } = synthStack({ ...crmContext, CULTIVATE_SALESFORCE_ORG_IDS: '00D5e000000KQ2e', CULTIVATE_SALESFORCE_TOKEN: 'cultivate/sf-token', salesforceEventRelaySource: SOURCE });
    const relay = s.salesforceRelay!;
    expect(relay).toBeDefined();
    t.hasResourceProperties('AWS::Events::EventBus', { Name: SOURCE, EventSourceName: SOURCE });
    const rules = Object.values(resources(t, 'AWS::Events::Rule')).filter((r) => r.Properties?.EventBusName?.Ref === logicalId(s, relay.partnerBus));
    expect(rules).toHaveLength(1);
    expect(rules[0]!.Properties?.EventPattern).toEqual({ source: [{ prefix: 'aws.partner/salesforce.com' }], 'detail-type': [{ suffix: 'ChangeEvent' }] });
    expect(rules[0]!.Properties?.Targets[0].DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [logicalId(s, relay.deadLetterQueue), 'Arn'] });
    const vars = resources(t, 'AWS::Lambda::Function')[logicalId(s, relay.relayFunction)]!.Properties!.Environment.Variables;
    expect(vars.CULTIVATE_SALESFORCE_ORG_IDS).toBe('00D5e000000KQ2e');
    // It reads no CRM secret.
    const st = roleStatements(t, functionRoleId(t, logicalId(s, relay.relayFunction))).filter((x) => x.actions.includes('secretsmanager:GetSecretValue'));
    expect(st).toEqual([]);
    const alarms = Object.values(resources(t, 'AWS::CloudWatch::Alarm'));
    expect(alarms.some((a) => JSON.stringify(a.Properties?.Dimensions ?? []).includes(logicalId(s, relay.deadLetterQueue)))).toBe(true);
  });

  it('a source that is not a Salesforce partner event source fails the synth naming the setting', () => {
    expect(() => synthStack({ salesforceEventRelaySource: 'aws.partner/other.com/x' })).toThrow(/salesforceEventRelaySource/);
  });
});

describe('cultivate diff on AWS', () => {
  it('POST /config/diff behind the JWT authorizer, in a function that can read the table (and publish rules, rules.test.ts), no writes to it but a resume\'s (api.test.ts), no bus, no secrets', () => {
    const route = Object.values(resources(template, 'AWS::ApiGatewayV2::Route')).find((r) => r.Properties?.RouteKey === 'POST /config/diff');
    expect(route?.Properties?.AuthorizationType).toBe('JWT');
    const st = roleStatements(template, functionRoleId(template, logicalId(stack, stack.api.configFunction)));
    const actions = new Set(st.flatMap((x) => x.actions));
    expect(actions.has('dynamodb:Scan')).toBe(true);
    for (const a of ['dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'events:PutEvents', 'secretsmanager:GetSecretValue']) expect(actions.has(a), a).toBe(false);
    // PutItem and DeleteItem only in one statement: `cultivate config resume`, scoped to the PAUSE partition (api.test.ts).
    expect(st.filter((x) => x.actions.includes('dynamodb:PutItem') || x.actions.includes('dynamodb:DeleteItem'))).toHaveLength(1);
  });
});
