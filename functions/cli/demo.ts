/**
 * `cultivate demo`: plays a simulated year of lost deals and responses against a RUNNING local
 * stack, over HTTP only, as a CRM and the people on its deals would: signed lost-deal webhooks
 * spread over the weeks, the local clock moved a week at a time (the stack sends what falls due),
 * then replies written as real MIME replies to the e-mails in /local/outbox, SES bounces,
 * complaints and clicks, one-click unsubscribes, tasks completed by the reps (on time and late,
 * with the touch ids and kinds from /local/outbound, so requalification outcomes go to
 * requalification calls only), meetings, new, reopened and won deals, referrals. So every metric
 * and every dashboard chart has data on a fresh machine.
 *
 * Who is lost when and who responds how is a pure, seeded plan (`demo-plan.ts`); this file drives it.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '#config/load';
import { loadMetricsConfig, MetricsConfigError } from '#config/metrics';
import { resolveOwner } from '#config/owners';
import { parseDuration, type TrackConfig } from '#config/schema';
import { type TrackSubject, trackFor } from '#domain/cadence';
import type { HoldoutSettings } from '#domain/metrics/holdout';
import { LOCAL_DEFAULT_WEBHOOK_SECRET, signBody } from '#shared/hmac';
import {
  type DemoAccount,
  type DemoPerson,
  type DemoPlan,
  type DemoResponse,
  type DemoTaskCompletion,
  type DemoTrack,
  planDemo,
  REQUALIFICATION_OUTCOMES,
  seedOf,
} from './demo-plan.ts';
import type { CliIO } from './index.ts';

/**
 * The default size: 37 to 60 s for 52 weeks on a 2-core box with `npm start` and other work running
 * (each due touch is a clock step of the stack; 48 people took 104 to 160 s there).
 */
export const DEMO_DEFAULT_PEOPLE = 12;
export const DEMO_DEFAULT_WEEKS = 52;
export const DEMO_DEFAULT_SEED = 7;

export const DEMO_USAGE = `usage: cultivate demo [--url U] [--people N] [--weeks W] [--seed S] [--config DIR] [--secret S] [--json]
  plays a simulated year of lost deals and responses against a RUNNING local stack (npm start),
  so every metric and dashboard chart has data; a second run adds new people (ids carry a run id)
  --url U       the local stack (default: CULTIVATE_URL or http://127.0.0.1:3000)
  --people N    people on lost deals, 2 to 4 per account (default ${DEMO_DEFAULT_PEOPLE}: about a minute)
  --weeks W     simulated weeks; the clock moves a week at a time (default ${DEMO_DEFAULT_WEEKS})
  --seed S      the same seed plays the same plan (default ${DEMO_DEFAULT_SEED})
  --config DIR  the config folder the stack runs with: owners and the holdout (default: CULTIVATE_CONFIG_DIR or config)
  --secret S    the stack's webhook secret (default: CULTIVATE_WEBHOOK_SECRET or the local default)
  --json        print the summary as JSON (progress goes to stderr)
`;

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
const MAX_EVENTS_PER_REQUEST = 100;
/** How long a planned meeting or deal waits for the person's e-mail response to happen first. */
const CRM_PATIENCE_WEEKS = 8;

class DemoError extends Error {}

export interface DemoSummary {
  url: string;
  dashboard: string;
  runId: string;
  seed: number;
  weeks: number;
  from: string;
  to: string;
  seconds: number;
  people: number;
  accounts: number;
  holdout: { percent: number; accounts: number; people: number; enteredPerStack: number | null };
  /** People per track (config/cadence.yaml), as the stack's rules place them. */
  tracks: Record<string, number>;
  emailsSent: number;
  tasksAssigned: number;
  tasksCompleted: { onTime: number; late: number; requalification: number };
  replies: { human: number; missedMe: number; outOfOffice: number; leftCompany: number };
  bounces: number;
  complaints: number;
  unsubscribes: number;
  clicks: number;
  meetings: number;
  deals: { created: number; reopened: number; won: number; wonAmount: number };
  referrals: number;
  /** Planned responses the pipeline gave no chance to (no e-mail sent to reply to, the skipped week never came). */
  notPlayed: number;
  reEngagedPerStack: number | null;
}

interface Args {
  base: string;
  people: number;
  weeks: number;
  seed: number;
  configDir: string;
  secret: string;
  json: boolean;
}

function parse(args: string[], io: CliIO): Args | number {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      options: {
        url: { type: 'string' },
        people: { type: 'string' },
        weeks: { type: 'string' },
        seed: { type: 'string' },
        config: { type: 'string' },
        secret: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.err(`cultivate demo: ${(err as Error).message}\n${DEMO_USAGE}`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    io.out(DEMO_USAGE);
    return 0;
  }
  const whole = (name: string, raw: string | undefined, fallback: number, min: number, max: number): number | string => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    return Number.isInteger(n) && n >= min && n <= max ? n : `--${name} "${raw}" must be a whole number from ${min} to ${max}`;
  };
  const people = whole('people', values.people, DEMO_DEFAULT_PEOPLE, 2, 5000);
  const weeks = whole('weeks', values.weeks, DEMO_DEFAULT_WEEKS, 1, 156);
  for (const v of [people, weeks]) {
    if (typeof v === 'string') {
      io.err(`cultivate demo: ${v}\n`);
      return 2;
    }
  }
  const env = io.env ?? process.env;
  return {
    base: (values.url ?? env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, ''),
    people: people as number,
    weeks: weeks as number,
    seed: seedOf(values.seed ?? DEMO_DEFAULT_SEED),
    configDir: values.config ?? env.CULTIVATE_CONFIG_DIR ?? 'config',
    secret: values.secret ?? env.CULTIVATE_WEBHOOK_SECRET ?? LOCAL_DEFAULT_WEBHOOK_SECRET,
    json: values.json ?? false,
  };
}

// ---------------------------------------------------------------------------------------------
// Talking to the stack

interface Answer<T> {
  status: number;
  body: T;
}

interface OutboxEmail {
  messageId: string;
  replyTo?: string[];
  destination: { to: string[] };
  subject: string;
  sentAt: string;
  relationshipId: string;
  touchId: string;
  body?: { text?: string };
  headers?: { name: string; value: string }[];
}

interface OutboundMessage {
  type: string;
  at: string;
  relationshipId: string;
  payload: { touchId?: string; kind?: string };
}

interface Fired {
  relationshipId: string;
  channel: string;
  outcome: string;
}

class Stack {
  constructor(
    readonly base: string,
    private readonly secret: string,
  ) {}

  async call<T = unknown>(method: 'GET' | 'POST', path: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<Answer<T>> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { method, headers, ...(body !== undefined && { body }) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
      throw new DemoError(`the stack at ${this.base} stopped answering (${method} ${path}: ${cause})`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T };
  }

  json<T = unknown>(method: 'GET' | 'POST', path: string, value?: unknown): Promise<Answer<T>> {
    return this.call<T>(method, path, value === undefined ? undefined : JSON.stringify(value), { 'content-type': 'application/json' });
  }

  /** Signed generic webhooks, in requests of up to 100 events. */
  async webhook(events: unknown[]): Promise<void> {
    for (let i = 0; i < events.length; i += MAX_EVENTS_PER_REQUEST) {
      const raw = new TextEncoder().encode(JSON.stringify(events.slice(i, i + MAX_EVENTS_PER_REQUEST)));
      // The signature carries the real time (the stack checks freshness on its wall clock).
      const signature = signBody(this.secret, raw, Date.now() / 1000);
      const res = await this.call('POST', '/webhooks/generic', raw, { 'content-type': 'application/json', 'cultivate-signature': signature });
      if (res.status === 401) throw new DemoError(`the stack at ${this.base} refused the webhook signature: give its secret with --secret (or CULTIVATE_WEBHOOK_SECRET)`);
      if (res.status !== 202) throw new DemoError(`POST /webhooks/generic answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
    }
  }
}

/** The stack answers, and it is a local one whose clock the demo may move. */
async function checkStack(stack: Stack): Promise<Date> {
  let health: Answer<unknown>;
  try {
    health = await stack.call('GET', '/health');
  } catch {
    throw new DemoError(
      `no Cultivate stack answers at ${stack.base}. Start one in another terminal (npm start; PORT, CULTIVATE_DATA_DIR and CULTIVATE_CONFIG_DIR choose its port, data and config), then run the demo again, or give --url`,
    );
  }
  if (health.status !== 200) throw new DemoError(`${stack.base}/health answered ${health.status}: is the stack still starting? Wait for "Cultivate is running locally" and try again`);
  const clock = await stack.call<{ now?: string }>('GET', '/local/clock');
  const now = clock.status === 200 && typeof clock.body?.now === 'string' ? new Date(clock.body.now) : undefined;
  if (!now || Number.isNaN(now.getTime())) {
    throw new DemoError(`${stack.base} has no local clock (GET /local/clock answered ${clock.status}): the demo only runs against a local stack (npm start), never a deployed one`);
  }
  return now;
}

// ---------------------------------------------------------------------------------------------
// Messages a person sends

const CRLF = '\r\n';
const dateLong = (d: Date) => d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

function mimeReply(person: DemoPerson, to: OutboxEmail, now: Date, text: string, opts: { auto?: boolean; subject?: string; messageId: string }): string {
  const quoted = (to.body?.text ?? '').split('\n').map((l) => `> ${l}`).join(CRLF);
  return [
    `From: ${person.name} <${person.email}>`,
    `To: ${to.replyTo?.[0]}`,
    `Subject: ${opts.subject ?? `Re: ${to.subject}`}`,
    `Date: ${now.toUTCString()}`,
    `Message-ID: <${opts.messageId}@demo.cultivate.local>`,
    `In-Reply-To: <${to.messageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...(opts.auto ? ['Auto-Submitted: auto-replied'] : []),
    '',
    text,
    '',
    `On ${new Date(to.sentAt).toUTCString()}, you wrote:`,
    quoted,
    '',
  ].join(CRLF);
}

// ---------------------------------------------------------------------------------------------
// The driver

interface Tally {
  emailsSent: number;
  tasksAssigned: number;
  onTime: number;
  late: number;
  requalification: number;
  human: number;
  missedMe: number;
  outOfOffice: number;
  leftCompany: number;
  bounces: number;
  complaints: number;
  unsubscribes: number;
  clicks: number;
  meetings: number;
  created: number;
  reopened: number;
  won: number;
  wonAmount: number;
  referrals: number;
  notPlayed: number;
  lost: number;
}
const emptyTally = (): Tally => ({
  emailsSent: 0, tasksAssigned: 0, onTime: 0, late: 0, requalification: 0, human: 0, missedMe: 0, outOfOffice: 0, leftCompany: 0,
  bounces: 0, complaints: 0, unsubscribes: 0, clicks: 0, meetings: 0, created: 0, reopened: 0, won: 0, wonAmount: 0, referrals: 0, notPlayed: 0, lost: 0,
});

interface PendingTask {
  person: DemoPerson;
  touchId: string;
  dueAt: number;
  completion: DemoTaskCompletion;
}

const contactRef = (p: DemoPerson) => ({ externalId: p.externalId, email: p.email });

function lostDealEvent(plan: DemoPlan, a: DemoAccount, p: DemoPerson, at: Date) {
  const iso = (days: number) => new Date(at.getTime() + days * DAY_MS).toISOString().slice(0, 10);
  return {
    id: `${a.dealId}-lost-${p.externalId}`,
    type: 'lead-closed-lost',
    occurredAt: at.toISOString(),
    contact: {
      externalId: p.externalId,
      email: p.email,
      name: p.name,
      title: p.title,
      accountId: a.accountId,
      company: a.company,
      timezone: p.timezone,
      country: p.country,
      language: p.language,
      role: p.role,
      horizon: p.horizon,
      owner: a.owner,
      tags: p.tags,
      consent:
        p.consent === 'unknown'
          ? { email: 'unknown' }
          : { email: p.consent, basis: p.consent === 'granted' ? 'opt-in' : 'objection', source: p.consent === 'granted' ? 'webinar-form' : 'sales-call', capturedAt: new Date(at.getTime() - p.consentDaysBefore * DAY_MS).toISOString() },
    },
    data: {
      reason: a.reason,
      dealId: a.dealId,
      amount: a.amount,
      currency: 'USD',
      ...(a.note && { note: a.note }),
      ...(a.contractEndsInDays !== undefined && { contractEndsAt: iso(a.contractEndsInDays) }),
      ...(a.revisitAfterDays !== undefined && { revisitAfter: iso(a.revisitAfterDays) }),
    },
  };
}

/** What the demo takes from the stack's config folder. */
export interface DemoSettings {
  /** Active owners who take their own touches: the deals' owners. */
  owners: string[];
  holdout: HoldoutSettings;
  /** config/metrics.yaml taskOnTimeGraceHours: the stack's own on-time rule. */
  onTimeGraceHours: number;
  /** The track a person takes by the stack's rules, from their lost reason, role, horizon, country and tags. */
  trackOf: (subject: TrackSubject) => DemoTrack;
}

/** Reads owners.yaml, cadence.yaml and metrics.yaml of `configDir` (throws ConfigError / MetricsConfigError). */
export function demoSettings(configDir: string): DemoSettings {
  const rules = loadConfig(configDir);
  // An inactive owner's touches go to a manager: deals go to owners who take their own.
  const owners = rules.owners.owners.filter((o) => o.active && resolveOwner(rules.owners, o.email).via === 'owner').map((o) => o.email);
  const metrics = loadMetricsConfig(configDir);
  return { owners, holdout: metrics.holdout, onTimeGraceHours: metrics.taskOnTimeGraceHours, trackOf: (subject) => demoTrack(trackFor(rules, subject)) };
}

/** What the plan needs of a track: whether it e-mails, weekly with a skipped week, and when its first requalification call comes. */
export function demoTrack(track: TrackConfig | undefined): DemoTrack {
  if (!track) return { emails: false };
  const weekly = track.weekly && track.weekly.count > 0 ? { count: track.weekly.count, skipWeeks: track.skipWeeks } : undefined;
  const requalification = track.humanTouches?.find((t) => t.kind === 'requalification');
  return {
    id: track.id,
    emails: weekly !== undefined || track.monthly !== undefined,
    ...(weekly && { weekly }),
    ...(requalification && { requalificationAfterDays: daysAtMost(requalification.first) }),
  };
}

/** The longest a cadence duration can last in days (a month counts 31). */
function daysAtMost(text: string): number {
  const d = parseDuration(text);
  if (!d) return 0;
  return d.amount * (d.unit === 'month' ? 31 : d.unit === 'week' ? 7 : 1);
}

export async function demoCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parse(args, io);
  if (typeof parsed === 'number') return parsed;
  const { base, people, weeks, seed, configDir, secret, json } = parsed;
  // With --json, stdout holds the summary only.
  const say = (text: string) => (json ? io.err(text) : io.out(text));

  let settings: DemoSettings;
  try {
    settings = demoSettings(configDir);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof MetricsConfigError) {
      io.err(`cultivate demo: ${err.message}\n`);
      return 2;
    }
    io.err(`cultivate demo: cannot read the config folder ${configDir}: ${(err as Error).message}\n`);
    return 2;
  }
  const { owners, holdout, onTimeGraceHours, trackOf } = settings;

  const stack = new Stack(base, secret);
  const started = Date.now();
  try {
    const start = await checkStack(stack);
    const runId = Math.floor(start.getTime() / 1000).toString(36);
    const plan = planDemo({ seed, people, weeks, runId, owners, holdout, trackOf, onTimeGraceHours });
    const summary = await play(stack, plan, { holdoutPercent: holdout.percent, configDir }, start, say);
    summary.seconds = Math.round((Date.now() - started) / 100) / 10;
    io.out(json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    return 0;
  } catch (err) {
    if (err instanceof DemoError) {
      io.err(`cultivate demo: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

interface PlayConfig {
  holdoutPercent: number;
  configDir: string;
}

async function play(stack: Stack, plan: DemoPlan, config: PlayConfig, start: Date, say: (t: string) => void): Promise<DemoSummary> {
  const { holdoutPercent, configDir } = config;
  const accountOf = new Map(plan.accounts.map((a) => [a.accountId, a]));
  const peopleOf = new Map<string, DemoPerson[]>();
  for (const p of plan.people) peopleOf.set(p.accountId, [...(peopleOf.get(p.accountId) ?? []), p]);
  const byEmail = new Map(plan.people.map((p) => [p.email.toLowerCase(), p]));
  const byRelationship = new Map<string, DemoPerson>();
  const pending = new Map(plan.people.map((p) => [p, [...p.responses]]));
  const tasksSeen = new Map<DemoPerson, TasksSeen>();
  const openTasks: PendingTask[] = [];
  let outboundSeen = 0;
  const heldOut = plan.accounts.filter((a) => a.group === 'holdout');

  say(
    `cultivate demo: ${plan.people.length} people in ${plan.accounts.length} accounts, ${plan.weeks} weeks from ${start.toISOString().slice(0, 10)} against ${stack.base} (seed ${plan.seed}, run ${plan.runId})\n`,
  );
  if (holdoutPercent > 0) {
    say(`  holdout ${holdoutPercent}%: ${heldOut.length} account${heldOut.length === 1 ? '' : 's'} (${plan.people.filter((p) => accountOf.get(p.accountId)?.group === 'holdout').length} people) get no touches, only CRM outcomes\n`);
  } else {
    say(
      `  note: ${configDir}/metrics.yaml has holdout percent 0, so the nurtured vs holdout chart stays empty. To see it, copy the config folder, set holdout.percent: 10 in its metrics.yaml, restart the stack with CULTIVATE_CONFIG_DIR=<that folder> (and a fresh CULTIVATE_DATA_DIR) and run the demo with --config <that folder>\n`,
    );
  }

  const total = emptyTally();
  let month = emptyTally();
  let now = start;
  let monthLabel = start.toISOString().slice(0, 7);
  const progress = (label: string, t: Tally) =>
    say(
      `  ${label}  lost ${String(t.lost).padStart(3)}  e-mails ${String(t.emailsSent).padStart(4)}  tasks ${String(t.tasksAssigned).padStart(3)} (done ${t.onTime + t.late})  replies ${t.human + t.missedMe}  meetings ${t.meetings}  deals ${t.created + t.reopened}  won ${t.won}\n`,
    );
  const add = (k: keyof Tally, n = 1) => {
    total[k] += n;
    month[k] += n;
  };

  for (let week = 0; week < plan.weeks; week++) {
    // Progress per simulated month: a week counts in the month it starts in.
    const label = now.toISOString().slice(0, 7);
    if (label !== monthLabel) {
      progress(monthLabel, month);
      month = emptyTally();
      monthLabel = label;
    }

    // 1. This week's lost deals: everyone on each deal, as the CRM sends them.
    const lostNow = plan.accounts.filter((a) => a.lostWeek === week);
    const events = lostNow.flatMap((a) => (peopleOf.get(a.accountId) ?? []).map((p) => lostDealEvent(plan, a, p, now)));
    if (events.length > 0) {
      await stack.webhook(events);
      add('lost', events.length);
    }

    // 2. A week passes: the stack sends and assigns whatever falls due. In a week with losses the
    // clock stops after three days too, so the reps can report the thank-you notes they wrote on
    // time before the task SLA hands them to a manager.
    for (const step of lostNow.length > 0 ? (['P3D', 'P4D'] as const) : (['P7D'] as const)) {
      const moved = await stack.json<{ from?: string; now?: string; fired?: Fired[]; error?: string }>('POST', '/local/clock', { advanceBy: step });
      const to = moved.body?.now ? new Date(moved.body.now) : undefined;
      const days = step === 'P3D' ? 3 : step === 'P4D' ? 4 : 7;
      if (moved.status !== 200 || !to || !moved.body.from || to.getTime() - Date.parse(moved.body.from) < days * DAY_MS - 1000) {
        throw new DemoError(`the stack's clock did not move (POST /local/clock ${JSON.stringify({ advanceBy: step })} answered ${moved.status}: ${JSON.stringify(moved.body).slice(0, 300)})`);
      }
      now = to;
      // What it fires and the tasks it assigns name relationships: learn this week's people's ids
      // (the clock step applied their lost deals first), and count for this run's people only.
      for (const a of step === 'P4D' ? [] : lostNow) {
        for (const p of peopleOf.get(a.accountId) ?? []) {
          const view = await stack.call<{ id?: string }>('GET', `/relationships?email=${encodeURIComponent(p.email)}`);
          if (view.status === 200 && view.body?.id) byRelationship.set(view.body.id, p);
        }
      }
      for (const f of moved.body.fired ?? []) {
        if (!byRelationship.has(f.relationshipId)) continue;
        if (f.outcome === 'sent' && f.channel === 'email') add('emailsSent');
        if (f.outcome === 'task-assigned') add('tasksAssigned');
      }
      outboundSeen = await completeTasks(stack, plan, { byRelationship, tasksSeen, openTasks, outboundSeen, now, add });
    }

    // 3. The people: responses whose week has come. CRM outcomes happen when planned; an e-mail
    // response waits until there is an e-mail to answer (or the skipped week has come).
    const due = plan.people.filter((p) => pending.get(p)?.some((r) => r.week <= week));
    const mail = new Map<DemoPerson, OutboxEmail[]>();
    if (due.some((p) => pending.get(p)?.some((r) => r.week <= week && !isCrm(r)))) {
      const outbox = (await stack.call<OutboxEmail[]>('GET', '/local/outbox')).body;
      for (const e of Array.isArray(outbox) ? outbox : []) {
        const p = e.destination.to.map((t) => byEmail.get(t.toLowerCase())).find((x) => x !== undefined);
        if (p) mail.set(p, [...(mail.get(p) ?? []), e]);
      }
    }
    const crmEvents: unknown[] = [];
    for (const p of due) {
      const waiting: DemoResponse[] = [];
      // A meeting or a deal ends the e-mails: it waits (a few weeks at most) for a written
      // response planned before it that still waits for an e-mail to answer.
      // One CRM outcome per person a week, so a held-back deal and its win keep their order.
      let writing = false;
      let outcome = false;
      for (const r of pending.get(p) ?? []) {
        if (r.week > week) waiting.push(r);
        else if (isCrm(r)) {
          if (r.kind !== 'referral' && (outcome || (writing && week < r.week + CRM_PATIENCE_WEEKS))) {
            waiting.push(r);
            continue;
          }
          if (r.kind !== 'referral') outcome = true;
          crmEvents.push(crmEvent(plan, p, r, now));
          countCrm(r, add);
        } else {
          const answered = await respondByMail(stack, p, r, mail.get(p) ?? [], now, week, plan);
          if (answered === 'wait') {
            waiting.push(r);
            writing = true;
          } else if (answered === 'missed') add('notPlayed');
          else add(answered);
        }
      }
      pending.set(p, waiting);
    }
    if (crmEvents.length > 0) await stack.webhook(crmEvents);
  }
  progress(monthLabel, month);
  // Responses still waiting at the end: nothing was ever sent to answer (consent, a contract or
  // revisit date far off, a deal that paused nurture first).
  for (const left of pending.values()) add('notPlayed', left.length);
  await stack.call('POST', '/local/drain');

  // What the stack itself counted (its metrics), for the summary.
  const from = start.toISOString().slice(0, 10);
  const to = now.toISOString().slice(0, 10);
  const report = await stack.call<{ metrics?: Record<string, { total?: { n?: number }; dimensions?: Record<string, Record<string, { n?: number }>> }> }>('GET', `/metrics?from=${from}&to=${to}&groupBy=month`);
  const metrics = report.status === 200 ? report.body.metrics : undefined;
  const holdoutPeople = plan.people.filter((p) => accountOf.get(p.accountId)?.group === 'holdout').length;
  return {
    url: stack.base,
    dashboard: `${stack.base}/dashboard`,
    runId: plan.runId,
    seed: plan.seed,
    weeks: plan.weeks,
    from,
    to,
    seconds: 0,
    people: plan.people.length,
    accounts: plan.accounts.length,
    holdout: {
      percent: holdoutPercent,
      accounts: heldOut.length,
      people: holdoutPeople,
      enteredPerStack: metrics ? (metrics['nurture.entered']?.dimensions?.group?.holdout?.n ?? 0) : null,
    },
    tracks: tracksOf(plan),
    emailsSent: total.emailsSent,
    tasksAssigned: total.tasksAssigned,
    tasksCompleted: { onTime: total.onTime, late: total.late, requalification: total.requalification },
    replies: { human: total.human, missedMe: total.missedMe, outOfOffice: total.outOfOffice, leftCompany: total.leftCompany },
    bounces: total.bounces,
    complaints: total.complaints,
    unsubscribes: total.unsubscribes,
    clicks: total.clicks,
    meetings: total.meetings,
    deals: { created: total.created, reopened: total.reopened, won: total.won, wonAmount: total.wonAmount },
    referrals: total.referrals,
    notPlayed: total.notPlayed,
    reEngagedPerStack: metrics ? (metrics['nurture.re-engaged']?.total?.n ?? 0) : null,
  };
}

/** People per track id ('none': no track takes them), largest first. */
function tracksOf(plan: DemoPlan): Record<string, number> {
  const counts = new Map<string, number>();
  for (const p of plan.people) counts.set(p.track.id ?? 'none', (counts.get(p.track.id ?? 'none') ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** How many of a person's tasks the stack has assigned so far: requalification calls apart. */
export interface TasksSeen {
  tasks: number;
  requalifications: number;
}

/**
 * How the rep completes the task of `kind` the stack just assigned to `person` (the kind comes
 * back with the task): a requalification call takes the person's next planned requalification, any
 * other task their next other completion. So the requalification outcomes only ever go to the
 * tasks that offer them. Undefined: the plan leaves this task open.
 */
export function completionFor(person: DemoPerson, kind: string | undefined, seen: TasksSeen): DemoTaskCompletion | undefined {
  if (kind === 'requalification') return person.requalifications[seen.requalifications++];
  return person.tasks[seen.tasks++];
}

interface TaskBook {
  byRelationship: ReadonlyMap<string, DemoPerson>;
  tasksSeen: Map<DemoPerson, TasksSeen>;
  openTasks: PendingTask[];
  outboundSeen: number;
  now: Date;
  add: (k: keyof Tally, n?: number) => void;
}

/**
 * The reps: tasks handed to them since the last look (GET /local/outbound), completed as the plan
 * says, on time or late; the CRM reports each completion with the time it was done. Returns how
 * much of /local/outbound has been read.
 */
async function completeTasks(stack: Stack, plan: DemoPlan, b: TaskBook): Promise<number> {
  let seen = b.outboundSeen;
  const outbound = (await stack.call<OutboundMessage[]>('GET', '/local/outbound')).body;
  if (Array.isArray(outbound)) {
    for (const m of outbound.slice(seen)) {
      const person = b.byRelationship.get(m.relationshipId);
      if (m.type !== 'task-assigned' || !person || !m.payload.touchId) continue;
      const seen = b.tasksSeen.get(person) ?? { tasks: 0, requalifications: 0 };
      b.tasksSeen.set(person, seen);
      const completion = completionFor(person, m.payload.kind, seen);
      if (completion?.afterHours !== undefined) b.openTasks.push({ person, touchId: m.payload.touchId, dueAt: Date.parse(m.at), completion });
    }
    seen = outbound.length;
  }
  const doneAt = (t: PendingTask) => t.dueAt + (t.completion.afterHours as number) * 3_600_000;
  const completions = b.openTasks.filter((t) => doneAt(t) <= b.now.getTime());
  if (completions.length === 0) return seen;
  await stack.webhook(
    completions.map((t) => ({
      id: `demo-${plan.runId}-done-${t.touchId}`,
      type: 'touch-completed',
      occurredAt: new Date(doneAt(t)).toISOString(),
      contact: contactRef(t.person),
      data: { touchId: t.touchId, outcome: t.completion.outcome },
    })),
  );
  for (const t of completions) {
    b.add((t.completion.afterHours as number) <= plan.onTimeGraceHours ? 'onTime' : 'late');
    if ((REQUALIFICATION_OUTCOMES as readonly string[]).includes(t.completion.outcome)) b.add('requalification');
    b.openTasks.splice(b.openTasks.indexOf(t), 1);
  }
  return seen;
}

type CrmResponse = Extract<DemoResponse, { kind: 'meeting' | 'deal-created' | 'deal-reopened' | 'deal-won' | 'referral' }>;
const isCrm = (r: DemoResponse): r is CrmResponse => ['meeting', 'deal-created', 'deal-reopened', 'deal-won', 'referral'].includes(r.kind);

function countCrm(r: CrmResponse, add: (k: keyof Tally, n?: number) => void): void {
  if (r.kind === 'meeting') add('meetings');
  else if (r.kind === 'deal-created') add('created');
  else if (r.kind === 'deal-reopened') add('reopened');
  else if (r.kind === 'deal-won') {
    add('won');
    add('wonAmount', r.amount);
  } else add('referrals');
}

function crmEvent(plan: DemoPlan, p: DemoPerson, r: CrmResponse, now: Date) {
  const id = `demo-${plan.runId}-${r.kind}-${p.externalId}-w${r.week}`;
  const occurredAt = now.toISOString();
  switch (r.kind) {
    case 'meeting':
      return { id, type: 'meeting-booked', occurredAt, contact: contactRef(p), data: { meetingId: id, startsAt: new Date(now.getTime() + 3 * DAY_MS).toISOString() } };
    case 'referral':
      return {
        id,
        type: 'referral-received',
        occurredAt,
        contact: { externalId: r.referred.externalId, email: r.referred.email, name: r.referred.name, company: r.referred.company, tags: ['cultivate-demo'] },
        data: { referredBy: p.externalId },
      };
    default:
      return { id, type: r.kind, occurredAt, contact: contactRef(p), data: { dealId: r.dealId, amount: r.amount, currency: 'USD' } };
  }
}

type MailOutcome = 'wait' | 'missed' | 'human' | 'missedMe' | 'outOfOffice' | 'leftCompany' | 'bounces' | 'complaints' | 'unsubscribes' | 'clicks';

/** One e-mail response, against the e-mails the person actually got. */
async function respondByMail(
  stack: Stack,
  p: DemoPerson,
  r: Exclude<DemoResponse, CrmResponse>,
  mail: OutboxEmail[],
  now: Date,
  week: number,
  plan: DemoPlan,
): Promise<MailOutcome> {
  const latest = mail.at(-1);
  if (!latest) return 'wait';
  const messageId = `demo-${plan.runId}-${p.externalId}-w${week}-${r.kind}`;
  const inbound = async (raw: string, expect: string) => {
    const res = await stack.call<{ class?: string; outcome?: string }>('POST', '/local/inbound', raw, { 'content-type': 'message/rfc822' });
    if (res.status !== 202) throw new DemoError(`POST /local/inbound answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
    if (res.body.class !== expect) throw new DemoError(`a demo ${r.kind} reply was read as ${res.body.class ?? res.body.outcome}, not ${expect}: the reply classifier changed, update functions/cli/demo.ts`);
  };
  const ses = async (messageId: string, type: 'bounce' | 'complaint' | 'click', link?: string) => {
    const res = await stack.json('POST', '/local/ses-event', { messageId, type, ...(link && { link }) });
    if (res.status !== 200) throw new DemoError(`POST /local/ses-event answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`);
  };
  switch (r.kind) {
    case 'reply':
      if (!latest.replyTo?.[0]) return 'missed';
      await inbound(mimeReply(p, latest, now, r.text, { messageId }), 'human');
      return 'human';
    case 'missed-me': {
      // Inside the skipped week of their own track: the weekly e-mails have all gone, the skipped
      // one's slot has passed and the next is not due yet (as the replies handler tells "missed me").
      const skipWeek = p.track.weekly;
      if (!skipWeek || skipWeek.skipWeeks === 0) return 'missed';
      const since = now.getTime() - Date.parse(latest.sentAt);
      if (mail.length < skipWeek.count) return 'wait';
      if (mail.length > skipWeek.count || since >= (1 + skipWeek.skipWeeks) * WEEK_MS) return 'missed';
      if (since < WEEK_MS - 12 * 3_600_000) return 'wait';
      if (!latest.replyTo?.[0]) return 'missed';
      await inbound(mimeReply(p, latest, now, r.text, { messageId }), 'human');
      return 'missedMe';
    }
    case 'out-of-office': {
      const back = new Date(now.getTime() + r.backInDays * DAY_MS);
      const text = `I am out of the office until ${dateLong(back)} with limited access to e-mail. I will be back on ${dateLong(back)}.`;
      await inbound(mimeReply(p, latest, now, text, { messageId, auto: true, subject: `Automatic reply: ${latest.subject}` }), 'out-of-office');
      return 'outOfOffice';
    }
    case 'left-company':
      await inbound(mimeReply(p, latest, now, `Thanks for the notes. I have left the company and joined ${r.newCompany}; please update your records.`, { messageId }), 'left-company');
      return 'leftCompany';
    case 'bounce':
      await ses((mail[0] as OutboxEmail).messageId, 'bounce');
      return 'bounces';
    case 'complaint':
      await ses(latest.messageId, 'complaint');
      return 'complaints';
    case 'click': {
      const link = /https:\/\/\S+/.exec(latest.body?.text ?? '')?.[0];
      await ses(latest.messageId, 'click', link);
      return 'clicks';
    }
    case 'unsubscribe': {
      const header = latest.headers?.find((h) => h.name.toLowerCase() === 'list-unsubscribe')?.value;
      const url = header ? /<([^>]+)>/.exec(header)?.[1] : undefined;
      if (!url) return 'missed';
      // RFC 8058 one-click, as a mailbox provider posts it; the path is the stack's own.
      const path = url.replace(/^https?:\/\/[^/]+/, '');
      const res = await stack.call('POST', path, 'List-Unsubscribe=One-Click', { 'content-type': 'application/x-www-form-urlencoded' });
      if (res.status !== 200) throw new DemoError(`the one-click unsubscribe answered ${res.status}`);
      return 'unsubscribes';
    }
  }
}

export function formatSummary(s: DemoSummary): string {
  const money = (n: number) => `$${n.toLocaleString('en-US')}`;
  const lines = [
    '',
    `Simulated ${s.weeks} weeks (${s.from} to ${s.to}) in ${s.seconds} s, run ${s.runId}, seed ${s.seed}:`,
    `  people           ${s.people} in ${s.accounts} accounts; holdout ${s.holdout.percent > 0 ? `${s.holdout.accounts} accounts, ${s.holdout.people} people (the stack counted ${s.holdout.enteredPerStack ?? '?'} holdout entries)` : 'off (holdout.percent 0)'}`,
    `  tracks           ${Object.entries(s.tracks).map(([id, n]) => `${id} ${n}`).join(', ')}`,
    `  touches          ${s.emailsSent} e-mails sent, ${s.tasksAssigned} tasks assigned; ${s.tasksCompleted.onTime} completed on time, ${s.tasksCompleted.late} late, ${s.tasksCompleted.requalification} requalification outcomes`,
    `  replies          ${s.replies.human} human, ${s.replies.missedMe} "missed me", ${s.replies.outOfOffice} out of office, ${s.replies.leftCompany} left the company`,
    `  audience         ${s.bounces} bounces, ${s.complaints} complaints, ${s.unsubscribes} unsubscribes, ${s.clicks} clicks`,
    `  CRM outcomes     ${s.meetings} meetings, ${s.deals.created} deals created, ${s.deals.reopened} reopened, ${s.deals.won} won (${money(s.deals.wonAmount)}), ${s.referrals} referrals`,
    `  re-engaged       ${s.reEngagedPerStack ?? '?'} (the stack's own count)`,
    ...(s.holdout.percent > 0 && s.holdout.enteredPerStack === 0
      ? ['  warning          the stack held out nobody: it runs with another config folder than --config (start it with CULTIVATE_CONFIG_DIR set to the same folder)']
      : []),
    ...(s.notPlayed > 0 ? [`  not played       ${s.notPlayed} planned responses the pipeline gave no chance to (nothing sent to answer, or the skipped week never came)`] : []),
    '',
    `Dashboard: ${s.dashboard}`,
    '',
  ];
  return lines.join('\n');
}
