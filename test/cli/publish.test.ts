/**
 * `cultivate config publish | rollback | versions | replan` end to end against the local stack run
 * as a child process (test/helpers/stack.ts): the Done-means change of config/README.md (weekly
 * value e-mail Tuesday -> Thursday, per-account cap 2 -> 1) published, the people in nurture
 * replanned in place, then rolled back. The people are written into the stack's table with the
 * same store adapter the stack uses (a fixture: getting five people to their second weekly e-mail
 * through webhooks would take a simulated fortnight).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRelationshipStore, documentClient } from '#adapters/dynamo-store';
import { loadConfig } from '#config/load';
import { stampedPlanner } from '#config/rules';
import { createCadencePlanner } from '#domain/cadence';
import { zonedParts } from '#domain/local-time';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import { localClient } from '../helpers/dynamo.ts';
import { type StackProcess, startStackProcess } from '../helpers/stack.ts';
import { NOW, person, thursdayConfig } from '../helpers/replan.ts';
import { cli, TempConfig } from './helpers.ts';

const v0 = stampedPlanner(createCadencePlanner(loadConfig('config')), 0);
const thursday = thursdayConfig();
const broken = new TempConfig().edit('cadence.yaml', 'start: "09:00"', 'start: "9 am"');
const dryRunAll = new TempConfig().edit('controls.yaml', 'dryRun: false', 'dryRun: true');
let stack: StackProcess;
let store: DynamoRelationshipStore;
const people = ['ada', 'bo', 'cy', 'di'].map((n) => person(v0, n, 'timing', 'emailing'));
const sending = (() => {
  const p = person(v0, 'ed', 'timing', 'emailing');
  return { ...p, nextTouch: { ...(p.nextTouch as PlannedTouch), status: 'sending' as const, leaseUntil: '2026-12-08T16:05:00.000Z' } };
})();

beforeAll(async () => {
  stack = await startStackProcess({ clockStart: NOW, env: { CULTIVATE_LOG_LEVEL: 'INFO' } });
  store = new DynamoRelationshipStore(documentClient(localClient(stack.dynamoEndpoint)), stack.tableName);
  for (const p of [...people, sending]) expect(await store.save(p, undefined)).toBe('saved');
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  thursday.remove();
  broken.remove();
  dryRunAll.remove();
});

const weekdays = async () => Promise.all(people.map(async (p) => zonedParts(new Date(((await store.get(p.id)) as RelationshipState).nextTouch?.at ?? 0), 'America/Chicago').weekday));
const url = () => ['--url', stack.url];

describe('cultivate config publish / rollback against the local stack', () => {
  it('lists the deployed folder as version 0 before anything is published', async () => {
    const r = await cli(['config', 'versions', ...url()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\* v0 +deployed +[0-9a-f]{12} {2}the config\/ folder deployed with the code$/m);
    expect(r.stdout).toContain('rules v0 in force (*)');
  });

  it('refuses a broken folder with file:line:col, and publishes nothing', async () => {
    const r = await cli(['config', 'publish', broken.dir, ...url()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${broken.pos('cadence.yaml', '"9 am"')}: windows.default.start: must be a time`);
    expect(r.stderr).toMatch(/nothing published/);
    expect((await stack.get('/config/versions')).body).toMatchObject({ current: 0 });
  });

  it('publishes Thursday, shows what changes for whom, and replans everyone in place (the touch being sent is left alone)', async () => {
    const r = await cli(['config', 'publish', thursday.dir, '--note', 'weekly value on Thursday; 1 touch a week per account', '--wait', ...url()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('published rules v1: "weekly value on Thursday; 1 touch a week per account"');
    expect(r.stdout).toContain('(the rules in force were v0):');
    expect(r.stdout).toContain(`${thursday.dir} against the rules in force: 4 relationships with a planned touch compared`);
    const moved = /move earlier +(\d+)[\s\S]*move later +(\d+)/.exec(r.stdout);
    expect(Number(moved?.[1]) + Number(moved?.[2])).toBe(4);
    expect(r.stdout).toMatch(/being sent now \(left as they are\) +1/);
    expect(r.stdout).toMatch(/replan to rules v1 \(from v0\): done\n {2}4 replanned, 0 unchanged, 0 already planned under v1, 1 being sent \(left alone\)/);
    expect(await weekdays()).toEqual([4, 4, 4, 4]);
    expect(((await store.get(sending.id)) as RelationshipState).nextTouch).toEqual(sending.nextTouch);

    // explain: the replan is on the timeline, and the planned touch names the rules that planned it.
    const view = (await stack.get(`/relationships/${people[0]?.id}`)).body as { decisions: { outcome: string; rule: string }[]; timeline: { type: string; summary: string }[] };
    expect(view.decisions.at(-1)).toMatchObject({ outcome: 'planned', rule: expect.stringMatching(/weekly value e-mail 2 of 8.*\(rules v1\)$/) });
    expect(view.timeline.filter((e) => e.type === 'touch-replanned').map((e) => e.summary)).toEqual([expect.stringMatching(/^replanned: rules v0 → v1: moved from Tue 2026-12-(08|15) \d\d:\d\d to Thu 2026-12-10 \d\d:\d\d$/)]);
  });

  it('refuses a publish made against a version no longer in force (409), and a bad body (400)', async () => {
    const stale = await stack.post('/config/publish', { files: { 'controls.yaml': 'version: 1\npaused: false\n' }, expectedVersion: 0 });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ current: 1 });
    const bad = await stack.post('/config/rollback', { to: -1 });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ issues: [{ path: 'to' }] });
    expect((await stack.get('/config/versions/9')).status).toBe(404);
  });

  it('rolls back: the previous rules again as v2, everyone back on Tuesday, history kept', async () => {
    const r = await cli(['config', 'rollback', '--wait', ...url()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('published rules v2: "rollback to v0" (the text of v0; was v1)');
    expect(r.stdout).toMatch(/\(the rules in force were v1\):\nrules v0 against the rules in force: 4 relationships/);
    expect(r.stdout).toMatch(/replan to rules v2 \(from v1\): done\n {2}4 replanned/);
    expect(await weekdays()).toEqual([2, 2, 2, 2]);

    const versions = await cli(['config', 'versions', ...url()]);
    expect(versions.stdout.split('\n').slice(0, 3).map((l) => l.slice(0, 5))).toEqual(['* v2 ', '  v1 ', '  v0 ']);
    expect(versions.stdout).toContain('rollback to v0');
    const replan = await cli(['config', 'replan', '--json', ...url()]);
    expect(JSON.parse(replan.stdout)).toMatchObject({ rulesVersion: 2, fromVersion: 1, status: 'done', more: false });
  });

  it('a version that changes only controls.yaml replans nobody: its job is done at once, and --wait says so', async () => {
    const before = await Promise.all(people.map(async (p) => ((await store.get(p.id)) as RelationshipState).version));
    const r = await cli(['config', 'publish', dryRunAll.dir, '--note', 'dry run for all', '--wait', ...url()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('published rules v3: "dry run for all"');
    expect(r.stdout).toContain('replan to rules v3 (from v2): not needed: only controls.yaml changed');
    expect(await Promise.all(people.map(async (p) => ((await store.get(p.id)) as RelationshipState).version))).toEqual(before);
    const job = JSON.parse((await cli(['config', 'replan', '--json', ...url()])).stdout);
    expect(job).toMatchObject({ rulesVersion: 3, status: 'done', onlyControls: true, counts: { scanned: 0 } });
  });
});
