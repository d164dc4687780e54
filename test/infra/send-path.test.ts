import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as ses from 'aws-cdk-lib/aws-ses';
import { describe, expect, it } from 'vitest';
import { copyConfigHooks, CultivateFunction, lambdaEntry } from '../../lib/cultivate-function.ts';
import { parentDomain, SES_EVENT_TYPES, sesDetailTypes } from '../../lib/email.ts';
import { SENDER_TIMEOUT } from '../../lib/sending.ts';
import { logicalId, resources, synthStack } from './synth.ts';

const { stack, template } = synthStack();
const functions = resources(template, 'AWS::Lambda::Function');
const queues = resources(template, 'AWS::SQS::Queue');
const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
const sweeperId = logicalId(stack, stack.sending.sweeperFunction);
const senderId = logicalId(stack, stack.sending.senderFunction);
const sendQueueId = logicalId(stack, stack.sending.sendQueue);
const configSetId = logicalId(stack, stack.email.configurationSet);

/** One synth with every send-path setting changed from its default (synths are the slow part). */
let customized: ReturnType<typeof synthStack> | undefined;
const custom = () =>
  (customized ??= synthStack({
    publicBaseUrl: 'https://nurture.seller-real.example/',
    sesMaxSendRate: 5,
    sweeperReservedConcurrency: 0,
  }));

describe('the due sweeper and its schedule', () => {
  it('an EventBridge Scheduler schedule at rate(1 minute) invokes the sweeper, with a DLQ and a retry policy', () => {
    const schedules = Object.values(resources(template, 'AWS::Scheduler::Schedule'));
    expect(schedules).toHaveLength(1);
    const p = schedules[0]!.Properties!;
    expect(p.ScheduleExpression).toBe('rate(1 minute)');
    expect(p.State ?? 'ENABLED').toBe('ENABLED');
    expect(p.FlexibleTimeWindow).toEqual({ Mode: 'OFF' });
    expect(p.Target.Arn).toEqual({ 'Fn::GetAtt': [sweeperId, 'Arn'] });
    const dlqId = p.Target.DeadLetterConfig.Arn['Fn::GetAtt'][0] as string;
    expect(dlqId).toBe(logicalId(stack, stack.sending.scheduleDeadLetterQueue));
    expect(queues[dlqId]?.Properties?.SqsManagedSseEnabled).toBe(true);
    expect(p.Target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    expect(p.Target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(60);
    // The schedule's role may invoke the sweeper and write to the DLQ, nothing else.
    const roleId = p.Target.RoleArn['Fn::GetAtt'][0] as string;
    const policies = Object.values(resources(template, 'AWS::IAM::Policy')).filter((x) =>
      (x.Properties?.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
    );
    const acts = policies.flatMap((x) => (x.Properties?.PolicyDocument.Statement as any[]).flatMap((st) => [].concat(st.Action)));
    expect(new Set(acts)).toEqual(new Set(['lambda:InvokeFunction', 'sqs:SendMessage']));
  });

  it('the sweeper: SEND_QUEUE_URL, a bounded timeout and reserved concurrency, no Lambda-side async retries', () => {
    const p = functions[sweeperId]!.Properties!;
    expect(p.Environment.Variables.SEND_QUEUE_URL).toEqual({ Ref: sendQueueId });
    expect(p.Timeout).toBeLessThan(60);
    expect(p.ReservedConcurrentExecutions).toBe(2);
    const invoke = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig')).find(
      (c) => c.Properties?.FunctionName?.Ref === sweeperId,
    );
    expect(invoke?.Properties?.MaximumRetryAttempts).toBe(0);
    const { stack: s0, template: t0 } = custom();
    const p0 = resources(t0, 'AWS::Lambda::Function')[logicalId(s0, s0.sending.sweeperFunction)]!.Properties!;
    expect(p0.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('alarms: OldestDueTouchAgeSeconds > 900 for 3 of 3 minutes (silence breaches), TouchesUnknown > 0', () => {
    const oldest = alarms.find((a) => a.Properties?.MetricName === 'OldestDueTouchAgeSeconds')?.Properties;
    expect(oldest).toMatchObject({
      Namespace: 'Cultivate',
      Dimensions: [{ Name: 'service', Value: 'cultivate' }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'breaching',
    });
    const unknown = alarms.find((a) => a.Properties?.MetricName === 'TouchesUnknown')?.Properties;
    expect(unknown).toMatchObject({
      Namespace: 'Cultivate',
      Dimensions: [{ Name: 'service', Value: 'cultivate' }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    for (const a of [oldest, unknown]) expect(a?.AlarmActions).toHaveLength(1);
  });
});

describe('the send queue and the sender', () => {
  it('send queue: SSE, SSL only, visibility >= 6x the sender timeout, redrive to a DLQ after 10 receives', () => {
    const p = queues[sendQueueId]!.Properties!;
    expect(p.SqsManagedSseEnabled).toBe(true);
    expect(p.VisibilityTimeout).toBeGreaterThanOrEqual(6 * SENDER_TIMEOUT.toSeconds());
    expect(p.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (functions[senderId]!.Properties!.Timeout as number));
    expect(p.RedrivePolicy.maxReceiveCount).toBe(10);
    const dlqId = p.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0] as string;
    expect(dlqId).toBe(logicalId(stack, stack.sending.sendDeadLetterQueue));
    expect(queues[dlqId]?.Properties?.SqsManagedSseEnabled).toBe(true);
    const policy = Object.values(resources(template, 'AWS::SQS::QueuePolicy')).find((x) =>
      (x.Properties?.Queues as any[]).some((q) => q.Ref === sendQueueId),
    );
    expect(JSON.stringify(policy?.Properties?.PolicyDocument.Statement)).toContain('"aws:SecureTransport":"false"');
    const dlqAlarm = alarms.find(
      (a) => a.Properties?.MetricName === 'ApproximateNumberOfMessagesVisible' && JSON.stringify(a.Properties?.Dimensions).includes(`"${dlqId}"`),
    );
    expect(dlqAlarm?.Properties?.Threshold).toBe(0);
  });

  it('the sender consumes it: batch 10, partial batch responses, maximum concurrency = sesMaxSendRate (default 14)', () => {
    // The other mapping is the metrics stream consumer (test/infra/metrics.test.ts).
    const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping')).filter((m) => JSON.stringify(m.Properties?.EventSourceArn).includes(sendQueueId));
    expect(mappings).toHaveLength(1);
    expect(mappings[0]!.Properties).toMatchObject({
      FunctionName: { Ref: senderId },
      EventSourceArn: { 'Fn::GetAtt': [sendQueueId, 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 14 },
    });
  });

  it('maximum concurrency follows context sesMaxSendRate (5); below 2 fails the synth', () => {
    const { template: t5 } = custom();
    t5.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(() => synthStack({ sesMaxSendRate: 1 })).toThrow(/sesMaxSendRate" must be an integer from 2 to 1000/);
  });
});

describe('SES: configuration set, event destination, identity', () => {
  it('configuration set: reputation metrics, sending on, suppression of bounces and complaints, TLS required', () => {
    template.resourceCountIs('AWS::SES::ConfigurationSet', 1);
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      ReputationOptions: { ReputationMetricsEnabled: true },
      SendingOptions: { SendingEnabled: true },
      SuppressionOptions: { SuppressedReasons: Match.arrayEquals(['BOUNCE', 'COMPLAINT']) },
      DeliveryOptions: Match.objectLike({ TlsPolicy: 'REQUIRE' }),
    });
  });

  it('event destination: the default bus, BOUNCE, COMPLAINT, REJECT, DELIVERY, CLICK; never SEND or OPEN', () => {
    const destinations = Object.values(resources(template, 'AWS::SES::ConfigurationSetEventDestination'));
    expect(destinations).toHaveLength(1);
    const p = destinations[0]!.Properties!;
    expect(p.ConfigurationSetName).toEqual({ Ref: configSetId });
    const d = p.EventDestination;
    expect(d.Enabled ?? true).toBe(true);
    const types = d.MatchingEventTypes as string[];
    expect(types).toEqual(expect.arrayContaining(['bounce', 'complaint']));
    expect(types).not.toContain('send');
    expect(types).not.toContain('open');
    expect([...types].sort()).toEqual(['bounce', 'click', 'complaint', 'delivery', 'reject']);
    expect(JSON.stringify(d.EventBridgeDestination.EventBusArn)).toContain(':event-bus/default');
    expect(d.SnsDestination ?? d.CloudWatchDestination ?? d.KinesisFirehoseDestination).toBeUndefined();
  });

  it('identity: the sending subdomain, Easy DKIM 2048-bit, MAIL FROM bounce.<domain>, the configuration set', () => {
    // Two identities: the sending subdomain and (with replyDomain set) the reply subdomain.
    template.resourceCountIs('AWS::SES::EmailIdentity', 2);
    template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: 'mail.seller.example',
      DkimAttributes: { SigningEnabled: true },
      DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
      MailFromAttributes: { MailFromDomain: 'bounce.mail.seller.example', BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' },
      ConfigurationSetAttributes: { ConfigurationSetName: { Ref: configSetId } },
    });
  });

  it('the DNS records to publish are stack outputs: three DKIM CNAMEs, MAIL FROM MX and SPF, recommended DMARC', () => {
    const outputs = template.findOutputs('*');
    const value = (suffix: string) => {
      const key = Object.keys(outputs).find((k) => k.startsWith(`Email${suffix}`));
      expect(key, suffix).toBeDefined();
      return JSON.stringify(outputs[key!]!.Value);
    };
    for (const [i, n] of [1, 2, 3].entries()) {
      const v = value(`DkimCname${n}`);
      expect(v).toContain('CNAME');
      expect(v).toContain(`DkimDNSTokenName${i + 1}`);
      expect(v).toContain(`DkimDNSTokenValue${i + 1}`);
    }
    expect(value('MailFromMx')).toMatch(/bounce\.mail\.seller\.example.*MX.*10 feedback-smtp\..*amazonses\.com/);
    expect(value('MailFromSpf')).toContain('bounce.mail.seller.example TXT \\"v=spf1 include:amazonses.com ~all\\"');
    expect(value('DmarcRecommended')).toContain(
      '_dmarc.seller.example TXT \\"v=DMARC1; p=quarantine; rua=mailto:dmarc@seller.example; adkim=s; aspf=s\\"',
    );
    expect(parentDomain('mail.seller.example')).toBe('seller.example');
    expect(parentDomain('seller.example')).toBe('seller.example');
  });

  it('sendingDomain must match config/sending.yaml (the From domain), and the placeholders warn', () => {
    expect(() => synthStack({ sendingDomain: 'mail.acme.com' })).toThrow(/config\/sending.yaml/);
    const annotations = Annotations.fromStack(stack);
    annotations.hasWarning('/CultivateTest', Match.stringLikeRegexp('publicBaseUrl.*placeholder'));
    annotations.hasWarning('/CultivateTest/Email', Match.stringLikeRegexp('sendingDomain.*placeholder'));
    Annotations.fromStack(custom().stack).hasNoWarning('/CultivateTest', Match.stringLikeRegexp('publicBaseUrl'));
  });
});

describe('SES events on the default bus', () => {
  // The default bus also carries AppConfig's deployment-complete rule (rules.test.ts): the SES ones here.
  const defaultBusRules = Object.values(resources(template, 'AWS::Events::Rule')).filter((r) => r.Properties?.EventBusName === undefined);
  const rules = defaultBusRules.filter((r) => JSON.stringify(r.Properties?.EventPattern?.source) === JSON.stringify(['aws.ses']));

  it('one rule on the default bus: source aws.ses, the detail-types of the published event types, this configuration set', () => {
    expect(rules).toHaveLength(1);
    expect(defaultBusRules.filter((r) => (r.Properties?.EventPattern?.source ?? []).some((src: string) => src.startsWith('aws.ses')))).toHaveLength(1);
    const pattern = rules[0]!.Properties?.EventPattern;
    expect(pattern.source).toEqual(['aws.ses']);
    expect([...pattern['detail-type']].sort()).toEqual(
      ['Email Bounced', 'Email Clicked', 'Email Complaint Received', 'Email Delivered', 'Email Rejected'].sort(),
    );
    expect(sesDetailTypes(SES_EVENT_TYPES)).toHaveLength(SES_EVENT_TYPES.length);
    expect(pattern.detail.mail.tags['ses:configuration-set']).toEqual([{ Ref: configSetId }]);
  });

  it('targets the SES events function with a DLQ and retries; the function has an on-failure queue', () => {
    const target = (rules[0]!.Properties?.Targets as any[])[0];
    const fnId = logicalId(stack, stack.sesEvents.sesEventsFunction);
    expect(target.Arn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(target.DeadLetterConfig.Arn).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.sesEvents.deadLetterQueue), 'Arn'] });
    expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
    const invoke = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig')).find((c) => c.Properties?.FunctionName?.Ref === fnId);
    expect(invoke?.Properties?.DestinationConfig?.OnFailure?.Destination).toBeDefined();
  });
});

describe('config travels with the functions that call pipeline()', () => {
  it('each has CULTIVATE_PUBLIC_BASE_URL from context and SES_CONFIGURATION_SET; the others have neither', () => {
    const { stack: s, template: t } = custom();
    const fns = resources(t, 'AWS::Lambda::Function');
    const withConfig = new Set(
      Object.values({
        relationship: s.relationships.relationshipFunction,
        sweeper: s.sending.sweeperFunction,
        sender: s.sending.senderFunction,
        sesEvents: s.sesEvents.sesEventsFunction,
        inboundMail: (s.replies as NonNullable<typeof s.replies>).inboundMailFunction,
        // Owner routing and config/crm.yaml.
        crmOutbound: s.relationships.crmOutboundFunction,
        crmNormalise: s.relationships.crmNormaliseFunction,
      }).map((fn) => logicalId(s, fn)),
    );
    expect(withConfig.size).toBe(7);
    // The ingest function has the base URL (HubSpot signs the public URL) but no config/.
    const ingestId = logicalId(s, s.api.ingestFunction);
    for (const [id, fn] of Object.entries(fns)) {
      const vars = fn.Properties?.Environment.Variables;
      if (withConfig.has(id)) {
        expect(vars.CULTIVATE_PUBLIC_BASE_URL, id).toBe('https://nurture.seller-real.example');
        expect(vars.SES_CONFIGURATION_SET, id).toEqual({ Ref: logicalId(s, s.email.configurationSet) });
      } else if (id === ingestId) {
        expect(vars.CULTIVATE_PUBLIC_BASE_URL, id).toBe('https://nurture.seller-real.example');
        expect(vars.SES_CONFIGURATION_SET, id).toBeUndefined();
      } else {
        expect(vars.CULTIVATE_PUBLIC_BASE_URL, id).toBeUndefined();
      }
    }
  });

  it('a missing or non-https publicBaseUrl fails the synth with a clear message', () => {
    expect(() => synthStack({ publicBaseUrl: undefined })).toThrow(/context "publicBaseUrl" is required/);
    expect(() => synthStack({ publicBaseUrl: 'http://nurture.seller.example' })).toThrow(/publicBaseUrl" must be an https:\/\/ URL/);
  });

  it('the afterBundling hook copies the repository config/ folder into the bundle', () => {
    expect(copyConfigHooks.afterBundling('/repo', '/out/asset')).toEqual(["cp -r '/repo/config' '/out/asset/config'"]);
    expect(copyConfigHooks.beforeBundling('/repo', '/out')).toEqual([]);
  });

  it('a real bundle (esbuild) holds config/ next to index.mjs', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'cultivate-bundle-'));
    try {
      const app = new App({ outdir, context: { publicBaseUrl: 'https://nurture.seller-real.example' } });
      const s = new Stack(app, 'BundleTest');
      const configurationSet = new ses.ConfigurationSet(s, 'ConfigSet');
      new CultivateFunction(s, 'SesEvents', { entry: lambdaEntry('ses-events'), pipelineConfig: { configurationSet } });
      app.synth();
      const assets = readdirSync(outdir).filter((d) => d.startsWith('asset.'));
      expect(assets).toHaveLength(1);
      const dir = join(outdir, assets[0]!);
      expect(existsSync(join(dir, 'index.mjs'))).toBe(true);
      for (const f of ['sending.yaml', 'cadence.yaml', 'content.yaml', 'owners.yaml']) expect(existsSync(join(dir, 'config', f)), f).toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
