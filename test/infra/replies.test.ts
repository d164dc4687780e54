/**
 * The Replies construct on its own stack (lib/cultivate-stack.ts composes it; see the report):
 * SES receipt rule for the reply domain with an S3 action then a Lambda action, an encrypted
 * SSL-only bucket whose raw replies expire, and no unacknowledged cdk-nag finding.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { CrmSettingsBinding } from '../../lib/crm-settings.ts';
import { Replies } from '../../lib/replies.ts';

function build() {
  const app = new App({ context: { publicBaseUrl: 'https://api.cultivate.example' } });
  const stack = new Stack(app, 'RepliesTest', { env: { account: '111111111111', region: 'eu-west-1' } });
  const table = dynamodb.TableV2.fromTableName(stack, 'Table', 'cultivate');
  const idem = dynamodb.TableV2.fromTableName(stack, 'Idem', 'cultivate-idempotency');
  const bus = events.EventBus.fromEventBusName(stack, 'Bus', 'cultivate');
  const secret = (id: string) => secretsmanager.Secret.fromSecretNameV2(stack, id, id);
  const replies = new Replies(stack, 'Replies', {
    table,
    idempotencyTable: idem,
    bus,
    replyDomain: 'reply.seller.example',
    unsubscribeKey: secret('UnsubscribeKey'),
    identityKey: secret('IdentityKey'),
    outboundSecret: secret('OutboundSecret'),
    crmSettings: new CrmSettingsBinding(stack),
    configurationSet: ses.ConfigurationSet.fromConfigurationSetName(stack, 'Cs', 'cultivate'),
  });
  return { app, stack, replies, template: Template.fromStack(stack) };
}

describe('Replies construct', () => {
  const { app, template } = build();

  it('receives the reply domain: S3 first (raw message), then the Lambda, asynchronously', () => {
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: Match.objectLike({
        Recipients: ['reply.seller.example'],
        Enabled: true,
        ScanEnabled: true,
        TlsPolicy: 'Require',
        Actions: [
          { S3Action: Match.objectLike({ ObjectKeyPrefix: 'inbound/' }) },
          { LambdaAction: Match.objectLike({ InvocationType: 'Event' }) },
        ],
      }),
    });
  });

  it('keeps raw replies encrypted, private and for 30 days only', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Prefix: 'inbound/', Status: 'Enabled' })] },
    });
  });

  it('has no unacknowledged cdk-nag finding', () => {
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => `${r.constructPath}`).join(', ')}`)).toEqual([]);
  });
});
