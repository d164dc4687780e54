/** factsOf on single stream records: what counts, what never does. */
import { describe, expect, it } from 'vitest';
import { factsOf, type FactContext } from '#domain/metrics/facts';
import { profileOf, providerOf } from '#domain/metrics/profile';
import { bucketOf, deltasOf, dimensionValues } from '#domain/metrics/deltas';
import { firstTouchPlanner } from '#domain/planner';
import { applyInbound, newRelationship } from '#domain/relationship';
import type { RelationshipState } from '#domain/types';
import { ev } from '../helpers/fixtures.ts';
import type { TimelineEntry } from '#domain/types';
import { context } from './helpers.ts';

const state = {
  ...newRelationship('rel_x', '2026-01-01T00:00:00.000Z'),
  stage: 'nurturing' as const,
  accountId: 'acme.example',
  owner: 'sam@seller.example',
  contact: { email: 'dana@hotmail.de', role: 'champion' as const },
  nurture: { lostReason: 'timing' as const, lostAt: '2026-01-05T10:00:00.000Z' },
  holdout: { group: 'nurtured' as const, percent: 10, assignedAt: '2026-01-05T10:00:00.000Z' },
};
const profile = profileOf(state, context.holdout);
const ctx: FactContext = { ...context, at: '2026-02-01T00:00:00.000Z', profile };
const tl = (e: TimelineEntry) => ({ pk: 'REL#rel_x', sk: `TL#${e.at}#${e.eventId}`, e });
const metrics = (facts: { metric: string }[]) => facts.map((f) => f.metric);

/**
 * Events applied in order as applyInbound writes their entries, each entry read with the state saved
 * with it: the metric names per event, and the state now.
 */
function entryFacts() {
  let state: RelationshipState | undefined;
  const facts: string[][] = [];
  const apply = (e: ReturnType<typeof ev>) => {
    const d = applyInbound(state, e.id, e, { now: new Date(e.occurredAt), relationshipId: 'rel_x', crmIds: [], fromCrm: true, planner: firstTouchPlanner });
    if (d.kind !== 'applied') throw new Error(d.kind);
    state = d.state;
    facts.push(d.timeline.flatMap((entry) => metrics(factsOf(undefined, tl(entry), { ...ctx, profile: profileOf(d.state, context.holdout) }))));
  };
  return { apply, facts, state: () => state };
}

describe('factsOf', () => {
  it('the profile carries classes, never the address', () => {
    expect(profile).toEqual({ relationshipId: 'rel_x', accountId: 'acme.example', group: 'nurtured', owner: 'sam@seller.example', role: 'champion', horizon: 'unknown', provider: 'outlook', episode: { lostAt: '2026-01-05T10:00:00.000Z', reason: 'timing' }, trackSubject: { role: 'champion' } });
    expect(JSON.stringify(profile)).not.toContain('dana');
    expect([providerOf('a@gmail.com'), providerOf('a@yahoo.co.uk'), providerOf('a@live.com'), providerOf('a@acme.example'), providerOf(undefined)]).toEqual(['gmail', 'yahoo', 'outlook', 'other', 'unknown']);
  });

  it('an entry counts under the track the planner chose: conditions on role, horizon, country and tags included', () => {
    // cadence.yaml may give champions a track of their own before the lost-reason track (first match wins).
    const byRole: FactContext = { ...ctx, trackOf: (s) => (s.role === 'champion' && s.lostReason === 'timing' ? 'champions' : 'standard') };
    const loss = tl({ at: '2026-01-05T10:00:00.000Z', eventId: 'l', type: 'lead-closed-lost', summary: 'Closed lost: timing', detail: { reason: 'timing' } });
    expect(factsOf(undefined, loss, byRole).find((f) => f.metric === 'nurture.entered')?.dims).toMatchObject({ reason: 'timing', track: 'champions', role: 'champion' });
    const other = profileOf({ ...state, contact: { email: 'lee@acme.example', role: 'evaluator' as const } }, context.holdout);
    expect(factsOf(undefined, loss, { ...byRole, profile: other }).find((f) => f.metric === 'nurture.entered')?.dims.track).toBe('standard');
  });

  it("a referred person's deals after the referral count as the referral's; before it, as other", () => {
    const referred = profileOf({ ...state, nurture: undefined, referredAt: '2026-01-10T00:00:00.000Z' }, context.holdout);
    const deal = (at: string) => factsOf(undefined, tl({ at, eventId: `d${at}`, type: 'deal-created', summary: 'Deal created', detail: { amount: 5000 } }), { ...ctx, profile: referred });
    expect(deal('2026-02-01T00:00:00.000Z').find((f) => f.metric === 'crm.deal-created')).toMatchObject({ dims: { group: 'nurtured', source: 'referral' }, amount: 5000 });
    expect(deal('2026-01-09T00:00:00.000Z')[0]?.dims.source).toBe('other');
    // In nurture, a deal is nurture's, referral or not.
    const both = profileOf({ ...state, referredAt: '2026-01-01T00:00:00.000Z' }, context.holdout);
    expect(factsOf(undefined, tl({ at: '2026-02-01T00:00:00.000Z', eventId: 'd', type: 'deal-created', summary: 'Deal created', detail: {} }), { ...ctx, profile: both })[0]?.dims.source).toBe('nurture');
  });

  it('a human reply re-engages once per episode, with the days since the loss', () => {
    const facts = factsOf(undefined, tl({ at: '2026-01-15T10:00:00.000Z', eventId: 'r1', type: 'contact-replied', summary: 'Replied: re-engaged', detail: { classification: 'human' } }), ctx);
    const re = facts.find((f) => f.metric === 'nurture.re-engaged');
    expect(re).toMatchObject({ days: 10, dims: { signal: 'reply', group: 'nurtured' }, survival: { event: 'event', day: 10 } });
    expect(re?.guard).toEqual({ requires: { pk: 'REL#rel_x', sk: 'MX#in#2026-01-05T10:00:00.000Z' }, once: { pk: 'REL#rel_x', sk: 'MX#re#2026-01-05T10:00:00.000Z' } });
    // A reply is not a CRM outcome: the holdout could never have sent it.
    expect(metrics(facts)).not.toContain('holdout.converted');
  });

  it('clicks (scanner or human) and opens never re-engage; superseded entries and rewrites count nothing', () => {
    const click = factsOf(undefined, tl({ at: '2026-01-10T10:00:00.000Z', eventId: 'c', type: 'email-clicked', summary: 'Clicked', detail: { likelyScanner: false, link: 'x' } }), ctx);
    expect(metrics(click)).toEqual(['email.clicked']);
    const superseded = tl({ at: '2026-01-10T10:00:00.000Z', eventId: 's', type: 'deal-created', summary: 'deal-created (superseded by a newer change)', superseded: true });
    expect(factsOf(undefined, superseded, ctx)).toEqual([]);
    const sent = tl({ at: '2026-01-10T10:00:00.000Z', eventId: 'touch:t1', type: 'email-sent', summary: 'E-mail sent', detail: { channel: 'email', contentId: 'stale-deal-audit' } });
    expect(factsOf(sent, sent, ctx)).toEqual([]);
  });

  it('a loss with do-not-contact on record does not enter nurture', () => {
    expect(factsOf(undefined, tl({ at: '2026-01-05T10:00:00.000Z', eventId: 'l', type: 'lead-closed-lost', summary: 'Closed lost: timing (do-not-contact on record: no touches)', detail: { reason: 'timing' } }), ctx)).toEqual([]);
  });

  it("the loss of the deal that paused a nurture resumes its episode: one entry, the deal's own facts still counted", () => {
    // The entries as applyInbound writes them, each read with the state saved with it.
    const { apply, facts, state } = entryFacts();
    apply(ev('lead-closed-lost', 'l1', '2026-01-05T10:00:00.000Z', { reason: 'timing', dealId: 'd-1' }));
    apply(ev('deal-created', 'd2', '2026-02-01T10:00:00.000Z', { dealId: 'd-2', amount: 900 }));
    apply(ev('lead-closed-lost', 'l2', '2026-04-01T10:00:00.000Z', { reason: 'budget', dealId: 'd-2', amount: 900 }));
    expect(state()?.nurture).toMatchObject({ lostAt: '2026-01-05T10:00:00.000Z', resumedAt: '2026-04-01T10:00:00.000Z' });
    expect(facts[0]).toContain('nurture.entered');
    expect(facts[1]).toEqual(expect.arrayContaining(['crm.deal-created', 'nurture.re-engaged', 'holdout.converted']));
    expect(facts[2]).toEqual([]);
    // A loss of another deal after that is a new episode again, and counted.
    apply(ev('deal-created', 'd3', '2026-05-01T10:00:00.000Z', { dealId: 'd-3' }));
    apply(ev('lead-closed-lost', 'l3', '2026-06-01T10:00:00.000Z', { reason: 'timing', dealId: 'd-4' }));
    expect(facts[4]).toContain('nurture.entered');
  });

  it('skips carry a reason code; a new deal on a customer is pipeline, not a return', () => {
    const skip = (summary: string) => factsOf(undefined, tl({ at: '2026-01-10T10:00:00.000Z', eventId: summary, type: 'touch-skipped', summary, detail: { channel: 'email' } }), ctx)[0]?.dims.reason;
    expect([skip('Touch skipped: suppressed: all-email'), skip('Touch skipped: no longer allowed at send time'), skip('Touch skipped: content x not in the library'), skip('Touch skipped: why not')]).toEqual(['suppressed', 'not-allowed', 'content-missing', 'other']);
    const pushed = (detail: Record<string, string>) => factsOf(undefined, tl({ at: '2026-01-10T10:00:00.000Z', eventId: 'push:t1', type: 'touch-pushed', summary: 'pushed', detail: { channel: 'task', ...detail } }), ctx)[0]?.dims.reason;
    expect([pushed({}), pushed({ reason: 'owner-capacity' })]).toEqual(['send-window', 'owner-capacity']);
    const deal = factsOf(undefined, tl({ at: '2026-03-01T10:00:00.000Z', eventId: 'd', type: 'deal-created', summary: 'New deal on a customer', detail: { amount: 10 } }), ctx);
    expect(metrics(deal)).toEqual(['crm.deal-created', 'introduction.led-to']);
    // Counted only where an introduction was made for this person before (its guard: the mark the first one leaves).
    expect(deal.find((f) => f.metric === 'introduction.led-to')).toMatchObject({ dims: { signal: 'deal-created' }, amount: 10, guard: { requires: { pk: 'REL#rel_x', sk: 'MX#intro' } } });
  });

  it('a corrected lost reason (the same deal lost again for another reason) is the same episode: no second entry', () => {
    const { apply, facts, state } = entryFacts();
    apply(ev('lead-closed-lost', 'l1', '2026-01-05T10:00:00.000Z', { reason: 'timing', dealId: 'd-1' }));
    apply(ev('lead-closed-lost', 'l1b', '2026-01-20T10:00:00.000Z', { reason: 'budget', dealId: 'd-1' }));
    expect(state()?.nurture).toMatchObject({ lostReason: 'budget', lostAt: '2026-01-05T10:00:00.000Z', reasonAt: '2026-01-20T10:00:00.000Z' });
    expect(facts[0]).toContain('nurture.entered');
    expect(facts[1]).toEqual([]);
  });

  it("a completed research task after 'left the company' (assigned off the plan) counts as research, not unknown", () => {
    const done = (touchId: string) => factsOf(undefined, tl({ at: '2026-01-10T10:00:00.000Z', eventId: `c:${touchId}`, type: 'touch-completed', summary: 'Touch completed: done', detail: { touchId, outcome: 'done' } }), ctx);
    expect(done('rel_x.moved.hubspot_1_evt-9').find((f) => f.metric === 'task.completed')?.dims).toMatchObject({ kind: 'research', timeliness: 'unknown' });
    expect(done('rel_x.t7').find((f) => f.metric === 'task.completed')?.dims).toMatchObject({ kind: 'unknown' });
  });

  it('a lunch guest (touch-joined) is a touch, not a task of theirs: no task.assigned waits for a completion', () => {
    const joined = factsOf(undefined, tl({ at: '2026-01-10T10:00:00.000Z', eventId: 'touch:j1', type: 'touch-joined', summary: 'Joined: the lunch rel_h.t3 with the owner', detail: { channel: 'task', kind: 'lunch' } }), ctx);
    expect(metrics(joined)).toEqual(['touch.sent']);
    expect(joined[0]?.dims).toMatchObject({ channel: 'task' });
  });

  it('an outcome whose touch the guardrails moved counts one touch.skipped per distinct move, on its channel', () => {
    const outcome = (type: string, detail: Record<string, string>) => factsOf(undefined, tl({ at: '2026-01-10T10:00:00.000Z', eventId: `touch:${type}`, type, summary: type === 'touch-skipped' ? 'Touch skipped: suppressed: all-email' : type, detail }), ctx);
    const moves = (facts: ReturnType<typeof factsOf>) => facts.filter((f) => f.metric === 'touch.skipped').map((f) => `${f.dims.channel} ${f.dims.reason}`);
    // Sent after a holiday and the minimum gap (a duplicate code counts once): both moves, and the send.
    const sent = outcome('email-sent', { channel: 'email', contentId: 'stale-deal-audit', pushedBy: 'holiday,min-gap,holiday' });
    expect(metrics(sent)).toEqual(['touch.sent', 'email.sent', 'touch.skipped', 'touch.skipped']);
    expect(moves(sent)).toEqual(['email holiday', 'email min-gap']);
    expect(moves(outcome('task-assigned', { channel: 'task', pushedBy: 'weekend' }))).toEqual(['task weekend']);
    expect(moves(outcome('touch-unknown', { channel: 'email', pushedBy: 'daily-cap' }))).toEqual(['email daily-cap']);
    // Skipped at send time after a move: the skip and the move are two reasons.
    expect(moves(outcome('touch-skipped', { channel: 'email', pushedBy: 'company-holiday' }))).toEqual(['email suppressed', 'email company-holiday']);
    // A code this version does not know cannot grow the dimension.
    expect(moves(outcome('email-sent', { channel: 'email', pushedBy: 'person-emails-7d,no-such-code' }))).toEqual(['email person-emails-7d', 'email other']);
    // Pushed at send time (the successor is a new plan): the push and the earlier move.
    expect(moves(outcome('touch-pushed', { channel: 'email', reason: 'send-window', pushedBy: 'daily-cap' }))).toEqual(['email send-window', 'email daily-cap']);
    // Without moves, an outcome counts no move; a dry run counts nothing.
    expect(moves(outcome('email-sent', { channel: 'email' }))).toEqual([]);
    expect(outcome('touch-dry-run', { channel: 'email', pushedBy: 'holiday', dryRun: 'true' })).toEqual([]);
  });

  it('the state item moves the stage gauge, and an erasure censors an open episode', () => {
    const img = (s: typeof state) => ({ pk: 'REL#rel_x', sk: 'STATE', v: 1, s });
    const moved = factsOf(img(state), img({ ...state, stage: 're-engaged' as never }), ctx);
    expect(moved.map((f) => [f.dims.stage, f.gauge])).toEqual([['nurturing', -1], ['re-engaged', 1]]);
    expect(factsOf(img(state), img({ ...state, updatedAt: 'later' }), ctx)).toEqual([]);
    const erased = factsOf(img(state), undefined, ctx);
    expect(erased.find((f) => f.survival)).toMatchObject({ survival: { event: 'censored', day: 26 }, guard: { unless: { sk: 'MX#re#2026-01-05T10:00:00.000Z' } } });
  });

  it('deltas: week and month counters per dimension, crossed with the group; fixed histogram buckets', () => {
    expect([bucketOf(0), bucketOf(7), bucketOf(8), bucketOf(365), bucketOf(366)]).toEqual(['0-7', '0-7', '8-14', '181-365', '366+']);
    expect(dimensionValues({ group: 'holdout', owner: 'a#b' })).toEqual([['all', 'all'], ['group', 'holdout'], ['owner', 'a_b'], ['group+owner', 'holdout+a_b']]);
    const d = deltasOf({ metric: 'crm.deal-won', at: '2026-01-15T10:00:00.000Z', dims: { group: 'nurtured' }, amount: 500 });
    expect(d.map((x) => `${x.key.pk} ${x.key.sk}`)).toEqual(['AGG#W#2026-W03 C#crm.deal-won#all#all', 'AGG#W#2026-W03 C#crm.deal-won#group#nurtured', 'AGG#M#2026-01 C#crm.deal-won#all#all', 'AGG#M#2026-01 C#crm.deal-won#group#nurtured']);
    expect(d[0]?.add).toEqual({ n: 1, sum: 500 });
  });
});
