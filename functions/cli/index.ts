/**
 * The sales-ops commands of the `cultivate` CLI (DESIGN.md §2):
 *
 *   cultivate config check [dir] [--crm C] [--strict]
 *                                    validate every file in config/ (exit 0) or list every problem (exit 1);
 *                                    then list what each configured CRM has that crm.yaml does not map
 *   cultivate preview --reason R ... simulate the cadence for one contact (exit 2 on bad flags);
 *                                    --entry referral: one who enters nurture by a referral
 *   cultivate send-test <track> --to A  a track's e-mails, [test], to company addresses only
 *   cultivate diff <dir>             what a proposed config changes over the live store (POST /config/diff)
 *   cultivate config publish [dir]   check, diff, then publish the rules as the next version (replanned in place)
 *   cultivate config rollback [--to N]  publish an older version's rules again, as a new version
 *   cultivate config versions | replan  the history of published rules; the replan job after a publish
 *   cultivate config pauses | resume content|track <id>  what paused itself (autoPause), and resuming it
 *
 * `runConfigCommands(argv)` takes the arguments after `cultivate` and returns the exit code, or
 * undefined when the command is not one of these (bin/cultivate.ts handles the rest).
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '#config/load';
import { crmNames, type CrmName } from '#crm/types';
import { checkConfigDir, controlsSummary, crmCoverage, formatCoverage, formatProblem, summary } from './config-check.ts';
import { diffCommand } from './diff.ts';
import { publishCommand, replanCommand, rollbackCommand, versionsCommand } from './publish.ts';
import { pausesCommand, resumeCommand } from './pauses.ts';
import { previewJson, PreviewOptions, previewTable, simulate } from './preview.ts';
import { sendTestCommand, type SendTestIO } from './send-test.ts';

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** The clock (default: the real one); `preview` without --from starts the loss now. */
  now?: () => Date;
  env?: Record<string, string | undefined>;
}

const processIO: CliIO = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export const CONFIG_USAGE = [
  '  config check [dir] [--crm C] [--strict]  validate cadence, content, owners, controls and sending in <dir> (default: config/),',
  '                                       then list CRM pipelines, lost reasons, outcomes and users crm.yaml does not map',
  '  preview --reason R [options]         simulate the cadence for one contact, touch by touch',
  '  preview --entry referral [options]   the same for a contact who enters nurture by a referral',
  '  send-test <track> --to A [--to B] [--dry] [--endpoint URL] [--config DIR] [--allow-domain D]',
  '                                       a track\'s e-mails, subject [test], to company addresses only',
  '  diff <dir> [--url U] [--token T] [--json]   what <dir> would change over the live store: touches',
  '                                       moving earlier or later, appearing, disappearing; track changes',
  '  config publish [dir] [--note N] [--url U] [--token T] [--wait]   check, show what changes, publish as the next',
  '                                       rules version; planned touches are replanned in place',
  '  config rollback [--to N] [--note N] [--url U] [--token T] [--wait]   publish version N again (default: the previous one)',
  '  config versions [--url U] [--token T]   the published rules versions, newest first',
  '  config replan [--url U] [--token T] [--wait]   the replan job that follows each publish',
  '  config pauses [--url U] [--token T]  content items and tracks that paused themselves (autoPause): when and why',
  '  config resume content|track <id> [--url U] [--token T]   resume one; its rate counts afresh from now',
].join('\n');

export const PREVIEW_USAGE = `usage: cultivate preview --reason <lost reason> [options]
       cultivate preview --entry referral [options]
  --entry E          how the contact enters nurture: lost-deal (default) or referral
  --reason R         timing, budget, no-decision, competitor, no-need, unresponsive, bad-fit, other
                     (required for a lost deal; a referral has none)
  --role R           prospect, customer, past-customer, champion, evaluator, influencer, referral-partner, advocate
  --horizon H        reason, season, lifetime: the contact's buying horizon
  --tag T            a segment tag on the contact's CRM record (repeatable)
  --tz ZONE          the contact's IANA time zone, e.g. Europe/Berlin (default: per cadence.yaml timezone)
  --country CC       ISO country code, e.g. DE
  --language TAG     the contact's language, e.g. de (default: the content library's)
  --consent C        granted (default), unknown or denied: e-mail consent on record
  --owner EMAIL      the owning rep (default: owners.yaml fallbackOwner)
  --from DATE        the loss (or referral): a date (12:00 in the contact's zone) or an ISO instant (default: now)
  --months N         how far to look ahead (default: 24)
  --revisit-after D  the rep's "come back after" date: nurture e-mail waits until then (lost deals only)
  --contract-ends-at D  a competitor's contract end: nurture starts two months before it (lost deals only)
  --postal-address   the contact has a postal address on record (handwritten notes and items of value need one)
  --id ID            relationship id; minutes in the send window are spread per id (default: rel_preview)
  --json             print the touches as JSON: [{at, localTime, channel, kind, content, reason}]
  --config DIR       the config folder (default: CULTIVATE_CONFIG_DIR or config)
`;

const CHECK_USAGE = `usage: cultivate config check [dir] [--crm hubspot|salesforce|pipedrive|all] [--strict]
  dir          the config folder (default: config)
  --crm C      also ask CRM C's API for its pipelines, lost reasons, outcomes and users, and list
               those crm.yaml does not map (repeatable; all: every CRM). Without --crm, every CRM
               whose API settings are in the environment is asked; none otherwise.
  --strict     exit 1 when anything is unmapped (otherwise unmapped values are warnings)
`;

export async function runConfigCommands(argv: string[], io: CliIO & Pick<SendTestIO, 'mailer'> = processIO): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === 'config') return configCommand(rest, io);
  if (command === 'preview') return previewCommand(rest, io);
  if (command === 'send-test') return sendTestCommand(rest, io);
  if (command === 'diff') return diffCommand(rest, io);
  return undefined;
}

async function configCommand(args: string[], io: CliIO): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === 'help' || sub === undefined) {
    (sub === undefined ? io.err : io.out)(CHECK_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'publish') return publishCommand(rest, io);
  if (sub === 'rollback') return rollbackCommand(rest, io);
  if (sub === 'versions') return versionsCommand(rest, io);
  if (sub === 'replan') return replanCommand(rest, io);
  if (sub === 'pauses') return pausesCommand(rest, io);
  if (sub === 'resume') return resumeCommand(rest, io);
  if (sub !== 'check') {
    io.err(`cultivate config: unknown subcommand '${sub}' (check, publish, rollback, versions, replan, pauses, resume)\n${CHECK_USAGE}`);
    return 2;
  }
  if (rest.includes('--help')) {
    io.out(CHECK_USAGE);
    return 0;
  }
  let flags: ReturnType<typeof parseCheckFlags>;
  try {
    flags = parseCheckFlags(rest);
  } catch (err) {
    io.err(`cultivate config check: ${(err as Error).message}\n${CHECK_USAGE}`);
    return 2;
  }
  const dir = flags.dir;
  const result = checkConfigDir(dir);
  if (result.problems.length > 0 || !result.config || !result.sending || !result.crm) {
    for (const p of result.problems) io.err(`${formatProblem(p)}\n`);
    const n = result.problems.length;
    io.err(`${dir}: ${n} problem${n === 1 ? '' : 's'}\n`);
    return 1;
  }
  io.out(`${summary(dir, result.config, result.sending)}\n`);
  const controls = controlsSummary(result.config);
  if (controls) io.out(`${controls}\n`);

  const outcomes = await crmCoverage(result.crm, io.env ?? process.env, flags.crms);
  let errors = 0;
  let unmapped = 0;
  for (const o of outcomes) {
    if ('error' in o) {
      errors++;
      io.err(`${o.crm}: error: ${o.error}\n`);
      continue;
    }
    unmapped += o.report.findings.length;
    for (const line of formatCoverage(o.report)) io.out(`${line}\n`);
  }
  if (errors > 0) return 1;
  if (flags.strict && unmapped > 0) {
    io.err(`cultivate config check: ${unmapped} unmapped CRM value${unmapped === 1 ? '' : 's'} (--strict)\n`);
    return 1;
  }
  return 0;
}

/** `[dir] [--crm C]... [--strict]`; throws with the reason on anything else. */
function parseCheckFlags(args: string[]): { dir: string; crms?: CrmName[]; strict: boolean } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { crm: { type: 'string', multiple: true }, strict: { type: 'boolean', default: false } },
  });
  if (positionals.length > 1) throw new Error(`expected at most one folder, got ${positionals.join(' ')}`);
  let crms: CrmName[] | undefined;
  for (const value of values.crm ?? []) {
    const named = value === 'all' ? [...crmNames] : (crmNames as readonly string[]).includes(value) ? [value as CrmName] : undefined;
    if (!named) throw new Error(`--crm "${value}" is not one of ${crmNames.join(', ')}, all`);
    crms = [...new Set([...(crms ?? []), ...named])];
  }
  return { dir: positionals[0] ?? 'config', ...(crms && { crms }), strict: values.strict };
}

function previewCommand(args: string[], io: CliIO): number {
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(args);
  } catch (err) {
    io.err(`cultivate preview: ${(err as Error).message}\n${PREVIEW_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(PREVIEW_USAGE);
    return 0;
  }
  const { json, config: configFlag, help: _help, ...flags } = parsed.values;
  const options = PreviewOptions.safeParse(flags);
  if (!options.success) {
    const lines = options.error.issues.map((i) => `  --${i.path.join('.') || '(flags)'}: ${i.path.length === 0 ? i.message : describeIssue(i, flags)}`);
    io.err(`cultivate preview: invalid flags:\n${lines.join('\n')}\n\n${PREVIEW_USAGE}`);
    return 2;
  }

  const dir = configFlag ?? (io.env ?? process.env).CULTIVATE_CONFIG_DIR ?? 'config';
  const checked = checkConfigDir(dir);
  if (!checked.config) {
    for (const p of checked.problems) io.err(`${formatProblem(p)}\n`);
    io.err(`cultivate preview: ${dir} has problems; fix them first (cultivate config check ${dir})\n`);
    return 1;
  }
  if (options.data.owner && !checked.config.owners.owners.some((o) => o.email.toLowerCase() === options.data.owner?.toLowerCase())) {
    io.err(`cultivate preview: note: ${options.data.owner} is not in owners.yaml, so the fallback owner takes the tasks\n`);
  }

  try {
    const result = simulate(checked.config, options.data, io.now?.() ?? new Date());
    io.out(json ? previewJson(result) : previewTable(result, options.data));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function parseFlags(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: false,
    strict: true,
    options: {
      entry: { type: 'string' },
      reason: { type: 'string' },
      role: { type: 'string' },
      horizon: { type: 'string' },
      tag: { type: 'string', multiple: true },
      tz: { type: 'string' },
      country: { type: 'string' },
      language: { type: 'string' },
      consent: { type: 'string' },
      owner: { type: 'string' },
      from: { type: 'string' },
      months: { type: 'string' },
      'revisit-after': { type: 'string' },
      'contract-ends-at': { type: 'string' },
      'postal-address': { type: 'boolean' },
      id: { type: 'string' },
      json: { type: 'boolean', default: false },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

/** A flag problem in words: what was given, and what is accepted. */
function describeIssue(issue: { path: PropertyKey[]; message: string; code: string }, flags: Record<string, unknown>): string {
  const key = String(issue.path[0]);
  const given = flags[key];
  if (given === undefined) return 'is required';
  return `"${String(given)}" ${issue.message}`;
}
