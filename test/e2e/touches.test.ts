/**
 * End to end, the touches: lost deals in five time zones go in (each delivered twice), the local
 * clock moves three weeks, and what went out is checked from outside: the e-mails in the local SES
 * store (GET /local/outbox) and the tasks and briefs delivered to the CRM side (GET /local/outbound).
 * Then one contact replies, one clicks the one-click unsubscribe, one is stopped from the CRM, and
 * three more weeks pass. DESIGN.md §1 (cadence, consent), §4 (send path), §5 (unsubscribe, logs).
 *
 * Expectations follow the shipped config/: thank-you task 2 days after the loss in the owner's zone,
 * weekly value e-mails on Tuesdays 09:00-16:00 in the contact's zone (last 15 minutes kept free),
 * Reply-To the owner or, with `replyDomain` set in sending.yaml, a signed reply address for the touch.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readReplyAddress } from '#shared/reply-token';
import { linesContaining, type StackProcess, startStackProcess } from '../helpers/stack.ts';

/** A Monday. */
const CLOCK_START = '2026-11-16T12:00:00.000Z';
const LOST_AT = '2026-11-16T10:00:00.000Z';
const DAY_MS = 86_400_000;

const OWNERS = {
  'sam@seller.example': 'Sam Patel',
  'riley@seller.example': 'Riley Chen',
  'jordan@seller.example': 'Jordan Brooks',
} as const;
type OwnerEmail = keyof typeof OWNERS;
/** The shipped sending config decides where replies go (the owner, or Cultivate's reply subdomain). */
const REPLY_DOMAIN = (parseYaml(readFileSync(new URL('../../config/sending.yaml', import.meta.url), 'utf8')) as { replyDomain?: string }).replyDomain;
/** The local stack keeps its unsubscribe (and reply) key in its data folder. */
const unsubscribeKey = () => readFileSync(join(stack.dataDir, 'unsubscribe.key'), 'utf8').trim();

interface Fixture {
  key: string;
  email: string;
  name: string;
  timezone: string;
  reason: 'timing' | 'budget' | 'unresponsive';
  consent: 'granted' | 'unknown';
  owner: OwnerEmail;
}

const C = {
  chicago: { key: 'chicago', email: 'harriet.calloway.fixture@example.com', name: 'Harriet Calloway-Fixture', timezone: 'America/Chicago', reason: 'timing', consent: 'granted', owner: 'sam@seller.example' },
  berlin: { key: 'berlin', email: 'Friedrich.Obermaier.Fixture@Example.de', name: 'Friedrich Obermaier-Fixture', timezone: 'Europe/Berlin', reason: 'budget', consent: 'granted', owner: 'riley@seller.example' },
  tokyo: { key: 'tokyo', email: 'haruki.tanabe.fixture@example.jp', name: 'Haruki Tanabe-Fixture', timezone: 'Asia/Tokyo', reason: 'timing', consent: 'granted', owner: 'jordan@seller.example' },
  la: { key: 'la', email: 'lucinda.marchetti.fixture@example.com', name: 'Lucinda Marchetti-Fixture', timezone: 'America/Los_Angeles', reason: 'budget', consent: 'granted', owner: 'sam@seller.example' },
  sydney: { key: 'sydney', email: 'callum.ashdown.fixture@example.com.au', name: 'Callum Ashdown-Fixture', timezone: 'Australia/Sydney', reason: 'timing', consent: 'granted', owner: 'riley@seller.example' },
  noConsent: { key: 'noConsent', email: 'priya.venkataraman.fixture@example.com', name: 'Priya Venkataraman-Fixture', timezone: 'America/Chicago', reason: 'timing', consent: 'unknown', owner: 'jordan@seller.example' },
  unresponsive: { key: 'unresponsive', email: 'oskar.lindqvist.fixture@example.se', name: 'Oskar Lindqvist-Fixture', timezone: 'Europe/Berlin', reason: 'unresponsive', consent: 'granted', owner: 'sam@seller.example' },
} as const satisfies Record<string, Fixture>;
const ALL: Fixture[] = Object.values(C);
const CONSENTING: Fixture[] = [C.chicago, C.berlin, C.tokyo, C.la, C.sydney];
const LEAVERS: Fixture[] = [C.chicago, C.berlin, C.tokyo];
const STAYERS: Fixture[] = [C.la, C.sydney];

function lostDeal(f: Fixture) {
  return {
    id: `touches-lost-${f.key}`,
    type: 'lead-closed-lost',
    occurredAt: LOST_AT,
    contact: {
      externalId: `crm-${f.key}`,
      email: f.email,
      name: f.name,
      accountId: `${f.key}.example`,
      company: `${f.key} GmbH`,
      timezone: f.timezone,
      owner: f.owner,
      role: 'champion',
      consent:
        f.consent === 'granted'
          ? { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-05-04T09:00:00Z' }
          : { email: 'unknown' },
    },
    data: { reason: f.reason, note: 'Revisit next quarter', dealId: `deal-${f.key}`, amount: 18000 },
  };
}

interface OutboxEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
  headers?: { name: string; value: string }[];
  sentAt: string;
  relationshipId: string;
  touchId: string;
}
interface OutboundMessage {
  key: string;
  type: string;
  at: string;
  relationshipId: string;
  owner?: string;
  payload: Record<string, any>;
}
interface Fired {
  relationshipId: string;
  touchId: string;
  channel: string;
  kind: string;
  dueAt: string;
  outcome: string;
}

/** Local wall-clock fields of an instant in a zone, with Intl only. */
function local(instant: string, timeZone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(instant));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const date = `${get('year')}-${get('month')}-${get('day')}`;
  const hhmm = `${get('hour')}:${get('minute')}`;
  return { weekday: get('weekday'), date, hhmm, minuteOfDay: Number(get('hour')) * 60 + Number(get('minute')), dayNumber: Date.parse(`${date}T00:00:00Z`) / DAY_MS };
}

let stack: StackProcess;
const relId = new Map<string, string>();
const fixtureOf = (relationshipId: string) => ALL.find((f) => relId.get(f.key) === relationshipId);

const outbox = async () => (await stack.get<OutboxEmail[]>('/local/outbox')).body;
const outbound = async () => (await stack.get<OutboundMessage[]>('/local/outbound')).body;
const to = (e: OutboxEmail) => (e.destination.to[0] ?? '').toLowerCase();
const mailsTo = (mails: OutboxEmail[], f: Fixture) => mails.filter((m) => to(m) === f.email.toLowerCase());
const header = (e: OutboxEmail, name: string) => e.headers?.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
const unsubscribeUrlOf = (e: OutboxEmail) => /^<([^>]+)>$/.exec(header(e, 'List-Unsubscribe') ?? '')?.[1];
const advance = async (by: string) => {
  const r = await stack.post<{ from: string; now: string; fired: Fired[] }>('/local/clock', { advanceBy: by });
  expect(r.status).toBe(200);
  return r.body;
};

/** The weekly rhythm per person: Tuesday 09:00-16:00 local, exactly 7 local days apart, same HH:MM, no repeats. */
function expectWeeklyRhythm(mails: OutboxEmail[], f: Fixture) {
  const mine = mailsTo(mails, f).sort((a, b) => a.sentAt.localeCompare(b.sentAt));
  for (const m of mine) {
    const l = local(m.sentAt, f.timezone);
    expect({ who: f.key, sentAt: m.sentAt, weekday: l.weekday }).toEqual({ who: f.key, sentAt: m.sentAt, weekday: 'Tue' });
    expect(l.minuteOfDay, `${f.key} ${m.sentAt} local ${l.hhmm}`).toBeGreaterThanOrEqual(9 * 60);
    expect(l.minuteOfDay, `${f.key} ${m.sentAt} local ${l.hhmm}`).toBeLessThan(16 * 60);
    // The planner keeps the window's last 15 minutes free; a send goes within a second of its slot.
    expect(l.minuteOfDay, `${f.key} ${m.sentAt} local ${l.hhmm}`).toBeLessThanOrEqual(16 * 60 - 15 - 1);
    expect(m.relationshipId).toBe(relId.get(f.key));
  }
  for (let i = 1; i < mine.length; i++) {
    const a = local((mine[i - 1] as OutboxEmail).sentAt, f.timezone);
    const b = local((mine[i] as OutboxEmail).sentAt, f.timezone);
    expect({ who: f.key, days: b.dayNumber - a.dayNumber, hhmm: b.hhmm }).toEqual({ who: f.key, days: 7, hhmm: a.hhmm });
  }
  // At most one e-mail in any 7-day span (real time, too).
  for (let i = 1; i < mine.length; i++) {
    expect(Date.parse((mine[i] as OutboxEmail).sentAt) - Date.parse((mine[i - 1] as OutboxEmail).sentAt)).toBeGreaterThanOrEqual(7 * DAY_MS - 2 * 3_600_000);
  }
  const subjects = mine.map((m) => m.subject);
  expect(new Set(subjects).size, `${f.key} got a subject twice: ${subjects.join(' | ')}`).toBe(subjects.length);
  return mine;
}

beforeAll(async () => {
  stack = await startStackProcess({ clockStart: CLOCK_START });
});
afterAll(async () => {
  await stack?.stop();
});

describe('touches, end to end: three weeks of a cadence, then people leave and reply', () => {
  let phase1Fired: Fired[] = [];
  let phase2Start = '';

  it('lost deals for seven contacts, each delivered twice, are accepted once each', async () => {
    const results = await Promise.all(ALL.flatMap((f) => [stack.webhook(lostDeal(f)), stack.webhook(lostDeal(f))]));
    for (const r of results) expect({ status: r.status, body: r.body }).toEqual({ status: 202, body: { accepted: 1 } });
    expect((await stack.post('/local/drain')).status).toBe(200);

    const items = await stack.scanTable();
    for (const f of ALL) {
      const view = await stack.get(`/relationships?email=${encodeURIComponent(f.email)}`);
      expect(view.status).toBe(200);
      expect(view.body).toMatchObject({ stage: 'nurturing', lostReason: f.reason, nextTouch: { channel: 'task', kind: 'thank-you-note' } });
      relId.set(f.key, view.body.id);
      // One relationship per person, written once, in spite of the double delivery.
      const states = items.filter((i) => i.sk === 'STATE' && (i.s as { contact?: { email?: string } }).contact?.email?.toLowerCase() === f.email.toLowerCase());
      expect(states.map((s) => s.pk)).toEqual([`REL#${view.body.id}`]);
      expect(view.body.timeline.filter((e: { eventId: string }) => e.eventId === `generic:touches-lost-${f.key}`)).toHaveLength(1);
    }
  });

  it('three weeks later: the fired touches are sent or assigned, nothing else', async () => {
    const r = await advance('P21D');
    expect(Date.parse(r.now)).toBeGreaterThanOrEqual(Date.parse(CLOCK_START) + 21 * DAY_MS);
    // Task SLA checks ride the same queue (kind task-sla): an open thank-you task past its SLA goes
    // to the owner's manager (escalated), or is dropped when there is none (skipped).
    const slaChecks = r.fired.filter((f) => f.kind === 'task-sla');
    expect(new Set(slaChecks.map((f) => f.outcome)).size).toBeGreaterThan(0);
    for (const f of slaChecks) expect(['escalated', 'skipped']).toContain(f.outcome);
    phase1Fired = r.fired.filter((f) => f.kind !== 'task-sla');
    const outcomes = [...new Set(phase1Fired.map((f) => f.outcome))].sort();
    expect(outcomes).toEqual(['sent', 'task-assigned']);
    // Each touch fired once.
    expect(new Set(phase1Fired.map((f) => f.touchId)).size).toBe(phase1Fired.length);
  });

  it('e-mails go only to consenting contacts, weekly, on Tuesday inside the window in their own zone', async () => {
    const mails = await outbox();
    const recipients = [...new Set(mails.map(to))].sort();
    expect(recipients).toEqual(CONSENTING.map((f) => f.email.toLowerCase()).sort());
    for (const f of CONSENTING) {
      const mine = expectWeeklyRhythm(mails, f);
      // With the shipped config: the Tuesdays of 24 Nov and 1 Dec (the loss was on 16 Nov).
      expect({ who: f.key, count: mine.length }).toEqual({ who: f.key, count: 2 });
    }
    // No duplicates from the double deliveries: every message and touch once.
    expect(new Set(mails.map((m) => m.messageId)).size).toBe(mails.length);
    expect(new Set(mails.map((m) => m.touchId)).size).toBe(mails.length);
    expect(mails.filter((m) => m.relationshipId === relId.get('noConsent') || m.relationshipId === relId.get('unresponsive'))).toEqual([]);
  });

  it('every e-mail has one-click unsubscribe headers, comes from the owner on the sending subdomain and replies go to the owner', async () => {
    const mails = await outbox();
    expect(mails.length).toBeGreaterThan(0);
    for (const m of mails) {
      const f = fixtureOf(m.relationshipId) as Fixture;
      expect(f).toBeDefined();
      const url = unsubscribeUrlOf(m);
      expect(url, `List-Unsubscribe of ${m.touchId}: ${header(m, 'List-Unsubscribe')}`).toBeDefined();
      const parsed = new URL(url as string);
      expect(parsed.origin).toBe(new URL(stack.url).origin);
      expect(parsed.pathname).toMatch(/^\/unsubscribe\/[^/]+$/);
      // The token names no one.
      expect(decodeURIComponent(parsed.pathname).toLowerCase()).not.toContain(f.email.toLowerCase());
      expect(header(m, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      expect(m.body.text).toContain(url);

      const from = /^"?([^"<]*?)"?\s*<([^>]+)>$/.exec(m.from.trim());
      expect(from, m.from).not.toBeNull();
      expect(from?.[1]).toBe(OWNERS[f.owner]);
      expect(from?.[2]).toMatch(/@mail\.seller\.example$/);
      // Replies reach the owner: directly, or (with `replyDomain` in config/sending.yaml) through a
      // tokenized reply address that names this touch and no one's address.
      if (REPLY_DOMAIN) {
        expect(m.replyTo).toHaveLength(1);
        expect(m.replyTo[0]).toMatch(new RegExp(`^r-[a-z2-7]+@${REPLY_DOMAIN.replace(/\./g, '\\.')}$`));
        expect(readReplyAddress([unsubscribeKey()], m.replyTo, REPLY_DOMAIN)).toEqual({ relationshipId: m.relationshipId, touchId: m.touchId });
      } else {
        expect(m.replyTo).toEqual([f.owner]);
      }
    }
  });

  it('the thank-you tasks reached the CRM side, one per person, with touchId and due date; a permission ask only where consent is unknown', async () => {
    const tasks = (await outbound()).filter((m) => m.type === 'task-assigned');
    for (const f of ALL) {
      const mine = tasks.filter((t) => t.relationshipId === relId.get(f.key));
      const thanks = mine.filter((t) => t.payload.kind === 'thank-you-note');
      expect({ who: f.key, thanks: thanks.length }).toEqual({ who: f.key, thanks: 1 });
      const t = thanks[0] as OutboundMessage;
      expect(t.payload.touchId).toMatch(new RegExp(`^${relId.get(f.key)}\\.t\\d+$`));
      // Two days after the loss (16 Nov) in the owner's zone.
      expect(t.payload.dueDate).toBe('2026-11-18');
      expect(t.owner).toBe(f.owner);
      const asks = mine.filter((x) => x.payload.kind === 'permission-ask');
      expect({ who: f.key, asks: asks.length }).toEqual({ who: f.key, asks: f === C.noConsent ? 1 : 0 });
      if (f === C.noConsent) {
        expect((asks[0] as OutboundMessage).payload.touchId).toEqual(expect.any(String));
        expect((asks[0] as OutboundMessage).payload.dueDate > '2026-11-18').toBe(true);
      }
    }
    // The tasks themselves carry no personal data.
    const text = JSON.stringify(tasks).toLowerCase();
    for (const f of ALL) {
      expect(text).not.toContain(f.email.toLowerCase());
      expect(text).not.toContain(f.name.toLowerCase());
    }
  });

  it('a reply, a one-click unsubscribe (after a harmless GET) and a stop from the CRM are taken at once', async () => {
    const now = (await stack.get<{ now: string }>('/local/clock')).body.now;
    phase2Start = now;
    const justBefore = new Date(Date.parse(now) - 60_000).toISOString();

    // 1. Chicago replies.
    const reply = {
      id: 'touches-reply-chicago',
      type: 'contact-replied',
      occurredAt: justBefore,
      contact: { externalId: 'crm-chicago', email: C.chicago.email },
      data: { channel: 'email', classification: 'human' },
    };
    expect((await stack.webhook(reply)).status).toBe(202);

    // 2. Berlin: GET the List-Unsubscribe URL (a link scanner) changes nothing; the one-click POST acts.
    const berlinMails = mailsTo(await outbox(), C.berlin);
    const url = unsubscribeUrlOf(berlinMails[berlinMails.length - 1] as OutboxEmail) as string;
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<form method="post"');
    await stack.post('/local/drain');
    const afterGet = await stack.get(`/relationships?email=${encodeURIComponent(C.berlin.email)}`);
    expect(afterGet.body.consent).toMatchObject({ email: 'granted', suppressions: [] });
    expect(afterGet.body.nextTouch).toMatchObject({ channel: 'email' });
    expect((await stack.scanTable()).filter((i) => String(i.pk).startsWith('SUP#'))).toEqual([]);
    const oneClick = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);
    // A second click (a mailbox retrying the one-click POST) is the same request, not a second change.
    const again = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(again.status).toBe(200);

    // 3. Tokyo is stopped from the CRM.
    const stop = {
      id: 'touches-stop-tokyo',
      type: 'consent-changed',
      occurredAt: justBefore,
      contact: { externalId: 'crm-tokyo', email: C.tokyo.email },
      data: { action: 'stop-all-email', source: 'crm-preference-center' },
    };
    expect((await stack.webhook(stop)).status).toBe(202);
    expect((await stack.post('/local/drain')).status).toBe(200);

    const berlin = await stack.get(`/relationships?email=${encodeURIComponent(C.berlin.email)}`);
    expect(berlin.body.consent.email).toBe('denied');
    expect(berlin.body.consent.suppressions).toEqual(expect.arrayContaining([expect.objectContaining({ scope: 'all-email' })]));
    expect(berlin.body.nextTouch?.channel ?? 'none').not.toBe('email');
    const tokyo = await stack.get(`/relationships?email=${encodeURIComponent(C.tokyo.email)}`);
    expect(tokyo.body.consent.email).toBe('denied');
    expect(tokyo.body.nextTouch?.channel ?? 'none').not.toBe('email');

    // The unsubscribe is reported back to the CRM (a change the CRM made itself is not echoed).
    const consentNews = (await outbound()).filter((m) => m.type === 'consent-changed');
    expect(consentNews.filter((m) => m.relationshipId === relId.get('berlin'))).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ action: 'stop-all-email', email: 'denied' }) }),
    ]);
  });

  it('three more weeks: nothing more to those three; the others keep their weekly e-mail', async () => {
    const r = await advance('P21D');
    expect(r.fired.filter((f) => f.outcome === 'sent' && LEAVERS.some((l) => relId.get(l.key) === f.relationshipId))).toEqual([]);

    const mails = await outbox();
    for (const f of LEAVERS) {
      expect({ who: f.key, after: mailsTo(mails, f).filter((m) => m.sentAt > phase2Start).map((m) => m.sentAt) }).toEqual({ who: f.key, after: [] });
    }
    for (const f of STAYERS) {
      const mine = expectWeeklyRhythm(mails, f);
      // 24 Nov, 1, 8, 15 and 22 Dec.
      expect({ who: f.key, count: mine.length }).toEqual({ who: f.key, count: 5 });
    }
    // Still no repeat and no stranger.
    expect(new Set(mails.map((m) => m.messageId)).size).toBe(mails.length);
    expect([...new Set(mails.map(to))].sort()).toEqual(CONSENTING.map((f) => f.email.toLowerCase()).sort());
  });

  it('the replier is re-engaged and the owner got a brief: why it was lost, what was sent', async () => {
    const view = await stack.get(`/relationships?email=${encodeURIComponent(C.chicago.email)}`);
    expect(view.body.stage).toBe('re-engaged');
    expect(view.body.nextTouch).toBeNull();

    const briefs = (await outbound()).filter((m) => m.type === 'relationship-re-engaged');
    expect(briefs.map((b) => b.relationshipId)).toEqual([relId.get('chicago')]);
    const b = briefs[0] as OutboundMessage;
    expect(b.owner).toBe(C.chicago.owner);
    const brief = b.payload.brief as { lostReason: string; lostAt: string; lostNote?: string; trigger: string; sent: { at: string; channel: string; title: string }[]; engaged: { what: string }[] };
    expect(brief.lostReason).toBe('timing');
    expect(brief.lostAt).toBe(LOST_AT);
    expect(brief.trigger).toMatch(/repl/i);
    const subjects = mailsTo(await outbox(), C.chicago).map((m) => m.subject);
    expect(subjects).toHaveLength(2);
    const sentEmails = brief.sent.filter((s) => s.channel === 'email');
    expect(sentEmails).toHaveLength(subjects.length);
    for (const s of subjects) expect(sentEmails.some((e) => e.title.includes(s))).toBe(true);
    expect(brief.sent.some((s) => s.channel === 'task')).toBe(true); // the thank-you note
    // The brief names no one.
    expect(JSON.stringify(b).toLowerCase()).not.toContain(C.chicago.email.toLowerCase());
    expect(JSON.stringify(b).toLowerCase()).not.toContain(C.chicago.name.toLowerCase());
  });

  it('nothing was dead-lettered', async () => {
    expect((await stack.get('/local/dlq')).body).toEqual([]);
  });

  it('the logs of the whole run carry no fixture e-mail address or name (DESIGN.md §5)', async () => {
    await stack.post('/local/drain');
    const logs = stack.logs();
    expect(logs).toContain('e-mail sent');
    expect(logs).toContain('task assigned');
    expect(linesContaining(logs, ALL.flatMap((f) => [f.email, f.name]))).toEqual([]);
  });
});
