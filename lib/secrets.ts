/**
 * Secrets created by the stack with generated values. Functions receive their ARNs (never the
 * values) in environment variables and read them at run time, cached.
 *
 * Rotation: these are shared secrets with a CRM (webhook signing, outbound signing) or a keyed-hash
 * key whose change re-keys every identity index entry; rotating them is a coordinated change with
 * the CRM admin (docs: runbook), not an automatic one. The unsubscribe key signs links in mail
 * already sent, so its old value must stay verifiable after a change (the unsubscribe function
 * accepts a JSON list of keys). cdk-nag SMG4 is acknowledged per secret.
 */
import { Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export class CultivateSecrets extends Construct {
  /** Shared secret CRMs use to sign inbound webhooks (generic adapter). */
  public readonly webhookSecret: secretsmanager.Secret;
  /** HMAC key for keyed hashes of e-mail addresses (identity index, suppressions). */
  public readonly identityKey: secretsmanager.Secret;
  /** Secret Cultivate signs outbound CRM webhooks with. */
  public readonly outboundSecret: secretsmanager.Secret;
  /** HMAC key of unsubscribe tokens (signed by the sender, verified by the unsubscribe function). */
  public readonly unsubscribeKey: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.webhookSecret = this.generated('WebhookSecret', 'Cultivate: shared secret for inbound CRM webhook signatures');
    this.identityKey = this.generated('IdentityKey', 'Cultivate: HMAC key for keyed hashes of e-mail addresses');
    this.outboundSecret = this.generated('OutboundSecret', 'Cultivate: secret for signing outbound CRM webhooks');
    this.unsubscribeKey = this.generated(
      'UnsubscribeKey',
      'Cultivate: HMAC key for unsubscribe tokens in sent e-mail',
      'Links in mail already sent must keep working: rotation keeps the old key verifiable for months, run by hand per the runbook.',
    );
  }

  private generated(
    id: string,
    description: string,
    rotationReason = 'Rotation is a coordinated change with the CRM admin (shared signing secret / re-keying), run by hand per the runbook.',
  ): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, id, {
      description,
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: rotationReason,
    });
    return secret;
  }
}
