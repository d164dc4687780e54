/** DynamoRelationshipStore and DynamoInboxStore against DynamoDB Local (real SDK, no mocks). */
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { DynamoInboxStore, DynamoRelationshipStore, stateItem, INBOX_TTL_SECONDS } from '#adapters/dynamo-store';
import { DUE_INDEX, dueShard, keys } from '#adapters/table';
import { newRelationship } from '#domain/relationship';
import type { PlannedTouch, RelationshipState, TimelineEntry } from '#domain/types';
import { scanAll, withDynamoDbLocal } from '../helpers/dynamo.ts';
import { ev } from '../helpers/fixtures.ts';

const db = withDynamoDbLocal();
const store = () => new DynamoRelationshipStore(db.doc, db.table);
let n = 0;
const relId = () => `rel_0000000${n}-0000-4000-8000-${String(++n).padStart(12, '0')}`;

function person(id: string, over: Partial<RelationshipState> = {}): RelationshipState {
  return {
    ...newRelationship(id, '2026-11-01T00:00:00.000Z'),
    stage: 'nurturing',
    contact: { email: `${id}@example.com`, name: `Name of ${id}` },
    emailHash: `eh-${id}`,
    crmIds: [`generic:default:${id}`],
    ...over,
  };
}

const touch = (status: PlannedTouch['status'], at = '2026-12-03T10:00:00.000Z'): PlannedTouch => ({
  touchId: 't1',
  at,
  channel: 'task',
  kind: 'thank-you-note',
  status,
  rule: 'test',
});

describe('DynamoRelationshipStore.save', () => {
  it('a new relationship is saved on absence only; then each save is conditional on the version', async () => {
    const s = store();
    const id = relId();
    expect(await s.save(person(id), undefined)).toBe('saved');
    expect(await s.save(person(id), undefined)).toBe('conflict');
    const v1 = await s.get(id);
    expect(v1?.version).toBe(1);
    expect(v1?.contact.name).toBe(`Name of ${id}`);
    expect(await s.save({ ...(v1 as RelationshipState), stage: 'in-deal' }, 1)).toBe('saved');
    // a writer still holding version 1 loses
    expect(await s.save({ ...(v1 as RelationshipState), stage: 'customer' }, 1)).toBe('conflict');
    const v2 = await s.get(id);
    expect(v2).toMatchObject({ version: 2, stage: 'in-deal' });
    expect(await s.save(v2 as RelationshipState, 5)).toBe('conflict');
    expect(await s.get('rel_missing')).toBeUndefined();
  });

  it('of N concurrent saves on the same version exactly one wins', async () => {
    const s = store();
    const id = relId();
    await s.save(person(id), undefined);
    const base = (await s.get(id)) as RelationshipState;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => s.save({ ...base, contact: { ...base.contact, title: `t${i}` } }, base.version)),
    );
    expect(results.filter((r) => r === 'saved')).toHaveLength(1);
    expect((await s.get(id))?.version).toBe(2);
  });
});

describe('identity', () => {
  // BUG (functions/adapters/dynamo-store.ts, claimIdentity, line ~117): the loser is meant to adopt
  // the winner ("if it is the first key we tried, adopt theirs"), but the test
  // `key === this.identityKeys(identity)[0]` compares a key object with a freshly built one, so it
  // is always false. The loser returns its own id, and the handler goes on to create a second
  // relationship for the same person. Fix: compare by position (or by key.pk) instead of identity.
  it('two concurrent claims for the same e-mail hash with different ids return the same winner', async () => {
    const s = store();
    for (let round = 0; round < 5; round++) {
      const a = relId();
      const b = relId();
      const identity = { emailHash: `shared-hash-${round}`, crmIds: [] };
      const [ra, rb] = await Promise.all([s.claimIdentity(a, identity), s.claimIdentity(b, identity)]);
      expect(ra).toBe(rb);
      expect([a, b]).toContain(ra);
      expect(await s.resolve(identity)).toBe(ra);
    }
  });

  // Same bug as above.
  it('claims with an e-mail hash and a CRM id: the loser adopts the winner for both', async () => {
    const s = store();
    const a = relId();
    const b = relId();
    const identity = { emailHash: 'eh-both', crmIds: ['hubspot:1:42'] };
    const [ra, rb] = await Promise.all([s.claimIdentity(a, identity), s.claimIdentity(b, identity)]);
    expect(ra).toBe(rb);
    expect(await s.resolve({ crmIds: ['hubspot:1:42'] })).toBe(ra);
    expect(await s.resolve({ emailHash: 'eh-both', crmIds: [] })).toBe(ra);
  });

  it('a later claim of an identity someone else owns returns the owner (sequential)', async () => {
    const s = store();
    const a = relId();
    const b = relId();
    expect(await s.claimIdentity(a, { emailHash: 'eh-seq', crmIds: [] })).toBe(a);
    expect(await s.resolve({ emailHash: 'eh-seq', crmIds: [] })).toBe(a);
    // The identity item is not overwritten by the second claimer, whatever it returns.
    await s.claimIdentity(b, { emailHash: 'eh-seq', crmIds: [] });
    expect(await s.resolve({ emailHash: 'eh-seq', crmIds: [] })).toBe(a);
  });

  // Same bug: even without a race, the second claimer is told it owns the identity.
  it('a later claim of an identity someone else owns answers with the owner', async () => {
    const s = store();
    const a = relId();
    const b = relId();
    await s.claimIdentity(a, { emailHash: 'eh-seq2', crmIds: [] });
    expect(await s.claimIdentity(b, { emailHash: 'eh-seq2', crmIds: [] })).toBe(a);
  });

  it('re-claiming an identity one already owns is fine', async () => {
    const s = store();
    const a = relId();
    expect(await s.claimIdentity(a, { emailHash: 'eh-again', crmIds: [] })).toBe(a);
    expect(await s.claimIdentity(a, { emailHash: 'eh-again', crmIds: ['x:y:1'] })).toBe(a);
  });

  it('resolve finds by e-mail hash and by CRM id, e-mail first', async () => {
    const s = store();
    const a = relId();
    const b = relId();
    await s.claimIdentity(a, { emailHash: 'eh-resolve-a', crmIds: ['sf:org:a'] });
    await s.claimIdentity(b, { crmIds: ['sf:org:b'] });
    expect(await s.resolve({ emailHash: 'eh-resolve-a', crmIds: [] })).toBe(a);
    expect(await s.resolve({ crmIds: ['sf:org:a'] })).toBe(a);
    expect(await s.resolve({ crmIds: ['sf:org:unknown', 'sf:org:b'] })).toBe(b);
    expect(await s.resolve({ emailHash: 'eh-resolve-a', crmIds: ['sf:org:b'] })).toBe(a);
    expect(await s.resolve({ emailHash: 'nobody', crmIds: [] })).toBeUndefined();
    expect(await s.resolve({ crmIds: [] })).toBeUndefined();
  });

  it('identity items hold only hashes, never the address', async () => {
    const s = store();
    await s.claimIdentity(relId(), { emailHash: 'eh-pii', crmIds: [] });
    const items = await scanAll(db.doc, db.table);
    const idItems = items.filter((i) => String(i.pk).startsWith('ID#'));
    expect(idItems.length).toBeGreaterThan(0);
    expect(JSON.stringify(idItems)).not.toMatch(/@/);
  });
});

describe('timeline', () => {
  const entry = (at: string, eventId: string): TimelineEntry => ({ at, eventId, type: 'contact-updated', summary: `s ${eventId}` });

  it('appends and reads in order, newest first and with a limit', async () => {
    const s = store();
    const id = relId();
    const entries = Array.from({ length: 30 }, (_, i) => entry(new Date(Date.UTC(2026, 10, 1 + i)).toISOString(), `e${i}`));
    const shuffled = [...entries].sort(() => Math.random() - 0.5);
    await s.appendTimeline(id, shuffled.slice(0, 1));
    await s.appendTimeline(id, shuffled.slice(1));
    expect((await s.timeline(id)).map((e) => e.eventId)).toEqual(entries.map((e) => e.eventId));
    expect((await s.timeline(id, { newestFirst: true })).map((e) => e.eventId)).toEqual(entries.map((e) => e.eventId).reverse());
    expect((await s.timeline(id, { newestFirst: true, limit: 5 })).map((e) => e.eventId)).toEqual(['e29', 'e28', 'e27', 'e26', 'e25']);
    expect((await s.timeline(id, { limit: 3 })).map((e) => e.eventId)).toEqual(['e0', 'e1', 'e2']);
    expect(await s.timeline(relId())).toEqual([]);
  });

  it('the timeline read does not include the state item', async () => {
    const s = store();
    const id = relId();
    await s.save(person(id), undefined);
    await s.appendTimeline(id, [entry('2026-11-02T00:00:00.000Z', 'only')]);
    expect((await s.timeline(id)).map((e) => e.eventId)).toEqual(['only']);
  });

  it('appending the same entry twice keeps one', async () => {
    const s = store();
    const id = relId();
    const e = entry('2026-11-02T00:00:00.000Z', 'dup');
    await s.appendTimeline(id, [e]);
    await s.appendTimeline(id, [e]);
    expect(await s.timeline(id)).toHaveLength(1);
  });
});

describe('erase and suppression', () => {
  it('removes every item of the person (state, timeline, identity) while suppressions remain', async () => {
    const s = store();
    const id = relId();
    const other = relId();
    const p = person(id, { emailHash: 'eh-erase', crmIds: ['hs:1:erase', 'sf:o:erase'] });
    await s.claimIdentity(id, { emailHash: 'eh-erase', crmIds: p.crmIds });
    await s.save(p, undefined);
    await s.appendTimeline(id, Array.from({ length: 40 }, (_, i) => ({ at: `2026-11-0${(i % 9) + 1}T00:00:00.000Z`, eventId: `x${i}`, type: 't', summary: `${p.contact.name} did ${i}` })));
    await s.save(person(other), undefined);
    await s.putSuppression(['eh-erase', 'crmhash-erase'], { scopes: [{ scope: 'erased', at: '2026-11-10T00:00:00.000Z' }] });

    await s.erase((await s.get(id)) as RelationshipState);

    const items = await scanAll(db.doc, db.table);
    const text = JSON.stringify(items);
    expect(items.filter((i) => String(i.pk) === `REL#${id}`)).toEqual([]);
    expect(text).not.toContain(id);
    expect(text).not.toContain(`Name of ${id}`);
    expect(items.find((i) => i.pk === 'ID#E#eh-erase')).toBeUndefined();
    expect(items.find((i) => i.pk === 'ID#C#hs:1:erase')).toBeUndefined();
    expect(items.find((i) => i.pk === 'ID#C#sf:o:erase')).toBeUndefined();
    expect(items.filter((i) => String(i.pk).startsWith('SUP#'))).toHaveLength(2);
    expect(await s.get(other)).toBeDefined();
    expect(await s.resolve({ emailHash: 'eh-erase', crmIds: [] })).toBeUndefined();
    expect(await s.getSuppression(['eh-erase'])).toEqual({ scopes: [{ scope: 'erased', at: '2026-11-10T00:00:00.000Z' }] });
    expect(await s.getSuppression(['crmhash-erase', 'nobody'])).toMatchObject({ scopes: [{ scope: 'erased' }] });
    expect(await s.getSuppression(['nobody'])).toBeUndefined();
    expect(await s.getSuppression([])).toBeUndefined();
  });
});

describe('sparse due index', () => {
  const dueItems = async (id: string) => {
    const out = await db.doc.send(
      new QueryCommand({
        TableName: db.table,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'duePk = :pk',
        ExpressionAttributeValues: { ':pk': `DUE#${dueShard(id)}` },
      }),
    );
    return (out.Items ?? []).filter((i) => String(i.dueSk).endsWith(`#${id}`));
  };

  // The brief said "only while planned"; functions/adapters/dynamo-store.ts (dueKeys) now also
  // indexes queued/sending touches at their lease's end, so the sweep finds lapsed claims. Both are
  // checked here: planned at its due instant, a claimed touch at its lease end, nothing when none.
  it('carries duePk/dueSk only while a touch is open: planned at its due instant, claimed at its lease end', async () => {
    const s = store();
    const id = relId();
    const lease = '2026-12-03T10:05:00.000Z';
    expect(stateItem(person(id, { nextTouch: touch('planned') }))).toMatchObject({ duePk: `DUE#${dueShard(id)}`, dueSk: `2026-12-03T10:00:00.000Z#${id}` });
    for (const st of ['queued', 'sending'] as const) {
      expect(stateItem(person(id, { nextTouch: { ...touch(st), leaseUntil: lease } }))).toMatchObject({ dueSk: `${lease}#${id}` });
    }
    expect(stateItem(person(id))).not.toHaveProperty('duePk');
    expect(stateItem(person(id))).not.toHaveProperty('dueSk');

    await s.save(person(id, { nextTouch: touch('planned') }), undefined);
    expect(await dueItems(id)).toEqual([{ pk: `REL#${id}`, sk: 'STATE', duePk: `DUE#${dueShard(id)}`, dueSk: `2026-12-03T10:00:00.000Z#${id}` }]);
    await s.save(person(id, { nextTouch: { ...touch('queued'), leaseUntil: lease } }), 1);
    expect((await dueItems(id)).map((i) => i.dueSk)).toEqual([`${lease}#${id}`]);
    await s.save(person(id, { nextTouch: touch('planned', '2026-12-10T10:00:00.000Z') }), 2);
    expect((await dueItems(id)).map((i) => i.dueSk)).toEqual([`2026-12-10T10:00:00.000Z#${id}`]);
    await s.save(person(id, { nextTouch: null }), 3);
    expect(await dueItems(id)).toEqual([]);
    // and the state item itself no longer carries the keys
    const raw = (await scanAll(db.doc, db.table)).find((i) => i.pk === `REL#${id}` && i.sk === 'STATE');
    expect(raw).toBeDefined();
    expect(raw).not.toHaveProperty('duePk');
  });

  it('due entries sort by due instant within a shard', async () => {
    const s = store();
    const ids = Array.from({ length: 24 }, () => relId());
    await Promise.all(ids.map((id, i) => s.save(person(id, { nextTouch: touch('planned', new Date(Date.UTC(2027, 0, 1 + ((i * 7) % 24))).toISOString()) }), undefined)));
    for (let shard = 0; shard < 8; shard++) {
      const out = await db.doc.send(new QueryCommand({ TableName: db.table, IndexName: DUE_INDEX, KeyConditionExpression: 'duePk = :pk', ExpressionAttributeValues: { ':pk': `DUE#${shard}` } }));
      const sks = (out.Items ?? []).map((i) => String(i.dueSk));
      expect(sks).toEqual([...sks].sort());
    }
  });
});

describe('DynamoInboxStore', () => {
  it('putMany of 60 items goes in BatchWrite chunks of 25; get and delete work', async () => {
    const inbox = new DynamoInboxStore(db.doc, db.table, { now: () => new Date('2026-12-01T00:00:00Z') });
    const spy = vi.spyOn(db.doc, 'send');
    const items = Array.from({ length: 60 }, (_, i) => ({
      key: `generic:inbox-${i}`,
      event: ev('deal-won', `inbox-${i}`, '2026-11-20T15:04:05Z', { amount: i }),
    }));
    try {
      await inbox.putMany(items);
      const batches = spy.mock.calls.map((c) => c[0]).filter((c) => c instanceof BatchWriteCommand) as BatchWriteCommand[];
      expect(batches.map((b) => Object.values(b.input.RequestItems ?? {})[0]?.length)).toEqual([25, 25, 10]);
    } finally {
      spy.mockRestore();
    }
    for (const i of [0, 24, 25, 59]) expect(await inbox.get(`generic:inbox-${i}`)).toEqual(items[i]?.event);
    const raw = (await scanAll(db.doc, db.table)).find((x) => x.pk === keys.inbox('generic:inbox-3').pk);
    expect(raw?.expiresAt).toBe(Math.floor(Date.parse('2026-12-01T00:00:00Z') / 1000) + INBOX_TTL_SECONDS);
    await inbox.delete('generic:inbox-24');
    expect(await inbox.get('generic:inbox-24')).toBeUndefined();
    expect(await inbox.get('generic:inbox-23')).toBeDefined();
    await inbox.delete('generic:never-there');
    expect(await inbox.get('generic:never-there')).toBeUndefined();
  });
});
