/**
 * SES receipt rule, Lambda action (after the S3 action stored the raw message): read the object
 * the SES event names and run the same handler as POST /local/inbound. A message that cannot be
 * read stays in S3 (the bucket's lifecycle expires it) and is counted; nothing from it is logged.
 */
import type { Context, SESEvent } from 'aws-lambda';
import { getObject } from '#adapters/s3-object';
import { handleInboundMail, MAX_INBOUND_MAIL_BYTES, type RepliesDeps } from '#handlers/replies';
import { pipeline, refreshRules } from './config.ts';
import { outboundDelivery } from './crm.ts';
import { clock, env, inboxStore, logger, publisher, relationshipStore, secretList } from './runtime.ts';

// The same delivery as the CRM outbound function (every target, once per forward).
const outbound = outboundDelivery();

const config = pipeline();
const deps: RepliesDeps = {
  clock,
  store: relationshipStore(),
  inbox: inboxStore(),
  publisher: publisher(),
  logger,
  planner: config.planner,
  unsubscribeKeys: () => secretList('UNSUBSCRIBE_KEY_SECRET_ARN'),
  replyDomain: process.env.REPLY_DOMAIN ?? config.sending.replyDomain,
  skipWeek: (state) => config.skipWeek(state),
  forward: outbound.deliver,
  // On AWS the raw message stays in the bucket (lifecycle-expired): only say where.
  quarantine: async (_raw, reason, key) => logger.warn('inbound mail kept in S3', { reason, messageKey: key }),
};

const BUCKET = env('INBOUND_BUCKET_NAME');
const PREFIX = process.env.INBOUND_OBJECT_PREFIX ?? '';

export const handler = async (event: SESEvent, context: Context) => {
  outbound.registerContext(context);
  await refreshRules();
  const outcomes: string[] = [];
  for (const record of event.Records) {
    const mail = record.ses.mail;
    const key = `${PREFIX}${mail.messageId}`;
    logger.appendKeys({ sesMessageId: mail.messageId });
    const raw = await getObject(BUCKET, key);
    if (raw.byteLength > MAX_INBOUND_MAIL_BYTES) logger.warn('inbound mail over the size limit', { bytes: raw.byteLength });
    const result = await handleInboundMail(deps, raw, { recipients: record.ses.receipt.recipients });
    outcomes.push(result.outcome);
  }
  return { outcomes };
};
