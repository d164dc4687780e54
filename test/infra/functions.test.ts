import { describe, expect, it } from 'vitest';
import type { CultivateFunction } from '../../lib/cultivate-function.ts';
import { functionRoleId, logicalId, resources, roleActions, roleStatements, synthStack } from './synth.ts';

const { stack, template } = synthStack({ outboundWebhookUrl: 'https://crm.example.com/hooks/cultivate' });
const functions = resources(template, 'AWS::Lambda::Function');
const tableId = logicalId(stack, stack.tables.table);
const idemId = logicalId(stack, stack.tables.idempotencyTable);
const busId = logicalId(stack, stack.events.bus);
const secretIds = {
  webhook: logicalId(stack, stack.secrets.webhookSecret),
  identity: logicalId(stack, stack.secrets.identityKey),
  outbound: logicalId(stack, stack.secrets.outboundSecret),
  unsubscribe: logicalId(stack, stack.secrets.unsubscribeKey),
};

const all = {
  ingest: stack.api.ingestFunction,
  api: stack.api.apiFunction,
  relationship: stack.relationships.relationshipFunction,
  crmOutbound: stack.relationships.crmOutboundFunction,
  crmNormalise: stack.relationships.crmNormaliseFunction,
  quarantine: stack.api.quarantineFunction,
  unsubscribe: stack.api.unsubscribeFunction,
  sweeper: stack.sending.sweeperFunction,
  sender: stack.sending.senderFunction,
  sesEvents: stack.sesEvents.sesEventsFunction,
  inboundMail: (stack.replies as NonNullable<typeof stack.replies>).inboundMailFunction,
  metricsStream: stack.metrics.streamFunction,
  metricsApi: stack.api.metricsFunction,
  configDiff: stack.api.configFunction,
  crmImport: stack.api.crmImportFunction,
  rulesValidator: stack.rules.validatorFunction,
  replan: stack.rules.replanFunction,
} satisfies Record<string, CultivateFunction>;

function props(fn: CultivateFunction) {
  return functions[logicalId(stack, fn)]!.Properties!;
}
function actions(fn: CultivateFunction): Set<string> {
  return roleActions(template, functionRoleId(template, logicalId(stack, fn)));
}
/** Resources (as JSON) of the statements granting `action`. */
function resourcesOf(fn: CultivateFunction, action: string): string {
  const st = roleStatements(template, functionRoleId(template, logicalId(stack, fn))).filter((s) => s.actions.includes(action));
  return JSON.stringify(st.map((s) => s.resources));
}

const dynamoWrites = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
const dynamoReads = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchGetItem'];

describe('Lambda functions', () => {
  it('exactly the seventeen functions, all nodejs22.x on arm64 with active tracing, JSON logs and bundling defaults', () => {
    // Eleven for the pipeline, the metrics stream consumer and the metrics API, `cultivate diff` and
    // `cultivate import`, the published rules' validator and the replan job.
    expect(Object.keys(functions)).toHaveLength(17);
    expect(new Set(Object.values(all).map((fn) => logicalId(stack, fn)))).toEqual(new Set(Object.keys(functions)));
    const timeouts: Record<string, number> = {
      [logicalId(stack, all.sweeper)]: 50,
      [logicalId(stack, all.sender)]: 30,
      [logicalId(stack, all.inboundMail)]: 30,
      // Functions that call CRM APIs wait on rate limits and retries.
      [logicalId(stack, all.crmOutbound)]: 30,
      [logicalId(stack, all.crmNormalise)]: 60,
      [logicalId(stack, all.quarantine)]: 30,
      // A stream batch of 100 records with its reads and transactions; the rebuild within API Gateway's 30 s.
      [logicalId(stack, all.metricsStream)]: 60,
      [logicalId(stack, all.metricsApi)]: 29,
      [logicalId(stack, all.configDiff)]: 29,
      [logicalId(stack, all.crmImport)]: 29,
      // AppConfig waits 15 s for a validator; the replan job works pages until near its timeout, then re-queues its cursor.
      [logicalId(stack, all.rulesValidator)]: 15,
      [logicalId(stack, all.replan)]: 300,
    };
    // Parsing MIME of up to 10 MB wants more memory than the rest.
    // The rebuild holds every aggregate of a scan in memory.
    // `diff` plans every person twice, under both rule sets; so do the validator (parse) and the replan job.
    const memory: Record<string, number> = {
      [logicalId(stack, all.inboundMail)]: 512,
      [logicalId(stack, all.metricsApi)]: 512,
      [logicalId(stack, all.configDiff)]: 1024,
      [logicalId(stack, all.rulesValidator)]: 512,
      [logicalId(stack, all.replan)]: 512,
    };
    for (const [id, fn] of Object.entries(functions)) {
      const p = fn.Properties!;
      expect(p.Runtime, id).toBe('nodejs22.x');
      expect(p.Architectures, id).toEqual(['arm64']);
      expect(p.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(p.MemorySize, id).toBe(memory[id] ?? 256);
      expect(p.Timeout, id).toBe(timeouts[id] ?? 10);
      expect(p.LoggingConfig?.LogFormat, id).toBe('JSON');
      expect(p.LoggingConfig?.LogGroup, id).toBeDefined();
      expect(p.Environment.Variables.POWERTOOLS_SERVICE_NAME).toBe('cultivate');
      expect(p.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      const logGroupId = p.LoggingConfig.LogGroup.Ref as string;
      expect(resources(template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays).toBe(30);
    }
  });

  it('no function uses the AWSLambdaBasicExecutionRole managed policy', () => {
    for (const role of Object.values(resources(template, 'AWS::IAM::Role'))) {
      expect(role.Properties?.ManagedPolicyArns ?? []).toEqual([]);
    }
  });

  it('each function receives exactly its environment variables', () => {
    const env = (fn: CultivateFunction) => Object.keys(props(fn).Environment.Variables).sort();
    const base = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME'];
    // HubSpot signs the public URL: the ingest function rebuilds it from the base URL.
    expect(env(all.ingest)).toEqual([...base, 'CULTIVATE_PUBLIC_BASE_URL', 'EVENT_BUS_NAME', 'IDENTITY_KEY_SECRET_ARN', 'TABLE_NAME', 'WEBHOOK_SECRET_ARN'].sort());
    expect(env(all.quarantine)).toEqual([...base, 'EVENT_BUS_NAME', 'IDENTITY_KEY_SECRET_ARN', 'TABLE_NAME'].sort());
    expect(env(all.crmNormalise)).toEqual([...base, ...['CULTIVATE_PUBLIC_BASE_URL', 'SES_CONFIGURATION_SET'], 'EVENT_BUS_NAME', 'IDENTITY_KEY_SECRET_ARN', 'TABLE_NAME'].sort());
    expect(env(all.api)).toEqual([...base, 'IDENTITY_KEY_SECRET_ARN', 'TABLE_NAME'].sort());
    // Functions that plan read the published rules from AppConfig (the bundled folder until a first deployment).
    const appConfig = ['APPCONFIG_APPLICATION_ID', 'APPCONFIG_ENVIRONMENT_ID', 'APPCONFIG_PROFILE_ID'];
    const config = ['CULTIVATE_PUBLIC_BASE_URL', 'SES_CONFIGURATION_SET', ...appConfig];
    expect(env(all.relationship)).toEqual(
      [...base, ...config, 'EVENT_BUS_NAME', 'IDENTITY_KEY_SECRET_ARN', 'TABLE_NAME'].sort(),
    );
    expect(env(all.unsubscribe)).toEqual([...base, 'EVENT_BUS_NAME', 'TABLE_NAME', 'UNSUBSCRIBE_KEY_SECRET_ARN'].sort());
    expect(env(all.sweeper)).toEqual([...base, ...config, 'SEND_QUEUE_URL', 'TABLE_NAME'].sort());
    expect(env(all.sender)).toEqual(
      [...base, ...config, 'EVENT_BUS_NAME', 'IDENTITY_KEY_SECRET_ARN', 'TABLE_NAME', 'UNSUBSCRIBE_KEY_SECRET_ARN'].sort(),
    );
    expect(env(all.sesEvents)).toEqual([...base, ...config, 'EVENT_BUS_NAME', 'TABLE_NAME'].sort());
    // The metrics functions read config/ from their bundle (no pipeline(), so no base URL or configuration set);
    // the stream also reads the rules in force for cadence.yaml autoPause (AppConfig).
    expect(env(all.metricsStream)).toEqual([...base, ...appConfig, 'TABLE_NAME'].sort());
    expect(env(all.metricsApi)).toEqual([...base, 'TABLE_NAME'].sort());
    expect(env(all.crmOutbound)).toEqual(
      [...base, ...config, 'CULTIVATE_OUTBOUND_WEBHOOK_URL', 'IDEMPOTENCY_TABLE_NAME', 'OUTBOUND_SECRET_ARN'].sort(),
    );
    // Publishing (config API) and the replan job also start deployments / re-queue their cursor.
    expect(env(all.configDiff)).toEqual(expect.arrayContaining([...appConfig, 'APPCONFIG_DEPLOYMENT_STRATEGY_ID', 'APPCONFIG_IMMEDIATE_STRATEGY_ID']));
    expect(env(all.replan)).toEqual(expect.arrayContaining([...appConfig, 'APPCONFIG_DEPLOYMENT_STRATEGY_ID', 'REPLAN_QUEUE_URL', 'TABLE_NAME']));
    expect(env(all.rulesValidator)).toEqual(base);
    const v = (fn: CultivateFunction) => props(fn).Environment.Variables;
    expect(v(all.configDiff).APPCONFIG_IMMEDIATE_STRATEGY_ID).toBe('AppConfig.AllAtOnce');
    expect(v(all.ingest).TABLE_NAME).toEqual({ Ref: tableId });
    expect(v(all.crmOutbound).IDEMPOTENCY_TABLE_NAME).toEqual({ Ref: idemId });
    expect(v(all.ingest).EVENT_BUS_NAME).toEqual({ Ref: busId });
    expect(v(all.ingest).WEBHOOK_SECRET_ARN).toEqual({ Ref: secretIds.webhook });
    expect(v(all.api).IDENTITY_KEY_SECRET_ARN).toEqual({ Ref: secretIds.identity });
    expect(v(all.crmOutbound).OUTBOUND_SECRET_ARN).toEqual({ Ref: secretIds.outbound });
    expect(v(all.crmOutbound).CULTIVATE_OUTBOUND_WEBHOOK_URL).toBe('https://crm.example.com/hooks/cultivate');
    expect(v(all.sender).UNSUBSCRIBE_KEY_SECRET_ARN).toEqual({ Ref: secretIds.unsubscribe });
    expect(v(all.unsubscribe).UNSUBSCRIBE_KEY_SECRET_ARN).toEqual({ Ref: secretIds.unsubscribe });
    expect(v(all.sweeper).SEND_QUEUE_URL).toEqual({ Ref: logicalId(stack, stack.sending.sendQueue) });
    const { stack: s2, template: t2 } = synthStack();
    const crm = resources(t2, 'AWS::Lambda::Function')[logicalId(s2, s2.relationships.crmOutboundFunction)]!;
    expect(crm.Properties?.Environment.Variables.CULTIVATE_OUTBOUND_WEBHOOK_URL).toBeUndefined();
  });
});

describe('IAM least privilege', () => {
  it('ingest: PutItem/BatchWriteItem on the table, PutEvents, its two secrets; no reads, updates or deletes', () => {
    const a = actions(all.ingest);
    expect(a.has('dynamodb:PutItem')).toBe(true);
    expect(a.has('dynamodb:BatchWriteItem')).toBe(true);
    const dynamo = [...a].filter((x) => x.startsWith('dynamodb:')).sort();
    expect(dynamo).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:PutItem']);
    for (const x of [...dynamoReads, 'dynamodb:UpdateItem', 'dynamodb:DeleteItem']) expect(a.has(x), x).toBe(false);
    expect(a.has('events:PutEvents')).toBe(true);
    expect(resourcesOf(all.ingest, 'events:PutEvents')).toContain(busId);
    expect(resourcesOf(all.ingest, 'dynamodb:PutItem')).toContain(tableId);
    expect(resourcesOf(all.ingest, 'dynamodb:PutItem')).not.toContain(idemId);
    const secrets = resourcesOf(all.ingest, 'secretsmanager:GetSecretValue');
    expect(secrets).toContain(secretIds.webhook);
    expect(secrets).toContain(secretIds.identity);
    expect(secrets).not.toContain(secretIds.outbound);
  });

  it('api: reads only; no writes, no PutEvents, no webhook or outbound secret', () => {
    const a = actions(all.api);
    expect(a.has('dynamodb:Query')).toBe(true);
    for (const x of dynamoWrites) expect(a.has(x), x).toBe(false);
    expect(a.has('events:PutEvents')).toBe(false);
    expect(resourcesOf(all.api, 'dynamodb:Query')).not.toContain(idemId);
    const secrets = resourcesOf(all.api, 'secretsmanager:GetSecretValue');
    expect(secrets).toContain(secretIds.identity);
    expect(secrets).not.toContain(secretIds.webhook);
    expect(secrets).not.toContain(secretIds.outbound);
  });

  it('relationship: read/write on both tables, PutEvents, identity key only', () => {
    const a = actions(all.relationship);
    for (const x of ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:GetItem', 'events:PutEvents']) {
      expect(a.has(x), x).toBe(true);
    }
    const writes = resourcesOf(all.relationship, 'dynamodb:UpdateItem');
    expect(writes).toContain(tableId);
    // It uses no Powertools idempotency (the version condition and applied ids make it effect-once).
    expect(writes).not.toContain(idemId);
    const secrets = resourcesOf(all.relationship, 'secretsmanager:GetSecretValue');
    expect(secrets).toContain(secretIds.identity);
    expect(secrets).not.toContain(secretIds.webhook);
    expect(secrets).not.toContain(secretIds.outbound);
  });

  it('crm outbound: no access to the relationship table, only the idempotency table, no PutEvents, outbound secret only', () => {
    const a = actions(all.crmOutbound);
    expect(resourcesOf(all.crmOutbound, 'dynamodb:GetItem')).not.toContain(tableId);
    for (const x of dynamoWrites) {
      const res = resourcesOf(all.crmOutbound, x);
      expect(res, x).not.toContain(tableId);
    }
    expect(resourcesOf(all.crmOutbound, 'dynamodb:PutItem')).toContain(idemId);
    expect(a.has('events:PutEvents')).toBe(false);
    const secrets = resourcesOf(all.crmOutbound, 'secretsmanager:GetSecretValue');
    expect(secrets).toContain(secretIds.outbound);
    expect(secrets).not.toContain(secretIds.identity);
    expect(secrets).not.toContain(secretIds.webhook);
  });

  it('unsubscribe: read/write on the table (not the idempotency table), PutEvents, unsubscribe key only', () => {
    const a = actions(all.unsubscribe);
    for (const x of ['dynamodb:GetItem', 'dynamodb:PutItem', 'events:PutEvents']) expect(a.has(x), x).toBe(true);
    expect(resourcesOf(all.unsubscribe, 'dynamodb:PutItem')).toContain(tableId);
    expect(resourcesOf(all.unsubscribe, 'dynamodb:PutItem')).not.toContain(idemId);
    const secrets = resourcesOf(all.unsubscribe, 'secretsmanager:GetSecretValue');
    expect(secrets).toContain(secretIds.unsubscribe);
    for (const other of [secretIds.identity, secretIds.webhook, secretIds.outbound]) expect(secrets).not.toContain(other);
    expect(a.has('ses:SendEmail')).toBe(false);
  });

  it('sweeper: read/write on the table and its due index, SendMessage on the send queue only; no SES, no PutEvents', () => {
    const a = actions(all.sweeper);
    for (const x of ['dynamodb:Query', 'dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchGetItem', 'sqs:SendMessage']) {
      expect(a.has(x), x).toBe(true);
    }
    expect(resourcesOf(all.sweeper, 'dynamodb:Query')).toContain('/index/*');
    expect(resourcesOf(all.sweeper, 'sqs:SendMessage')).toBe(JSON.stringify([[{ 'Fn::GetAtt': [logicalId(stack, stack.sending.sendQueue), 'Arn'] }]]));
    for (const x of ['ses:SendEmail', 'events:PutEvents', 'secretsmanager:GetSecretValue']) expect(a.has(x), x).toBe(false);
  });

  it('sender: read/write on the table, PutEvents, unsubscribe and identity keys, consumes the send queue', () => {
    const a = actions(all.sender);
    for (const x of ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'events:PutEvents', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']) {
      expect(a.has(x), x).toBe(true);
    }
    const secrets = resourcesOf(all.sender, 'secretsmanager:GetSecretValue');
    expect(secrets).toContain(secretIds.unsubscribe);
    expect(secrets).toContain(secretIds.identity);
    expect(secrets).not.toContain(secretIds.webhook);
    expect(secrets).not.toContain(secretIds.outbound);
    expect(a.has('sqs:SendMessage')).toBe(false);
  });

  it("sender: ses:SendEmail only on the sending identity and the configuration set, never '*'", () => {
    const statements = roleStatements(template, functionRoleId(template, logicalId(stack, all.sender))).filter((s) =>
      s.actions.includes('ses:SendEmail'),
    );
    expect(statements.length).toBeGreaterThan(0);
    const sesResources = statements.flatMap((s) => s.resources);
    expect(sesResources).not.toContain('*');
    const text = JSON.stringify(sesResources);
    expect(text).toContain(':identity/');
    expect(text).toContain(logicalId(stack, stack.email.identity));
    expect(text).toContain(':configuration-set/');
    expect(text).toContain(logicalId(stack, stack.email.configurationSet));
    for (const fn of [all.ingest, all.api, all.relationship, all.crmOutbound, all.unsubscribe, all.sweeper, all.sesEvents, all.metricsStream, all.metricsApi]) {
      expect(actions(fn).has('ses:SendEmail'), fn.node.path).toBe(false);
    }
  });

  it('SES events: read/write on the table; PutEvents on the bus only (consent-changed for the CRM); no secrets', () => {
    const a = actions(all.sesEvents);
    for (const x of ['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem']) expect(a.has(x), x).toBe(true);
    expect(a.has('events:PutEvents')).toBe(true);
    expect(resourcesOf(all.sesEvents, 'events:PutEvents')).toContain(busId);
    expect(a.has('secretsmanager:GetSecretValue')).toBe(false);
  });

  it('no statement grants an action wildcard, and Resource "*" only for X-Ray', () => {
    for (const policy of Object.values(resources(template, 'AWS::IAM::Policy'))) {
      for (const st of policy.Properties?.PolicyDocument.Statement ?? []) {
        const acts = ([] as string[]).concat(st.Action);
        // The one family allowed: S3 read grants (bucket.grantRead), scoped to the inbound-mail bucket.
        const s3Read = (act: string) => ['s3:GetObject*', 's3:GetBucket*', 's3:List*'].includes(act) && !JSON.stringify(st.Resource).includes('"*"');
        for (const act of acts) if (!s3Read(act)) expect(act, act).not.toMatch(/\*$/);
        if (([] as unknown[]).concat(st.Resource).includes('*')) {
          expect(acts.every((x) => x.startsWith('xray:')), JSON.stringify(acts)).toBe(true);
        }
      }
    }
  });
});
