/**
 * Shared-state guardrails against DynamoDB Local with the real SDK: the per-account and per-owner
 * counters (functions/adapters/dynamo-capacity.ts) under concurrency, their use at the sender's
 * final claim (functions/handlers/send.ts: held touches are pushed and replanned, never dropped),
 * and the task SLA (a second due entry; escalation to the owner's manager, once).
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
import { touchIdFor } from '#domain/identity';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import { type SendDeps, sendTouch, sweepDue, type SweepDeps, TASK_SLA_KIND } from '#handlers/send';
import type { Mailer, SendQueue, TouchMessage } from '#ports/ports';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { RecordingPublisher, recordingLogger } from '../helpers/fixtures.ts';

const db = withDynamoDbLocal('capacity');
const config = loadPipelineConfig('config', 'https://api.cultivate.example');
const ownerKey = (email: string) => `h-${Buffer.from(email).toString('hex').slice(0, 24)}`;
const DAY = 86_400_000;
/** Tuesday 2026-12-08 10:00 in Chicago. */
const T0 = new Date('2026-12-08T16:00:00.000Z');

let n = 0;
async function freshTable(): Promise<string> {
  const table = `capacity-${++n}`;
  await db.client.send(new CreateTableCommand(tableDefinition(table)));
  return table;
}

describe('DynamoCapacityStore', () => {
  it('account cap under concurrency: 12 senders, cap 2 per 7 days, exactly 2 reserve; no lost update', async () => {
    const table = await freshTable();
    const cap = new DynamoCapacityStore(db.doc, table, ownerKey);
    const ids = Array.from({ length: 12 }, (_, i) => `rel_${randomUUID()}.t${i}`);
    const results = await Promise.all(ids.map((id) => cap.reserveAccountTouch('acme.example', id, '2026-12-08', { per7Days: 2, per30Days: 6 })));
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    for (const r of results.filter((x) => !x.ok)) expect(r).toEqual({ ok: false, code: 'account-touches-7d', cap: 2, freeDay: '2026-12-15' });
    const item = (await db.doc.send(new GetCommand({ TableName: table, Key: keys.accountCap('acme.example'), ConsistentRead: true }))).Item;
    expect(Object.keys(item?.t as object)).toHaveLength(2);
    // Idempotent on the touch id: a re-delivered message does not count twice.
    const winner = ids[results.findIndex((r) => r.ok)] as string;
    expect(await cap.reserveAccountTouch('acme.example', winner, '2026-12-08', { per7Days: 2, per30Days: 6 })).toEqual({ ok: true });
    // Released, the place is free again.
    await cap.releaseAccountTouch('acme.example', winner);
    expect((await cap.reserveAccountTouch('acme.example', 'rel_x.t99', '2026-12-08', { per7Days: 2, per30Days: 6 })).ok).toBe(true);
  });

  it('the 30-day cap, and entries older than 30 days are pruned on the next write', async () => {
    const table = await freshTable();
    const cap = new DynamoCapacityStore(db.doc, table, ownerKey);
    const rule = { per7Days: 1, per30Days: 2 };
    expect((await cap.reserveAccountTouch('globex', 'rel_a.t1', '2026-11-01', rule)).ok).toBe(true);
    expect((await cap.reserveAccountTouch('globex', 'rel_a.t2', '2026-11-20', rule)).ok).toBe(true);
    expect(await cap.reserveAccountTouch('globex', 'rel_a.t3', '2026-11-28', rule)).toEqual({ ok: false, code: 'account-touches-30d', cap: 2, freeDay: '2026-12-01' });
    expect((await cap.reserveAccountTouch('globex', 'rel_a.t3', '2026-12-01', rule)).ok).toBe(true);
    const item = (await db.doc.send(new GetCommand({ TableName: table, Key: keys.accountCap('globex'), ConsistentRead: true }))).Item;
    expect(Object.keys(item?.t as object).sort()).toEqual(['rel_a.t2', 'rel_a.t3']);
  });

  it('owner weekly capacity under concurrency: 15 tasks, capacity 4, exactly 4; the next ISO week is a new count', async () => {
    const table = await freshTable();
    const cap = new DynamoCapacityStore(db.doc, table, ownerKey);
    const until = new Date(T0.getTime() + 21 * DAY);
    const ok = await Promise.all(Array.from({ length: 15 }, (_, i) => cap.reserveOwnerTask('Sam@Seller.example', `rel_b.t${i}`, '2026-W50', 4, until)));
    expect(ok.filter(Boolean)).toHaveLength(4);
    const item = (await db.doc.send(new GetCommand({ TableName: table, Key: keys.ownerWeek(ownerKey('sam@seller.example'), '2026-W50'), ConsistentRead: true }))).Item;
    expect(item?.n).toBe(4);
    expect(item?.pk).not.toContain('@');
    const first = ok.indexOf(true);
    expect(await cap.reserveOwnerTask('sam@seller.example', `rel_b.t${first}`, '2026-W50', 4, until)).toBe(true);
    expect(await cap.reserveOwnerTask('sam@seller.example', 'rel_b.t99', '2026-W51', 4, until)).toBe(true);
  });
});

// ------------------------------------------------------------------------------------------------

class Clock {
  constructor(public t: Date) {}
  now() {
    return new Date(this.t);
  }
}
class Queue implements SendQueue {
  messages: TouchMessage[] = [];
  async enqueue(m: readonly TouchMessage[]) {
    this.messages.push(...m);
  }
}
const noMail: Mailer = {
  send: async () => {
    throw new Error('no e-mail in these tests');
  },
};

async function harness(rules = config.guardrails) {
  const table = await freshTable();
  const clock = new Clock(T0);
  const store = new DynamoRelationshipStore(db.doc, table);
  const touches = new DynamoTouchStore(db.doc, table);
  const publisher = new RecordingPublisher();
  const queue = new Queue();
  const logger = recordingLogger();
  const guardrails = { capacity: new DynamoCapacityStore(db.doc, table, ownerKey), rules, contactZone: config.contactZone, ownerZone: config.ownerZone, managerOf: config.managerOf };
  const sendDeps: SendDeps = {
    clock,
    touches,
    store,
    mailer: noMail,
    publisher,
    planner: config.planner,
    logger,
    leaseSeconds: 300,
    settings: config.settings,
    owner: config.owner,
    content: config.content,
    unsubscribeKey: async () => 'k',
    suppressionsFor: async () => [],
    guardrails,
  };
  const sweepDeps: SweepDeps = { clock, touches, store, queue, planner: config.planner, logger, leaseSeconds: 300 };
  return { clock, store, touches, publisher, queue, sendDeps, sweepDeps, logger };
}

/** A person whose next touch is a permission-ask task for Sam, due at T0. */
function taskState(accountId: string): RelationshipState {
  const id = `rel_${randomUUID()}`;
  const touch: PlannedTouch = { touchId: touchIdFor(id, 4), at: T0.toISOString(), channel: 'task', kind: 'permission-ask', step: 1, status: 'planned', rule: 'lost-deal: permission ask' };
  return {
    id,
    version: 0,
    createdAt: '2026-11-20T15:00:00.000Z',
    updatedAt: '2026-11-20T15:00:00.000Z',
    stage: 'nurturing',
    nurture: { lostReason: 'timing', lostAt: '2026-11-20T15:00:00.000Z' },
    accountId,
    owner: 'sam@seller.example',
    contact: { timezone: 'America/Chicago', country: 'US' },
    fieldTimes: {},
    crmIds: [],
    consent: { email: 'unknown', at: '2026-11-20T15:00:00.000Z' } as RelationshipState['consent'],
    suppressions: [],
    applied: [],
    planVersion: 4,
    nextTouch: touch,
    history: { emailsSent: 0, tasksAssigned: 1, sentContent: [], cadenceStep: 1, lastTouchAt: '2026-11-24T15:00:00.000Z' },
  };
}

async function sweepAndSend(h: Awaited<ReturnType<typeof harness>>) {
  await sweepDue(h.sweepDeps);
  const out = [];
  for (const m of h.queue.messages.splice(0)) out.push(await sendTouch(h.sendDeps, m));
  return out;
}

describe('the sender reserves the shared guardrails at its final claim', () => {
  it('two people at one account due the same day, cap 1 per 7 days: one task goes, the other is pushed a week and replanned, with the reason', async () => {
    const h = await harness({ ...config.guardrails, account: { per7Days: 1, per30Days: 4 } });
    const a = taskState('initech.example');
    const b = taskState('initech.example');
    for (const s of [a, b]) expect(await h.store.save(s, undefined)).toBe('saved');
    const outcomes = await sweepAndSend(h);
    expect(outcomes.sort()).toEqual(['pushed-by-cap', 'task-assigned']);
    expect(h.publisher.published.filter((e) => e.detailType === 'task-assigned')).toHaveLength(1);
    const states = await Promise.all([a, b].map((s) => h.touches.get(s.id)));
    const held = states.find((s) => s?.history.tasksAssigned === 1) as RelationshipState;
    // Not dropped: the same step planned again, on or after the day the account has room (Chicago).
    expect(held.nextTouch).toMatchObject({ kind: 'permission-ask', status: 'planned', step: 1 });
    expect(Date.parse(held.nextTouch!.at)).toBeGreaterThanOrEqual(Date.parse('2026-12-15T06:00:00.000Z'));
    const pushed = (await h.store.timeline(held.id)).find((e) => e.type === 'touch-pushed');
    expect(pushed?.detail).toMatchObject({ reason: 'account-touches-7d', nextAt: held.nextTouch!.at });
    expect(pushed?.summary).toContain('account cap: 1 touches per 7 days');
    // The one that went counts for the person's own guardrails too.
    const sent = states.find((s) => s?.history.tasksAssigned === 2) as RelationshipState;
    expect(sent.history.recentTouches?.map((t) => t.channel)).toEqual(['task']);
  });

  it('owner capacity reached: the task waits for the owner’s next ISO week', async () => {
    const h = await harness({ ...config.guardrails, ownerTasksPerWeek: 1 });
    const a = taskState('a.example');
    const b = taskState('b.example');
    for (const s of [a, b]) expect(await h.store.save(s, undefined)).toBe('saved');
    expect((await sweepAndSend(h)).sort()).toEqual(['pushed-by-cap', 'task-assigned']);
    const held = (await Promise.all([a, b].map((s) => h.touches.get(s.id)))).find((s) => s?.history.tasksAssigned === 1) as RelationshipState;
    // Sam is in New York: ISO week 2026-W50 ends Sunday 2026-12-13; the next starts Mon 00:00 EST.
    expect(Date.parse(held.nextTouch!.at)).toBeGreaterThanOrEqual(Date.parse('2026-12-14T05:00:00.000Z'));
    expect((await h.store.timeline(held.id)).find((e) => e.type === 'touch-pushed')?.detail?.reason).toBe('owner-capacity');
  });
});

describe('task SLA', () => {
  it('an open task past its SLA goes to the owner’s manager once, with why; the SLA entry is gone afterwards', async () => {
    const h = await harness();
    const s = taskState('sla.example');
    expect(await h.store.save(s, undefined)).toBe('saved');
    expect(await sweepAndSend(h)).toEqual(['task-assigned']);
    const sla = await h.touches.getTaskSla(s.id, s.nextTouch!.touchId);
    expect(sla).toMatchObject({ owner: 'sam@seller.example', kind: 'permission-ask', slaAt: new Date(T0.getTime() + 5 * DAY).toISOString() });

    // Before the SLA nothing happens; after it, the sweep finds the entry in the due index.
    h.clock.t = new Date(T0.getTime() + 4 * DAY);
    await sweepDue(h.sweepDeps);
    expect(h.queue.messages.filter((m) => m.kind === TASK_SLA_KIND)).toEqual([]);
    h.clock.t = new Date(T0.getTime() + 5 * DAY + 60_000);
    h.publisher.published.length = 0;
    // The planned next touch is not due yet, so only the SLA check runs.
    const outcomes = await sweepAndSend(h);
    expect(outcomes).toEqual(['escalated']);
    const [escalation] = h.publisher.published;
    expect(escalation?.detailType).toBe('task-assigned');
    expect(escalation?.detail).toMatchObject({ owner: 'riley@seller.example', touchId: `${s.nextTouch!.touchId}.sla`, kind: 'task-escalation', ownerTimezone: 'America/Chicago' });
    expect((escalation?.detail as { why: string }).why).toMatch(/task SLA: the permission ask task assigned to sam@seller\.example on 2026-12-08 is still open after 5 days/);
    expect((await h.store.timeline(s.id)).find((e) => e.type === 'task-escalated')?.detail).toMatchObject({ reason: 'task-sla', to: 'riley@seller.example' });
    expect(await h.touches.getTaskSla(s.id, s.nextTouch!.touchId)).toBeUndefined();
    h.clock.t = new Date(T0.getTime() + 6 * DAY);
    await sweepDue(h.sweepDeps);
    expect(h.queue.messages.filter((m) => m.kind === TASK_SLA_KIND)).toEqual([]);
  });

  it('a task completed in time is not escalated', async () => {
    const h = await harness();
    const s = taskState('done.example');
    expect(await h.store.save(s, undefined)).toBe('saved');
    await sweepAndSend(h);
    const touchId = s.nextTouch!.touchId;
    await h.store.appendTimeline(s.id, [{ at: new Date(T0.getTime() + DAY).toISOString(), eventId: 'crm-1', type: 'touch-completed', summary: 'Touch completed: done', detail: { touchId, outcome: 'done' } }]);
    h.clock.t = new Date(T0.getTime() + 5 * DAY + 60_000);
    h.publisher.published.length = 0;
    expect(await sweepAndSend(h)).toEqual(['skipped']);
    expect(h.publisher.published).toEqual([]);
    expect(await h.touches.getTaskSla(s.id, touchId)).toBeUndefined();
  });
});
