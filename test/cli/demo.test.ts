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
import { DEMO_DEFAULT_PEOPLE, DEMO_DEFAULT_SEED, DEMO_DEFAULT_WEEKS, type DemoSummary, demoCommand, demoSettings } from '../../functions/cli/demo.ts';
import { type DemoPlanInput, kindsIn, planDemo, REQUIRED_KINDS } from '../../functions/cli/demo-plan.ts';
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
  weeklyReasons: shipped.weeklyReasons,
  ...over,
});

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
      for (const r of p.responses) expect(['meeting', 'deal-created', 'deal-reopened', 'deal-won']).toContain(r.kind);
    }
    expect(heldPeople.some((p) => p.responses.length > 0)).toBe(true);
    // Without a holdout nobody is held out.
    expect(planDemo(input({ holdout: { percent: 0, salt: HOLDOUT_10.salt } })).accounts.every((a) => a.group === 'nurtured')).toBe(true);
  });

  it('has every kind of response and rep behaviour at the default size, with and without a holdout', () => {
    for (const seed of [DEMO_DEFAULT_SEED, 1, 2, 3, 42, 2026]) {
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
      const hours = plan.people.flatMap((p) => p.tasks.flatMap((t) => (t.afterHours === undefined ? [] : [t.afterHours])));
      expect(hours.some((h) => h <= grace)).toBe(true);
      expect(hours.some((h) => h > grace)).toBe(true);
      // Nothing sits on the boundary, where the stack's and the summary's clocks could disagree.
      expect(hours.filter((h) => h > grace - 1 && h <= grace + 12 && h !== grace + 48)).toEqual([]);
    }
    expect(planDemo(input()).onTimeGraceHours).toBe(24);
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
    const r = await run(['--url', stack.url, '--people', '8', '--weeks', '6', '--seed', '3', '--config', configDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    stdout = r.stdout;
    summary = JSON.parse(r.stdout);
    const res = await stack.get(`/metrics?from=${summary.from}&to=${summary.to}&groupBy=month`);
    expect(res.status).toBe(200);
    report = res.body;
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  it('prints the summary as JSON with the dashboard URL', () => {
    expect(summary).toMatchObject({ people: 8, weeks: 6, dashboard: `${stack.url}/dashboard` });
    expect(summary.holdout.accounts).toBeGreaterThan(0);
    expect(stdout.trim().startsWith('{')).toBe(true);
  });

  it('leaves data behind in every family of metrics: entries, sends, re-engagement, tasks, the holdout, won revenue', () => {
    const m = report.metrics;
    expect(m['nurture.entered'].total.n).toBe(8);
    expect(m['touch.sent'].total.n).toBeGreaterThan(0);
    expect(m['nurture.re-engaged'].total.n).toBeGreaterThan(0);
    expect(m['task.completed'].total.n).toBeGreaterThan(0);
    expect(m['nurture.entered'].dimensions.group.holdout.n).toBeGreaterThan(0);
    expect(m['crm.deal-won'].total.sum).toBeGreaterThan(0);
    expect(summary.holdout.enteredPerStack).toBe(m['nurture.entered'].dimensions.group.holdout.n);
  });
});
