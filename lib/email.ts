/**
 * SES for the send path: the configuration set every message names (reputation metrics, account
 * suppression of bounces and complaints, TLS required) with an EventBridge event destination on the
 * DEFAULT bus (the only bus SES can publish to) for the event types Cultivate acts on, and the
 * sending subdomain's identity (Easy DKIM 2048-bit, custom MAIL FROM). The DNS records to publish
 * are stack outputs (docs/adr/0003-send-path.md lists them).
 */
import { join } from 'node:path';
import { Annotations, CfnOutput, Fn, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { CONFIG_DIR, projectRoot } from './cultivate-function.ts';
import { PLACEHOLDER_SENDING_DOMAIN, readSendingYaml, readSettings } from './settings.ts';

/**
 * The SES event types published (and so paid for and handled). No SEND (the sender records its own
 * sends) and no OPEN (Apple Mail Privacy Protection opens everything; an open means nothing).
 */
export const SES_EVENT_TYPES: readonly ses.EmailSendingEvent[] = [
  ses.EmailSendingEvent.BOUNCE,
  ses.EmailSendingEvent.COMPLAINT,
  ses.EmailSendingEvent.REJECT,
  ses.EmailSendingEvent.DELIVERY,
  ses.EmailSendingEvent.CLICK,
];

/** The detail-type SES gives each event type on EventBridge (EventBridge reference, "Amazon SES events"). */
export const SES_DETAIL_TYPES: Readonly<Partial<Record<ses.EmailSendingEvent, string>>> = {
  [ses.EmailSendingEvent.SEND]: 'Email Sent',
  [ses.EmailSendingEvent.REJECT]: 'Email Rejected',
  [ses.EmailSendingEvent.BOUNCE]: 'Email Bounced',
  [ses.EmailSendingEvent.COMPLAINT]: 'Email Complaint Received',
  [ses.EmailSendingEvent.DELIVERY]: 'Email Delivered',
  [ses.EmailSendingEvent.OPEN]: 'Email Opened',
  [ses.EmailSendingEvent.CLICK]: 'Email Clicked',
  [ses.EmailSendingEvent.RENDERING_FAILURE]: 'Email Rendering Failed',
  [ses.EmailSendingEvent.DELIVERY_DELAY]: 'Email Delivery Delayed',
  [ses.EmailSendingEvent.SUBSCRIPTION]: 'Email Subscribed',
};

/** Detail-types of exactly the published event types (what the SES events rule matches). */
export function sesDetailTypes(types: readonly ses.EmailSendingEvent[] = SES_EVENT_TYPES): string[] {
  return types.map((t) => {
    const detailType = SES_DETAIL_TYPES[t];
    if (!detailType) throw new Error(`no EventBridge detail-type known for SES event type ${t}`);
    return detailType;
  });
}

/** The organizational domain a DMARC record belongs to: the sending subdomain minus its first label. */
export function parentDomain(domain: string): string {
  const labels = domain.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : domain;
}

export interface DnsRecord {
  readonly name: string;
  readonly type: 'CNAME' | 'MX' | 'TXT';
  readonly value: string;
}

export class CultivateEmail extends Construct {
  public readonly configurationSet: ses.ConfigurationSet;
  public readonly identity: ses.EmailIdentity;
  public readonly sendingDomain: string;
  public readonly mailFromDomain: string;
  /** ARN of the configuration set (SendEmail is authorized on it as well as on the identity). */
  public readonly configurationSetArn: string;
  /** Every record to publish (values may be CloudFormation tokens until deployment). */
  public readonly dnsRecords: DnsRecord[];

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const settings = readSettings(this);
    const stack = Stack.of(this);
    this.sendingDomain = settings.sendingDomain;
    this.mailFromDomain = `bounce.${this.sendingDomain}`;

    // The sender writes From: <owner>@<sendingDomain of config/sending.yaml>; SES only sends for a
    // verified identity, so the two must name the same domain.
    const sending = readSendingYaml(join(projectRoot, CONFIG_DIR, 'sending.yaml'));
    if (sending.sendingDomain !== undefined && sending.sendingDomain.toLowerCase() !== this.sendingDomain) {
      throw new Error(
        `context "sendingDomain" (${this.sendingDomain}) differs from sendingDomain in config/sending.yaml ` +
          `(${sending.sendingDomain}): the sender writes From addresses at the config's domain and SES only sends ` +
          'for the identity this stack creates. Set both to the same sending subdomain.',
      );
    }
    if (sending.sesMaxSendRate !== undefined && sending.sesMaxSendRate !== settings.sesMaxSendRate) {
      Annotations.of(this).addWarningV2(
        'cultivate:sesMaxSendRate-mismatch',
        `config/sending.yaml says sesMaxSendRate ${sending.sesMaxSendRate}, context "sesMaxSendRate" is ${settings.sesMaxSendRate}; ` +
          'the sender concurrency follows the context value. Make them agree.',
      );
    }
    if (this.sendingDomain === PLACEHOLDER_SENDING_DOMAIN) {
      Annotations.of(this).addWarningV2(
        'cultivate:placeholder-sendingDomain',
        `context "sendingDomain" is the placeholder ${PLACEHOLDER_SENDING_DOMAIN}: set your sending subdomain ` +
          '(cdk.json and config/sending.yaml) before deploying; the identity cannot be verified otherwise.',
      );
    }

    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      reputationMetrics: true,
      sendingEnabled: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
    });
    // SES publishes to the account's default bus only; the SesEvents rule picks the events up there.
    const defaultBus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.configurationSet.addEventDestination('ToEventBridge', {
      destination: ses.EventDestination.eventBus(defaultBus),
      events: [...SES_EVENT_TYPES],
    });
    this.configurationSetArn = stack.formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: this.configurationSet.configurationSetName,
    });

    this.identity = new ses.EmailIdentity(this, 'Identity', {
      identity: ses.Identity.domain(this.sendingDomain),
      configurationSet: this.configurationSet,
      dkimSigning: true,
      dkimIdentity: ses.DkimIdentity.easyDkim(ses.EasyDkimSigningKeyLength.RSA_2048_BIT),
      mailFromDomain: this.mailFromDomain,
      mailFromBehaviorOnMxFailure: ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
    });

    const parent = parentDomain(this.sendingDomain);
    this.dnsRecords = [
      ...this.identity.dkimRecords.map((r): DnsRecord => ({ name: r.name, type: 'CNAME', value: r.value })),
      { name: this.mailFromDomain, type: 'MX', value: `10 feedback-smtp.${stack.region}.amazonses.com` },
      { name: this.mailFromDomain, type: 'TXT', value: '"v=spf1 include:amazonses.com ~all"' },
      {
        name: `_dmarc.${parent}`,
        type: 'TXT',
        value: `"v=DMARC1; p=quarantine; rua=mailto:dmarc@${parent}; adkim=s; aspf=s"`,
      },
    ];
    const outputIds = ['DkimCname1', 'DkimCname2', 'DkimCname3', 'MailFromMx', 'MailFromSpf', 'DmarcRecommended'];
    this.dnsRecords.forEach((record, i) => {
      const outputId = outputIds[i] as string;
      new CfnOutput(this, outputId, {
        description:
          outputId === 'DmarcRecommended'
            ? 'Recommended DMARC record for the parent domain (documentation: merge with any existing _dmarc record)'
            : `DNS record to publish for the SES identity ${this.sendingDomain}`,
        value: Fn.join(' ', [record.name, record.type, record.value]),
      });
    });
    new CfnOutput(this, 'ConfigurationSetName', { value: this.configurationSet.configurationSetName });
  }
}
