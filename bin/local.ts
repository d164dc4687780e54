/**
 * `npm start`: the whole pipeline on this machine. Settings (environment):
 *   PORT (3000), CULTIVATE_DATA_DIR (.cultivate/), CULTIVATE_WEBHOOK_SECRET (printed below),
 *   CULTIVATE_CLOCK_START (now), CULTIVATE_LOG_LEVEL (INFO), CULTIVATE_OUTBOUND_WEBHOOK_URL (unset),
 *   and each CRM's settings (CULTIVATE_HUBSPOT_*, CULTIVATE_SALESFORCE_*, CULTIVATE_PIPEDRIVE_*: docs/crm/).
 */
import { JavaMissingError } from '#local/dynamodb-local';
import { DEFAULT_WEBHOOK_SECRET, startLocalStack } from '#local/runtime';

const env = process.env;
const clockStart = env.CULTIVATE_CLOCK_START ? new Date(env.CULTIVATE_CLOCK_START) : undefined;
if (clockStart && Number.isNaN(clockStart.getTime())) {
  console.error(`CULTIVATE_CLOCK_START is not an ISO instant: ${env.CULTIVATE_CLOCK_START}`);
  process.exit(2);
}
const logLevel = (env.CULTIVATE_LOG_LEVEL ?? 'INFO').toUpperCase() as 'INFO';

try {
  const stack = await startLocalStack({
    dataDir: env.CULTIVATE_DATA_DIR ?? '.cultivate',
    ...(env.CULTIVATE_CONFIG_DIR && { configDir: env.CULTIVATE_CONFIG_DIR }),
    ...(env.CULTIVATE_PUBLIC_BASE_URL && { publicBaseUrl: env.CULTIVATE_PUBLIC_BASE_URL }),
    port: env.PORT ? Number(env.PORT) : 3000,
    webhookSecret: env.CULTIVATE_WEBHOOK_SECRET ?? DEFAULT_WEBHOOK_SECRET,
    ...(clockStart && { clockStart }),
    logLevel,
    ...(env.CULTIVATE_OUTBOUND_WEBHOOK_URL && { outboundWebhookUrl: env.CULTIVATE_OUTBOUND_WEBHOOK_URL }),
    crmEnv: env,
  });
  const secretNote = env.CULTIVATE_WEBHOOK_SECRET ? '(from CULTIVATE_WEBHOOK_SECRET)' : '(default; set CULTIVATE_WEBHOOK_SECRET to change it)';
  process.stdout.write(
    [
      '',
      `Cultivate is running locally at ${stack.url}`,
      `  clock:          ${stack.clock.now().toISOString()}`,
      `  webhook secret: ${stack.webhookSecret} ${secretNote}`,
      `  DynamoDB Local: ${stack.dynamoEndpoint} (table ${stack.tableName}, data in ${env.CULTIVATE_DATA_DIR ?? '.cultivate'}/dynamodb)`,
      `  SES v2 (local): ${stack.sesEndpoint}`,
      `  CRM webhooks:   ${stack.crms.length > 0 ? stack.crms.map((c) => `${stack.url}/webhooks/${c}`).join(', ') : 'none configured (see docs/crm/: CULTIVATE_HUBSPOT_*, CULTIVATE_SALESFORCE_*, CULTIVATE_PIPEDRIVE_*)'}`,
      '',
      'Try:  npm run -s sign -- examples/lost-deal.json > /tmp/sig && \\',
      `      curl -s -X POST ${stack.url}/webhooks/generic -H "content-type: application/json" \\`,
      '        -H "Cultivate-Signature: $(cat /tmp/sig)" --data-binary @examples/lost-deal.json',
      `      curl -s "${stack.url}/relationships?email=dana@example.com"`,
      '',
    ].join('\n') + '\n',
  );
  const shutdown = async () => {
    await stack.stop();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
} catch (err) {
  if (err instanceof JavaMissingError) {
    console.error(`\ncultivate: ${err.message}\n`);
    process.exit(3);
  }
  throw err;
}
