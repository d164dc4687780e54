/**
 * Metrics, end to end against the local stack as a child process, with config/ copied and a 50 %
 * holdout (accounts chosen by the same keyed hash, so the groups are known in advance): three lost
 * deals through the generic webhook, the clock moved (tasks and e-mails), a human reply posted raw
 * to /local/inbound, a deal created for a nurtured account and a meeting for the holdout one, the
 * clock moved again. Then GET /metrics shows the entries, re-engagements and touches by channel,
 * the holdout got nothing, the CSV and the JSON Feed parse, and the rebuild agrees with live.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignHoldout } from '#domain/metrics/holdout';
import { type StackProcess, startStackProcess } from '../helpers/stack.ts';

const CLOCK_START = '2026-11-16T12:00:00.000Z';
const LOST_AT = '2026-11-16T10:00:00.000Z';
const SALT = 'e2e-metrics-holdout-salt';
const RANGE = 'from=2026-11-01&to=2027-01-31';

/** The first account ids of each group under a 50 % holdout with SALT. */
function accounts(group: 'holdout' | 'nurtured', n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < 1000; i++) {
    const id = `metrics-acct-${i}.example`;
    if (assignHoldout(id, { percent: 50, salt: SALT }) === group) out.push(id);
  }
  return out;
}
const [ACCT_A, ACCT_B] = accounts('nurtured', 2) as [string, string];
const [ACCT_H] = accounts('holdout', 1) as [string];

const people = {
  ada: { email: 'ada.metrics@customer-metrics.example', ext: 'met-ada', account: ACCT_A },
  bo: { email: 'bo.metrics@customer-metrics.example', ext: 'met-bo', account: ACCT_B },
  hal: { email: 'hal.metrics@customer-metrics.example', ext: 'met-hal', account: ACCT_H },
};
type Person = (typeof people)[keyof typeof people];

const contact = (p: Person) => ({
  externalId: p.ext,
  email: p.email,
  accountId: p.account,
  timezone: 'America/Chicago',
  owner: 'sam@seller.example',
  role: 'champion',
  consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: '2026-05-04T09:00:00Z' },
});

let stack: StackProcess;
let configDir: string;
let report: any;
let readUnits: string | null;

interface OutboxEmail {
  replyTo: string[];
  destination: { to: string[] };
  subject: string;
  relationshipId: string;
}

const clockNow = async () => new Date((await stack.get<{ now: string }>('/local/clock')).body.now);

beforeAll(async () => {
  configDir = mkdtempSync(join(tmpdir(), 'cultivate-e2e-metrics-config-'));
  cpSync('config', configDir, { recursive: true });
  const yaml = readFileSync(join(configDir, 'metrics.yaml'), 'utf8').replace(/holdout:\n  percent: \d+\n  salt: \S+/, `holdout:\n  percent: 50\n  salt: ${SALT}`);
  expect(yaml).toContain(`salt: ${SALT}`);
  writeFileSync(join(configDir, 'metrics.yaml'), yaml);
  stack = await startStackProcess({ clockStart: CLOCK_START, env: { CULTIVATE_CONFIG_DIR: configDir } });

  const lost = Object.values(people).map((p) => ({ id: `metrics-lost-${p.ext}`, type: 'lead-closed-lost', occurredAt: LOST_AT, contact: contact(p), data: { reason: 'timing', amount: 18000 } }));
  expect((await stack.webhook(lost)).status).toBe(202);
  expect((await stack.post('/local/clock', { advanceBy: 'P14D' })).status).toBe(200);

  // A human reply to Ada's last e-mail, as the inbound mail path receives it.
  const outbox = (await stack.get<OutboxEmail[]>('/local/outbox')).body;
  const last = outbox.filter((m) => m.destination.to.some((t) => t.includes(people.ada.email))).at(-1) as OutboxEmail;
  expect(last?.replyTo[0]).toBeDefined();
  const raw = [
    `From: Ada <${people.ada.email}>`,
    `To: ${last.replyTo[0]}`,
    `Subject: Re: ${last.subject}`,
    `Date: ${(await clockNow()).toUTCString()}`,
    'Message-ID: <ada-metrics-reply@customer-metrics.example>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Good timing, could we talk next week about the budget?',
  ].join('\r\n');
  const replied = await stack.post('/local/inbound', raw, { 'content-type': 'message/rfc822' });
  expect(replied.body).toMatchObject({ class: 'human' });

  // CRM outcomes: a new deal for Bo (nurtured), a meeting for Hal (holdout).
  const at = (await clockNow()).toISOString();
  const outcomes = [
    { id: 'metrics-deal-bo', type: 'deal-created', occurredAt: at, contact: { externalId: people.bo.ext, email: people.bo.email }, data: { dealId: 'd-bo-2', amount: 30000 } },
    { id: 'metrics-meeting-hal', type: 'meeting-booked', occurredAt: at, contact: { externalId: people.hal.ext, email: people.hal.email }, data: {} },
  ];
  expect((await stack.webhook(outcomes)).status).toBe(202);
  expect((await stack.post('/local/clock', { advanceBy: 'P7D' })).status).toBe(200);

  const res = await stack.get(`/metrics?${RANGE}&groupBy=month`);
  expect(res.status).toBe(200);
  report = res.body;
  readUnits = res.headers.get('cultivate-read-units');
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

describe('metrics, end to end', () => {
  it('GET /metrics shows the entries by group, the re-engagements by signal and the touches by channel', () => {
    expect(report.schemaVersion).toBe(2);
    const m = report.metrics;
    expect(m['nurture.entered'].total.n).toBe(3);
    expect(m['nurture.entered'].dimensions.group).toEqual({ nurtured: { n: 2 }, holdout: { n: 1 } });
    expect(m['nurture.re-engaged'].total.n).toBe(3);
    expect(m['nurture.re-engaged'].dimensions.signal).toEqual({ reply: { n: 1 }, 'deal-created': { n: 1 }, meeting: { n: 1 } });
    const channels = m['touch.sent'].dimensions.channel;
    expect(channels.task.n).toBe(2);
    expect(channels.email.n).toBeGreaterThanOrEqual(2);
    expect(m['touch.sent'].dimensions.group).toEqual({ nurtured: { n: m['touch.sent'].total.n } });
    // Measured the same way, from CRM outcomes: one conversion in each group.
    expect(m['holdout.converted'].dimensions.group).toEqual({ nurtured: { n: 1 }, holdout: { n: 1 } });
    expect(report.stages.all).toEqual({ 're-engaged': 2, 'in-deal': 1 });
    expect(Number(readUnits)).toBeGreaterThan(0);
  });

  it('GET /metrics has per-owner numbers only with owners=true, read from the owner partitions', async () => {
    expect(report.owners).toBe(false);
    for (const series of Object.values(report.metrics) as { dimensions: Record<string, unknown> }[]) {
      expect(Object.keys(series.dimensions)).not.toContain('owner');
      expect(Object.keys(series.dimensions)).not.toContain('group+owner');
    }
    const res = await stack.get(`/metrics?${RANGE}&groupBy=month&owners=true`);
    expect(res.status).toBe(200);
    const withOwners = res.body;
    expect(withOwners.owners).toBe(true);
    expect(withOwners.metrics['nurture.entered'].dimensions.owner).toEqual({ 'sam@seller.example': { n: 3 } });
    expect(withOwners.metrics['nurture.entered'].dimensions['group+owner']).toEqual({ 'nurtured+sam@seller.example': { n: 2 }, 'holdout+sam@seller.example': { n: 1 } });
    // One more query per period (three months here).
    expect(report.periods).toHaveLength(3);
    expect(withOwners.reads.queries).toBe(report.reads.queries + 3);
    expect(Number(res.headers.get('cultivate-read-queries'))).toBe(withOwners.reads.queries);
    const owners = (await stack.scanTable()).filter((i) => /^AGG#[WM]#[^#]+#O$/.test(String(i.pk)));
    expect(owners.length).toBeGreaterThan(0);
    for (const i of owners) expect(String(i.sk)).toMatch(/^C#[^#]+#(owner|group\+owner)#/);
  });

  it('the holdout account got no touch of any kind, and its decision is on its state item only', async () => {
    expect(report.metrics['touch.sent'].dimensions.group.holdout).toBeUndefined();
    const outbox = (await stack.get<OutboxEmail[]>('/local/outbox')).body;
    expect(outbox.filter((e) => e.destination.to.some((t) => t.includes(people.hal.email)))).toEqual([]);
    const states = (await stack.scanTable()).filter((i) => i.sk === 'STATE' && String(i.pk).startsWith('REL#')) as { pk: string; s: { contact: { email: string }; holdout?: { group: string } } }[];
    const groups = Object.fromEntries(states.map((i) => [i.s.contact.email, i.s.holdout?.group]));
    expect(groups).toEqual({ [people.ada.email]: 'nurtured', [people.bo.email]: 'nurtured', [people.hal.email]: 'holdout' });
    const hal = states.find((i) => i.s.contact.email === people.hal.email) as { pk: string };
    const outbound = (await stack.get<{ relationshipId: string; type: string }[]>('/local/outbound')).body;
    expect(outbound.filter((o) => o.relationshipId === hal.pk.slice(4) && o.type !== 'relationship-retired')).toEqual([]);
    const view = await stack.get(`/relationships?email=${encodeURIComponent(people.hal.email)}`);
    expect(view.text).not.toMatch(/holdout/i);
  });

  it('GET /metrics names a bad query field in a 400', async () => {
    const bad = await stack.get(`/metrics?${RANGE}&groupBy=year`);
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ path: 'groupBy', message: 'groupBy must be week or month' }]);
  });

  it('GET /metrics.csv is RFC 4180 with a header, one row per metric, period and dimension value', async () => {
    const res = await stack.get(`/metrics.csv?${RANGE}&groupBy=month`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('cultivate-schema-version')).toBe('2');
    expect(res.text.endsWith('\r\n')).toBe(true);
    const lines = res.text.slice(0, -2).split('\r\n').map((l) => l.split(','));
    expect(lines[0]).toEqual(['metric', 'period', 'dimension', 'value', 'n', 'sum']);
    for (const l of lines.slice(1)) expect(l).toHaveLength(6);
    expect(lines).toContainEqual(['nurture.entered', '2026-11', 'all', 'all', '3', '']);
    expect(lines).toContainEqual(['crm.deal-created', '2026-11', 'source', 'nurture', '1', '30000']);
    expect(lines).toContainEqual(['relationships', 'current', 'stage', 'in-deal', '1', '']);
    expect(lines.filter((l) => l[2] === 'owner' || l[2] === 'group+owner')).toEqual([]);
    const withOwners = await stack.get(`/metrics.csv?${RANGE}&groupBy=month&owners=true`);
    const ownerLines = withOwners.text.slice(0, -2).split('\r\n').map((l) => l.split(','));
    expect(ownerLines).toContainEqual(['nurture.entered', '2026-11', 'owner', 'sam@seller.example', '3', '']);
    // The same rows otherwise.
    expect(ownerLines.filter((l) => l[2] !== 'owner' && l[2] !== 'group+owner')).toEqual(lines);
  });

  it('GET /metrics/feed.json is a JSON Feed 1.1 with one item per week', async () => {
    const res = await stack.get('/metrics/feed.json?weeks=4');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/feed\+json/);
    const feed = JSON.parse(res.text);
    expect(feed.version).toBe('https://jsonfeed.org/version/1.1');
    expect(feed.items).toHaveLength(4);
    expect(new Set(feed.items.map((i: { id: string }) => i.id)).size).toBe(4);
    for (const i of feed.items) expect(typeof i.content_text).toBe('string');
    expect(feed._cultivate.schemaVersion).toBe(2);
    expect(feed.items.map((i: { content_text: string }) => i.content_text).join('\n')).toMatch(/re-engaged/);
  });

  it('the rebuild from the timelines agrees with the live aggregates, and the report reads the same after it', async () => {
    const dry = await stack.post('/metrics/rebuild?dryRun=true');
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ written: false, differences: 0 });
    const real = await stack.post('/metrics/rebuild');
    expect(real.body).toMatchObject({ written: true, differences: 0 });
    expect(real.body.report.relationships).toBe(3);
    const after = (await stack.get(`/metrics?${RANGE}&groupBy=month`)).body;
    expect(after.metrics).toEqual(report.metrics);
    expect(after.stages).toEqual(report.stages);
    // The rebuild writes the per-owner counters into the owner partitions too, the same as live.
    const ownersAfter = (await stack.get(`/metrics?${RANGE}&groupBy=month&owners=true`)).body;
    expect(ownersAfter.metrics['nurture.entered'].dimensions.owner).toEqual({ 'sam@seller.example': { n: 3 } });
  });
});
