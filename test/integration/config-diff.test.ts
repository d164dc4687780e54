/**
 * `cultivate diff`: the pure comparison (functions/handlers/config-diff.ts), `POST /config/diff`
 * (functions/http/config.ts) over DynamoDB Local with paging, and the CLI against that route served
 * on 127.0.0.1. The proposed config moves the weekly e-mail from Tuesday to Thursday and swaps two
 * lost reasons between the tracks, so every kind of change happens to someone.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRelationshipStore } from '#adapters/dynamo-store';
import { tableDefinition } from '#adapters/table';
import { loadConfig, readConfigSources } from '#config/load';
import { createCadencePlanner } from '#domain/cadence';
import { touchIdFor } from '#domain/identity';
import { zonedParts } from '#domain/local-time';
import type { RelationshipState } from '#domain/types';
import { DynamoRelationshipPages } from '#adapters/dynamo-relationship-pages';
import { type ConfigDiff, diffPlans, emptyDiff, mergeDiffs, planSide } from '#handlers/config-diff';
import { configDiffRoutes } from '#http/config';
import { TempConfig, cli } from '../cli/helpers.ts';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { recordingLogger } from '../helpers/fixtures.ts';
import { NOW, person as personPlannedBy, type Phase, type Reason } from '../helpers/replan.ts';

const db = withDynamoDbLocal('config-diff');
const TABLE = 'config-diff-live';
// The shipped rules, except that lost-no-weekly plans nothing after its thank-you (no quarterly
// requalification): then a person moving between the tracks makes a touch appear or disappear.
const NO_REQUALIFICATION: [string, string, string] = ['cadence.yaml', '    humanTouches:\n      - { kind: requalification, first: 3 months, every: 3 months }\n', ''];
const currentDir = new TempConfig().edit(...NO_REQUALIFICATION);
const current = loadConfig(currentDir.dir);
const planner = createCadencePlanner(current);

const proposedDir = new TempConfig()
  .edit(...NO_REQUALIFICATION)
  .edit('cadence.yaml', 'value-email:\n    days: [tue]', 'value-email:\n    days: [thu]')
  .edit('cadence.yaml', 'lostReasons: [timing, budget, no-decision, competitor, no-need, other]', 'lostReasons: [timing, no-decision, competitor, no-need, other, unresponsive]')
  .edit('cadence.yaml', 'lostReasons: [unresponsive, bad-fit]', 'lostReasons: [budget, bad-fit]');
const proposed = loadConfig(proposedDir.dir);

/** A person in nurture with consent, at `phase` of the cadence, planned by the current rules (test/helpers/replan.ts). */
const person = (name: string, reason: Reason, phase: Phase, over: Partial<RelationshipState> = {}) => personPlannedBy(planner, name, reason, phase, over, NOW);

const emailing = person('ada', 'timing', 'emailing');
const leaving = person('bo', 'budget', 'emailing');
const arriving = person('cy', 'unresponsive', 'after-thank-you');
const steady = person('di', 'timing', 'thank-you');
const inFlight = (() => {
  const p = person('ed', 'timing', 'emailing');
  return { ...p, nextTouch: { ...(p.nextTouch as NonNullable<RelationshipState['nextTouch']>), status: 'queued' as const, leaseUntil: '2026-12-08T16:05:00.000Z' } };
})();
const retired = person('fay', 'timing', 'emailing', { stage: 'retired', nextTouch: null });
const people = [emailing, leaving, arriving, steady, inFlight, retired];

let server: ServerType;
let url: string;
const logger = recordingLogger();

beforeAll(async () => {
  await db.client.send(new CreateTableCommand(tableDefinition(TABLE)));
  const store = new DynamoRelationshipStore(db.doc, TABLE);
  for (const p of people) expect(await store.save(p, undefined)).toBe('saved');
  // Other items of the table (timeline entries) are read by the scan, never compared.
  await store.appendTimeline(emailing.id, [{ at: '2026-12-01T16:10:00.000Z', eventId: 'touch:x', type: 'email-sent', summary: 'E-mail sent: x' }]);
  const app = new Hono().route('/', configDiffRoutes({ clock: { now: () => NOW }, logger, pages: new DynamoRelationshipPages(db.doc, TABLE), currentSources: () => readConfigSources(currentDir.dir) }));
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((res) => (server ? server.close(() => res()) : res()));
  proposedDir.remove();
  currentDir.remove();
});

const post = async (body: unknown) => {
  const res = await fetch(`${url}/config/diff`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { diff?: ConfigDiff; cursor?: string; error?: string; problems?: { file: string; line: number; col: number; message: string }[]; issues?: { path: string; message: string }[] } };
};
const proposedCadence = proposedDir.text('cadence.yaml');

describe('diffPlans (pure)', () => {
  const diff = diffPlans(people, planSide(current), planSide(proposed), NOW);

  it('sorts each person into exactly one kind of change', () => {
    expect(diff.scanned).toBe(6);
    expect(diff.inFlight).toBe(1);
    expect(diff.compared).toBe(4);
    expect(diff.counts.appear).toBe(1);
    expect(diff.counts.disappear).toBe(1);
    expect(diff.counts.unchanged).toBe(1);
    expect(diff.counts.earlier + diff.counts.later).toBe(1);
    expect(diff.counts.changed).toBe(0);
    expect(diff.examples.appear).toEqual([expect.objectContaining({ relationshipId: arriving.id, kindAfter: 'value-email' })]);
    expect(diff.examples.disappear).toEqual([expect.objectContaining({ relationshipId: leaving.id, kindBefore: 'value-email' })]);
    const moved = [...diff.examples.earlier, ...diff.examples.later];
    expect(moved.map((e) => e.relationshipId)).toEqual([emailing.id]);
    // Tuesday's e-mail now comes on the contact's Thursday, and earlier/later agrees with the instants.
    const m = moved[0] as { before: string; after: string };
    expect(zonedParts(new Date(m.before), 'America/Chicago').weekday).toBe(2);
    expect(zonedParts(new Date(m.after), 'America/Chicago').weekday).toBe(4);
    expect(diff.counts.later === 1).toBe(Date.parse(m.after) > Date.parse(m.before));
  });

  it('counts per track and names who changes track', () => {
    expect(diff.byTrack['lost-deal']).toMatchObject({ appear: 1, unchanged: 1, disappear: 0 });
    expect(diff.byTrack['lost-no-weekly']).toMatchObject({ disappear: 1, appear: 0 });
    expect(diff.trackChanges).toEqual(
      expect.arrayContaining([
        { from: 'lost-deal', to: 'lost-no-weekly', count: 1, examples: [leaving.id] },
        { from: 'lost-no-weekly', to: 'lost-deal', count: 1, examples: [arriving.id] },
      ]),
    );
    expect(diff.trackChanges).toHaveLength(2);
  });

  it('the same rules on both sides change nothing', () => {
    const same = diffPlans(people, planSide(current), planSide(current), NOW);
    // cy (lost-no-weekly, thank-you done) has nothing planned under either side: not compared.
    expect(same.counts).toEqual({ earlier: 0, later: 0, appear: 0, disappear: 0, changed: 0, unchanged: 3 });
    expect(same.trackChanges).toEqual([]);
  });

  it('diffing the store in parts and merging gives the diff of the whole (any split)', () => {
    const whole = diffPlans(people, planSide(current), planSide(proposed), NOW);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: people.length }), { maxLength: 3 }), (cuts) => {
        const points = [0, ...[...cuts].sort((a, b) => a - b), people.length];
        let merged = emptyDiff();
        for (let i = 0; i + 1 < points.length; i++) merged = mergeDiffs(merged, diffPlans(people.slice(points[i], points[i + 1]), planSide(current), planSide(proposed), NOW));
        expect(merged.counts).toEqual(whole.counts);
        expect(merged.byTrack).toEqual(whole.byTrack);
        expect(new Set(merged.trackChanges.map((t) => `${t.from}>${t.to}:${t.count}`))).toEqual(new Set(whole.trackChanges.map((t) => `${t.from}>${t.to}:${t.count}`)));
        expect([merged.scanned, merged.compared, merged.inFlight]).toEqual([whole.scanned, whole.compared, whole.inFlight]);
      }),
      { numRuns: 40 },
    );
  });
});

describe('diffPlans: a role track added before lost-deal', () => {
  const dir = new TempConfig().edit(
    'cadence.yaml',
    '  - id: lost-deal\n',
    '  - id: champions\n    when:\n      roles: [champion]\n    thankYou:\n      after: 2 days\n    monthly:\n      every: 2 weeks\n    stopEmailAfterQuiet: 6 months\n\n  - id: lost-deal\n',
  );
  const withChampions = loadConfig(dir.dir);
  dir.remove();
  const withRole = (p: RelationshipState, role: 'champion' | 'evaluator'): RelationshipState => ({ ...p, contact: { ...p.contact, role } });
  // Two champions on lost-deal (one lost as unresponsive: the role track takes any lost reason), one evaluator who stays.
  const champ = withRole(person('gil', 'timing', 'emailing'), 'champion');
  const quietChamp = withRole(person('hal', 'unresponsive', 'thank-you'), 'champion');
  const evaluator = withRole(person('ivy', 'timing', 'emailing'), 'evaluator');
  const diff = diffPlans([champ, quietChamp, evaluator], planSide(current), planSide(withChampions), NOW);

  it('counts who changes track, by the role, and leaves everyone else where they were', () => {
    expect(diff.trackChanges).toEqual(
      expect.arrayContaining([
        { from: 'lost-deal', to: 'champions', count: 1, examples: [champ.id] },
        { from: 'lost-no-weekly', to: 'champions', count: 1, examples: [quietChamp.id] },
      ]),
    );
    expect(diff.trackChanges).toHaveLength(2);
    expect(diff.byTrack['lost-deal']).toMatchObject({ unchanged: 1, earlier: 0, later: 0, appear: 0, disappear: 0, changed: 0 });
    expect(diff.byTrack.champions).toBeDefined();
  });
});

describe('POST /config/diff over DynamoDB Local', () => {
  it('answers the same counts as the pure diff, with ids only (no personal data)', async () => {
    const res = await post({ files: { 'cadence.yaml': proposedCadence } });
    expect(res.status).toBe(200);
    expect(res.body.cursor).toBeUndefined();
    const diff = res.body.diff as ConfigDiff;
    const pure = diffPlans(people, planSide(current), planSide(proposed), NOW);
    expect(diff.counts).toEqual(pure.counts);
    // The store is scanned in key order, not the fixture's: compare track changes without order.
    const byRoute = (t: { from: string | null; to: string | null }) => `${t.from}>${t.to}`;
    const sorted = (ts: ConfigDiff['trackChanges']) => [...ts].sort((a, b) => byRoute(a).localeCompare(byRoute(b)));
    expect(sorted(diff.trackChanges)).toEqual(sorted(pure.trackChanges));
    expect(diff.scanned).toBe(7); // six states and one timeline entry read
    const text = JSON.stringify(res.body);
    for (const p of people) {
      expect(text).not.toContain(p.contact.email as string);
      expect(text).not.toContain(p.contact.name as string);
    }
    expect(JSON.stringify(logger.lines)).not.toContain('@customer.example');
  });

  it('pages with a limit and a cursor; the parts add up to the whole', async () => {
    let merged = emptyDiff();
    let cursor: string | undefined;
    let requests = 0;
    do {
      const res = await post({ files: { 'cadence.yaml': proposedCadence }, limit: 2, ...(cursor && { cursor }) });
      expect(res.status).toBe(200);
      expect((res.body.diff as ConfigDiff).scanned).toBeLessThanOrEqual(2);
      merged = mergeDiffs(merged, res.body.diff as ConfigDiff);
      cursor = res.body.cursor;
      requests++;
    } while (cursor && requests < 20);
    expect(requests).toBeGreaterThanOrEqual(4);
    expect(merged.counts).toEqual(diffPlans(people, planSide(current), planSide(proposed), NOW).counts);
    expect(merged.scanned).toBe(7);
  });

  it('a bad proposed file is a 400 with file:line:col problems from the same parseConfig', async () => {
    const bad = proposedCadence.replace('    skipWeeks: 1 ', '    skipWeek: 1 ');
    expect(bad).not.toBe(proposedCadence);
    const res = await post({ files: { 'cadence.yaml': bad } });
    expect(res.status).toBe(400);
    const lines = bad.split('\n');
    const line = lines.findIndex((l) => l.startsWith('    skipWeek: 1')) + 1;
    expect(res.body.problems).toContainEqual({ file: 'cadence.yaml', line, col: 5, message: expect.stringMatching(/^tracks\[3\]\.skipWeek: unknown key/) });
  });

  it('a bad body or cursor is a 400 naming the field', async () => {
    const unknownFile = await post({ files: { 'cadance.yaml': 'x' } });
    expect(unknownFile.status).toBe(400);
    expect(unknownFile.body.issues?.[0]?.path).toBe('files');
    const noFiles = await post({ files: {} });
    expect(noFiles.status).toBe(400);
    const limit = await post({ files: { 'cadence.yaml': proposedCadence }, limit: 1_000_000 });
    expect(limit.body.issues?.[0]?.path).toBe('limit');
    const cursor = await post({ files: { 'cadence.yaml': proposedCadence }, cursor: 'not-ours' });
    expect(cursor.status).toBe(400);
    expect(cursor.body.issues?.[0]?.path).toBe('cursor');
  });

  it('a cursor shaped like a scan key but one DynamoDB would refuse (empty, or past the key size limit) is a 400, not a 500', async () => {
    const keyCursor = (key: object) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const key of [{ pk: '', sk: 'STATE' }, { pk: 'REL#x', sk: '' }, { pk: 'REL#x', sk: 's'.repeat(1025) }]) {
      const res = await post({ files: { 'cadence.yaml': proposedCadence }, cursor: keyCursor(key) });
      expect(res.status, JSON.stringify(key).slice(0, 40)).toBe(400);
      expect(res.body.issues?.[0]?.path).toBe('cursor');
    }
  });
});

describe('cultivate diff <dir>', () => {
  it('posts the folder, follows the cursor and prints the counts, examples and track changes', async () => {
    const run = await cli(['diff', proposedDir.dir, '--url', url, '--limit', '3']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${proposedDir.dir} against the rules in force: 4 relationships with a planned touch compared (7 items read in 3 requests)`);
    expect(run.stdout).toMatch(/appear \(no touch planned now\)\s+1 {3}e\.g\. rel_cy_/);
    expect(run.stdout).toMatch(/disappear \(no touch any more\)\s+1 {3}e\.g\. rel_bo_/);
    expect(run.stdout).toContain(`lost-deal -> lost-no-weekly: 1   e.g. ${leaving.id}`);
    expect(run.stdout).toContain(`lost-no-weekly -> lost-deal: 1   e.g. ${arriving.id}`);
    expect(run.stdout).not.toContain('@customer.example');
  });

  it('prints the problems of a bad folder as file:line:col and exits 1', async () => {
    const bad = new TempConfig().edit('cadence.yaml', '    skipWeeks: 1 ', '    skipWeek: 1 ');
    try {
      const run = await cli(['diff', bad.dir, '--url', url]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${bad.pos('cadence.yaml', 'skipWeek: 1')}: tracks[3].skipWeek: unknown key`);
    } finally {
      bad.remove();
    }
  });

  it('says so when the API cannot be reached', async () => {
    const run = await cli(['diff', proposedDir.dir, '--url', 'http://127.0.0.1:9']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot reach http://127.0.0.1:9');
  });
});
