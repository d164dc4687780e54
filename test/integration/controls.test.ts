/**
 * Kill switches and dry-run at the sender's final claim (functions/handlers/send.ts), against
 * DynamoDB Local with the real SDK: a paused touch is held (planned again, same step, never lost)
 * and resumes when unpaused; a dry-run touch moves the cadence on and is recorded, but no e-mail
 * reaches the mailer and no task reaches the bus.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoCapacityStore } from '#adapters/dynamo-capacity';
import { DynamoRelationshipStore } from '#adapters/dynamo-store';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { keys, tableDefinition } from '#adapters/table';
import { loadPipelineConfig } from '#config/pipeline';
import { NO_CONTROLS, type ControlsConfig } from '#config/schema';
import { controlFor } from '#domain/cadence';
import { touchIdFor } from '#domain/identity';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import { type SendDeps, sendTouch, sweepDue } from '#handlers/send';
import type { Mailer, OutgoingEmail, TouchMessage } from '#ports/ports';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { RecordingPublisher, recordingLogger } from '../helpers/fixtures.ts';

const db = withDynamoDbLocal('controls');
const config = loadPipelineConfig('config', 'https://api.cultivate.example');
const DAY = 86_400_000;
/** Tuesday 2026-12-08 10:00 in Chicago: inside the value-email window. */
const T0 = new Date('2026-12-08T16:00:00.000Z');
const LOST_AT = '2026-11-20T15:00:00.000Z';

class RecordingMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  async send(mail: OutgoingEmail): Promise<{ messageId: string }> {
    this.sent.push(mail);
    return { messageId: `m-${this.sent.length}` };
  }
}

let tables = 0;
async function harness(controls: Partial<ControlsConfig>) {
  const table = `controls-${++tables}`;
  await db.client.send(new CreateTableCommand(tableDefinition(table)));
  let now = T0;
  const clock = { now: () => new Date(now) };
  const store = new DynamoRelationshipStore(db.doc, table);
  const touches = new DynamoTouchStore(db.doc, table);
  const mailer = new RecordingMailer();
  const publisher = new RecordingPublisher();
  const logger = recordingLogger();
  let rules = { ...config.rules, controls: { ...NO_CONTROLS, ...controls } };
  const deps: SendDeps = {
    clock,
    touches,
    store,
    mailer,
    publisher,
    planner: config.planner,
    logger,
    leaseSeconds: 300,
    settings: config.settings,
    owner: config.owner,
    content: config.content,
    unsubscribeKey: async () => 'controls-unsubscribe-key',
    suppressionsFor: async () => [],
    guardrails: {
      capacity: new DynamoCapacityStore(db.doc, table, (e) => `h-${e.length}`),
      rules: config.guardrails,
      contactZone: config.contactZone,
      ownerZone: config.ownerZone,
      managerOf: config.managerOf,
    },
    // Read per message, as the deployed sender would read the current controls.
    controls: (state) => controlFor(rules, state),
  };
  const queued: TouchMessage[] = [];
  /** Sweep at `at` and send what it queued, through sendTouch. */
  const run = async (at: Date) => {
    now = at;
    await sweepDue({ clock, touches, store, queue: { enqueue: async (ms) => void queued.push(...ms) }, planner: config.planner, logger, leaseSeconds: 300 });
    const outcomes = [];
    for (const m of queued.splice(0)) outcomes.push(await sendTouch(deps, m));
    return outcomes;
  };
  const setControls = (c: Partial<ControlsConfig>) => void (rules = { ...config.rules, controls: { ...NO_CONTROLS, ...c } });
  const get = async (id: string) => (await touches.get(id)) as RelationshipState;
  return { table, store, mailer, publisher, logger, run, setControls, get };
}

/** A person in nurture with consent: the first value e-mail (or, with `task`, the thank-you note) due at T0. */
function person(lostReason: 'timing' | 'unresponsive', task = false): RelationshipState {
  const id = `rel_${randomUUID()}`;
  const nextTouch: PlannedTouch = task
    ? { touchId: touchIdFor(id, 1), at: T0.toISOString(), channel: 'task', kind: 'thank-you-note', step: 0, status: 'planned', rule: 'thank-you note' }
    : { touchId: touchIdFor(id, 1), at: T0.toISOString(), channel: 'email', kind: 'value-email', contentId: 'stale-deal-audit', topic: 'pipeline-hygiene', step: 1, status: 'planned', rule: 'lost-deal: weekly value e-mail 1 of 8' };
  return {
    id,
    version: 0,
    createdAt: LOST_AT,
    updatedAt: LOST_AT,
    stage: 'nurturing',
    stageChangedAt: LOST_AT,
    nurture: { lostReason, lostAt: LOST_AT },
    accountId: `acct-${id.slice(4, 12)}`,
    owner: 'sam@seller.example',
    contact: { email: `${id.slice(4, 12)}@customer.example`, name: 'Fixture Person', timezone: 'America/Chicago', country: 'US' },
    fieldTimes: {},
    crmIds: [`generic:default:${id.slice(4, 12)}`],
    consent: { email: 'granted', basis: 'opt-in', source: 'form', capturedAt: '2026-03-02T10:00:00Z', at: '2026-03-02T10:00:00.000Z' },
    suppressions: [],
    applied: [],
    planVersion: 1,
    nextTouch,
    history: task
      ? { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 }
      : { emailsSent: 0, tasksAssigned: 1, sentContent: [], cadenceStep: 1, lastTouchAt: '2026-11-24T15:00:00.000Z' },
  };
}

async function seed(h: { store: DynamoRelationshipStore }, s: RelationshipState) {
  expect(await h.store.save(s, undefined)).toBe('saved');
  return s;
}

describe('kill switches', () => {
  it('a global pause holds an e-mail (no SES call), records `paused`, and unpausing resumes the same step and content', async () => {
    const h = await harness({ paused: true });
    const p = await seed(h, person('timing'));

    expect(await h.run(T0)).toEqual(['held-paused']);
    expect(h.mailer.sent).toEqual([]);
    expect(h.publisher.published).toEqual([]);
    const held = await h.get(p.id);
    expect(held.history).toEqual(p.history);
    expect(held.nextTouch).toMatchObject({ status: 'planned', channel: 'email', step: 1, contentId: 'stale-deal-audit' });
    expect(held.nextTouch?.touchId).not.toBe(p.nextTouch?.touchId);
    const heldAt = Date.parse(held.nextTouch?.at as string);
    expect(heldAt).toBeGreaterThanOrEqual(T0.getTime() + DAY);
    const pushed = (await h.store.timeline(p.id)).filter((e) => e.type === 'touch-pushed');
    expect(pushed).toHaveLength(1);
    expect(pushed[0]?.detail).toMatchObject({ reason: 'paused', touchId: p.nextTouch?.touchId, nextAt: held.nextTouch?.at });
    expect(pushed[0]?.summary).toMatch(/^Cultivate is paused \(controls\.yaml paused: true\): nothing sent/);
    // The logs carry ids and the reason, not the address.
    expect(JSON.stringify(h.logger.lines)).not.toContain(p.contact.email);

    // Still paused at the new slot: held again, still the same step.
    expect(await h.run(new Date(heldAt))).toEqual(['held-paused']);
    const again = await h.get(p.id);
    expect(again.nextTouch).toMatchObject({ step: 1, contentId: 'stale-deal-audit' });

    h.setControls({ paused: false });
    expect(await h.run(new Date(again.nextTouch?.at as string))).toEqual(['sent']);
    expect(h.mailer.sent.map((m) => m.subject)).toEqual(['The 20-minute stale deal audit']);
    const resumed = await h.get(p.id);
    expect(resumed.history).toMatchObject({ emailsSent: 1, sentContent: ['stale-deal-audit'], cadenceStep: 2 });
  });

  it('a track pause holds that track only (`track-paused`); a task on another track is assigned', async () => {
    const h = await harness({ tracks: { 'lost-deal': { paused: true, dryRun: false } } });
    const paused = await seed(h, person('timing', true));
    const other = await seed(h, person('unresponsive', true));

    expect((await h.run(T0)).sort()).toEqual(['held-paused', 'task-assigned']);
    const tasks = h.publisher.ofType('task-assigned');
    expect(tasks.map((t) => (t.detail as { relationshipId: string }).relationshipId)).toEqual([other.id]);
    const held = await h.get(paused.id);
    expect(held.history.tasksAssigned).toBe(0);
    expect(held.nextTouch).toMatchObject({ kind: 'thank-you-note', step: 0, status: 'planned' });
    const entry = (await h.store.timeline(paused.id)).find((e) => e.type === 'touch-pushed');
    expect(entry?.detail?.reason).toBe('track-paused');
    expect(entry?.summary).toMatch(/^track lost-deal is paused \(controls\.yaml tracks\.lost-deal\.paused: true\)/);
    // A held task takes no owner capacity and no account room.
    const account = await db.doc.send(new GetCommand({ TableName: h.table, Key: keys.accountCap(paused.accountId as string), ConsistentRead: true }));
    expect(account.Item).toBeUndefined();
  });
});

describe('dry-run', () => {
  it('an e-mail in dry-run: the cadence moves on and the timeline says what would have gone, but no SES call', async () => {
    const h = await harness({ dryRun: true });
    const p = await seed(h, person('timing'));

    expect(await h.run(T0)).toEqual(['dry-run']);
    expect(h.mailer.sent).toEqual([]);
    expect(h.publisher.published).toEqual([]);
    const after = await h.get(p.id);
    expect(after.history).toMatchObject({ emailsSent: 1, sentContent: ['stale-deal-audit'], cadenceStep: 2, lastEmailAt: T0.toISOString() });
    expect(after.nextTouch).toMatchObject({ status: 'planned', kind: 'value-email', step: 2 });
    expect(after.nextTouch?.contentId).not.toBe('stale-deal-audit');
    const timeline = await h.store.timeline(p.id);
    expect(timeline.filter((e) => e.type === 'email-sent')).toEqual([]);
    const dry = timeline.filter((e) => e.type === 'touch-dry-run');
    expect(dry.map((e) => e.summary)).toEqual(['dry-run: would have sent The 20-minute stale deal audit']);
    expect(dry[0]?.detail).toMatchObject({ touchId: p.nextTouch?.touchId, contentId: 'stale-deal-audit', dryRun: true });
    expect(dry[0]?.detail?.messageId).toBeUndefined();
  });

  it('a task in dry-run on one track: nothing published, no SLA entry, no capacity taken; the other track assigns', async () => {
    const h = await harness({ tracks: { 'lost-no-weekly': { paused: false, dryRun: true } } });
    const dry = await seed(h, person('unresponsive', true));
    const real = await seed(h, person('timing', true));

    expect((await h.run(T0)).sort()).toEqual(['dry-run', 'task-assigned']);
    expect(h.publisher.ofType('task-assigned').map((t) => (t.detail as { relationshipId: string }).relationshipId)).toEqual([real.id]);
    const after = await h.get(dry.id);
    expect(after.history.tasksAssigned).toBe(1);
    expect(after.history.cadenceStep).toBe(1);
    const entries = (await h.store.timeline(dry.id)).filter((e) => e.type === 'touch-dry-run');
    expect(entries.map((e) => e.summary)).toEqual(['dry-run: would have assigned Thank-you note']);
    const sla = await db.doc.send(new GetCommand({ TableName: h.table, Key: keys.taskSla(dry.id, dry.nextTouch?.touchId as string), ConsistentRead: true }));
    expect(sla.Item).toBeUndefined();
    const realSla = await db.doc.send(new GetCommand({ TableName: h.table, Key: keys.taskSla(real.id, real.nextTouch?.touchId as string), ConsistentRead: true }));
    expect(realSla.Item).toBeDefined();
    const account = await db.doc.send(new GetCommand({ TableName: h.table, Key: keys.accountCap(dry.accountId as string), ConsistentRead: true }));
    expect(account.Item).toBeUndefined();
  });

  it('a pause wins over dry-run: held, nothing recorded as done', async () => {
    const h = await harness({ paused: true, dryRun: true });
    const p = await seed(h, person('timing'));
    expect(await h.run(T0)).toEqual(['held-paused']);
    expect((await h.get(p.id)).history.emailsSent).toBe(0);
    expect((await h.store.timeline(p.id)).map((e) => e.type)).toEqual(['touch-pushed']);
  });
});
