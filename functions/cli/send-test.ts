/**
 * `cultivate send-test <track> --to internal@seller.example`: renders every e-mail of a track's
 * cadence (the touches `preview` plays for a sample contact, rendered by the same
 * `renderValueEmail` as the sender) and sends them through SES v2 to test addresses only, subject
 * prefixed "[test]". It refuses any address outside the company's own domains, so it can never
 * mail a customer. `--dry` prints them instead.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { emailAddress, lostReasons, type LostReason } from '#catalog/events';
import { SesMailer } from '#adapters/ses-mailer';
import type { CultivateConfig } from '#config/schema';
import type { SendingConfig } from '#config/sending';
import { trackFor, type TrackSubject } from '#domain/cadence';
import { renderValueEmail, type SenderSettings } from '#domain/email';
import { resolveOwner } from '#config/owners';
import type { Mailer, OutgoingEmail } from '#ports/ports';
import { signUnsubscribeToken } from '#shared/unsubscribe-token';
import { checkConfigDir, formatProblem } from './config-check.ts';
import type { CliIO } from './index.ts';
import { PreviewOptions, simulate } from './preview.ts';

export const SEND_TEST_USAGE = `usage: cultivate send-test <track> --to ADDRESS [--to ADDRESS ...] [options]
  renders every e-mail of <track>'s cadence for a sample contact and sends them, subject
  prefixed [test], to the given addresses only; addresses outside the company's domains are refused
  --to ADDRESS        a test recipient (repeatable); must be on a company domain
  --allow-domain D    also accept addresses on D (repeatable), e.g. a QA inbox's domain
  --config DIR        the config folder (default: CULTIVATE_CONFIG_DIR or config)
  --endpoint URL      the SES v2 endpoint, e.g. the local SES server npm start prints
                      (default: AWS, with the default region and credentials)
  --tz ZONE           the sample contact's time zone (default: per cadence.yaml timezone)
  --dry               print the e-mails instead of sending them
`;

const DOMAIN = /^([a-z0-9-]+\.)+[a-z]{2,}$/i;

/**
 * The company's own domains: the owners' e-mail domains that the sending domain belongs to (the
 * sending domain's organisation, e.g. seller.example for mail.seller.example), plus `allow`.
 */
export function companyDomains(sending: Pick<SendingConfig, 'sendingDomain'>, config: Pick<CultivateConfig, 'owners'>, allow: readonly string[]): string[] {
  const sendingDomain = sending.sendingDomain.toLowerCase();
  const owners = config.owners.owners.map((o) => o.email.slice(o.email.lastIndexOf('@') + 1).toLowerCase());
  const organisation = owners.filter((d) => sendingDomain === d || sendingDomain.endsWith(`.${d}`));
  return [...new Set([...organisation, ...allow.map((d) => d.toLowerCase())])];
}

export function isCompanyAddress(address: string, domains: readonly string[]): boolean {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  return domains.some((d) => domain === d || domain.endsWith(`.${d}`));
}

/**
 * A sample contact `trackId` takes, built from the track's own `when`: the first value of each
 * list, with the first lost reason (of its list, or of all of them) that earlier tracks leave to it.
 * Undefined when earlier tracks take every such contact.
 */
export function sampleSubjectFor(config: CultivateConfig, trackId: string): TrackSubject | undefined {
  const track = config.cadence.tracks.find((t) => t.id === trackId);
  if (!track) return undefined;
  const w = track.when;
  const first = {
    ...(w?.roles && { role: w.roles[0] }),
    ...(w?.horizons && { horizon: w.horizons[0] }),
    ...(w?.countries && { country: w.countries[0] }),
    ...(w?.tags && { tags: w.tags.slice(0, 1) }),
  };
  // A track that takes referrals (and perhaps lost deals) is tried with a referral too.
  const subjects: TrackSubject[] = [
    ...(w?.entries === undefined || w.entries.includes('lost-deal') ? (w?.lostReasons ?? lostReasons).map((lostReason) => ({ lostReason, ...first })) : []),
    ...(w?.entries?.includes('referral') ? [{ entry: 'referral' as const, ...first }] : []),
  ];
  return subjects.find((s) => trackFor(config, s)?.id === trackId);
}

export interface SendTestIO extends CliIO {
  /** The mailer for an endpoint (tests may wrap it); default: SesMailer on a real SESv2Client. */
  mailer?: (endpoint: string | undefined) => Mailer;
}

function sesMailer(endpoint: string | undefined, env: Record<string, string | undefined>): Mailer {
  // A local SES server checks no signature; AWS uses the default region and credential chain.
  const local = endpoint !== undefined && !env.AWS_ACCESS_KEY_ID;
  return new SesMailer(
    new SESv2Client({
      ...(endpoint && { endpoint, region: env.AWS_REGION ?? 'us-east-1' }),
      ...(local && { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    }),
  );
}

export async function sendTestCommand(args: string[], io: SendTestIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        to: { type: 'string', multiple: true },
        'allow-domain': { type: 'string', multiple: true },
        config: { type: 'string' },
        endpoint: { type: 'string' },
        tz: { type: 'string' },
        dry: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.err(`cultivate send-test: ${(err as Error).message}\n${SEND_TEST_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(SEND_TEST_USAGE);
    return 0;
  }
  const env = io.env ?? process.env;
  const trackId = positionals[0];
  const to = values.to ?? [];
  if (!trackId || positionals.length > 1 || to.length === 0) {
    io.err(`cultivate send-test: give one track and at least one --to\n${SEND_TEST_USAGE}`);
    return 2;
  }
  const badDomain = (values['allow-domain'] ?? []).find((d) => !DOMAIN.test(d));
  if (badDomain !== undefined) {
    io.err(`cultivate send-test: --allow-domain "${badDomain}" must be a domain such as qa.seller.example\n`);
    return 2;
  }

  const dir = values.config ?? env.CULTIVATE_CONFIG_DIR ?? 'config';
  const checked = checkConfigDir(dir);
  if (!checked.config || !checked.sending) {
    for (const p of checked.problems) io.err(`${formatProblem(p)}\n`);
    io.err(`cultivate send-test: ${dir} has problems; fix them first (cultivate config check ${dir})\n`);
    return 1;
  }
  const config = checked.config;
  const sending = checked.sending;
  if (!config.cadence.tracks.some((t) => t.id === trackId)) {
    io.err(`cultivate send-test: no track "${trackId}" in ${dir}/cadence.yaml; tracks: ${config.cadence.tracks.map((t) => t.id).join(', ')}\n`);
    return 2;
  }

  // Never a customer: every recipient must be on a company domain, or nothing is sent at all.
  const domains = companyDomains(sending, config, values['allow-domain'] ?? []);
  const refused = to.filter((a) => !emailAddress.safeParse(a).success || !isCompanyAddress(a, domains));
  if (refused.length > 0) {
    const known = domains.length > 0 ? `company domains: ${domains.join(', ')}` : 'no owner in owners.yaml is on the sending domain\'s organisation';
    io.err(`cultivate send-test: refused ${refused.join(', ')}: test e-mails go only to company addresses (${known}; add one with --allow-domain). Nothing was sent.\n`);
    return 2;
  }

  const subject = sampleSubjectFor(config, trackId);
  if (!subject) {
    io.err(`cultivate send-test: track "${trackId}" takes nobody (earlier tracks take every contact its conditions describe), so it never sends anything\n`);
    return 1;
  }
  const options = PreviewOptions.safeParse({
    ...(subject.lostReason !== undefined && { reason: subject.lostReason }),
    ...(subject.entry !== undefined && { entry: subject.entry }),
    ...(subject.role && { role: subject.role }),
    ...(subject.horizon && { horizon: subject.horizon }),
    ...(subject.country && { country: subject.country }),
    ...(subject.tags && { tag: subject.tags }),
    ...(values.tz && { tz: values.tz }),
    id: 'rel_send_test',
  });
  if (!options.success) {
    io.err(`cultivate send-test: --tz: ${options.error.issues[0]?.message ?? 'invalid'}\n`);
    return 2;
  }
  const now = io.now?.() ?? new Date();
  const result = simulate(config, options.data, now);
  const emails = result.touches.filter((t) => t.channel === 'email');
  if (emails.length === 0) {
    io.out(`track "${trackId}" sends no e-mail (only tasks): nothing to send\n`);
    return 0;
  }

  const settings: SenderSettings = {
    sendingDomain: sending.sendingDomain,
    publicBaseUrl: env.CULTIVATE_PUBLIC_BASE_URL ?? 'http://127.0.0.1:3000',
    companyName: sending.companyName,
    postalAddress: sending.postalAddress,
  };
  const owner = resolveOwner(config.owners, config.owners.fallbackOwner).owner;
  // A throwaway key: the test e-mail's unsubscribe link opens a page but can change nobody.
  const key = randomBytes(32).toString('base64url');
  const byId = new Map(config.content.items.map((i) => [i.id, i]));
  const render = (recipient: string): OutgoingEmail[] =>
    emails.map((touch, i) => {
      const content = byId.get(touch.contentId ?? '');
      if (!content) throw new Error(`content ${touch.contentId} is not in content.yaml`);
      const state = { ...result.state, contact: { ...result.state.contact, email: recipient, name: 'Alex Sample' } };
      const mail = renderValueEmail({ state, touch, owner, content, settings, unsubscribeToken: signUnsubscribeToken(key, { relationshipId: state.id, touchId: touch.touchId, topic: content.topic }) });
      return { ...mail, subject: `[test] ${mail.subject}`, tags: [{ name: 'purpose', value: 'send-test' }, { name: 'track', value: trackId }, { name: 'step', value: String(i + 1) }] };
    });

  if (values.dry) {
    for (const recipient of to) {
      for (const [i, m] of render(recipient).entries()) {
        io.out(`--- ${i + 1}/${emails.length}  To: ${m.to}  From: "${m.from.name}" <${m.from.address}>\nSubject: ${m.subject}\n\n${m.text}\n\n`);
      }
    }
    io.out(`${emails.length} e-mail${emails.length === 1 ? '' : 's'} of track "${trackId}" per recipient; not sent (--dry)\n`);
    return 0;
  }

  const mailer = io.mailer ? io.mailer(values.endpoint) : sesMailer(values.endpoint, env);
  let sent = 0;
  for (const recipient of to) {
    for (const m of render(recipient)) {
      const { messageId } = await mailer.send(m);
      sent++;
      io.out(`sent ${m.subject} to ${m.to} (${messageId})\n`);
    }
  }
  io.out(`${sent} test e-mail${sent === 1 ? '' : 's'} of track "${trackId}" sent to ${to.join(', ')}\n`);
  return 0;
}
