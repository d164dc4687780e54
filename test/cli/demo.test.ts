/**
 * `cultivate demo`: the plan (pure, seeded) and one small run against the local stack as a child
 * process (config/ copied with a holdout), checked through the stack's own GET /metrics; plus the
 * errors a user meets first: no stack at --url, and a server whose clock does not move.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { assignHoldout } from '#domain/metrics/holdout';
import { completionFor, DEMO_DEFAULT_PEOPLE, DEMO_DEFAULT_SEED, DEMO_DEFAULT_WEEKS, type DemoSummary, demoCommand, demoSettings, demoTrack } from '../../functions/cli/demo.ts';
import { type DemoPerson, type DemoPlan, type DemoPlanInput, type DemoTrack, kindsIn, planDemo, REQUALIFICATION_OUTCOMES, REQUIRED_KINDS } from '../../functions/cli/demo-plan.ts';
import { type StackProcess, startStackProcess } from '../helpers/stack.ts';

const shipped = demoSettings('config');
const HOLDOUT_10 = { percent: 10, salt: 'demo-test-holdout-salt' };
const input = (over: Partial<DemoPlanInput> = {}): DemoPlanInput => ({
  seed: DEMO_DEFAULT_SEED,
  people: DEMO_DEFAULT_PEOPLE,
  weeks: DEMO_DEFAULT_WEEKS,
  runId: 'run1',
  owners: shipped.owners,
  holdout: HOLDOUT_10,
  trackOf: shipped.trackOf,
  ...over,
});
const EMAIL_RESPONSES = ['reply', 'missed-me', 'out-of-office', 'left-company', 'bounce', 'complaint', 'unsubscribe', 'click'];
const accountOf = (plan: DemoPlan, p: DemoPerson) => plan.accounts.find((a) => a.accountId === p.accountId) as DemoPlan['accounts'][number];
const SEEDS = [DEMO_DEFAULT_SEED, 1, 2, 3, 42, 2026];

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await demoCommand(args, { out: (t) => void (stdout += t), err: (t) => void (stderr += t), env: {} });
  return { code, stdout, stderr };
}

describe('the demo plan', () => {
  it('is the same for the same seed and run id, and differs for another seed', () => {
    expect(planDemo(input())).toEqual(planDemo(input()));
    expect(planDemo(input({ seed: 8 }))).not.toEqual(planDemo(input()));
  });

  it('spreads the lost deals over the weeks, leaving time at the end for responses', () => {
    const plan = planDemo(input({ people: 120 }));
    const weeks = new Set(plan.accounts.map((a) => a.lostWeek));
    expect(weeks.size).toBeGreaterThan(10);
    expect(Math.max(...weeks)).toBeLessThan(Math.floor(0.7 * DEMO_DEFAULT_WEEKS));
    // No week holds most of the losses.
    for (const w of weeks) expect(plan.accounts.filter((a) => a.lostWeek === w).length).toBeLessThan(plan.accounts.length / 3);
  });

  it('puts 2 to 4 people on each account, everyone on one account lost together', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 150 }), fc.integer({ min: 0, max: 2 ** 31 }), (people, seed) => {
        const plan = planDemo(input({ people, seed }));
        expect(plan.people).toHaveLength(people);
        for (const a of plan.accounts) {
          const n = plan.people.filter((p) => p.accountId === a.accountId).length;
          expect(n).toBeGreaterThanOrEqual(2);
          expect(n).toBeLessThanOrEqual(4);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('takes owners only from the config: the active ones, never Lena (inactive in config/owners.yaml)', () => {
    const active = loadConfig('config').owners.owners.filter((o) => o.active).map((o) => o.email);
    expect(shipped.owners.length).toBeGreaterThan(1);
    for (const o of shipped.owners) expect(active).toContain(o);
    const plan = planDemo(input({ people: 200 }));
    const used = new Set(plan.accounts.map((a) => a.owner));
    expect([...used].sort()).toEqual([...shipped.owners].sort());
    expect(used.has('lena@seller.example')).toBe(false);
  });

  it('holds out the configured share of accounts, as the stack\'s hash assigns them, and gives them CRM outcomes only', () => {
    const plan = planDemo(input({ people: 200 }));
    const held = plan.accounts.filter((a) => a.group === 'holdout');
    expect(held.length).toBe(Math.round((plan.accounts.length * 10) / 100));
    for (const a of plan.accounts) expect(assignHoldout(a.accountId, HOLDOUT_10)).toBe(a.group);
    const heldPeople = plan.people.filter((p) => held.some((a) => a.accountId === p.accountId));
    for (const p of heldPeople) {
      expect(p.tasks).toEqual([]);
      expect(p.requalifications).toEqual([]);
      for (const r of p.responses) expect(['meeting', 'deal-created', 'deal-reopened', 'deal-won']).toContain(r.kind);
    }
    expect(heldPeople.some((p) => p.responses.length > 0)).toBe(true);
    // Without a holdout nobody is held out.
    expect(planDemo(input({ holdout: { percent: 0, salt: HOLDOUT_10.salt } })).accounts.every((a) => a.group === 'nurtured')).toBe(true);
  });

  it('has every kind of response and rep behaviour at the default size, with and without a holdout', () => {
    for (const seed of SEEDS) {
      for (const holdout of [HOLDOUT_10, shipped.holdout]) {
        const kinds = kindsIn(planDemo(input({ seed, holdout })));
        expect(REQUIRED_KINDS.filter((k) => !kinds.has(k)), `seed ${seed}, holdout ${holdout.percent}%`).toEqual([]);
      }
    }
  });

  it('mixes lost reasons, roles, countries and consent in realistic proportions; competitors carry a contract end', () => {
    const plan = planDemo(input({ people: 600 }));
    const share = (n: number) => n / plan.accounts.length;
    const reasons = new Set(plan.accounts.map((a) => a.reason));
    for (const r of ['timing', 'budget', 'no-decision', 'competitor', 'unresponsive', 'bad-fit', 'other']) expect(reasons.has(r as never)).toBe(true);
    expect(share(plan.accounts.filter((a) => a.reason === 'timing').length)).toBeGreaterThan(share(plan.accounts.filter((a) => a.reason === 'bad-fit').length));
    for (const a of plan.accounts.filter((x) => x.reason === 'competitor')) expect(a.contractEndsInDays).toBeGreaterThan(0);
    expect(new Set(plan.people.map((p) => p.role)).size).toBeGreaterThanOrEqual(4);
    expect(new Set(plan.people.map((p) => p.country)).size).toBeGreaterThanOrEqual(8);
    expect(new Set(plan.people.map((p) => p.timezone)).size).toBeGreaterThanOrEqual(10);
    const granted = plan.people.filter((p) => p.consent === 'granted').length / plan.people.length;
    expect(granted).toBeGreaterThan(0.75);
    expect(granted).toBeLessThan(1);
  });

  it("plans on-time and late completions around the stack's own grace (config/metrics.yaml taskOnTimeGraceHours)", () => {
    for (const grace of [6, 24, 48]) {
      const plan = planDemo(input({ people: 60, onTimeGraceHours: grace }));
      expect(plan.onTimeGraceHours).toBe(grace);
      const hours = plan.people.flatMap((p) => [...p.tasks, ...p.requalifications].flatMap((t) => (t.afterHours === undefined ? [] : [t.afterHours])));
      expect(hours.some((h) => h <= grace)).toBe(true);
      expect(hours.some((h) => h > grace)).toBe(true);
      // Nothing sits on the boundary, where the stack's and the summary's clocks could disagree.
      expect(hours.filter((h) => h > grace - 1 && h <= grace + 12 && h !== grace + 48)).toEqual([]);
    }
    expect(planDemo(input()).onTimeGraceHours).toBe(24);
  });

  it('asks the track of each person from their whole subject: lost reason, role, horizon, country and CRM tags', () => {
    const seen: unknown[] = [];
    const trackOf = (subject: Parameters<DemoPlanInput['trackOf']>[0]) => {
      seen.push(subject);
      return shipped.trackOf(subject);
    };
    const plan = planDemo(input({ people: 60, trackOf }));
    expect(seen).toHaveLength(60);
    plan.people.forEach((p, i) => {
      expect(seen[i]).toEqual({ lostReason: accountOf(plan, p).reason, role: p.role, horizon: p.horizon, country: p.country, tags: p.tags });
    });
    // Weekly e-mail by role alone: only those with the role ever miss a skipped week.
    const championsOnly = (s: { role?: string }): DemoTrack => (s.role === 'champion' ? { id: 'weekly', emails: true, weekly: { count: 8, skipWeeks: 1 } } : { id: 'monthly', emails: true });
    for (const seed of SEEDS) {
      const byRole = planDemo(input({ seed, people: 120, trackOf: championsOnly }));
      const missers = byRole.people.filter((p) => p.responses.some((r) => r.kind === 'missed-me'));
      expect(missers.length, `seed ${seed}`).toBeGreaterThan(0);
      for (const p of missers) expect(p.role).toBe('champion');
    }
    // No track with a skipped week: nobody misses one.
    expect(kindsIn(planDemo(input({ people: 120, trackOf: () => ({ id: 'monthly', emails: true }) }))).has('missed-me')).toBe(false);
  });

  it('puts a past customer on customer care: monthly e-mail, no weekly, so never a skip-week "missed me"', () => {
    let pastCustomers = 0;
    for (const seed of SEEDS) {
      for (const people of [DEMO_DEFAULT_PEOPLE, 200]) {
        const plan = planDemo(input({ seed, people }));
        for (const p of plan.people.filter((x) => x.role === 'past-customer')) {
          pastCustomers++;
          expect(p.track).toEqual({ id: 'customer-care', emails: true });
          expect(p.responses.map((r) => r.kind)).not.toContain('missed-me');
        }
        // Whoever misses a week is on a track with weekly e-mail and a skipped week.
        for (const p of plan.people.filter((x) => x.responses.some((r) => r.kind === 'missed-me'))) expect(p.track.weekly?.skipWeeks).toBeGreaterThan(0);
      }
    }
    expect(pastCustomers).toBeGreaterThan(10);
  });

  it('has a few referral partners, on the referral-partners track, who get no e-mail to answer', () => {
    for (const seed of SEEDS) {
      const plan = planDemo(input({ seed }));
      const partners = plan.people.filter((p) => p.role === 'referral-partner');
      expect(partners.length, `seed ${seed}`).toBeGreaterThan(0);
      expect(partners.some((p) => accountOf(plan, p).group === 'nurtured'), `seed ${seed}`).toBe(true);
      for (const p of partners) {
        expect(p.track).toEqual({ id: 'referral-partners', emails: false });
        expect(p.responses.filter((r) => EMAIL_RESPONSES.includes(r.kind))).toEqual([]);
        expect(p.requalifications).toEqual([]);
      }
    }
    const big = planDemo(input({ people: 600 }));
    const share = big.people.filter((p) => p.role === 'referral-partner').length / big.people.length;
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.05);
  });

  it('puts unresponsive losses on lost-no-weekly (no weekly e-mail); referrals enter nurture as new people, on referral-unreachable', () => {
    const plan = planDemo(input({ people: 600 }));
    // Tracks go in file order: a partner or a past customer on such a deal keeps their own track.
    const unresponsive = plan.people.filter((p) => accountOf(plan, p).reason === 'unresponsive' && p.role !== 'referral-partner' && p.role !== 'past-customer');
    expect(unresponsive.length).toBeGreaterThan(0);
    for (const p of unresponsive) expect(p.track).toMatchObject({ id: 'lost-no-weekly', emails: false });
    // No lost deal takes the referral track: only a referral does, and the demo's referrals are
    // `referral-received` events for new people, not on any lost deal of the plan.
    expect(plan.people.filter((p) => p.track.id === 'referral-unreachable')).toEqual([]);
    expect(shipped.trackOf({ entry: 'referral' })).toEqual({ id: 'referral-unreachable', emails: false, requalificationAfterDays: 186 });
    const referred = plan.people.flatMap((p) => p.responses.flatMap((r) => (r.kind === 'referral' ? [r.referred] : [])));
    expect(referred.length).toBeGreaterThan(0);
    const onDeals = new Set(plan.people.flatMap((p) => [p.externalId, p.email]));
    for (const x of referred) expect(onDeals.has(x.externalId) || onDeals.has(x.email)).toBe(false);
    // Every contact carries the run's tags, and no other.
    for (const p of plan.people) expect(p.tags).toEqual(['cultivate-demo', 'demo-run-run1']);
  });

  it('plans requalification outcomes only for requalification calls its track plans within the span', () => {
    for (const seed of SEEDS) {
      const plan = planDemo(input({ seed, people: 120 }));
      const called = plan.people.filter((p) => p.requalifications.length > 0);
      expect(called.length, `seed ${seed}`).toBeGreaterThan(0);
      for (const p of plan.people) {
        for (const t of p.tasks) expect(REQUALIFICATION_OUTCOMES).not.toContain(t.outcome);
        for (const t of p.requalifications) expect(REQUALIFICATION_OUTCOMES).toContain(t.outcome);
      }
      for (const p of called) {
        const a = accountOf(plan, p);
        expect(a.group).toBe('nurtured');
        // The shipped tracks for lost deals call a quarter after the loss (lost-deal, lost-no-weekly).
        expect(['lost-deal', 'lost-no-weekly']).toContain(p.track.id);
        expect(a.lostWeek + Math.floor((p.track.requalificationAfterDays as number) / 7)).toBeLessThan(DEMO_DEFAULT_WEEKS);
        expect(p.requalifications).toHaveLength(1);
      }
    }
    // Shorter than a quarter: no requalification call falls due, so none is planned.
    const short = planDemo(input({ weeks: 12, people: 120 }));
    expect(short.people.flatMap((p) => p.requalifications)).toEqual([]);
    expect(kindsIn(short).has('requalification')).toBe(false);
  });

  it('keeps two runs apart: no id, address or account in common', () => {
    const a = planDemo(input({ runId: 'tqf2yh' }));
    const b = planDemo(input({ runId: 'tqf9zz' }));
    const idsOf = (p: typeof a) => [...p.people.flatMap((x) => [x.externalId, x.email]), ...p.accounts.flatMap((x) => [x.accountId, x.dealId])];
    const other = new Set(idsOf(b));
    expect(idsOf(a).filter((id) => other.has(id))).toEqual([]);
    // Within a run, every person is someone else (one address, one relationship).
    const big = planDemo(input({ people: 1000 }));
    expect(new Set(big.people.map((p) => p.email)).size).toBe(1000);
    expect(new Set(big.people.map((p) => p.externalId)).size).toBe(1000);
  });
});

describe('the demo driver', () => {
  it('completes a requalification call with a planned requalification, any other task with the next other completion', () => {
    const person = {
      tasks: [{ afterHours: 2, outcome: 'done' }, { afterHours: 30, outcome: 'left-message' }],
      requalifications: [{ afterHours: 3, outcome: 'next-step' }],
    } as unknown as DemoPerson;
    const seen = { tasks: 0, requalifications: 0 };
    expect(completionFor(person, 'thank-you-note', seen)).toEqual({ afterHours: 2, outcome: 'done' });
    expect(completionFor(person, 'requalification', seen)).toEqual({ afterHours: 3, outcome: 'next-step' });
    expect(completionFor(person, 'courtesy-call', seen)).toEqual({ afterHours: 30, outcome: 'left-message' });
    // A second call the plan has no completion for stays open; so does a task past the plan.
    expect(completionFor(person, 'requalification', seen)).toBeUndefined();
    expect(completionFor(person, 'courtesy-call', seen)).toBeUndefined();
  });

  it("reads a track's e-mail, skipped week and first requalification call from cadence.yaml", () => {
    const tracks = loadConfig('config').cadence.tracks;
    const of = (id: string) => demoTrack(tracks.find((t) => t.id === id));
    expect(of('lost-deal')).toEqual({ id: 'lost-deal', emails: true, weekly: { count: 8, skipWeeks: 1 }, requalificationAfterDays: 93 });
    expect(of('customer-care')).toEqual({ id: 'customer-care', emails: true });
    expect(of('referral-partners')).toEqual({ id: 'referral-partners', emails: false });
    expect(of('referral-unreachable')).toEqual({ id: 'referral-unreachable', emails: false, requalificationAfterDays: 186 });
    expect(of('lost-no-weekly')).toEqual({ id: 'lost-no-weekly', emails: false, requalificationAfterDays: 93 });
    expect(demoTrack(undefined)).toEqual({ emails: false });
  });
});

describe('cultivate demo, when the stack is not there or not local', () => {
  let server: Server;
  let url: string;
  const moved = { clock: 'stuck' as 'stuck' | 'absent' | 'moving' };

  beforeAll(async () => {
    // A server that answers /health like a stack but whose clock is absent (a deployed API) or stuck.
    server = createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/health') return send(200, { ok: true });
      if (req.url === '/local/clock' && moved.clock === 'absent') return send(404, { message: 'Not Found' });
      if (req.url === '/local/clock' && req.method === 'GET') return send(200, { now: '2026-11-23T10:00:00.000Z' });
      if (req.url === '/local/clock' && moved.clock === 'moving') return send(200, { from: '2026-11-23T10:00:00.000Z', now: '2026-12-23T10:00:00.000Z', fired: [] });
      if (req.url === '/local/clock') return send(200, { from: '2026-11-23T10:00:00.000Z', now: '2026-11-23T10:00:00.000Z', fired: [] });
      // When moving: signed with another secret than the one this "stack" was started with.
      if (req.url?.startsWith('/webhooks/generic')) return moved.clock === 'moving' ? send(401, { error: 'signature does not match' }) : send(202, { accepted: 1 });
      return send(404, { message: 'Not Found' });
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((res) => server.close(() => res())));

  it('says how to start a stack when nothing answers at --url', async () => {
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', () => res()));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((res) => closed.close(() => res()));
    const r = await run(['--url', `http://127.0.0.1:${port}`, '--people', '4', '--weeks', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no Cultivate stack answers at http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stderr).toContain('npm start');
  });

  it('refuses a stack without a local clock (a deployed API), and one whose clock does not move', async () => {
    moved.clock = 'absent';
    const absent = await run(['--url', url, '--people', '4', '--weeks', '2']);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('has no local clock');
    moved.clock = 'stuck';
    const stuck = await run(['--url', url, '--people', '4', '--weeks', '2']);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toContain("the stack's clock did not move");
  });

  it('says to pass the stack\'s secret when the webhook signature is refused', async () => {
    moved.clock = 'moving';
    const r = await run(['--url', url, '--people', '4', '--weeks', '2', '--secret', 'not-the-stack-secret']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused the webhook signature: give its secret with --secret');
  });

  it('names a bad flag', async () => {
    const r = await run(['--people', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--people "many" must be a whole number');
  });
});

describe('cultivate demo against the local stack', () => {
  let stack: StackProcess;
  let configDir: string;
  let summary: DemoSummary;
  let stdout: string;
  let report: any;

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), 'cultivate-demo-config-'));
    cpSync('config', configDir, { recursive: true });
    const metrics = readFileSync(join(configDir, 'metrics.yaml'), 'utf8').replace(/holdout:\n  percent: \d+/, 'holdout:\n  percent: 25');
    expect(metrics).toContain('percent: 25');
    writeFileSync(join(configDir, 'metrics.yaml'), metrics);
    // A fixed start (a Monday): the same holidays and weekdays on every run of the test.
    stack = await startStackProcess({ clockStart: '2026-11-16T09:00:00.000Z', env: { CULTIVATE_CONFIG_DIR: configDir, CULTIVATE_LOG_LEVEL: 'WARN' } });
    // Twenty weeks: long enough for a quarterly requalification call; seed 2 puts people on four
    // tracks (a past customer and a referral partner among them), and a referral enters a new person.
    const r = await run(['--url', stack.url, '--people', '12', '--weeks', '20', '--seed', '2', '--config', configDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    stdout = r.stdout;
    summary = JSON.parse(r.stdout);
    const res = await stack.get(`/metrics?from=${summary.from}&to=${summary.to}&groupBy=month`);
    expect(res.status).toBe(200);
    report = res.body;
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('prints the summary as JSON with the dashboard URL', () => {
    expect(summary).toMatchObject({ people: 12, weeks: 20, dashboard: `${stack.url}/dashboard` });
    expect(summary.holdout.accounts).toBeGreaterThan(0);
    expect(stdout.trim().startsWith('{')).toBe(true);
  });

  it('leaves data behind in every family of metrics: entries, sends, re-engagement, tasks, the holdout, won revenue', () => {
    const m = report.metrics;
    expect(m['nurture.entered'].total.n).toBe(12);
    expect(m['touch.sent'].total.n).toBeGreaterThan(0);
    expect(m['nurture.re-engaged'].total.n).toBeGreaterThan(0);
    expect(m['task.completed'].total.n).toBeGreaterThan(0);
    expect(m['nurture.entered'].dimensions.group.holdout.n).toBeGreaterThan(0);
    expect(m['crm.deal-won'].total.sum).toBeGreaterThan(0);
    expect(summary.holdout.enteredPerStack).toBe(m['nurture.entered'].dimensions.group.holdout.n);
  });

  it('puts everyone on the track the plan gave them: the lost-deal event carries role and CRM tags', () => {
    const byTrack = Object.fromEntries(Object.entries(report.metrics['nurture.entered'].dimensions.track as Record<string, { n: number }>).map(([id, v]) => [id, v.n]));
    expect(byTrack).toEqual(summary.tracks);
    for (const id of ['lost-deal', 'customer-care', 'referral-partners']) expect(summary.tracks[id], id).toBeGreaterThan(0);
  });

  it('enters the people referred into nurture by the referral: counted as referrals, not as entries, each given the research task', () => {
    const m = report.metrics;
    expect(summary.referrals).toBeGreaterThan(0);
    expect(m['referral.received'].total.n).toBe(summary.referrals);
    // referral-unreachable: research 2 days after the referral. Nobody on a lost deal takes that track.
    expect(summary.tracks['referral-unreachable']).toBeUndefined();
    expect(m['task.assigned'].dimensions.kind.research.n).toBe(summary.referrals);
  });

  it('completes requalification calls, and only them, with requalification outcomes', () => {
    const m = report.metrics;
    expect(summary.tasksCompleted.requalification).toBeGreaterThan(0);
    expect(m.requalification.total.n).toBe(summary.tasksCompleted.requalification);
    // Each outcome came back on a task the stack had assigned as a requalification call.
    expect(m['task.completed'].dimensions.kind.requalification.n).toBe(m.requalification.total.n);
  });
});
