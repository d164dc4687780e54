/**
 * Publishing rules and the replan job on DynamoDB Local: the versions store (two publishers cannot
 * both win), a publish that moves everyone's Tuesday e-mail to Thursday in place, a rollback that
 * brings Tuesday back, a touch in flight left alone, a replan that crashes half-way and resumes
 * from its cursor (every relationship replanned exactly once), and a newer publish superseding an
 * older job. The local wiring (functions/config/local-rules.ts) is the one `npm start` runs.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRelationshipPages } from '#adapters/dynamo-relationship-pages';
import { DynamoRelationshipStore } from '#adapters/dynamo-store';
import { DynamoReplanJobs, DynamoReplanWriter, DynamoRulesVersions } from '#adapters/dynamo-rules';
import { tableDefinition } from '#adapters/table';
import { readConfigSources, loadConfig } from '#config/load';
import { startLocalRules } from '#config/local-rules';
import { filesOf, rulesHash, stampedPlanner } from '#config/rules';
import { replanRulesOf, RulesSource } from '#config/rules-source';
import { loadSendingConfig } from '#config/sending';
import { createCadencePlanner } from '#domain/cadence';
import { zonedParts } from '#domain/local-time';
import { localSlot, type StampedTouch } from '#domain/replan';
import type { PlannedTouch, RelationshipState, TimelineEntry } from '#domain/types';
import { publishRules, rollbackRules } from '#handlers/config-publish';
import { reconcileReplan, type ReplanDeps, runReplan, startReplan } from '#handlers/config-replan';
import { decisionsOf } from '#handlers/read';
import type { ReplanWriter } from '#ports/ports';
import type { RelationshipPages } from '#handlers/config-diff';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { recordingLogger } from '../helpers/fixtures.ts';
import { NOW, person, thursdayConfig } from '../helpers/replan.ts';

const db = withDynamoDbLocal('config-replan');
const clock = { now: () => NOW };
const logger = recordingLogger();
const v0 = stampedPlanner(createCadencePlanner(loadConfig('config')), 0);
const thursday = thursdayConfig();
const thursdayFiles = filesOf(readConfigSources(thursday.dir));
const bundledFiles = filesOf(readConfigSources('config'));
afterAll(() => thursday.remove());

async function freshTable(name: string) {
  await db.client.send(new CreateTableCommand(tableDefinition(name)));
  return { store: new DynamoRelationshipStore(db.doc, name), table: name };
}

async function seed(store: DynamoRelationshipStore, people: RelationshipState[]) {
  for (const p of people) expect(await store.save(p, undefined)).toBe('saved');
}

const weekday = (t: PlannedTouch | null | undefined) => (t ? zonedParts(new Date(t.at), 'America/Chicago').weekday : undefined);
const replans = (timeline: TimelineEntry[]) => timeline.filter((e) => e.type === 'touch-replanned');

describe('DynamoRulesVersions', () => {
  it('takes each version number once: of five publishers from the same version, one wins', async () => {
    const { table } = await freshTable('versions');
    const versions = new DynamoRulesVersions(db.doc, table);
    expect(await versions.current()).toBeUndefined();
    const rules = (note: string) => ({ files: thursdayFiles, publishedAt: NOW.toISOString(), note, hash: rulesHash(thursdayFiles) });
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((i) => versions.publish(rules(`publisher ${i}`), 0)));
    const won = outcomes.filter((o) => o !== 'conflict');
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ version: 1 });
    expect(await versions.publish(rules('stale'), 0)).toBe('conflict');
    expect(await versions.publish(rules('second'), 1)).toMatchObject({ version: 2, note: 'second' });
    expect((await versions.current())?.version).toBe(2);
    expect((await versions.list(10)).map((v) => v.version)).toEqual([2, 1]);
    expect((await versions.get(1))?.files['cadence.yaml']).toBe(thursdayFiles['cadence.yaml']);
    expect(await versions.get(7)).toBeUndefined();
  });
});

describe('publish, replan, rollback (the local wiring)', () => {
  let store: DynamoRelationshipStore;
  let people: RelationshipState[];
  let inFlight: RelationshipState;
  let local: Awaited<ReturnType<typeof startLocalRules>>;

  beforeAll(async () => {
    ({ store } = await freshTable('publish'));
    people = ['ada', 'bo', 'cy', 'di', 'ed', 'fay'].map((n) => person(v0, n, 'timing', 'emailing'));
    const p = person(v0, 'gus', 'timing', 'emailing');
    inFlight = { ...p, nextTouch: { ...(p.nextTouch as PlannedTouch), status: 'sending', leaseUntil: '2026-12-08T16:05:00.000Z' } };
    await seed(store, [...people, inFlight]);
    local = await startLocalRules({ doc: db.doc, table: 'publish', clock, logger, configDir: 'config', publicBaseUrl: 'http://127.0.0.1', replan: { pageSize: 4, perSecond: 1000 } });
  });

  it('before any publish, the deployed folder is version 0', () => {
    expect(local.source.current.version).toBe(0);
    for (const p of people) expect(weekday(p.nextTouch)).toBe(2);
  });

  it("a publish replans everyone's Tuesday e-mail to Thursday in place, once each, and leaves a touch being sent alone", async () => {
    const result = await publishRules(local.routes, { files: thursdayFiles, note: 'weekly value on Thursdays; account cap 1 a week', expectedVersion: 0 });
    expect(result).toMatchObject({ ok: true, previous: 0, published: { version: 1, note: 'weekly value on Thursdays; account cap 1 a week' } });
    // In force at once: a touch planned from now on says rules v1.
    expect(local.source.current.version).toBe(1);
    expect(local.source.pipeline.rules.cadence.guardrails.perAccount.touches.per7Days).toBe(1);
    await local.idle();
    const job = await new DynamoReplanJobs(db.doc, 'publish').get();
    expect(job).toMatchObject({ rulesVersion: 1, fromVersion: 0, status: 'done', counts: { replanned: 6, inFlight: 1, alreadyCurrent: 0 } });
    for (const p of people) {
      const after = (await store.get(p.id)) as RelationshipState;
      const t = after.nextTouch as StampedTouch;
      expect(weekday(t)).toBe(4);
      expect(zonedParts(new Date(t.at), 'America/Chicago').minuteOfDay).toBe(zonedParts(new Date((p.nextTouch as PlannedTouch).at), 'America/Chicago').minuteOfDay);
      expect(t).toMatchObject({ rulesVersion: 1, step: p.nextTouch?.step, contentId: p.nextTouch?.contentId, status: 'planned' });
      expect(after.planVersion).toBe(p.planVersion + 1);
      expect(after.history).toEqual(p.history);
      const timeline = await store.timeline(p.id);
      // Each person's minute in the window is their own (a hash of the id): Tuesday is this week's or next.
      const slot = (at: string) => localSlot(at, 'America/Chicago');
      expect(replans(timeline).map((e) => e.summary)).toEqual([`replanned: rules v0 → v1: moved from ${slot((p.nextTouch as PlannedTouch).at)} to ${slot(t.at)}`]);
      expect(slot((p.nextTouch as PlannedTouch).at)).toMatch(/^Tue 2026-12-(08|15) /);
      expect(slot(t.at)).toMatch(/^Thu 2026-12-10 /);
      // explain: the planned touch names the rules that planned it.
      expect(decisionsOf(after, timeline).at(-1)?.rule).toMatch(/weekly value e-mail 2 of 8.* \(rules v1\)$/);
    }
    const untouched = (await store.get(inFlight.id)) as RelationshipState;
    expect(untouched.nextTouch).toEqual(inFlight.nextTouch);
    expect(untouched.version).toBe(1);
    expect(replans(await store.timeline(inFlight.id))).toEqual([]);
  });

  it('a publish from a stale version is refused, and nothing changes', async () => {
    expect(await publishRules(local.routes, { files: thursdayFiles, expectedVersion: 0 })).toEqual({ ok: false, kind: 'conflict', current: 1 });
    expect(local.source.current.version).toBe(1);
  });

  it('a rollback publishes the previous text as a new version and brings Tuesday back', async () => {
    const result = await rollbackRules(local.routes, {});
    expect(result).toMatchObject({ ok: true, previous: 1, published: { version: 2, rollbackOf: 0, note: 'rollback to v0' } });
    if (!result.ok) throw new Error('rollback refused');
    expect(result.published.hash).toBe(rulesHash(filesOf(readConfigSources('config'))));
    await local.idle();
    for (const p of people) {
      const after = (await store.get(p.id)) as RelationshipState;
      // The same slot the deployed rules planned at the start, planned again under v2.
      expect(after.nextTouch?.at).toBe(p.nextTouch?.at);
      expect(after.nextTouch).toMatchObject({ rulesVersion: 2, step: p.nextTouch?.step });
      expect(after.planVersion).toBe(p.planVersion + 2);
      expect(replans(await store.timeline(p.id)).map((e) => e.eventId)).toEqual(['replan:v1', 'replan:v2']);
    }
    expect((await new DynamoRulesVersions(db.doc, 'publish').list(10)).map((v) => [v.version, v.rollbackOf])).toEqual([
      [2, 0],
      [1, undefined],
    ]);
  });

  it('a bad file is reported with its line and column, and nothing is published', async () => {
    const bad = thursdayFiles['cadence.yaml']?.replace('start: "09:00"', 'start: "25:00"') as string;
    const result = await publishRules(local.routes, { files: { 'cadence.yaml': bad } });
    if (result.ok || result.kind !== 'invalid') throw new Error('published a bad file');
    expect(result.problems[0]).toMatchObject({ file: 'cadence.yaml', message: expect.stringMatching(/start/) });
    expect(result.problems[0]?.line).toBeGreaterThan(1);
    expect(local.source.current.version).toBe(2);
  });
});

describe('a restart of the local stack', () => {
  it('starts the job of a version that was stored just before the process stopped (its job never started)', async () => {
    const { store } = await freshTable('restart');
    const people = ['ada', 'bo'].map((n) => person(v0, n, 'timing', 'emailing'));
    await seed(store, people);
    // The store of the version, without what followed it (startReplan): the process stopped in between.
    const versions = new DynamoRulesVersions(db.doc, 'restart');
    expect(await versions.publish({ files: thursdayFiles, publishedAt: NOW.toISOString(), note: 'Thursdays', hash: rulesHash(thursdayFiles) }, 0)).toMatchObject({ version: 1 });
    expect(await new DynamoReplanJobs(db.doc, 'restart').get()).toBeUndefined();
    const local = await startLocalRules({ doc: db.doc, table: 'restart', clock, logger, configDir: 'config', publicBaseUrl: 'http://127.0.0.1', replan: { pageSize: 4, perSecond: 1000 } });
    await local.idle();
    expect(await new DynamoReplanJobs(db.doc, 'restart').get()).toMatchObject({ rulesVersion: 1, fromVersion: 0, status: 'done', counts: { replanned: 2 } });
    for (const p of people) expect(weekday(((await store.get(p.id)) as RelationshipState).nextTouch)).toBe(4);
  });
});

describe('the replan job', () => {
  async function setup(name: string, n: number) {
    const { store, table } = await freshTable(name);
    const people = Array.from({ length: n }, (_, i) => person(v0, `p${i}`, 'timing', 'emailing'));
    await seed(store, people);
    const source = new RulesSource({ bundled: () => readConfigSources('config'), sending: loadSendingConfig('config'), publicBaseUrl: 'http://127.0.0.1' });
    const jobs = new DynamoReplanJobs(db.doc, table);
    const deps = (writer: ReplanWriter, pages: RelationshipPages = new DynamoRelationshipPages(db.doc, table)): ReplanDeps => ({
      clock,
      logger,
      pages,
      jobs,
      writer,
      store,
      rules: async (version) => (version === 1 ? replanRulesOf(source.pipelineOf(1, thursdayFiles)) : version === 0 ? replanRulesOf(source.pipelineOf(0, bundledFiles)) : undefined),
      pageSize: 4,
      perSecond: 1000,
    });
    return { store, table, people, jobs, deps, writer: new DynamoReplanWriter(db.doc, table) };
  }

  it('crashes half-way (a write in the second page fails), resumes from its cursor, and replans every relationship exactly once', async () => {
    const { store, table, people, jobs, deps, writer } = await setup('crash', 10);
    // 11 items (10 people and the job item), 4 a page: the second page holds at least 3 people,
    // and its second write fails, after the first page was checkpointed.
    const scan = new DynamoRelationshipPages(db.doc, table);
    let page = 0;
    let writesInPage = 0;
    const pages: RelationshipPages = {
      page: (cursor, limit) => {
        page++;
        writesInPage = 0;
        return scan.page(cursor, limit);
      },
    };
    const failing: ReplanWriter = {
      saveReplanned: async (...args) => {
        if (page === 2 && ++writesInPage === 2) throw new Error('injected: the table went away');
        return writer.saveReplanned(...args);
      },
    };
    expect(await startReplan(deps(writer), 1, 0)).toBe(true);
    await expect(runReplan(deps(failing, pages), 1)).rejects.toThrow('injected');
    const crashed = await jobs.get();
    if (!crashed) throw new Error('no job item');
    // Pages before the fault were checkpointed; the page it hit was not, though it wrote some.
    expect(crashed).toMatchObject({ status: 'running', rulesVersion: 1 });
    expect(crashed.pages).toBe(1);
    expect(crashed.cursor).toEqual(expect.any(String));
    const replannedBefore = (await Promise.all(people.map((p) => store.get(p.id)))).filter((s) => weekday(s?.nextTouch) === 4).length;
    expect(crashed.counts.replanned).toBeGreaterThanOrEqual(3);
    expect(replannedBefore).toBe(crashed.counts.replanned + 1);
    const uncheckpointed = 1;

    expect(await runReplan(deps(writer), 1)).toBe('done');
    const job = await jobs.get();
    // Resumed at the cursor: what the cut-short page had written is read again and found already under v1.
    expect(job).toMatchObject({ status: 'done', counts: { replanned: 10 - uncheckpointed, alreadyCurrent: uncheckpointed, inFlight: 0 } });
    for (const p of people) {
      const after = (await store.get(p.id)) as RelationshipState;
      expect(weekday(after.nextTouch)).toBe(4);
      expect(after.planVersion).toBe(p.planVersion + 1);
      expect(replans(await store.timeline(p.id))).toHaveLength(1);
    }
    // Run again: nothing left to do, nothing written twice.
    expect(await runReplan(deps(writer), 1)).toBe('done');
  });

  it('a newer publish supersedes a running job, and an older job never overwrites newer work', async () => {
    const { store, people, jobs, deps, writer } = await setup('supersede', 2);
    expect(await startReplan(deps(writer), 1, 0)).toBe(true);
    expect(await startReplan(deps(writer), 2, 1)).toBe(true);
    expect(await startReplan(deps(writer), 1, 0)).toBe(false);
    expect(await runReplan(deps(writer), 1)).toBe('superseded');
    expect((await jobs.get())?.rulesVersion).toBe(2);
    // A state planned under v2 refuses v1's conditional write.
    const ada = (await store.get((people[0] as RelationshipState).id)) as RelationshipState;
    const newer: RelationshipState = { ...ada, nextTouch: { ...(ada.nextTouch as PlannedTouch), rulesVersion: 2 } as StampedTouch };
    expect(await store.save(newer, ada.version)).toBe('saved');
    const entry = { at: NOW.toISOString(), eventId: 'replan:v1', type: 'touch-replanned', summary: 'x' };
    // A write decided from the item before that save loses; one decided from the saved item wins.
    expect(await writer.saveReplanned({ ...newer, planVersion: newer.planVersion + 1 }, ada.version, entry)).toBe('conflict');
    expect(await writer.saveReplanned({ ...newer, planVersion: newer.planVersion + 1 }, ada.version + 1, entry)).toBe('saved');
  });

  it('a version in force without its job (stored, then the process stopped) gets it; a stalled job is resumed, a live one is not', async () => {
    const { people, jobs, deps, writer, store } = await setup('reconcile', 3);
    const inForce = { version: 1, files: thursdayFiles, previous: { version: 0, files: bundledFiles } };
    expect(await jobs.get()).toBeUndefined();
    expect(await reconcileReplan(deps(writer), inForce, 10 * 60_000)).toBe(1);
    expect(await jobs.get()).toMatchObject({ rulesVersion: 1, fromVersion: 0, status: 'running' });
    // Checkpointed just now (the clock stands still): another run is going, nothing to resume.
    expect(await reconcileReplan(deps(writer), inForce, 10 * 60_000)).toBeUndefined();
    // A process that just started runs nothing yet: it resumes the job at once.
    expect(await reconcileReplan(deps(writer), inForce)).toBe(1);
    // Ten minutes without a checkpoint: stalled, resumed by the next message.
    const later = { ...deps(writer), clock: { now: () => new Date(NOW.getTime() + 10 * 60_000) } };
    expect(await reconcileReplan(later, inForce, 10 * 60_000)).toBe(1);
    expect(await runReplan(deps(writer), 1)).toBe('done');
    expect(await reconcileReplan(later, inForce, 10 * 60_000)).toBeUndefined();
    for (const p of people) expect(weekday(((await store.get(p.id)) as RelationshipState).nextTouch)).toBe(4);
  });

  it('a version that changed only controls.yaml gets a job that is done at once; after an unfinished job it still replans what that one left', async () => {
    const { jobs, deps, writer } = await setup('controls', 2);
    const controls = { ...thursdayFiles, 'controls.yaml': 'version: 1\npaused: false\ndryRun: true\ntracks: {}\n' };
    // v1 done, then v2 = v1 plus a kill switch: nothing to replan, nothing read.
    expect(await startReplan(deps(writer), 1, 0)).toBe(true);
    expect(await runReplan(deps(writer), 1)).toBe('done');
    const inForce = { version: 2, files: controls, previous: { version: 1, files: thursdayFiles } };
    expect(await reconcileReplan(deps(writer), inForce, 10 * 60_000)).toBeUndefined();
    expect(await jobs.get()).toMatchObject({ rulesVersion: 2, fromVersion: 1, status: 'done', onlyControls: true, counts: { scanned: 0 } });

    // v1 interrupted (running), then a kill switch as v2: the job goes on from v1's starting point.
    const again = await setup('controls-unfinished', 2);
    expect(await startReplan(again.deps(again.writer), 1, 0)).toBe(true);
    expect(await startReplan(again.deps(again.writer), 2, 1, { controlsOnly: true })).toBe(true);
    expect(await again.jobs.get()).toMatchObject({ rulesVersion: 2, fromVersion: 0, status: 'running' });
    expect((await again.jobs.get())?.onlyControls).toBeUndefined();
  });
});
