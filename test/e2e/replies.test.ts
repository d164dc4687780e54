/**
 * Replies, end to end against the local stack as a child process: a lost deal, the clock moved
 * until a value e-mail goes, then a reply to its Reply-To posted raw to /local/inbound.
 *   - a human reply: re-engaged, the owner's forward with the brief in /local/outbound, and no
 *     nurture e-mail in the three weeks after;
 *   - an out-of-office with a return date: e-mails pause and resume after it;
 *   - nothing of the replies' text or addresses reaches the logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linesContaining, type StackProcess, startStackProcess } from '../helpers/stack.ts';

const CLOCK_START = '2026-11-16T12:00:00.000Z';
const LOST_AT = '2026-11-16T10:00:00.000Z';
const DAY_MS = 86_400_000;
const REPLY_LINE = 'Sam, this landed at exactly the right time for our budget review';
const OOO_LINE = 'I am out of the office with limited access to email';

interface OutboxEmail {
  replyTo: string[];
  destination: { to: string[] };
  subject: string;
  sentAt: string;
  relationshipId: string;
  touchId: string;
}
interface Outbound {
  key: string;
  type: string;
  relationshipId: string;
  owner?: string;
  payload: Record<string, any>;
}

let stack: StackProcess;

const people = {
  riley: { email: 'riley.reply@customer-replies.example', name: 'Riley Replier', ext: 'rep-riley' },
  olga: { email: 'olga.ooo@customer-replies.example', name: 'Olga Outofoffice', ext: 'rep-olga' },
  uma: { email: 'uma.unsub@customer-replies.example', name: 'Uma Unsub', ext: 'rep-uma' },
  leo: { email: 'leo.left@customer-replies.example', name: 'Leo Left', ext: 'rep-leo' },
};

function lostDeal(p: (typeof people)[keyof typeof people]) {
  return {
    id: `replies-lost-${p.ext}`,
    type: 'lead-closed-lost',
    occurredAt: LOST_AT,
    contact: {
      externalId: p.ext,
      email: p.email,
      name: p.name,
      accountId: `${p.ext}.example`,
      timezone: 'America/Chicago',
      owner: 'sam@seller.example',
      role: 'champion',
      consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-05-04T09:00:00Z' },
    },
    data: { reason: 'timing', note: 'Revisit next quarter', amount: 18000 },
  };
}

async function outboxTo(email: string): Promise<OutboxEmail[]> {
  const res = await stack.get<OutboxEmail[]>('/local/outbox');
  return res.body.filter((m) => m.destination.to.some((t) => t.includes(email)));
}

async function relationship(email: string) {
  return (await stack.get(`/relationships?email=${encodeURIComponent(email)}`)).body;
}

async function clockNow(): Promise<Date> {
  return new Date((await stack.get<{ now: string }>('/local/clock')).body.now);
}

function reply(opts: { to: string; from: string; subject: string; body: string; date: Date; messageId: string; headers?: Record<string, string> }): string {
  return [
    `From: ${opts.from}`,
    `To: ${opts.to}`,
    `Subject: ${opts.subject}`,
    `Date: ${opts.date.toUTCString()}`,
    `Message-ID: <${opts.messageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    '',
    opts.body,
  ].join('\r\n');
}

beforeAll(async () => {
  stack = await startStackProcess({ clockStart: CLOCK_START });
  const res = await stack.webhook(Object.values(people).map(lostDeal));
  expect(res.status).toBe(202);
  // The thank-you task, then the first value e-mails.
  const moved = await stack.post('/local/clock', { advanceBy: 'P10D' });
  expect(moved.status).toBe(200);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

describe('replies, end to end', () => {
  it('a human reply re-engages, forwards to the owner with the brief, and stops the e-mail', async () => {
    const sent = await outboxTo(people.riley.email);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    const last = sent[sent.length - 1] as OutboxEmail;
    const replyTo = last.replyTo[0] as string;
    expect(replyTo).toMatch(/^r-[a-z2-7]{50}@reply\.seller\.example$/);

    const raw = reply({
      to: replyTo,
      from: `${people.riley.name} <${people.riley.email}>`,
      subject: `Re: ${last.subject}`,
      date: await clockNow(),
      messageId: 'riley-reply-1@customer-replies.example',
      body: `${REPLY_LINE}. Can we talk next week?\r\n\r\nOn Tue, Nov 24, 2026 at 9:34 AM Sam Patel <sam@mail.seller.example> wrote:\r\n> Stop it with one click: https://example/unsubscribe/x\r\n`,
    });
    const res = await stack.post('/local/inbound', raw, { 'content-type': 'message/rfc822' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ outcome: 'forwarded', class: 'human', relationshipId: last.relationshipId });
    // The same message again changes nothing (idempotent on the Message-ID).
    expect((await stack.post('/local/inbound', raw)).status).toBe(202);

    const rel = await relationship(people.riley.email);
    expect(rel.stage).toBe('re-engaged');
    expect(rel.nextTouch).toBeNull();

    const outbound = (await stack.get<Outbound[]>('/local/outbound')).body.filter((m) => m.relationshipId === last.relationshipId);
    const forwards = outbound.filter((m) => m.type === 'reply-forwarded');
    expect(forwards).toHaveLength(1);
    const fwd = forwards[0] as Outbound;
    expect(fwd.owner).toBe('sam@seller.example');
    expect(fwd.payload.text).toContain(REPLY_LINE);
    expect(fwd.payload.text).not.toContain('one click');
    expect(fwd.payload.headers).toEqual({ 'X-Cultivate-Forward': '1' });
    expect(fwd.payload.brief).toMatchObject({ lostReason: 'timing', trigger: 'Replied' });
    expect(fwd.payload.brief.sent.length).toBeGreaterThanOrEqual(1);
    expect(outbound.filter((m) => m.type === 'relationship-re-engaged')).toHaveLength(1);

    const before = (await outboxTo(people.riley.email)).length;
    await stack.post('/local/clock', { advanceBy: 'P21D' });
    expect((await outboxTo(people.riley.email)).length).toBe(before);
  }, 180_000);

  it('an out-of-office with a return date pauses e-mails until then, and they resume after it', async () => {
    const sent = await outboxTo(people.olga.email);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    const last = sent[sent.length - 1] as OutboxEmail;
    const now = await clockNow();
    const back = new Date(now.getTime() + 24 * DAY_MS);
    const backText = back.toLocaleDateString('en-US', { month: 'long', day: 'numeric', year: 'numeric', timeZone: 'UTC' });
    const raw = reply({
      to: last.replyTo[0] as string,
      from: `${people.olga.name} <${people.olga.email}>`,
      subject: `Automatic reply: ${last.subject}`,
      date: now,
      messageId: 'olga-ooo-1@customer-replies.example',
      headers: { 'Auto-Submitted': 'auto-replied' },
      body: `${OOO_LINE} until ${backText}.`,
    });
    const res = await stack.post('/local/inbound', raw);
    expect(res.body).toMatchObject({ outcome: 'paused', class: 'out-of-office' });

    const rel = await relationship(people.olga.email);
    expect(rel.stage).toBe('nurturing');
    expect(Date.parse(rel.nextTouch.at)).toBeGreaterThanOrEqual(Date.parse(back.toISOString().slice(0, 10)));

    const before = (await outboxTo(people.olga.email)).length;
    await stack.post('/local/clock', { to: new Date(Date.parse(back.toISOString().slice(0, 10)) - 60_000).toISOString() });
    expect((await outboxTo(people.olga.email)).length, 'no e-mail while away').toBe(before);
    await stack.post('/local/clock', { advanceBy: 'P8D' });
    const after = await outboxTo(people.olga.email);
    expect(after.length, 'e-mails resume after the return date').toBeGreaterThan(before);
    expect(Date.parse((after[before] as OutboxEmail).sentAt)).toBeGreaterThanOrEqual(Date.parse(back.toISOString().slice(0, 10)));
  }, 180_000);

  it('"unsubscribe" in words stops all e-mail like the one-click link; "I have left" retires and asks the owner to research', async () => {
    const u = (await outboxTo(people.uma.email)).at(-1) as OutboxEmail;
    const unsub = reply({ to: u.replyTo[0] as string, from: people.uma.email, subject: `Re: ${u.subject}`, date: await clockNow(), messageId: 'uma-1@customer-replies.example', body: 'Please unsubscribe me.' });
    expect((await stack.post('/local/inbound', unsub)).body).toMatchObject({ outcome: 'unsubscribed', class: 'unsubscribe' });
    const uma = await relationship(people.uma.email);
    expect(uma.nextTouch === null || uma.nextTouch.channel !== 'email').toBe(true);

    const l = (await outboxTo(people.leo.email)).at(-1) as OutboxEmail;
    const left = reply({
      to: l.replyTo[0] as string,
      from: people.leo.email,
      subject: `Re: ${l.subject}`,
      date: await clockNow(),
      messageId: 'leo-1@customer-replies.example',
      body: "Hi Sam, I've left the company and joined Globex. You can reach me at leo@globex.example.",
    });
    expect((await stack.post('/local/inbound', left)).body).toMatchObject({ outcome: 'retired', class: 'left-company' });
    const leo = await relationship(people.leo.email);
    expect(leo.stage).toBe('retired');
    const outbound = (await stack.get<Outbound[]>('/local/outbound')).body.filter((m) => m.relationshipId === l.relationshipId);
    const research = outbound.find((m) => m.type === 'task-assigned' && m.payload.kind === 'research');
    expect(research?.payload.why).toContain('Globex');
    expect(research?.payload.why).not.toContain('leo@globex.example'); // rode the bus: no address
    expect(outbound.find((m) => m.type === 'reply-forwarded')?.payload.text).toContain('leo@globex.example');
    expect(outbound.some((m) => m.type === 'relationship-retired' && m.payload.reason === 'left-company')).toBe(true);

    const sentBefore = (await outboxTo(people.uma.email)).length + (await outboxTo(people.leo.email)).length;
    await stack.post('/local/clock', { advanceBy: 'P14D' });
    expect((await outboxTo(people.uma.email)).length + (await outboxTo(people.leo.email)).length).toBe(sentBefore);
  }, 180_000);

  it('a message without a valid reply address, or over 10 MB, is kept and counted, never read', async () => {
    const stray = reply({ to: 'someone@reply.seller.example', from: 'x@y.example', subject: 'hi', date: await clockNow(), messageId: 'stray@y.example', body: 'hello' });
    expect((await stack.post('/local/inbound', stray)).body).toMatchObject({ outcome: 'quarantined', reason: 'no-reply-address' });
    const big = await stack.post('/local/inbound', 'x'.repeat(10 * 1024 * 1024 + 1), { connection: 'close' });
    expect(big.status).toBe(413);
    const stats = (await stack.get<Record<string, number>>('/local/inbound')).body;
    expect(stats.quarantined).toBe(2);
  }, 120_000);

  it('nothing from the replies (text, addresses) reaches the logs', () => {
    const hits = linesContaining(stack.logs(), [REPLY_LINE, OOO_LINE, 'globex.example', ...Object.values(people).map((p) => p.email), 'riley-reply-1@']);
    expect(hits).toEqual([]);
  });
});
