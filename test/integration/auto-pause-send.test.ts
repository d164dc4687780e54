/**
 * What paused itself (cadence.yaml `autoPause`) at the sender's final claim, against DynamoDB
 * Local: an e-mail whose content paused itself after it was planned is planned again with other
 * content (no SES call), or, when nothing else is left, with the same item at a later slot; a
 * track that paused itself is held like a track switch (`auto-paused`), and goes on after a resume.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoRelationshipStore } from '#adapters/dynamo-store';
import { DynamoTouchStore } from '#adapters/dynamo-touches';
import { tableDefinition } from '#adapters/table';
import { loadConfig } from '#config/load';
import { pipelineConfig } from '#config/pipeline';
import { loadSendingConfig } from '#config/sending';
import type { PauseSet } from '#config/schema';
import { withPauses } from '#domain/auto-pause';
import { controlFor } from '#domain/cadence';
import { factsOf } from '#domain/metrics/facts';
import { touchIdFor } from '#domain/identity';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import { type SendDeps, sendTouch, sweepDue } from '#handlers/send';
import type { TouchMessage } from '#ports/ports';
import { withDynamoDbLocal } from '../helpers/dynamo.ts';
import { withLocalSes } from '../helpers/ses.ts';
import { SesMailer } from '#adapters/ses-mailer';
import { RecordingPublisher, recordingLogger } from '../helpers/fixtures.ts';
import { context } from '../metrics/helpers.ts';

const db = withDynamoDbLocal('auto-pause-send');
const rules = loadConfig('config');
const sending = loadSendingConfig('config');
const DAY = 86_400_000;
/** Tuesday 2026-12-08 10:00 in Chicago: inside the value-email window. */
const T0 = new Date('2026-12-08T16:00:00.000Z');
const LOST_AT = '2026-11-20T15:00:00.000Z';

// E-mails go to the local SES v2 server and are read back from its store.
const localSes = withLocalSes();

let tables = 0;
/** The send path with the rules in force and what paused itself merged in, as the live view gives them. */
async function harness(initial: PauseSet) {
  const table = `auto-pause-${++tables}`;
  await db.client.send(new CreateTableCommand(tableDefinition(table)));
  let now = T0;
  const clock = { now: () => new Date(now) };
  const store = new DynamoRelationshipStore(db.doc, table);
  const touches = new DynamoTouchStore(db.doc, table);
  const mailer = new SesMailer(localSes.client);
  const logger = recordingLogger();
  let pipeline = pipelineConfig(withPauses(rules, initial), sending, 'https://api.cultivate.example');
  const planner = { planNext: (s: RelationshipState, c: { now: Date }) => pipeline.planner.planNext(s, c), insideSendWindow: (s: RelationshipState, t: PlannedTouch, at: Date) => pipeline.planner.insideSendWindow?.(s, t, at) ?? true };
  const deps: SendDeps = {
    clock,
    touches,
    store,
    mailer,
    publisher: new RecordingPublisher(),
    planner,
    logger,
    leaseSeconds: 300,
    settings: pipeline.settings,
    owner: (e) => pipeline.owner(e),
    content: (id) => pipeline.content(id),
    unsubscribeKey: async () => 'auto-pause-unsubscribe-key',
    suppressionsFor: async () => [],
    controls: (state) => controlFor(pipeline.rules, state),
  };
  const queued: TouchMessage[] = [];
  const run = async (at: Date) => {
    now = at;
    await sweepDue({ clock, touches, store, queue: { enqueue: async (ms) => void queued.push(...ms) }, planner, logger, leaseSeconds: 300 });
    const outcomes = [];
    for (const m of queued.splice(0)) outcomes.push(await sendTouch(deps, m));
    return outcomes;
  };
  const setPaused = (set: PauseSet) => void (pipeline = pipelineConfig(withPauses(rules, set), sending, 'https://api.cultivate.example'));
  const get = async (id: string) => (await touches.get(id)) as RelationshipState;
  return { store, logger, run, setPaused, get };
}

/** On the lost-deal track with consent: a value e-mail of `contentId` due at T0, `sent` already e-mailed. */
function person(contentId: string, sent: string[] = []): RelationshipState {
  const id = `rel_${randomUUID()}`;
  const topic = rules.content.items.find((i) => i.id === contentId)?.topic as string;
  const nextTouch: PlannedTouch = { touchId: touchIdFor(id, 1), at: T0.toISOString(), channel: 'email', kind: 'value-email', contentId, topic, step: 1 + sent.length, status: 'planned', rule: 'lost-deal: weekly value e-mail' };
  return {
    id,
    version: 0,
    createdAt: LOST_AT,
    updatedAt: LOST_AT,
    stage: 'nurturing',
    stageChangedAt: LOST_AT,
    nurture: { lostReason: 'timing', lostAt: LOST_AT },
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
    history: { emailsSent: sent.length, tasksAssigned: 1, sentContent: sent, cadenceStep: 1 + sent.length, lastTouchAt: '2026-11-24T15:00:00.000Z' },
  };
}

describe('content that paused itself, at the final claim', () => {
  it('is not sent: the touch is planned again with other content, and the timeline says why', async () => {
    const h = await harness({ content: ['stale-deal-audit'], tracks: [] });
    const p = person('stale-deal-audit');
    expect(await h.store.save(p, undefined)).toBe('saved');

    expect(await h.run(T0)).toEqual(['skipped']);
    expect(await localSes.all()).toEqual([]);
    const after = await h.get(p.id);
    expect(after.history).toMatchObject({ emailsSent: 0, sentContent: [] });
    expect(after.nextTouch).toMatchObject({ status: 'planned', channel: 'email', kind: 'value-email' });
    expect(after.nextTouch?.contentId).not.toBe('stale-deal-audit');
    const skipped = (await h.store.timeline(p.id)).filter((e) => e.type === 'touch-skipped');
    expect(skipped.map((e) => e.summary)).toEqual([
      'Touch skipped: auto-paused: content stale-deal-audit paused itself (cadence.yaml autoPause; see cultivate config pauses), so planned again with other content',
    ]);
    // The metrics count it as skipped for that reason.
    const image = { pk: `REL#${p.id}`, sk: `TL#${skipped[0]?.at}#x`, e: skipped[0] };
    expect(factsOf(undefined, image, { ...context, at: T0.toISOString(), profile: { relationshipId: p.id, group: 'nurtured', owner: 'o', role: 'r', horizon: 'h', provider: 'other' } }).map((f) => f.dims)).toEqual([{ channel: 'email', reason: 'auto-paused' }]);

    // The replacement goes at its slot.
    expect(await h.run(new Date(after.nextTouch?.at as string))).toEqual(['sent']);
    expect((await h.get(p.id)).history.sentContent).toEqual([after.nextTouch?.contentId]);
  });

  it('when nothing else is left it waits: planned again with the same item at a later slot, sent once resumed', async () => {
    const h = await harness({ content: ['stale-deal-audit'], tracks: [] });
    // The lost-deal track's topics, everything but the paused item already e-mailed.
    const track = rules.cadence.tracks.find((t) => t.id === 'lost-deal');
    const others = rules.content.items.filter((i) => i.id !== 'stale-deal-audit' && (track?.topics ?? []).includes(i.topic)).map((i) => i.id);
    const p = person('stale-deal-audit', others);
    expect(await h.store.save(p, undefined)).toBe('saved');

    expect(await h.run(T0)).toEqual(['skipped']);
    const waiting = await h.get(p.id);
    expect(waiting.nextTouch).toMatchObject({ contentId: 'stale-deal-audit', status: 'planned' });
    expect(Date.parse(waiting.nextTouch?.at as string)).toBeGreaterThan(T0.getTime());
    expect(await localSes.all()).toEqual([]);

    h.setPaused({ content: [], tracks: [] });
    expect(await h.run(new Date(waiting.nextTouch?.at as string))).toEqual(['sent']);
    expect(await localSes.all()).toHaveLength(1);
  });
});

describe('a track that paused itself', () => {
  it('holds its touches (auto-paused) like a track switch, and goes on where it was after a resume', async () => {
    const h = await harness({ content: [], tracks: ['lost-deal'] });
    const p = person('stale-deal-audit');
    expect(await h.store.save(p, undefined)).toBe('saved');

    expect(await h.run(T0)).toEqual(['held-paused']);
    expect(await localSes.all()).toEqual([]);
    const held = await h.get(p.id);
    expect(held.history).toEqual(p.history);
    expect(held.nextTouch).toMatchObject({ status: 'planned', step: 1, contentId: 'stale-deal-audit' });
    expect(Date.parse(held.nextTouch?.at as string)).toBeGreaterThanOrEqual(T0.getTime() + DAY);
    const pushed = (await h.store.timeline(p.id)).find((e) => e.type === 'touch-pushed');
    expect(pushed?.detail?.reason).toBe('auto-paused');
    expect(pushed?.summary).toMatch(/^track lost-deal paused itself \(cadence\.yaml autoPause; see cultivate config pauses, resume with cultivate config resume track lost-deal\): nothing sent; held/);
    expect(JSON.stringify(h.logger.lines)).not.toContain(p.contact.email);

    h.setPaused({ content: [], tracks: [] });
    expect(await h.run(new Date(held.nextTouch?.at as string))).toEqual(['sent']);
    expect((await h.get(p.id)).history).toMatchObject({ emailsSent: 1, sentContent: ['stale-deal-audit'] });
  });
});
