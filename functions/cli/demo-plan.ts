/**
 * The plan of `cultivate demo` (pure, seeded): which accounts lose a deal in which simulated week,
 * who is on each deal, and how each person and each rep responds afterwards. The same seed, size
 * and run id give the same plan on every machine; the HTTP driver (`demo.ts`) plays it against a
 * running local stack.
 *
 * Each person's track comes from the stack's own rules (`trackOf`: lost reason, role, horizon,
 * country, CRM tags), so who gets e-mail to answer, a skipped week to miss, or a requalification
 * call is decided per person, as the stack will decide it.
 *
 * Weeks are indexes into the simulated span (0 = the first week). A response that needs something
 * the pipeline decides (an e-mail to reply to, the skipped week of the weekly e-mails) names the
 * earliest week it may happen; the driver plays it once the pipeline has given it the chance.
 */
import type { ContactRole, Horizon, LostReason, TouchOutcome } from '#catalog/events';
import type { TrackSubject } from '#domain/cadence';
import { assignHoldout, type Group, type HoldoutSettings } from '#domain/metrics/holdout';

/** What the plan needs to know of the track a person takes (config/cadence.yaml, `trackFor`). */
export interface DemoTrack {
  /** The track's id; undefined: no track takes the person (they get no touches). */
  id?: string;
  /** It sends value e-mail at all (weekly or monthly), so there is e-mail to answer. */
  emails: boolean;
  /** Its weekly e-mails (`count` > 0) and the weeks skipped after them (the skip-week test). */
  weekly?: { count: number; skipWeeks: number };
  /** At the latest this many days after nurture starts, its first requalification call falls due; undefined: it has none. */
  requalificationAfterDays?: number;
}

export interface DemoPlanInput {
  seed: number;
  /** People on lost deals (at least 2: an account has 2 to 4). */
  people: number;
  /** Simulated weeks (at least 1). */
  weeks: number;
  /** Namespaces every id and address, so a second run against the same stack adds new people. */
  runId: string;
  /** Active owners (config/owners.yaml): every deal is owned by one of them. */
  owners: readonly string[];
  /** The stack's holdout (config/metrics.yaml); percent 0: nobody is held out. */
  holdout: HoldoutSettings;
  /**
   * The track a person takes, from everything a track's `when` looks at (lost reason, role,
   * horizon, country, CRM tags): the stack's own rules (`demoSettings`). Pure, so the plan stays
   * the same for the same seed.
   */
  trackOf: (subject: TrackSubject) => DemoTrack;
  /** config/metrics.yaml `taskOnTimeGraceHours`: a completion within it is on time (default 24, as shipped). */
  onTimeGraceHours?: number;
}

export type ConsentState = 'granted' | 'unknown' | 'denied';

export interface DemoAccount {
  accountId: string;
  company: string;
  domain: string;
  country: string;
  owner: string;
  /** The group the stack's holdout hash gives this account id (with the planned settings). */
  group: Group;
  /** The week the deal is lost; everyone on it enters nurture then. */
  lostWeek: number;
  reason: LostReason;
  dealId: string;
  amount: number;
  note?: string;
  /** Competitor deals: the competitor's contract ends this many days after the loss. */
  contractEndsInDays?: number;
  /** Timing deals: the rep asked to come back after this many days. */
  revisitAfterDays?: number;
  pastCustomer: boolean;
}

/** What a person does after the loss. `week` is the earliest simulated week it may happen. */
export type DemoResponse =
  /** A human reply to the latest e-mail they got. */
  | { kind: 'reply'; week: number; text: string }
  /** A human reply inside the skipped week of the weekly e-mails ("where is my weekly tip?"). */
  | { kind: 'missed-me'; week: number; text: string }
  | { kind: 'out-of-office'; week: number; backInDays: number }
  | { kind: 'left-company'; week: number; newCompany: string }
  /** SES feedback on their first e-mail (bounce) or latest (complaint, click). */
  | { kind: 'bounce' | 'complaint' | 'click'; week: number }
  /** The one-click unsubscribe link of their latest e-mail. */
  | { kind: 'unsubscribe'; week: number }
  /** CRM outcomes: measured for both groups, the holdout included. */
  | { kind: 'meeting'; week: number }
  | { kind: 'deal-created' | 'deal-reopened' | 'deal-won'; week: number; dealId: string; amount: number }
  /**
   * They refer a colleague elsewhere: a `referral-received` for a new contact, who enters nurture
   * by it (cadence.yaml: the track that takes referrals, `referral-unreachable` as shipped).
   */
  | { kind: 'referral'; week: number; referred: { externalId: string; email: string; name: string; company: string } };

export type DemoResponseKind = DemoResponse['kind'];

/** How the owner completes one of this person's tasks. */
export interface DemoTaskCompletion {
  /** Hours after the task fell due; undefined: never completed. */
  afterHours?: number;
  outcome: TouchOutcome;
}

export interface DemoPerson {
  externalId: string;
  email: string;
  name: string;
  title: string;
  accountId: string;
  country: string;
  timezone: string;
  language: string;
  role: ContactRole;
  horizon: Horizon;
  consent: ConsentState;
  /** Days before the loss the consent was captured. */
  consentDaysBefore: number;
  /** CRM tags, as the lost-deal event carries them (a track's `when` may look at them). */
  tags: string[];
  /** The track the stack's rules give this person. */
  track: DemoTrack;
  responses: DemoResponse[];
  /** Completions of their tasks other than requalification calls (thank-you notes, courtesy calls ...), in the order those are assigned. */
  tasks: DemoTaskCompletion[];
  /**
   * Completions of their requalification calls, in the order those are assigned: only where the
   * track has one that falls due within the span while they are still in nurture. Their outcomes
   * are the requalification outcomes, the only ones the stack offers for such a task.
   */
  requalifications: DemoTaskCompletion[];
}

export interface DemoPlan {
  runId: string;
  seed: number;
  weeks: number;
  /** Completions at most this many hours after the due instant are on time (the stack's own rule). */
  onTimeGraceHours: number;
  accounts: DemoAccount[];
  people: DemoPerson[];
}

/** Every kind of response and rep behaviour the default size must show. */
export const REQUIRED_KINDS = [
  'reply',
  'missed-me',
  'out-of-office',
  'left-company',
  'bounce',
  'complaint',
  'unsubscribe',
  'click',
  'meeting',
  'deal-created',
  'deal-reopened',
  'deal-won',
  'referral',
  'task-on-time',
  'task-late',
  'requalification',
] as const;
export type RequiredKind = (typeof REQUIRED_KINDS)[number];

export const REQUALIFICATION_OUTCOMES = ['next-step', 'future-opportunity', 'no-future'] as const satisfies readonly TouchOutcome[];

/** The kinds a plan holds: response kinds, and the rep's on-time, late and requalification completions. */
export function kindsIn(plan: DemoPlan): Set<string> {
  const kinds = new Set<string>();
  for (const p of plan.people) {
    for (const r of p.responses) kinds.add(r.kind);
    for (const t of [...p.tasks, ...p.requalifications]) {
      if (t.afterHours !== undefined) kinds.add(t.afterHours <= plan.onTimeGraceHours ? 'task-on-time' : 'task-late');
    }
    if (p.requalifications.some((t) => t.afterHours !== undefined)) kinds.add('requalification');
  }
  return kinds;
}

/** config/metrics.yaml taskOnTimeGraceHours as shipped. */
export const DEFAULT_ON_TIME_GRACE_HOURS = 24;

// ---------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32): small, fast and the same on every platform.

export interface Rng {
  next(): number;
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  weighted<T>(items: readonly (readonly [T, number])[]): T;
  chance(p: number): boolean;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r: Rng = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)] as (typeof items)[number],
    weighted: (items) => {
      const total = items.reduce((s, [, w]) => s + w, 0);
      let x = next() * total;
      for (const [item, w] of items) {
        x -= w;
        if (x < 0) return item;
      }
      return (items.at(-1) as (typeof items)[number])[0];
    },
    chance: (p) => next() < p,
  };
  return r;
}

/** A seed from text or a number: `--seed 7` and `--seed spring-demo` both work. */
export function seedOf(value: string | number): number {
  if (typeof value === 'number' || /^\d+$/.test(value)) return Number(value) >>> 0;
  let h = 2166136261;
  for (const ch of value) h = Math.imul(h ^ (ch.codePointAt(0) as number), 16777619) >>> 0;
  return h;
}

// ---------------------------------------------------------------------------------------------
// The population: fictional companies and people, realistic proportions.

const COMPANIES = [
  'Northwind Traders', 'Contoso', 'Fabrikam', 'Tailspin Toys', 'Wingtip Toys', 'Adventure Works', 'Litware', 'Proseware',
  'Lucerne Publishing', 'Blue Yonder Airlines', 'Coho Winery', 'Alpine Ski House', 'Fourth Coffee', 'Humongous Insurance',
  'Trey Research', 'Woodgrove Bank', 'Wide World Importers', 'Relecloud', 'Southridge Video', 'VanArsdel', 'Datum',
  'First Up Consultants', 'Consolidated Messenger', 'Graphic Design Institute', 'Munson Pickles', 'Bellows College',
  'Margie Travel', 'Nod Publishers', 'Lamna Healthcare', 'Tasmanian Traders',
];
const FIRST = ['Ada', 'Bo', 'Chidi', 'Dana', 'Emil', 'Farah', 'Gus', 'Hana', 'Ivo', 'Jules', 'Kenji', 'Lina', 'Mateo', 'Noor', 'Olu', 'Priya', 'Quinn', 'Rafa', 'Sofia', 'Tomas', 'Uma', 'Vera', 'Wes', 'Xin', 'Yara', 'Zane'];
const LAST = ['Abbott', 'Brandt', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ito', 'Jansen', 'Kowalski', 'Lindqvist', 'Moreau', 'Nakamura', 'Okafor', 'Petrov', 'Quintero', 'Rossi', 'Schmidt', 'Tanaka', 'Ueda', 'Varga', 'Weber', 'Yilmaz', 'Zhou'];
const TITLES: Record<string, readonly string[]> = {
  champion: ['VP Sales', 'Head of Revenue Operations', 'Sales Director'],
  evaluator: ['Sales Operations Manager', 'RevOps Analyst', 'IT Manager'],
  influencer: ['Account Executive', 'Sales Enablement Lead', 'Finance Manager'],
  prospect: ['Team Lead', 'Sales Manager'],
  'past-customer': ['VP Sales', 'Director of Sales Operations'],
  'referral-partner': ['Managing Partner', 'Principal Consultant'],
};

/** Country, weight, time zones, language. */
const COUNTRIES: readonly (readonly [string, number, readonly string[], string])[] = [
  ['US', 36, ['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'], 'en'],
  ['GB', 10, ['Europe/London'], 'en'],
  ['DE', 10, ['Europe/Berlin'], 'de'],
  ['CA', 5, ['America/Toronto', 'America/Vancouver'], 'en'],
  ['FR', 5, ['Europe/Paris'], 'fr'],
  ['NL', 5, ['Europe/Amsterdam'], 'nl'],
  ['AU', 5, ['Australia/Sydney'], 'en'],
  ['IN', 5, ['Asia/Kolkata'], 'en'],
  ['BR', 5, ['America/Sao_Paulo'], 'pt-BR'],
  ['JP', 4, ['Asia/Tokyo'], 'ja'],
  ['SA', 3, ['Asia/Riyadh'], 'en'],
  ['SG', 3, ['Asia/Singapore'], 'en'],
];

/** Lost reasons in the proportions a B2B pipeline sees. */
const REASONS: readonly (readonly [LostReason, number])[] = [
  ['timing', 24],
  ['budget', 18],
  ['no-decision', 15],
  ['competitor', 15],
  ['unresponsive', 10],
  ['bad-fit', 6],
  ['no-need', 6],
  ['other', 6],
];

const NOTES: Partial<Record<LostReason, readonly string[]>> = {
  timing: ['Reorg this quarter, revisit after it settles', 'Budget frees up next fiscal year'],
  budget: ['Spend freeze until the next planning cycle', 'Price was above what finance approved'],
  'no-decision': ['Committee could not agree on priorities', 'Champion lost momentum internally'],
  competitor: ['Signed a two-year contract with a competitor', 'Went with the incumbent vendor'],
  'no-need': ['Current spreadsheet process is good enough for now'],
  other: ['Acquisition announced, all projects on hold'],
};

const CONSUMER_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'hotmail.com'];

const REPLY_TEXTS = [
  'Thanks, this came at the right time. Could we talk next week about where we are now?',
  'Good one. We are planning next year and this is on the list again; happy to compare notes.',
  'Appreciate these. Our forecast review is a mess right now, is there a template you can share?',
  'Thanks for thinking of us. The budget question may be solved in Q2, let us catch up then.',
];
const MISSED_ME_TEXTS = [
  'Hi, I did not get the weekly tip this Tuesday. Did I miss it? I look forward to them.',
  'No idea this week? I was counting on it for our Monday pipeline meeting.',
];
const NEW_COMPANIES = ['Initrode', 'Hooli', 'Vandelay Industries', 'Pied Piper'];

// ---------------------------------------------------------------------------------------------

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** Share of people who are referral partners on a deal (the partner who brought it): a few percent, at least one. */
const REFERRAL_PARTNER_SHARE = 0.03;
/** Days a task may wait past its rhythm's date (window days, the minimum gap before an e-mail). */
const TASK_SLACK_DAYS = 4;

/** Fisher-Yates with the seeded generator. */
function shuffle<T>(items: T[], r: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * `n` draws in the weights' proportions, as exactly as `n` allows (largest remainder), in a seeded
 * order: a demo of twenty people still shows the realistic mix instead of a lucky or unlucky draw.
 */
export function apportion<T>(weights: readonly (readonly [T, number])[], n: number, r: Rng): T[] {
  const total = weights.reduce((s, [, w]) => s + w, 0);
  const exact = weights.map(([item, w]) => ({ item, quota: (n * w) / total }));
  const out = exact.flatMap(({ item, quota }) => Array.from({ length: Math.floor(quota) }, () => item));
  const byRemainder = [...exact].sort((a, b) => b.quota - Math.floor(b.quota) - (a.quota - Math.floor(a.quota)));
  for (let i = 0; out.length < n; i++) out.push((byRemainder[i % byRemainder.length] as (typeof exact)[number]).item);
  return shuffle(out, r);
}

/** Account sizes of 2 to 4 that add up to `people` (at least 2); most deals have two or three contacts. */
function accountSizes(people: number, r: Rng): number[] {
  const sizes: number[] = [];
  let rest = people;
  while (rest > 0) {
    let size = rest <= 4 ? rest : r.weighted([[2, 45], [3, 35], [4, 20]] as const);
    if (rest - size === 1) size -= 1;
    sizes.push(size);
    rest -= size;
  }
  return sizes;
}

/**
 * The account id the stack's holdout hash puts in `group`: the first of `<base>`, `<base>-2`, ...
 * A small demo would otherwise often hold out nobody at 10 %; choosing ids this way holds out the
 * configured share of accounts (at least one), exactly as the stack will assign them.
 */
function accountIdIn(base: string, group: Group, holdout: HoldoutSettings): string {
  for (let k = 1; k < 10_000; k++) {
    const id = k === 1 ? `${base}.example` : `${base}-${k}.example`;
    if (assignHoldout(id, holdout) === group) return id;
  }
  return `${base}.example`;
}

export function planDemo(input: DemoPlanInput): DemoPlan {
  const { people: size, weeks, runId, owners } = input;
  if (!Number.isInteger(size) || size < 2) throw new RangeError('people must be a whole number of at least 2');
  if (!Number.isInteger(weeks) || weeks < 1) throw new RangeError('weeks must be a whole number of at least 1');
  if (owners.length === 0) throw new RangeError('at least one active owner is needed');
  const r = rng(input.seed);
  const run = slug(runId);
  const grace = input.onTimeGraceHours ?? DEFAULT_ON_TIME_GRACE_HOURS;

  // Accounts: one lost deal each, spread over the first 70 % of the span (later losses would have
  // no time to show anything), owned by the active owners.
  const sizes = accountSizes(size, r);
  const holdoutTarget = input.holdout.percent > 0 ? Math.max(1, Math.round((sizes.length * input.holdout.percent) / 100)) : 0;
  const lastLossWeek = Math.max(0, Math.floor(weeks * 0.7) - 1);
  // Which accounts are held out: the larger ones first (a held-out account of two people would
  // make its conversion rate jump by halves), in a seeded order among equals.
  const bySize = shuffle(sizes.map((n, i) => ({ n, i })), r).sort((a, b) => b.n - a.n);
  const heldOut = new Set(bySize.slice(0, holdoutTarget).map((x) => x.i));

  // Realistic proportions at any size; losses spread evenly over the weeks (one per stratum).
  const reasons = apportion(REASONS, sizes.length, r);
  const strata = sizes.map((_, i) => Math.floor(((i + r.next()) * (lastLossWeek + 1)) / sizes.length));
  // The first deal is lost in the first week, so the demo has something to show from the start.
  const lostWeeks = shuffle(strata.map((w) => w - (strata[0] as number)), r);
  const countries = apportion(COUNTRIES.map((c) => [c[0], c[1]] as const), sizes.length, r);
  const consents = apportion([['granted', 85], ['unknown', 10], ['denied', 5]] as const, size, r);
  const accounts: DemoAccount[] = sizes.map((_, i) => {
    const name = COMPANIES[i % COMPANIES.length] as string;
    const company = i < COMPANIES.length ? name : `${name} ${Math.floor(i / COMPANIES.length) + 1}`;
    const group: Group = heldOut.has(i) ? 'holdout' : 'nurtured';
    const accountId = input.holdout.percent > 0 ? accountIdIn(`${slug(company)}-${run}`, group, input.holdout) : `${slug(company)}-${run}.example`;
    const country = countries[i] as string;
    const reason = reasons[i] as LostReason;
    const notes = NOTES[reason];
    return {
      accountId,
      company,
      domain: accountId,
      country,
      owner: owners[i % owners.length] as string,
      group,
      lostWeek: lostWeeks[i] as number,
      reason,
      dealId: `demo-${run}-deal-${i + 1}`,
      amount: r.int(8, 120) * 1000,
      ...(notes && r.chance(0.7) && { note: r.pick(notes) }),
      // Nurture starts two months before the competitor's contract ends.
      ...(reason === 'competitor' && { contractEndsInDays: r.int(60, 240) }),
      ...(reason === 'timing' && r.chance(0.3) && { revisitAfterDays: r.int(30, 90) }),
      pastCustomer: r.chance(0.2),
    };
  });

  // A few people are the referral partner who brought a deal: a third or fourth contact on it, in
  // nurtured accounts first (the holdout gets no touches, so its track would not show).
  const extraSlots = shuffle(sizes.flatMap((n, ai) => Array.from({ length: Math.max(0, n - 2) }, (_, k) => ({ ai, k: k + 2 }))), r).sort(
    (x, y) => Number(heldOut.has(x.ai)) - Number(heldOut.has(y.ai)),
  );
  const partners = new Set(extraSlots.slice(0, Math.max(1, Math.round(size * REFERRAL_PARTNER_SHARE))).map((x) => `${x.ai}:${x.k}`));

  const people: DemoPerson[] = [];
  accounts.forEach((account, ai) => {
    const [, , zones, language] = COUNTRIES.find((c) => c[0] === account.country) as (typeof COUNTRIES)[number];
    for (let k = 0; k < (sizes[ai] as number); k++) {
      const n = people.length + 1;
      const first = FIRST[(n * 7 + ai) % FIRST.length] as string;
      const last = LAST[(n * 11 + k) % LAST.length] as string;
      const role: ContactRole =
        k === 0
          ? account.pastCustomer
            ? 'past-customer'
            : 'champion'
          : k === 1
            ? 'evaluator'
            : partners.has(`${ai}:${k}`)
              ? 'referral-partner'
              : r.pick(['influencer', 'prospect', 'evaluator'] as const);
      // A partnership is for life; a buyer's horizon varies.
      const horizon: Horizon = role === 'referral-partner' ? 'lifetime' : r.weighted([['reason', 70], ['season', 20], ['lifetime', 10]] as const);
      const tags = ['cultivate-demo', `demo-run-${input.runId}`];
      // Some use a private mailbox (audience health is reported by mailbox provider).
      const consumer = r.chance(0.12);
      const local = `${slug(first)}.${slug(last)}`;
      people.push({
        externalId: `demo-${run}-p${n}`,
        email: consumer ? `${local}.${run}${n}@${r.pick(CONSUMER_DOMAINS)}` : `${local}${n}@${account.domain}`,
        name: `${first} ${last}`,
        title: r.pick(TITLES[role] ?? TITLES.prospect ?? []),
        accountId: account.accountId,
        country: account.country,
        timezone: r.pick(zones),
        language,
        role,
        horizon,
        consent: consents[people.length] as ConsentState,
        consentDaysBefore: r.int(20, 400),
        tags,
        track: input.trackOf({ lostReason: account.reason, role, horizon, country: account.country, tags }),
        responses: [],
        tasks: [],
        requalifications: [],
      });
    }
  });

  const accountOf = new Map(accounts.map((a) => [a.accountId, a]));
  const acc = (p: DemoPerson) => accountOf.get(p.accountId) as DemoAccount;
  const inSpan = (w: number) => w < weeks;
  // Gets value e-mail (weekly or monthly), so has e-mail to answer. By their own track: a past
  // customer's care track sends monthly e-mail only, a referral partner's none.
  const mailed = (p: DemoPerson) => acc(p).group === 'nurtured' && p.consent === 'granted' && p.track.emails;
  // Gets weekly e-mail from the loss on (no consent wait, no contract or revisit wait), then a
  // skipped week: a "where is my weekly tip?" reply has a week to land in.
  const skipsAWeek = (p: DemoPerson) => {
    const a = acc(p);
    return mailed(p) && (p.track.weekly?.skipWeeks ?? 0) > 0 && a.contractEndsInDays === undefined && a.revisitAfterDays === undefined;
  };
  const weeklyCount = (p: DemoPerson) => p.track.weekly?.count ?? 0;

  // Who gets a CRM outcome (meeting, new or reopened deal): both groups, the holdout at a lower
  // rate (nurture is meant to help), and at least one held-out person so the two can be compared.
  const converts = new Map<DemoPerson, boolean>();
  for (const group of ['nurtured', 'holdout'] as const) {
    const members = people.filter((p) => acc(p).group === group);
    const rate = group === 'nurtured' ? 35 : 12;
    const yes = group === 'holdout' && members.length > 0 ? Math.max(1, Math.round((members.length * rate) / 100)) : Math.round((members.length * rate) / 100);
    const flags = shuffle(members.map((_, k) => k < yes), r);
    members.forEach((p, k) => converts.set(p, flags[k] as boolean));
  }

  // Every kind of written response shows, even in a small demo: one person per kind is chosen
  // first, among those whose first e-mail goes earliest (nothing else of theirs may end their
  // e-mails before they answer). The rest of the audience is drawn at random below.
  const from = (p: DemoPerson) => firstEmailWeek(acc(p));
  const pool = people.filter(mailed).sort((x, y) => from(x) - from(y));
  const reserved = new Set<DemoPerson>();
  const lastWeek = (x: DemoPerson) => Math.max(...x.responses.map((y) => y.week));
  const only = (x: DemoPerson, kinds: readonly DemoResponseKind[]) => x.responses.length > 0 && x.responses.every((y) => kinds.includes(y.kind));
  for (const kind of ['missed-me', 'bounce', 'reply', 'out-of-office', 'left-company', 'complaint', 'unsubscribe'] as const) {
    // Room in the span: for "missed me", the weekly e-mails, the skipped week and some to spare.
    const span = (x: DemoPerson) => (kind === 'missed-me' ? weeklyCount(x) + 6 : 3);
    const p = pool.find((x) => !reserved.has(x) && (kind !== 'missed-me' || skipsAWeek(x)) && from(x) + span(x) < weeks);
    if (p) {
      reserved.add(p);
      const base = emailResponse(kind, from(p) - 1, r, weeklyCount(p)) as DemoResponse;
      p.responses.push(kind === 'missed-me' ? base : ({ ...base, week: Math.min(base.week, from(p) + 1) } as DemoResponse));
      continue;
    }
    // Too few people for one kind each: some write twice. Away first, then back with a reply;
    // a reply, then news that they have left; and an old e-mail's unsubscribe link and complaint
    // button still work after their e-mails stopped.
    const replier = [...reserved].find((x) => only(x, ['reply']) && lastWeek(x) + 2 < weeks);
    if (kind === 'out-of-office' && replier) {
      const reply = replier.responses[0] as DemoResponse;
      replier.responses.unshift({ kind, week: reply.week, backInDays: 7 });
      reply.week += 2;
      continue;
    }
    const writer = [...reserved].find(
      (x) => only(x, kind === 'left-company' ? ['reply', 'out-of-office'] : ['reply', 'out-of-office', 'missed-me', 'left-company']) && lastWeek(x) + 1 < weeks,
    );
    if (writer && (kind === 'left-company' || kind === 'complaint' || kind === 'unsubscribe')) {
      writer.responses.push(kind === 'left-company' ? { kind, week: lastWeek(writer) + 1, newCompany: r.pick(NEW_COMPANIES) } : { kind, week: lastWeek(writer) + 1 });
    }
  }
  const replier = [...reserved].find((x) => x.responses[0]?.kind === 'reply') ?? pool[0];
  if (replier && from(replier) < weeks) replier.responses.push({ kind: 'click', week: from(replier) });

  // How each owner works their tasks: some are prompt, some are not.
  const punctuality = new Map(owners.map((o) => [o, 0.5 + r.next() * 0.4]));
  // On time: well inside the stack's grace; late: clearly past it.
  const afterHoursFor = (owner: string) => (r.chance(punctuality.get(owner) ?? 0.7) && grace >= 2 ? r.int(1, grace - 1) : r.int(grace + 12, grace + 176));
  let referrals = 0;

  for (const p of people) {
    const a = acc(p);
    const lost = a.lostWeek;
    // E-mail responses: only to e-mail that was sent, so not before the first one can go.
    const first = from(p);
    if (mailed(p) && !reserved.has(p)) {
      const kind = r.weighted([
        ['reply', 12],
        ['missed-me', skipsAWeek(p) ? 5 : 0],
        ['out-of-office', 5],
        ['left-company', 1],
        ['bounce', 2],
        ['complaint', 1],
        ['unsubscribe', 5],
        ['none', 69],
      ] as const);
      const response = emailResponse(kind, lost, r, weeklyCount(p));
      if (response) response.week = Math.max(response.week, first + 1);
      if (response && inSpan(response.week)) p.responses.push(response);
      const click = Math.max(lost + r.int(1, 10), first + 1);
      if (r.chance(0.15) && inSpan(click)) p.responses.push({ kind: 'click', week: click });
    }
    // CRM outcomes, for both groups (the holdout at a lower rate: nurture is meant to help); after
    // their e-mail response, since a meeting or a deal ends the e-mails they would answer.
    if (converts.get(p)) {
      const written = p.responses.filter((x) => EMAIL_KINDS.has(x.kind)).at(-1);
      const after = written ? written.week + (written.kind === 'missed-me' ? 6 : 1) : 0;
      for (const o of crmOutcomes(r.weighted([['meeting', 45], ['deal-created', 30], ['deal-reopened', 25]] as const), p, a, r, Math.max(lost + r.int(2, 30), after))) {
        if (inSpan(o.week)) p.responses.push(o);
      }
    }
    if (referrals < Math.ceil(size / 40) && a.group === 'nurtured' && r.chance(0.04)) {
      const ref = referral(p, lost + r.int(3, 20), run, ++referrals);
      if (inSpan(ref.week)) p.responses.push(ref);
      else referrals--;
    }
    // The rep's tasks other than requalification calls (none for the holdout: it gets no touches
    // at all): thank-you notes, courtesy calls, research, referral exchanges, as their track has them.
    if (a.group === 'nurtured') {
      for (let t = 0; t < 4; t++) {
        const done = r.chance(0.85);
        const outcome: TouchOutcome = r.weighted([['done', 75], ['left-message', 15], ['no-answer', 10]] as const);
        const afterHours = afterHoursFor(a.owner);
        p.tasks.push(done ? { afterHours, outcome } : { outcome });
      }
    }
  }

  // The first requalification call of a person's track: `first` after the loss, not before a
  // revisit date or the contract-end lead (as the stack plans it), a few days' slack for window
  // days and the gap before an e-mail. Undefined when their track has none.
  const requalificationWeek = (p: DemoPerson): number | undefined => {
    const after = p.track.requalificationAfterDays;
    if (after === undefined) return undefined;
    const a = acc(p);
    const floor = a.revisitAfterDays ?? (a.contractEndsInDays !== undefined ? a.contractEndsInDays - CONTRACT_LEAD_DAYS : 0);
    return a.lostWeek + Math.ceil((Math.max(after, floor) + TASK_SLACK_DAYS) / 7);
  };
  // The call happens when it falls due within the span, with time left to complete it late, and
  // nothing of theirs has taken them out of nurture by then (a reply, news that they left, a
  // meeting or a deal). A bounce, complaint or unsubscribe ends e-mail only: human touches go on.
  const requalifiable = (p: DemoPerson) => {
    const w = requalificationWeek(p);
    return acc(p).group === 'nurtured' && w !== undefined && w + 3 < weeks && p.responses.every((x) => !ENDS_NURTURE.has(x.kind) || x.week > w + 1);
  };
  const coverage: Coverage = { people, accounts, weeks, run, grace, r, acc, requalifiable, nextReferral: () => ++referrals };
  ensureEveryKind(coverage, REQUIRED_KINDS.filter((k) => k !== 'requalification'));
  // Requalification calls, after every response is planned: one may end nurture (no-future
  // retires, next-step hands back), so someone who still has something to do later keeps a future.
  for (const p of people.filter(requalifiable)) {
    const outcome = p.responses.some((x) => ENDS_NURTURE.has(x.kind)) ? 'future-opportunity' : r.pick(REQUALIFICATION_OUTCOMES);
    p.requalifications.push(r.chance(0.85) ? { afterHours: afterHoursFor(acc(p).owner), outcome } : { outcome });
  }
  ensureEveryKind(coverage, ['requalification']);
  for (const p of people) p.responses.sort((x, y) => x.week - y.week);
  return { runId: input.runId, seed: input.seed, weeks, onTimeGraceHours: grace, accounts, people };
}

/** Responses that answer an e-mail (a click aside): they need one to have been sent. */
const EMAIL_KINDS = new Set<DemoResponseKind>(['reply', 'missed-me', 'out-of-office', 'left-company', 'bounce', 'complaint', 'unsubscribe']);

/** Responses after which the stack plans no more touches for the loss: re-engaged, moved on, in a deal, a customer. */
const ENDS_NURTURE = new Set<DemoResponseKind>(['reply', 'missed-me', 'left-company', 'meeting', 'deal-created', 'deal-reopened', 'deal-won']);

/** The week the first value e-mail can go: after a revisit date, or two months before a competitor's contract ends. */
function firstEmailWeek(a: DemoAccount): number {
  const waitDays = a.revisitAfterDays ?? (a.contractEndsInDays !== undefined ? Math.max(0, a.contractEndsInDays - 61) : 0);
  return a.lostWeek + 1 + Math.ceil(waitDays / 7);
}

/** The stack's nurture starts this many days before a competitor's contract ends (`revisitFloor`). */
const CONTRACT_LEAD_DAYS = 60;

function emailResponse(kind: string, lost: number, r: Rng, weeklyCount: number): DemoResponse | undefined {
  switch (kind) {
    case 'reply':
      return { kind, week: lost + r.int(1, 20), text: r.pick(REPLY_TEXTS) };
    case 'missed-me':
      // The weekly e-mails, then the skipped week: the driver waits for it.
      return { kind, week: lost + weeklyCount, text: r.pick(MISSED_ME_TEXTS) };
    case 'out-of-office':
      return { kind, week: lost + r.int(1, 12), backInDays: r.int(5, 20) };
    case 'left-company':
      return { kind, week: lost + r.int(2, 16), newCompany: r.pick(NEW_COMPANIES) };
    case 'bounce':
      return { kind, week: lost + 1 };
    case 'complaint':
    case 'unsubscribe':
      return { kind, week: lost + r.int(1, 10) };
    default:
      return undefined;
  }
}

function crmOutcomes(kind: 'meeting' | 'deal-created' | 'deal-reopened', p: DemoPerson, a: DemoAccount, r: Rng, week: number, won = r.chance(0.45)): DemoResponse[] {
  const dealId = `${a.dealId}-${p.externalId.split('-').at(-1)}`;
  const amount = Math.round(a.amount * (0.6 + r.next() * 0.8) / 500) * 500;
  if (kind === 'meeting') {
    // A meeting often leads to a new deal a few weeks later.
    return [{ kind, week }, ...(r.chance(0.4) ? crmOutcomes('deal-created', p, a, r, week + r.int(2, 6), won) : [])];
  }
  const deal: DemoResponse = { kind, week, dealId, amount };
  return won ? [deal, { kind: 'deal-won', week: week + r.int(3, 10), dealId, amount }] : [deal];
}

function referral(p: DemoPerson, week: number, run: string, n: number): DemoResponse {
  const first = FIRST[(n * 5 + 3) % FIRST.length] as string;
  const last = LAST[(n * 3 + 1) % LAST.length] as string;
  const company = NEW_COMPANIES[n % NEW_COMPANIES.length] as string;
  return {
    kind: 'referral',
    week,
    referred: { externalId: `demo-${run}-ref${n}`, email: `${slug(first)}.${slug(last)}${n}@${slug(company)}-${run}.example`, name: `${first} ${last}`, company },
  };
}

interface Coverage {
  people: DemoPerson[];
  accounts: DemoAccount[];
  weeks: number;
  run: string;
  grace: number;
  r: Rng;
  acc: (p: DemoPerson) => DemoAccount;
  /** Their track's first requalification call falls due within the span while they are in nurture. */
  requalifiable: (p: DemoPerson) => boolean;
  nextReferral: () => number;
}

/**
 * A small demo must still show every CRM outcome and every way reps work their tasks: each kind
 * the draw left out goes to the earliest-lost person who can still show it within the span (one
 * forced kind per person; people who write nothing first, so no written response is cut short).
 */
function ensureEveryKind(c: Coverage, kinds: readonly RequiredKind[]): void {
  const { people, weeks, r } = c;
  const taken = new Set<DemoPerson>();
  const byLoss = [...people].sort((x, y) => c.acc(x).lostWeek - c.acc(y).lostWeek);
  const have = () => kindsIn({ runId: '', seed: 0, weeks, onTimeGraceHours: c.grace, accounts: c.accounts, people });
  const writesNothing = (p: DemoPerson) => !p.responses.some((x) => EMAIL_KINDS.has(x.kind));
  const candidate = (fits: (p: DemoPerson) => boolean) =>
    byLoss.find((p) => !taken.has(p) && p.responses.length === 0 && fits(p)) ??
    byLoss.find((p) => !taken.has(p) && writesNothing(p) && fits(p)) ??
    byLoss.find((p) => !taken.has(p) && fits(p));
  const fitsBy = (p: DemoPerson, lastWeek: number) => c.acc(p).lostWeek + lastWeek < weeks;

  for (const kind of kinds) {
    if (have().has(kind)) continue;
    const lost = (p: DemoPerson) => c.acc(p).lostWeek;
    switch (kind) {
      case 'meeting':
      case 'deal-created':
      case 'deal-reopened':
      case 'deal-won': {
        // Nurtured first, so the holdout's lower rate stays as drawn.
        const p = candidate((x) => c.acc(x).group === 'nurtured' && fitsBy(x, 4)) ?? candidate((x) => fitsBy(x, 4));
        if (p) {
          taken.add(p);
          const first = kind === 'deal-won' ? 'deal-created' : kind;
          const outcomes = crmOutcomes(first, p, c.acc(p), r, lost(p) + 1, kind === 'deal-won').map((o) => (o.kind === 'deal-won' ? { ...o, week: lost(p) + 3 } : o));
          p.responses.push(...outcomes.filter((o) => o.week < weeks));
        }
        break;
      }
      case 'referral': {
        const p = candidate((x) => c.acc(x).group === 'nurtured' && fitsBy(x, 3));
        if (p) {
          taken.add(p);
          p.responses.push(referral(p, lost(p) + 3, c.run, c.nextReferral()));
        }
        break;
      }
      case 'task-on-time':
      case 'task-late': {
        const p = candidate((x) => x.tasks.length > 0 && fitsBy(x, 1));
        if (p) {
          taken.add(p);
          (p.tasks[0] as DemoTaskCompletion).afterHours = kind === 'task-on-time' ? Math.min(4, Math.max(0, c.grace - 1)) : c.grace + 48;
        }
        break;
      }
      case 'requalification': {
        // Only a call the stack will really plan: the first, of a track that has one, in the span.
        const p = candidate(c.requalifiable);
        if (p) {
          taken.add(p);
          const call = p.requalifications[0];
          if (call) call.afterHours ??= Math.max(0, Math.min(6, c.grace - 1));
          else p.requalifications.push({ afterHours: Math.max(0, Math.min(6, c.grace - 1)), outcome: 'future-opportunity' });
        }
        break;
      }
    }
  }
}
