/**
 * Replies: SES receives mail for the reply subdomain (MX <replyDomain> 10
 * inbound-smtp.<region>.amazonaws.com). One receipt rule set, one rule for that domain: the S3
 * action stores the raw message in an encrypted, SSL-only bucket whose objects expire after 30
 * days (a message that cannot be read simply stays there until then), then the Lambda action
 * (asynchronous) runs the inbound-mail function, which reads the object and runs the same handler
 * as the local POST /local/inbound.
 *
 * SES allows one ACTIVE receipt rule set per region and CloudFormation cannot activate one: after
 * the first deploy, run `aws ses set-active-receipt-rule-set --rule-set-name <RuleSetName output>`.
 */
import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as ses from 'aws-cdk-lib/aws-ses';
import * as sesReceipt from 'aws-cdk-lib/aws-ses';
import * as actions from 'aws-cdk-lib/aws-ses-actions';
import { Construct } from 'constructs';
import type { CrmSettingsBinding } from './crm-settings.ts';
import { CultivateFunction, lambdaEntry } from './cultivate-function.ts';

/** S3 prefix of raw inbound messages (the object key is the prefix plus SES's message id). */
export const INBOUND_PREFIX = 'inbound/';
/** Raw replies are kept this long, then expire. */
export const INBOUND_RETENTION_DAYS = 30;

export interface RepliesProps {
  readonly table: dynamodb.ITableV2;
  readonly idempotencyTable: dynamodb.ITableV2;
  readonly bus: events.IEventBus;
  /** The subdomain replies go to (config/sending.yaml replyDomain). */
  readonly replyDomain: string;
  /** Verifies reply tokens (the unsubscribe key, domain-separated). */
  readonly unsubscribeKey: secretsmanager.ISecret;
  /** Keyed hashes for the unsubscribe-in-words suppression. */
  readonly identityKey: secretsmanager.ISecret;
  /** Signs the forward to the CRM side. */
  readonly outboundSecret: secretsmanager.ISecret;
  /** For pipeline() (the planner, the skip-week rule). */
  readonly configurationSet: ses.IConfigurationSet;
  /** Outbound CRM webhook URL (context outboundWebhookUrl), where forwards go. */
  readonly outboundWebhookUrl?: string;
  /** CRM settings: forwards also go to each CRM with API settings. */
  readonly crmSettings: CrmSettingsBinding;
}

export class Replies extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly inboundMailFunction: CultivateFunction;
  public readonly ruleSet: sesReceipt.ReceiptRuleSet;
  public readonly identity: sesReceipt.EmailIdentity;

  constructor(scope: Construct, id: string, props: RepliesProps) {
    super(scope, id);

    this.bucket = new s3.Bucket(this, 'RawReplies', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [{ id: 'ExpireRawReplies', prefix: INBOUND_PREFIX, expiration: Duration.days(INBOUND_RETENTION_DAYS) }],
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Raw replies expire after 30 days and are read only by the inbound-mail function; access logs would copy personal data into a second bucket.',
    });

    this.inboundMailFunction = new CultivateFunction(this, 'InboundMail', {
      entry: lambdaEntry('inbound-mail'),
      description: 'Cultivate: classify replies to the reply subdomain and act on them',
      asyncInvoked: true,
      memorySize: 512,
      timeout: Duration.seconds(30),
      pipelineConfig: { configurationSet: props.configurationSet },
      environment: {
        INBOUND_BUCKET_NAME: this.bucket.bucketName,
        INBOUND_OBJECT_PREFIX: INBOUND_PREFIX,
        REPLY_DOMAIN: props.replyDomain,
        ...(props.outboundWebhookUrl ? { CULTIVATE_OUTBOUND_WEBHOOK_URL: props.outboundWebhookUrl } : {}),
      },
    })
      .bindTable({ table: props.table, access: 'readwrite' })
      .bindTable({ table: props.idempotencyTable, access: 'readwrite', envName: 'IDEMPOTENCY_TABLE_NAME' })
      .bindBus(props.bus)
      .bindSecret('UNSUBSCRIBE_KEY_SECRET_ARN', props.unsubscribeKey)
      .bindSecret('IDENTITY_KEY_SECRET_ARN', props.identityKey)
      .bindSecret('OUTBOUND_SECRET_ARN', props.outboundSecret);
    props.crmSettings.bind(this.inboundMailFunction, 'api');
    this.bucket.grantRead(this.inboundMailFunction, `${INBOUND_PREFIX}*`);
    if (this.inboundMailFunction.role) {
      Validations.of(this.inboundMailFunction.role).acknowledge({
        id: 'AwsSolutions-IAM5[Action::s3:GetObject*]',
        reason: 'Read of the raw replies under inbound/ in this bucket only (CDK grantRead action group).',
      });
      Validations.of(this.inboundMailFunction.role).acknowledge({
        id: 'AwsSolutions-IAM5[Action::s3:GetBucket*]',
        reason: 'CDK grantRead includes bucket-level reads of this one bucket.',
      });
      Validations.of(this.inboundMailFunction.role).acknowledge({
        id: 'AwsSolutions-IAM5[Action::s3:List*]',
        reason: 'CDK grantRead includes listing this one bucket.',
      });
      Validations.of(this.inboundMailFunction.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.bucketLogicalId()}.Arn>/inbound/*]`,
        reason: 'Objects under the inbound/ prefix of the replies bucket only.',
      });
    }

    // SES receives only for verified domains: the reply subdomain is its own identity (publish the
    // DKIM CNAMEs it lists, like the sending domain's).
    this.identity = new sesReceipt.EmailIdentity(this, 'ReplyDomainIdentity', { identity: sesReceipt.Identity.domain(props.replyDomain) });

    this.ruleSet = new sesReceipt.ReceiptRuleSet(this, 'RuleSet', {
      rules: [
        {
          recipients: [props.replyDomain],
          scanEnabled: true,
          tlsPolicy: sesReceipt.TlsPolicy.REQUIRE,
          actions: [
            new actions.S3({ bucket: this.bucket, objectKeyPrefix: INBOUND_PREFIX }),
            new actions.Lambda({ function: this.inboundMailFunction, invocationType: actions.LambdaInvocationType.EVENT }),
          ],
        },
      ],
    });

    new CfnOutput(this, 'RuleSetName', {
      value: this.ruleSet.receiptRuleSetName,
      description: 'Activate once: aws ses set-active-receipt-rule-set --rule-set-name <this>',
    });
    new CfnOutput(this, 'ReplyMx', { value: `${props.replyDomain} MX 10 inbound-smtp.<region>.amazonaws.com` });
  }

  private bucketLogicalId(): string {
    const cfn = this.bucket.node.defaultChild as s3.CfnBucket;
    return cfn.stack.getLogicalId(cfn);
  }
}
