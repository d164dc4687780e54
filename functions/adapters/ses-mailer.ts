/** Mailer on SES v2: Simple content (so the List-Unsubscribe headers ride along), tags, configuration set. */
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { type Mailer, MailerThrottledError, type OutgoingEmail } from '#ports/ports';

// LimitExceededException is about resource counts in SES v2, not the send rate: not a throttle.
const THROTTLE_NAMES = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling']);

/** RFC 5322 display name, quoted and escaped. */
export function formatAddress(name: string, address: string): string {
  return `"${name.replace(/["\\]/g, '\\$&')}" <${address}>`;
}

export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly configurationSetName?: string,
  ) {}

  async send(mail: OutgoingEmail): Promise<{ messageId: string }> {
    try {
      const out = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: formatAddress(mail.from.name, mail.from.address),
          Destination: { ToAddresses: [mail.to] },
          ReplyToAddresses: mail.replyTo,
          Content: {
            Simple: {
              Subject: { Data: mail.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: mail.text, Charset: 'UTF-8' }, Html: { Data: mail.html, Charset: 'UTF-8' } },
              Headers: mail.headers.map((h) => ({ Name: h.name, Value: h.value })),
            },
          },
          EmailTags: mail.tags.map((t) => ({ Name: t.name, Value: t.value })),
          ...(this.configurationSetName && { ConfigurationSetName: this.configurationSetName }),
        }),
      );
      if (!out.MessageId) throw new Error('SES accepted the message without a MessageId');
      return { messageId: out.MessageId };
    } catch (err) {
      const name = (err as { name?: string }).name ?? '';
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (THROTTLE_NAMES.has(name) || status === 429) throw new MailerThrottledError(`SES throttled the send (${name || status})`);
      throw err;
    }
  }
}
