/**
 * The relationship state machine (functions/domain/relationship.ts) with the backbone planner:
 * DESIGN.md §3 ordering, effect once, consent and its stickiness.
 */
import { describe, expect, it } from 'vitest';
import { type InboundEvent, ReEngagementBrief, internalDetail } from '#catalog/events';
import { loadConfig } from '#config/load';
import type { CultivateConfig } from '#config/schema';
import { createCadencePlanner, quietCutoff, trackOfState } from '#domain/cadence';
import { canEmail, topicStopped } from '#domain/consent';
import { factsOf } from '#domain/metrics/facts';
import { profileOf } from '#domain/metrics/profile';
import { relationshipFacts } from '#domain/metrics/rebuild';
import { firstTouchPlanner, type Planner } from '#domain/planner';
import { recordTouch } from '#domain/touch';
import { type ApplyContext, type Decision, applyInbound } from '#domain/relationship';
import type { RelationshipState, TimelineEntry } from '#domain/types';
import { DANA, NOW, ev } from '../helpers/fixtures.ts';

const REL = 'rel_00000000-0000-4000-8000-000000000001';
const DAY = 86_400_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const H = 3_600_000;

function ctx(over: Partial<ApplyContext> = {}): ApplyContext {
  return {
    now: NOW,
    relationshipId: REL,
    emailHash: 'hash-dana',
    crmIds: ['generic:default:hs-501'],
    fromCrm: true,
    planner: firstTouchPlanner,
    ...over,
  };
}

type Applied = Extract<Decision, { kind: 'applied' }>;
function applied(d: Decision): Applied {
  if (d.kind !== 'applied') throw new Error(`expected applied, got ${d.kind}`);
  return d;
}

/** Applies events in order; returns the final state and every decision. */
function run(events: InboundEvent[], c: Partial<ApplyContext> = {}, start?: RelationshipState) {
  let state = start;
  const decisions: Decision[] = [];
  for (const e of events) {
    const d = applyInbound(state, e.id, e, ctx(c));
    decisions.push(d);
    if (d.kind === 'applied') state = d.state;
    if (d.kind === 'erase') state = undefined;
  }
  return { state: state as RelationshipState, decisions, last: decisions.at(-1) as Decision };
}

const lostAt = ago(1 * H);
const lost = (id = 'e-lost', at = lostAt, extra: Record<string, unknown> = {}) =>
  ev('lead-closed-lost', id, at, { reason: 'timing', note: 'Budget frees up next fiscal year', amount: 24000, ...extra }, {
    ...DANA,
    consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-03-02T10:00:00Z' },
  });

function nurturing(): RelationshipState {
  return applied(applyInbound(undefined, 'e-lost', lost(), ctx())).state;
}

describe('lead-closed-lost', () => {
  it('moves a new person into nurture with the lost reason and plans a thank-you task two days after the loss', () => {
    const d = applied(applyInbound(undefined, 'e-lost', lost(), ctx()));
    expect(d.superseded).toBe(false);
    expect(d.state.id).toBe(REL);
    expect(d.state.stage).toBe('nurturing');
    expect(d.state.nurture).toMatchObject({ lostReason: 'timing', lostAt, note: 'Budget frees up next fiscal year', amount: 24000 });
    expect(d.state.nextTouch).toMatchObject({
      channel: 'task',
      kind: 'thank-you-note',
      status: 'planned',
      at: new Date(Date.parse(lostAt) + 2 * DAY).toISOString(),
    });
    expect(d.state.nextTouch?.touchId.startsWith(`${REL}.t`)).toBe(true);
    expect(d.state.applied).toEqual(['e-lost']);
    expect(d.state.emailHash).toBe('hash-dana');
    expect(d.state.crmIds).toEqual(['generic:default:hs-501']);
    expect(d.state.contact).toMatchObject({ name: DANA.name, email: DANA.email, company: 'Acme' });
    expect(d.state.accountId).toBe('acme.example');
    expect(d.state.owner).toBe('sam@seller.example');
    expect(d.timeline).toHaveLength(1);
    expect(d.timeline[0]).toMatchObject({ eventId: 'e-lost', type: 'lead-closed-lost', at: lostAt });
    expect(d.emit).toEqual([]);
  });

  it('a loss long ago plans the thank-you for now, never in the past', () => {
    const d = applied(applyInbound(undefined, 'e', lost('e', ago(10 * DAY)), ctx()));
    expect(d.state.nextTouch?.at).toBe(NOW.toISOString());
  });
});

describe('stage changes', () => {
  it('deal-created pauses nurture: in-deal, nothing planned', () => {
    const d = applied(applyInbound(nurturing(), 'e-deal', ev('deal-created', 'e-deal', ago(30 * 60_000), { dealId: 'd-2' }), ctx()));
    expect(d.state.stage).toBe('in-deal');
    expect(d.state.nextTouch).toBeNull();
    expect(d.emit).toEqual([]);
  });

  it('deal-won makes a customer, nothing planned', () => {
    const d = applied(applyInbound(nurturing(), 'e-won', ev('deal-won', 'e-won', ago(30 * 60_000), { amount: 1 }), ctx()));
    expect(d.state.stage).toBe('customer');
    expect(d.state.nextTouch).toBeNull();
  });

  const recentTimeline: TimelineEntry[] = Array.from({ length: 40 }, (_, i) => ({
    at: ago((40 - i) * DAY),
    eventId: `old-${i}`,
    type: i % 2 === 0 ? 'task-assigned' : 'contact-replied',
    summary: `entry ${i} ${'x'.repeat(300)}`,
  }));

  const reEngaging: InboundEvent[] = [
    ev('contact-replied', 'e-re', ago(30 * 60_000), { classification: 'missed-me' }),
    ev('meeting-booked', 'e-re', ago(30 * 60_000), { meetingId: 'm1' }),
    ev('deal-reopened', 'e-re', ago(30 * 60_000), { dealId: 'd-1' }),
  ];
  it.each(reEngaging.map((e) => [e.type, e] as const))('%s from nurturing re-engages and emits exactly one bounded brief', (_t, e) => {
    const d = applied(applyInbound(nurturing(), 'e-re', e, ctx({ recentTimeline })));
    expect(d.state.stage).toBe('re-engaged');
    expect(d.state.nextTouch).toBeNull();
    const news = d.emit.filter((x) => x.type === 'relationship-re-engaged');
    expect(news).toHaveLength(1);
    expect(d.emit).toHaveLength(1);
    const detail = internalDetail['relationship-re-engaged'].parse(news[0]?.detail);
    expect(detail.relationshipId).toBe(REL);
    expect(detail.owner).toBe('sam@seller.example');
    const brief = ReEngagementBrief.parse(detail.brief);
    expect(brief.sent.length).toBeLessThanOrEqual(10);
    expect(brief.engaged.length).toBeLessThanOrEqual(10);
    expect(brief.sent.length).toBeGreaterThan(0);
    expect(brief.lostReason).toBe('timing');
    expect(brief.engaged[0]?.at).toBe(e.occurredAt);
    expect(JSON.stringify(brief).length).toBeLessThan(8_000);
  });

  it('a second re-engaging signal while re-engaged emits nothing more', () => {
    const first = applied(applyInbound(nurturing(), 'e-1', ev('contact-replied', 'e-1', ago(50 * 60_000), {}), ctx()));
    const second = applied(applyInbound(first.state, 'e-2', ev('meeting-booked', 'e-2', ago(40 * 60_000), {}), ctx()));
    expect(second.state.stage).toBe('re-engaged');
    expect(second.emit).toEqual([]);
  });

  it('a duplicate event id is a duplicate and changes nothing', () => {
    const s = nurturing();
    expect(applyInbound(s, 'e-lost', lost(), ctx())).toEqual({ kind: 'duplicate' });
    expect(applyInbound(s, 'e-lost', ev('deal-won', 'e-lost', ago(1000), {}), ctx())).toEqual({ kind: 'duplicate' });
  });

  it('a state change older than the last one is superseded: recorded, stage unchanged', () => {
    const s = nurturing(); // stage changed at lostAt (1 h ago)
    const d = applied(applyInbound(s, 'e-old-deal', ev('deal-created', 'e-old-deal', ago(3 * H), { dealId: 'd-0' }), ctx()));
    expect(d.superseded).toBe(true);
    expect(d.state.stage).toBe('nurturing');
    expect(d.state.stageChangedAt).toBe(s.stageChangedAt);
    expect(d.state.nextTouch).toEqual(s.nextTouch);
    expect(d.timeline).toHaveLength(1);
    expect(d.timeline[0]).toMatchObject({ eventId: 'e-old-deal', superseded: true });
    expect(d.state.applied).toContain('e-old-deal');
    expect(d.emit).toEqual([]);
  });

  it('an old reply does not re-engage someone whose newer loss is on record', () => {
    const d = applied(applyInbound(nurturing(), 'e-r', ev('contact-replied', 'e-r', ago(2 * H), {}), ctx()));
    expect(d.superseded).toBe(true);
    expect(d.state.stage).toBe('nurturing');
    expect(d.emit).toEqual([]);
  });

  // An import (`cultivate import <crm>`) names its events `<crm>:<portal>:import:<deal>:<contact>`,
  // never the live webhook's id, so the applied-id memory cannot catch a deal already lost live.
  it('the import of a deal already lost live is superseded: the nurture is not restarted', () => {
    const live = applied(applyInbound(undefined, 'hubspot:1:e-live', lost('hubspot:1:e-live', lostAt, { dealId: 'd-7' }), ctx())).state;
    const importId = 'hubspot:1:import:d-7:601';
    // The CRM's close date is later than the webhook's event time, and the loss is old enough for the permission ask only.
    const d = applied(applyInbound(live, importId, lost(importId, ago(H / 2), { dealId: 'd-7', permissionAskOnly: true }), ctx({ now: new Date(NOW.getTime() + 200 * DAY) })));
    expect(d.superseded).toBe(true);
    expect(d.state.stage).toBe('nurturing');
    expect(d.state.nurture).toEqual(live.nurture);
    expect(d.state.stageChangedAt).toBe(live.stageChangedAt);
    expect(d.state.planVersion).toBe(live.planVersion);
    expect(d.state.nextTouch).toEqual(live.nextTouch);
    expect(d.timeline).toEqual([expect.objectContaining({ eventId: importId, type: 'lead-closed-lost', superseded: true, detail: { reason: 'timing', dealId: 'd-7' } })]);
    expect(d.state.applied).toContain(importId);
    expect(d.emit).toEqual([]);
  });

  it('a later loss of another deal while in nurture is applied', () => {
    const live = applied(applyInbound(undefined, 'e-lost-1', lost('e-lost-1', ago(2 * H), { dealId: 'd-7' }), ctx())).state;
    const d = applied(applyInbound(live, 'e-lost-2', lost('e-lost-2', lostAt, { dealId: 'd-8', reason: 'budget' }), ctx()));
    expect(d.superseded).toBe(false);
    expect(d.state.nurture).toMatchObject({ dealId: 'd-8', lostReason: 'budget', lostAt });
  });
});

describe('attributes and time', () => {
  it('merge field by field: an older name does not overwrite a newer one but fills a field never set', () => {
    const a = ev('contact-updated', 'e-a', ago(1 * H), {}, { email: DANA.email, name: 'Dana Newer' });
    const b = ev('contact-updated', 'e-b', ago(5 * H), {}, { email: DANA.email, name: 'Dana Older', title: 'VP Ops', country: 'CA' });
    const { state } = run([a, b]);
    expect(state.contact.name).toBe('Dana Newer');
    expect(state.contact.title).toBe('VP Ops');
    expect(state.contact.country).toBe('CA');
    expect(state.fieldTimes.name).toBe(ago(1 * H));
    expect(state.fieldTimes.title).toBe(ago(5 * H));
    // and in the other order, the same result
    const other = run([b, a]).state;
    expect(other.contact).toEqual(state.contact);
  });

  it('an older accountId and owner do not overwrite newer ones', () => {
    const a = ev('contact-updated', 'e-a', ago(1 * H), {}, { email: DANA.email, accountId: 'new.example', owner: 'new@seller.example' });
    const b = ev('contact-updated', 'e-b', ago(5 * H), {}, { email: DANA.email, accountId: 'old.example', owner: 'old@seller.example' });
    const { state } = run([a, b]);
    expect(state.accountId).toBe('new.example');
    expect(state.owner).toBe('new@seller.example');
  });

  it('occurredAt in the future is clamped to now', () => {
    const future = new Date(NOW.getTime() + 3 * DAY).toISOString();
    const d = applied(applyInbound(undefined, 'e-f', lost('e-f', future), ctx()));
    expect(d.state.nurture?.lostAt).toBe(NOW.toISOString());
    expect(d.state.stageChangedAt).toBe(NOW.toISOString());
    expect(d.timeline[0]?.at).toBe(NOW.toISOString());
    expect(d.state.fieldTimes.name).toBe(NOW.toISOString());
    expect(d.state.nextTouch?.at).toBe(new Date(NOW.getTime() + 2 * DAY).toISOString());
    // a real later event still wins over the clamped one
    const later = applyInbound(d.state, 'e-g', ev('deal-created', 'e-g', future, {}), ctx({ now: new Date(NOW.getTime() + H) }));
    expect(applied(later).state.stage).toBe('in-deal');
  });
});

describe('consent: four ways to leave', () => {
  const consentEv = (id: string, at: string, data: Record<string, unknown>) => ev('consent-changed', id, at, data);

  it('stop-topic adds a topic suppression and leaves e-mail consent as it was', () => {
    const s = nurturing();
    const d = applied(applyInbound(s, 'e-st', consentEv('e-st', ago(30 * 60_000), { action: 'stop-topic', topic: 'pricing' }), ctx()));
    expect(d.state.suppressions).toContainEqual(expect.objectContaining({ scope: 'topic', topic: 'pricing' }));
    expect(d.state.consent?.email).toBe('granted');
    expect(canEmail(d.state)).toBe(true);
    expect(topicStopped(d.state, 'pricing')).toBe(true);
    expect(topicStopped(d.state, 'other')).toBe(false);
    expect(d.state.stage).toBe('nurturing');
  });

  it('stop-all-email denies e-mail and adds a sticky all-email suppression; human touches continue', () => {
    const d = applied(applyInbound(nurturing(), 'e-sa', consentEv('e-sa', ago(30 * 60_000), { action: 'stop-all-email' }), ctx()));
    expect(d.state.consent?.email).toBe('denied');
    expect(d.state.suppressions.map((s) => s.scope)).toContain('all-email');
    expect(canEmail(d.state)).toBe(false);
    expect(d.state.stage).toBe('nurturing');
    expect(d.state.nextTouch).toMatchObject({ channel: 'task', kind: 'thank-you-note', status: 'planned' });
  });

  it('do-not-contact retires, drops the next touch and tells who needs to know', () => {
    const d = applied(applyInbound(nurturing(), 'e-dnc', consentEv('e-dnc', ago(30 * 60_000), { action: 'do-not-contact' }), ctx()));
    expect(d.state.stage).toBe('retired');
    expect(d.state.nextTouch).toBeNull();
    expect(d.state.suppressions.map((s) => s.scope)).toContain('do-not-contact');
    expect(d.state.consent?.email).toBe('denied');
    expect(d.emit.map((e) => e.type)).toEqual(['relationship-retired']);
    expect(d.emit[0]?.detail).toMatchObject({ reason: 'do-not-contact' });
    // a later loss does not bring them back into nurture
    const again = applied(applyInbound(d.state, 'e-lost-2', lost('e-lost-2', ago(10 * 60_000)), ctx()));
    expect(again.state.stage).toBe('retired');
    expect(again.state.nextTouch).toBeNull();
    // nor does a reply re-engage them
    const reply = applied(applyInbound(again.state, 'e-r', ev('contact-replied', 'e-r', ago(5 * 60_000), {}), ctx()));
    expect(reply.state.stage).toBe('retired');
    expect(reply.emit).toEqual([]);
  });

  it('forget-me and relationship-erasure-requested are erasures', () => {
    const s = nurturing();
    expect(applyInbound(s, 'e-fm', consentEv('e-fm', ago(60_000), { action: 'forget-me' }), ctx()).kind).toBe('erase');
    expect(applyInbound(s, 'e-er', ev('relationship-erasure-requested', 'e-er', ago(60_000), {}), ctx()).kind).toBe('erase');
    expect(applyInbound(undefined, 'e-er', ev('relationship-erasure-requested', 'e-er', ago(60_000), {}), ctx()).kind).toBe('erase');
    const fromCultivate = applyInbound(s, 'e-fm', consentEv('e-fm', ago(60_000), { action: 'forget-me' }), ctx({ fromCrm: false }));
    expect(fromCultivate).toMatchObject({ kind: 'erase', emit: [{ type: 'consent-changed', detail: { action: 'forget-me', email: 'denied' } }] });
    const fromCrm = applyInbound(s, 'e-fm', consentEv('e-fm', ago(60_000), { action: 'forget-me' }), ctx({ fromCrm: true }));
    expect(fromCrm).toEqual({ kind: 'erase', emit: [] });
  });

  it('consent changes from a CRM are not echoed back; from Cultivate they emit consent-changed', () => {
    const e = consentEv('e-sa', ago(30 * 60_000), { action: 'stop-all-email' });
    expect(applied(applyInbound(nurturing(), 'e-sa', e, ctx({ fromCrm: true }))).emit).toEqual([]);
    const mine = applied(applyInbound(nurturing(), 'e-sa', e, ctx({ fromCrm: false })));
    expect(mine.emit).toHaveLength(1);
    expect(mine.emit[0]?.type).toBe('consent-changed');
    const detail = internalDetail['consent-changed'].parse(mine.emit[0]?.detail);
    expect(detail).toMatchObject({ relationshipId: REL, action: 'stop-all-email', email: 'denied' });
    const topic = applied(applyInbound(nurturing(), 'e-st', consentEv('e-st', ago(60_000), { action: 'stop-topic', topic: 'pricing' }), ctx({ fromCrm: false })));
    expect(topic.emit[0]?.detail).toMatchObject({ action: 'stop-topic', topic: 'pricing', email: 'granted' });
  });
});

describe('consent stickiness and order', () => {
  const T1 = ago(5 * H);
  const T2 = ago(4 * H);
  const T3 = ago(3 * H);
  const stopAll = (at: string, id = 'e-stop') => ev('consent-changed', id, at, { action: 'stop-all-email' });
  const crmSync = (at: string, consent: Record<string, unknown>, id = 'e-sync') =>
    ev('contact-updated', id, at, {}, { email: DANA.email, externalId: DANA.externalId, consent });
  const optIn = (at: string, capturedAt = at, id = 'e-optin') =>
    ev('consent-changed', id, at, { action: 'grant-email', consent: { email: 'granted', basis: 'opt-in', source: 'preference-center', capturedAt } });

  it('a later CRM sync with consent granted on legitimate interest does not lift an unsubscribe', () => {
    const { state } = run([stopAll(T1), crmSync(T3, { email: 'granted', basis: 'legitimate-interest', capturedAt: T2 })], {}, nurturing());
    expect(state.consent?.email).toBe('denied');
    expect(state.suppressions.map((s) => s.scope)).toContain('all-email');
    expect(canEmail(state)).toBe(false);
  });

  it('a grant-email without an explicit basis does not lift an unsubscribe either', () => {
    const grant = ev('consent-changed', 'e-g', T3, { action: 'grant-email', consent: { email: 'granted', basis: 'existing-customer' } });
    const { state, last } = run([stopAll(T1), grant], {}, nurturing());
    expect(canEmail(state)).toBe(false);
    expect(applied(last).timeline[0]?.summary).toMatch(/not applied/);
  });

  it('an explicit opt-in captured after the unsubscribe lifts it', () => {
    const { state } = run([stopAll(T1), optIn(T3, T2)], {}, nurturing());
    expect(state.consent).toMatchObject({ email: 'granted', basis: 'opt-in' });
    expect(state.suppressions.map((s) => s.scope)).not.toContain('all-email');
    expect(canEmail(state)).toBe(true);
  });

  it('an explicit opt-in via a CRM sync, captured after the unsubscribe, lifts it too', () => {
    const { state } = run([stopAll(T1), crmSync(T3, { email: 'granted', basis: 'opt-in', capturedAt: T2 })], {}, nurturing());
    expect(canEmail(state)).toBe(true);
  });

  it('an opt-in captured before the unsubscribe does not lift it, however late it arrives', () => {
    const { state } = run([stopAll(T2), optIn(T3, T1)], {}, nurturing());
    expect(canEmail(state)).toBe(false);
    expect(state.suppressions.map((s) => s.scope)).toContain('all-email');
  });

  it('an explicit opt-in lifts a do-not-contact too', () => {
    const dnc = ev('consent-changed', 'e-dnc', T1, { action: 'do-not-contact' });
    const { state } = run([dnc, optIn(T3, T2)], {}, nurturing());
    expect(state.suppressions.map((s) => s.scope)).not.toContain('do-not-contact');
    expect(canEmail(state)).toBe(true);
  });

  it('out of order: an older unsubscribe does not win over a newer opt-in, in both orders', () => {
    const inOrder = run([stopAll(T1), optIn(T2)], {}, nurturing()).state;
    const reversed = run([optIn(T2), stopAll(T1)], {}, nurturing());
    expect(canEmail(inOrder)).toBe(true);
    expect(canEmail(reversed.state)).toBe(true);
    expect(reversed.state.consent?.email).toBe('granted');
    expect(applied(reversed.last).superseded).toBe(true);
    expect(applied(reversed.last).timeline[0]?.superseded).toBe(true);
  });

  it('out of order: an older opt-in does not win over a newer unsubscribe, in both orders', () => {
    const inOrder = run([optIn(T1), stopAll(T2)], {}, nurturing()).state;
    const reversed = run([stopAll(T2), optIn(T1)], {}, nurturing()).state;
    for (const s of [inOrder, reversed]) {
      expect(s.consent?.email).toBe('denied');
      expect(canEmail(s)).toBe(false);
      expect(s.suppressions.map((x) => x.scope)).toContain('all-email');
    }
  });

  // BUG (functions/domain/relationship.ts, applyConsentChange): a withdrawal older than the
  // consent on record is "superseded" even when that newer consent is a non-explicit grant that
  // could never have lifted it. Applied in time order the unsubscribe stands; delivered late it
  // is dropped, so the person gets automated e-mail after unsubscribing.
  it('a late-arriving unsubscribe still wins over a newer legitimate-interest sync (order must not matter)', () => {
    const sync = crmSync(T3, { email: 'granted', basis: 'legitimate-interest' });
    const inOrder = run([stopAll(T2), sync], {}, nurturing()).state;
    const late = run([sync, stopAll(T2)], {}, nurturing()).state;
    expect(canEmail(inOrder)).toBe(false);
    expect(canEmail(late)).toBe(false);
  });

  it('a late-arriving do-not-contact is honoured even when a newer legitimate-interest sync is on record', () => {
    const sync = crmSync(T3, { email: 'granted', basis: 'legitimate-interest' });
    const dnc = ev('consent-changed', 'e-dnc', T2, { action: 'do-not-contact' });
    const { state } = run([sync, dnc], {}, nurturing());
    expect(state.stage).toBe('retired');
    expect(state.nextTouch).toBeNull();
  });

  // BUG (functions/domain/relationship.ts, applyConsentChange case 'do-not-contact'): moveTo(next,
  // 'retired', at) sets stageChangedAt to the do-not-contact's own occurredAt even when it is older
  // than the last state change, so the "superseded" fence moves back in time.
  it('a late do-not-contact does not move the last state change back in time', () => {
    const dnc = ev('consent-changed', 'e-dnc', T1, { action: 'do-not-contact' });
    const won = ev('deal-won', 'e-won', T2, {});
    const { state, last } = run([lost('e-l', T3), dnc, won], {}, undefined);
    // The loss at T3 is the newest state change; the deal-won at T2 is older than it.
    expect(applied(last).superseded).toBe(true);
    expect(state.stage).toBe('retired');
    expect(state.stageChangedAt).toBe(T3);
  });
});

describe('contact-moved: the history follows them', () => {
  it('someone who left is found at a new company: back in nurture, re-keyed to the new address, fresh consent needed', () => {
    const emailHashOf = (e: string) => `hash:${e}`;
    const withConsent = nurturing();
    expect(canEmail(withConsent)).toBe(true);
    const left = applied(
      applyInbound(withConsent, 'e-left', ev('contact-moved', 'e-left', ago(30 * 60_000), { leftCompany: true, newCompany: 'Globex' }), ctx()),
    ).state;
    expect(left.stage).toBe('retired');
    const found = applied(
      applyInbound(
        left,
        'e-found',
        ev('contact-moved', 'e-found', ago(10 * 60_000), { newAccountId: 'globex.example', newCompany: 'Globex', newEmail: 'dana.new@globex.example' }),
        ctx({ emailHashOf }),
      ),
    );
    expect(found.state.stage).toBe('nurturing');
    expect(found.state.accountId).toBe('globex.example');
    expect(found.state.contact.email).toBe('dana.new@globex.example');
    expect(found.state.emailHash).toBe('hash:dana.new@globex.example');
    expect(found.state.consent?.email).toBe('unknown');
    expect(canEmail(found.state)).toBe(false);
    // the lost reason and the history stay: nothing reboots
    expect(found.state.nurture?.lostReason).toBe(withConsent.nurture?.lostReason);
    expect(found.timeline[0]?.summary).toContain('fresh consent needed');
  });

  it('a move without a new address keeps consent and stage', () => {
    const s = nurturing();
    const moved = applied(applyInbound(s, 'e-mv', ev('contact-moved', 'e-mv', ago(10 * 60_000), { newAccountId: 'initech.example' }), ctx())).state;
    expect(moved.stage).toBe('nurturing');
    expect(moved.consent).toEqual(s.consent);
    expect(moved.accountId).toBe('initech.example');
  });
});

describe('a late stop after the consent log was compacted', () => {
  it('still stands: 17 CRM syncs, then a do-not-contact dated before them, arriving late (a DLQ redrive)', () => {
    let s = nurturing();
    for (let i = 0; i < 17; i++) {
      const at = new Date(Date.parse(lostAt) + (i + 1) * 60_000).toISOString();
      s = applied(applyInbound(s, `sync-${i}`, ev('contact-updated', `sync-${i}`, at, {}, { ...DANA, consent: { email: 'granted', basis: 'legitimate-interest' } }), ctx())).state;
    }
    const dnc = ev('consent-changed', 'late-dnc', new Date(Date.parse(lostAt) + 30_000).toISOString(), { action: 'do-not-contact' });
    const d = applied(applyInbound(s, 'late-dnc', dnc, ctx()));
    expect(d.superseded).toBe(false);
    expect(d.state.suppressions.map((x) => x.scope)).toContain('do-not-contact');
    expect(d.state.stage).toBe('retired');
    expect(canEmail(d.state)).toBe(false);
  });
});

describe('referral-received', () => {
  it('remembers when the first referral arrived, whatever order the events come in', () => {
    const later = ago(2 * H);
    const earlier = ago(5 * H);
    const { state } = run([ev('referral-received', 'e-ref-2', later, { referredBy: 'crm-contact-7' }), ev('referral-received', 'e-ref-1', earlier, {})]);
    expect(state.stage).toBe('nurturing');
    expect(state.referredAt).toBe(new Date(earlier).toISOString());
    // A referral arriving later again changes nothing.
    expect(applied(applyInbound(state, 'e-ref-3', ev('referral-received', 'e-ref-3', ago(1 * H), {}), ctx())).state.referredAt).toBe(new Date(earlier).toISOString());
  });
});

// ----- with the cadence planner: replans on a profile change, resuming after the deal ---------

const shipped = loadConfig('config');
const lostDeal = shipped.cadence.tracks.find((t) => t.id === 'lost-deal');
if (!lostDeal) throw new Error('the shipped cadence has no lost-deal track');
/** The shipped playbook with a track for referral partners before it (first match wins). */
const withPartners: CultivateConfig = {
  ...shipped,
  cadence: { ...shipped.cadence, tracks: [{ ...lostDeal, id: 'referral-partners', when: { roles: ['referral-partner'] } }, ...shipped.cadence.tracks] },
};
const cadence = createCadencePlanner(withPartners);

/** The touch's local weekday and time in `tz`, e.g. "Tue 10:37". */
const localTime = (at: string, tz: string) => new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(at));

/** The planned touch done as planned, at its due instant (the send path's bookkeeping). */
function done(state: RelationshipState, planner: Planner): RelationshipState {
  const t = state.nextTouch;
  if (!t) throw new Error('nothing planned');
  const result = t.channel === 'email' ? { kind: 'email-sent' as const, messageId: `m-${t.touchId}`, title: t.contentId ?? '' } : { kind: 'task-assigned' as const, title: t.kind };
  const r = recordTouch(state, t, result, new Date(t.at), planner);
  if (!r) throw new Error('touch not recorded');
  return r.state;
}

describe('a profile change replans the touch already planned, when the plan depends on it', () => {
  const c = (now: Date) => ctx({ planner: cadence, now });
  /** Dana (champion, America/Chicago, owner Sam in New York) in nurture, thank-you done: a value e-mail is planned. */
  function emailPlanned(): RelationshipState {
    const s = applied(applyInbound(undefined, 'e-lost', lost(), c(NOW))).state;
    expect(s.nextTouch).toMatchObject({ kind: 'thank-you-note', rule: expect.stringMatching(/^lost-deal: /) });
    const next = done(s, cadence);
    expect(next.nextTouch).toMatchObject({ channel: 'email', kind: 'value-email' });
    return next;
  }
  const update = (state: RelationshipState, id: string, patch: Record<string, unknown>) => {
    const now = new Date(Date.parse(state.updatedAt) + H);
    return applied(applyInbound(state, id, ev('contact-updated', id, now.toISOString(), {}, { email: DANA.email, ...patch }), c(now)));
  };

  it('a new role that another track takes: new plan on that track, and the timeline says why', () => {
    const s = emailPlanned();
    expect(s.nextTouch?.rule).toMatch(/^lost-deal: weekly value e-mail 1 of 8/);
    const d = update(s, 'e-role', { role: 'referral-partner' });
    expect(trackOfState(withPartners, d.state)?.id).toBe('referral-partners');
    expect(d.state.planVersion).toBe(s.planVersion + 1);
    expect(d.state.nextTouch?.touchId).not.toBe(s.nextTouch?.touchId);
    expect(d.state.nextTouch?.rule).toMatch(/^referral-partners: weekly value e-mail 1 of 8/);
    expect(d.timeline).toEqual([
      expect.objectContaining({ type: 'contact-updated', summary: 'Contact details updated; plan redone: track lost-deal -> referral-partners', detail: { replannedFor: 'track lost-deal -> referral-partners' } }),
    ]);
  });

  it('a new title or name changes nothing the plan reads: no replan, no new plan version', () => {
    const s = emailPlanned();
    const d = update(s, 'e-title', { title: 'Chief Revenue Officer', name: 'Dana Reyes' });
    expect(d.state.contact.title).toBe('Chief Revenue Officer');
    expect(d.state.planVersion).toBe(s.planVersion);
    expect(d.state.nextTouch).toEqual(s.nextTouch);
    expect(d.timeline.map((e) => e.summary)).toEqual(['Contact details updated']);
    // A role the same track takes (no referral-partners condition holds) does not replan either.
    expect(update(s, 'e-role-same', { role: 'evaluator' }).state.planVersion).toBe(s.planVersion);
  });

  it("a new time zone moves the next e-mail to the same weekday and time in the new zone", () => {
    const s = emailPlanned();
    const before = s.nextTouch?.at as string;
    const d = update(s, 'e-tz', { timezone: 'Europe/Berlin' });
    const after = d.state.nextTouch?.at as string;
    expect(d.state.planVersion).toBe(s.planVersion + 1);
    expect(localTime(after, 'Europe/Berlin')).toBe(localTime(before, 'America/Chicago'));
    expect(Date.parse(after)).not.toBe(Date.parse(before));
    expect(d.timeline[0]?.summary).toBe('Contact details updated; plan redone: contact zone America/Chicago -> Europe/Berlin');
  });

  it("a new owner in another zone replans the owner's task to their working hours; one in the same zone does not", () => {
    const s = applied(applyInbound(undefined, 'e-lost', lost(), c(NOW))).state;
    const task = s.nextTouch?.at as string;
    // Sam is in New York, Riley (the manager) in Chicago: the thank-you note moves an hour later in UTC.
    const d = update(s, 'e-owner', { owner: 'riley@seller.example' });
    expect(d.state.planVersion).toBe(s.planVersion + 1);
    expect(localTime(d.state.nextTouch?.at as string, 'America/Chicago')).toBe(localTime(task, 'America/New_York'));
    expect(d.timeline[0]?.detail).toEqual({ replannedFor: 'owner zone America/New_York -> America/Chicago' });
    // Lena is inactive and her touches go to Riley: the zone that does the task is still Chicago.
    expect(update(d.state, 'e-owner-2', { owner: 'lena@seller.example' }).state.planVersion).toBe(d.state.planVersion);
  });

  it('nothing is replanned for someone not in nurture, and a planner without planInputs never replans on a profile change', () => {
    const inDeal = applied(applyInbound(emailPlanned(), 'e-deal', ev('deal-created', 'e-deal', NOW.toISOString(), { dealId: 'd-2' }), c(new Date(NOW.getTime() + 3 * DAY)))).state;
    const d = update(inDeal, 'e-role', { role: 'referral-partner' });
    expect(d.state.planVersion).toBe(inDeal.planVersion);
    expect(d.timeline[0]?.summary).toBe('Contact details updated');
    const backbone = applied(applyInbound(undefined, 'e-lost', lost(), ctx())).state;
    const now = new Date(NOW.getTime() + H);
    const e = ev('contact-updated', 'e-tz', now.toISOString(), {}, { email: DANA.email, timezone: 'Europe/Berlin', role: 'referral-partner' });
    expect(applied(applyInbound(backbone, 'e-tz', e, ctx({ now }))).state.planVersion).toBe(backbone.planVersion);
  });
});

describe('the same deal lost again for another reason corrects the lost reason ("what could we have done better?")', () => {
  const T0 = '2026-03-02T15:00:00.000Z';
  const c = (now: string) => ctx({ planner: cadence, now: new Date(now) });
  const lostOn = (id: string, at: string, reason: string) =>
    ev('lead-closed-lost', id, at, { reason, dealId: 'd-1' }, { ...DANA, consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-03-02T10:00:00Z' } });
  const thanked = () => done(applied(applyInbound(undefined, 'l1', lostOn('l1', T0, 'timing'), c(T0))).state, cadence);

  it('keeps the episode and its history, and the track follows the corrected reason', () => {
    const s = thanked();
    expect(s.nextTouch?.rule).toMatch(/^lost-deal: /);
    const T1 = '2026-03-12T15:00:00.000Z';
    const d = applied(applyInbound(s, 'l2', lostOn('l2', T1, 'unresponsive'), c(T1)));
    expect(d.superseded).toBe(false);
    expect(d.state.nurture).toMatchObject({ lostReason: 'unresponsive', lostAt: T0, reasonAt: T1, dealId: 'd-1' });
    expect(d.state.history).toEqual(s.history);
    // lost-no-weekly: no weekly e-mail; its next touch is the quarterly requalification.
    expect(d.state.nextTouch).toMatchObject({ kind: 'requalification', rule: expect.stringMatching(/^lost-no-weekly: /) });
    expect(d.timeline[0]?.summary).toBe('Lost reason corrected: timing -> unresponsive; plan redone: track lost-deal -> lost-no-weekly');
  });

  it('the same reason again, or an older correction, changes nothing (superseded)', () => {
    const s = thanked();
    const again = applied(applyInbound(s, 'l2', lostOn('l2', '2026-03-12T15:00:00.000Z', 'timing'), c('2026-03-12T15:00:00.000Z')));
    expect(again.superseded).toBe(true);
    expect(again.state.nurture?.lostReason).toBe('timing');
    const corrected = applied(applyInbound(s, 'l3', lostOn('l3', '2026-03-20T15:00:00.000Z', 'budget'), c('2026-03-20T15:00:00.000Z'))).state;
    const older = applied(applyInbound(corrected, 'l4', lostOn('l4', '2026-03-15T15:00:00.000Z', 'no-need'), c('2026-03-21T15:00:00.000Z')));
    expect(older.superseded).toBe(true);
    expect(older.state.nurture?.lostReason).toBe('budget');
  });
});

describe('in-deal pauses nurture; the loss of that deal resumes it where it left off', () => {
  const T0 = '2026-03-02T15:00:00.000Z';
  const c = (now: string) => ctx({ planner: cadence, now: new Date(now) });
  const addDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY).toISOString();
  const lostOn = (id: string, at: string, data: Record<string, unknown>) =>
    ev('lead-closed-lost', id, at, { reason: 'timing', ...data }, { ...DANA, consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-03-02T10:00:00Z' } });

  /** Lost deal d-1 at T0; the thank-you and three weekly e-mails done; then deal d-2 is created. */
  function pausedByDeal(dealId: string | null = 'd-2') {
    let s = applied(applyInbound(undefined, 'e-lost-1', lostOn('e-lost-1', T0, { dealId: 'd-1', amount: 24000 }), c(T0))).state;
    for (let i = 0; i < 4; i++) s = done(s, cadence);
    expect(s.history).toMatchObject({ cadenceStep: 4, emailsSent: 3, tasksAssigned: 1 });
    const dealAt = addDays(s.history.lastEmailAt as string, 3);
    const d = applied(applyInbound(s, 'e-deal', ev('deal-created', 'e-deal', dealAt, dealId ? { dealId } : {}), c(dealAt)));
    expect(d.state.stage).toBe('in-deal');
    expect(d.state.nextTouch).toBeNull();
    expect(d.state.nurture?.openDeal).toEqual({ createdAt: dealAt, ...(dealId && { dealId }) });
    return d.state;
  }

  it('keeps lostAt and the history: no second thank-you, the e-mail numbering goes on; the quiet clock counts from the resume', () => {
    const paused = pausedByDeal();
    // Eight months after the first loss: past its six quiet months, so without the resume floor no e-mail would go.
    const T4 = '2026-11-02T15:00:00.000Z';
    const d = applied(applyInbound(paused, 'e-lost-2', lostOn('e-lost-2', T4, { reason: 'budget', dealId: 'd-2', amount: 50000 }), c(T4)));
    expect(d.superseded).toBe(false);
    expect(d.state.stage).toBe('nurturing');
    expect(d.state.nurture).toEqual({ lostReason: 'budget', lostAt: T0, resumedAt: T4, dealId: 'd-2', amount: 50000 });
    expect(d.state.history).toEqual(paused.history);
    expect(d.state.nextTouch).toMatchObject({ channel: 'email', kind: 'value-email', step: 4, rule: expect.stringMatching(/^lost-deal: weekly value e-mail 4 of 8/) });
    expect(paused.history.sentContent).not.toContain(d.state.nextTouch?.contentId);
    const at = Date.parse(d.state.nextTouch?.at as string);
    expect(at).toBeGreaterThanOrEqual(Date.parse(T4));
    expect(at).toBeLessThan(Date.parse(addDays(T4, 8)));
    expect(quietCutoff(lostDeal, d.state)?.toISOString()).toBe('2027-05-02T15:00:00.000Z');
    expect(quietCutoff(lostDeal, { ...d.state, nurture: { ...d.state.nurture!, resumedAt: undefined } })?.toISOString()).toBe('2026-09-02T15:00:00.000Z');
    expect(d.timeline).toEqual([
      expect.objectContaining({ type: 'lead-closed-lost', summary: 'Closed lost again: budget; nurture resumes where it left off', detail: { reason: 'budget', dealId: 'd-2', amount: 50000, resumed: true } }),
    ]);
    // The same deal's loss imported again later is superseded, as for any deal in nurture.
    const again = applied(applyInbound(d.state, 'imp', lostOn('imp', addDays(T4, 1), { reason: 'budget', dealId: 'd-2' }), c(addDays(T4, 1))));
    expect(again.superseded).toBe(true);
  });

  it('a loss without a deal id while in that deal resumes too; so does any loss when the deal came without an id', () => {
    const T4 = '2026-06-01T15:00:00.000Z';
    const noId = applied(applyInbound(pausedByDeal(), 'e-lost-2', lostOn('e-lost-2', T4, {}), c(T4)));
    expect(noId.state.nurture).toMatchObject({ lostAt: T0, resumedAt: T4, dealId: 'd-2' });
    const anonymous = applied(applyInbound(pausedByDeal(null), 'e-lost-2', lostOn('e-lost-2', T4, { dealId: 'd-9' }), c(T4)));
    expect(anonymous.state.nurture).toMatchObject({ lostAt: T0, resumedAt: T4, dealId: 'd-9' });
  });

  it('a resume that changes the track says so', () => {
    const paused = pausedByDeal();
    const T4 = '2026-06-01T15:00:00.000Z';
    const d = applied(applyInbound(paused, 'e-lost-2', lostOn('e-lost-2', T4, { reason: 'unresponsive', dealId: 'd-2' }), c(T4)));
    expect(d.timeline[0]?.summary).toBe('Closed lost again: unresponsive; nurture resumes where it left off; plan redone: track lost-deal -> lost-no-weekly');
    expect(d.state.nurture?.lostAt).toBe(T0);
  });

  it('the loss of another deal while in deal starts a new episode, as does a deal that began after re-engagement', () => {
    const T4 = '2026-06-01T15:00:00.000Z';
    const other = applied(applyInbound(pausedByDeal(), 'e-lost-3', lostOn('e-lost-3', T4, { dealId: 'd-3' }), c(T4)));
    expect(other.state.nurture).toEqual({ lostReason: 'timing', lostAt: T4, dealId: 'd-3' });
    expect(other.timeline[0]?.summary).toBe('Closed lost: timing');

    const s = applied(applyInbound(undefined, 'e-lost-1', lostOn('e-lost-1', T0, { dealId: 'd-1' }), c(T0))).state;
    const replied = applied(applyInbound(s, 'e-re', ev('contact-replied', 'e-re', addDays(T0, 10), {}), c(addDays(T0, 10)))).state;
    const deal = applied(applyInbound(replied, 'e-deal', ev('deal-created', 'e-deal', addDays(T0, 20), { dealId: 'd-2' }), c(addDays(T0, 20)))).state;
    expect(deal.nurture?.openDeal).toBeUndefined();
    const lostAgain = applied(applyInbound(deal, 'e-lost-2', lostOn('e-lost-2', T4, { dealId: 'd-2' }), c(T4)));
    expect(lostAgain.state.nurture).toMatchObject({ lostAt: T4 });
    expect(lostAgain.state.nurture?.resumedAt).toBeUndefined();
  });
});

// ----- a referral enters nurture (issue #4: tracks chosen by the entering event) -----------------

describe('referral-received for someone not yet in nurture: a referral episode', () => {
  const T0 = '2026-03-02T15:00:00.000Z';
  const shippedCadence = createCadencePlanner(shipped);
  const c = (now: string, over: Partial<ApplyContext> = {}) => ctx({ planner: shippedCadence, now: new Date(now), ...over });
  const addDays = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY).toISOString();
  const referral = (id: string, at: string) => ev('referral-received', id, at, { referredBy: 'crm-contact-7', note: 'Asked about forecasting at the user group' }, { ...DANA, role: 'evaluator' });

  it('starts an episode of its own (no lost reason) and plans the referral track: research first', () => {
    const d = applied(applyInbound(undefined, 'e-ref', referral('e-ref', T0), c(T0, { holdout: { percent: 50, salt: 's' } })));
    expect(d.state.stage).toBe('nurturing');
    expect(d.state.nurture).toEqual({ entry: 'referral', lostAt: T0, referredBy: 'crm-contact-7', note: 'Asked about forecasting at the user group' });
    expect(d.state.referredAt).toBe(T0);
    expect(trackOfState(shipped, d.state)?.id).toBe('referral-unreachable');
    expect(d.state.nextTouch).toMatchObject({ channel: 'task', kind: 'research', rule: expect.stringMatching(/^referral-unreachable: research their pain or gain 1 of 1 \(2 days after the referral\)/) });
    // The holdout is a cohort of lost deals: a referral episode takes no decision.
    expect(d.state.holdout).toBeUndefined();
    expect(d.timeline).toEqual([expect.objectContaining({ type: 'referral-received', summary: 'Referral received: enters nurture', detail: { referredBy: 'crm-contact-7', entered: true } })]);
  });

  it('plans nothing where no track lists referrals (a track without `when` takes lost deals only)', () => {
    const lostDealsOnly: CultivateConfig = { ...shipped, cadence: { ...shipped.cadence, tracks: [...shipped.cadence.tracks.filter((t) => t.id !== 'referral-unreachable'), { ...lostDeal, id: 'everyone-else', when: undefined }] } };
    const d = applied(applyInbound(undefined, 'e-ref', referral('e-ref', T0), c(T0, { planner: createCadencePlanner(lostDealsOnly) })));
    expect(d.state.nurture?.entry).toBe('referral');
    expect(trackOfState(lostDealsOnly, d.state)).toBeUndefined();
    expect(d.state.nextTouch).toBeNull();
  });

  it('for someone already nurturing (or in a deal, a customer, retired, re-engaged) only records when the referral came', () => {
    const lostOn = ev('lead-closed-lost', 'e-lost', T0, { reason: 'timing' }, { ...DANA, consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-03-02T10:00:00Z' } });
    const nurtured = applied(applyInbound(undefined, 'e-lost', lostOn, c(T0))).state;
    const later = addDays(T0, 5);
    const d = applied(applyInbound(nurtured, 'e-ref', referral('e-ref', later), c(later)));
    expect(d.state.nurture).toEqual(nurtured.nurture);
    expect(d.state.nextTouch).toEqual(nurtured.nextTouch);
    expect(d.state.planVersion).toBe(nurtured.planVersion);
    expect(d.state.referredAt).toBe(later);
    expect(d.timeline[0]?.summary).toBe('Referral received');

    const inDeal = applied(applyInbound(undefined, 'e-deal', ev('deal-created', 'e-deal', T0, { dealId: 'd-1' }), c(T0))).state;
    const customer = applied(applyInbound(inDeal, 'e-won', ev('deal-won', 'e-won', addDays(T0, 1), { dealId: 'd-1' }), c(addDays(T0, 1)))).state;
    const retired = applied(applyInbound(undefined, 'e-dnc', ev('consent-changed', 'e-dnc', T0, { action: 'do-not-contact' }), c(T0))).state;
    const reEngaged = applied(applyInbound(undefined, 'e-re', ev('contact-replied', 'e-re', T0, {}), c(T0))).state;
    for (const s of [inDeal, customer, retired, reEngaged]) {
      const r = applied(applyInbound(s, 'e-ref', referral('e-ref', later), c(later)));
      expect(r.state.stage).toBe(s.stage);
      expect(r.state.nurture).toBeUndefined();
      expect(r.state.nextTouch).toBeNull();
      expect(r.state.referredAt).toBe(later);
    }
  });

  it('a deal lost after the referral starts a lost-deal episode (it does not resume the referral one)', () => {
    let s = applied(applyInbound(undefined, 'e-ref', referral('e-ref', T0), c(T0))).state;
    const dealAt = addDays(T0, 20);
    s = applied(applyInbound(s, 'e-deal', ev('deal-created', 'e-deal', dealAt, { dealId: 'd-1' }), c(dealAt))).state;
    expect(s.stage).toBe('in-deal');
    const lostAtT = addDays(T0, 60);
    const d = applied(applyInbound(s, 'e-lost', ev('lead-closed-lost', 'e-lost', lostAtT, { reason: 'timing', dealId: 'd-1' }, { ...DANA, consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-03-02T10:00:00Z' } }), c(lostAtT)));
    expect(d.state.nurture).toEqual({ lostReason: 'timing', lostAt: lostAtT, dealId: 'd-1' });
    expect(d.timeline[0]).toMatchObject({ summary: 'Closed lost: timing', detail: { reason: 'timing', dealId: 'd-1' } });
    expect(trackOfState(shipped, d.state)?.id).toBe('lost-deal');
  });

  it('the metrics count the referral, not an entry into nurture; deals after it stay the referral\'s, live and rebuilt alike', () => {
    const holdout = { percent: 10, salt: 'test-salt-2026' };
    const fctx = { holdout, trackOf: () => 'standard', seriesOf: () => 'none', onTimeGraceHours: 24 };
    const d = applied(applyInbound(undefined, 'e-ref', referral('e-ref', T0), c(T0)));
    const profile = profileOf(d.state, holdout);
    expect(profile.episode).toBeUndefined();
    expect(profile.referredAt).toBe(T0);
    const image = (e: TimelineEntry) => ({ pk: `REL#${REL}`, sk: `TL#${e.at}#${e.eventId}`, e });
    const entryFacts = factsOf(undefined, image(d.timeline[0] as TimelineEntry), { ...fctx, at: T0, profile });
    expect(entryFacts.map((f) => f.metric)).toEqual(['referral.received']);
    const dealAt = addDays(T0, 20);
    const deal = applied(applyInbound(d.state, 'e-deal', ev('deal-created', 'e-deal', dealAt, { dealId: 'd-1', amount: 9000 }), c(dealAt)));
    const dealFacts = factsOf(undefined, image(deal.timeline[0] as TimelineEntry), { ...fctx, at: dealAt, profile: profileOf(deal.state, holdout) });
    expect(dealFacts.find((f) => f.metric === 'crm.deal-created')?.dims.source).toBe('referral');
    expect(dealFacts.map((f) => f.metric)).not.toContain('nurture.re-engaged');
    // The rebuild reads the same timeline with the final state: the same facts.
    const rebuilt = relationshipFacts({ state: deal.state, timeline: [...d.timeline, ...deal.timeline].map(image) }, fctx).map((f) => f.metric);
    expect(rebuilt.filter((m) => m !== 'relationships')).toEqual([...entryFacts, ...dealFacts].map((f) => f.metric));
    expect(rebuilt).not.toContain('nurture.entered');
  });

  it("the rep's brief names the referral, not a loss", () => {
    const s = applied(applyInbound(undefined, 'e-ref', referral('e-ref', T0), c(T0))).state;
    const replyAt = addDays(T0, 30);
    const d = applied(applyInbound(s, 'e-re', ev('contact-replied', 'e-re', replyAt, { classification: 'human' }), c(replyAt)));
    const brief = d.emit.find((e) => e.type === 'relationship-re-engaged')?.detail.brief;
    expect(ReEngagementBrief.parse(brief)).toEqual(brief);
    expect(brief).not.toHaveProperty('lostReason');
    expect(brief).not.toHaveProperty('lostAt');
    expect(brief).not.toHaveProperty('lostNote');
    expect(brief?.daysInNurture).toBe(30);
    expect(brief?.engaged.at(-1)).toEqual({ at: T0, what: 'Referred by crm-contact-7: Asked about forecasting at the user group' });
  });
});
