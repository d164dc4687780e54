/**
 * End to end, Pipedrive (issue #5, "Done means"): the local stack with Pipedrive's settings, its
 * REST API played by the local fake (test/helpers/fake-pipedrive.ts), driven over HTTP as Pipedrive
 * and a rep would drive it. DESIGN.md §5 (authentication, nothing kept on a refusal, logs without
 * personal data), §6 (clock, drain, outbound). The stack runs in this process (`startLocalStack`),
 * so a test can count what reached the bus, read the table, and restart the stack on the same data
 * folder after crm.yaml changes; a second, bare stack shows the 404 of a CRM without settings.
 *
 * Every delivery is one of Pipedrive's documented webhooks v2 examples ("Update deal", "Update
 * activity", "Update person" in https://pipedrive.readme.io/docs/webhooks-v2-migration-guide#webhooks-v2-examples,
 * kept in test/crm/pipedrive/fixtures/) with the fields a loss, a completion or an opt-in changes, as
 * https://pipedrive.readme.io/docs/guide-for-webhooks-v2#data-and-previous describes, and the times
 * moved to this file's clock. Pipedrive authenticates a delivery with HTTP Basic only: it signs
 * nothing and its `meta.timestamp` is not covered by any credential, so an old delivery sent again is
 * recognised by its event id (`meta.id`) and applied once, never refused as stale.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type LocalStack, startLocalStack } from '#local/runtime';
import { startFakePipedrive, type FakePipedrive } from '../helpers/fake-pipedrive.ts';
import { basicHeader, fixture } from '../crm/pipedrive/helpers.ts';

/** A Monday, 09:00 UTC, no public holiday; far enough ahead that no kept item's TTL lapses in DynamoDB Local. */
const CLOCK_START = new Date('2027-06-07T09:00:00.000Z');
const LOST_AT = '2027-06-07T08:45:00.000Z';
const COMPANY = '8087566';
const SAM_USER = 12415231;
const BASIC = 'cultivate-hook:e2e-Pa55-w0rd';
const CONFIG_DIR = new URL('../../config/', import.meta.url).pathname;

interface Person {
  id: number;
  name: string;
  email: string;
}
const DANA: Person = { id: 8, name: 'Dana Pipedrive-Fixture', email: 'dana.pd-e2e-fixture@example.com' };
const LEE: Person = { id: 9, name: 'Lee Pipedrive-Fixture', email: 'lee.pd-e2e-fixture@example.net' };
const KAI: Person = { id: 20, name: 'Kai Quarantine-Fixture', email: 'kai.pd-e2e-fixture@example.org' };
const MIO: Person = { id: 21, name: 'Mio Quarantine-Fixture', email: 'mio.pd-e2e-fixture@example.org' };

const personRow = (p: Person, orgId: number) => ({
  id: p.id,
  name: p.name,
  first_name: p.name.split(' ')[0],
  owner_id: SAM_USER,
  org_id: orgId,
  emails: [{ label: 'work', value: p.email, primary: true }],
  job_title: 'Head of Operations',
  custom_fields: {},
});

/** A temporary copy of config/ with crm.yaml's `pipedrive` section changed. */
function configCopy(change: (pipedrive: Record<string, any>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'cultivate-pd-config-'));
  cpSync(CONFIG_DIR, dir, { recursive: true });
  rewriteCrmYaml(dir, change);
  return dir;
}
function rewriteCrmYaml(dir: string, change: (pipedrive: Record<string, any>) => void): void {
  const file = join(dir, 'crm.yaml');
  const crm = parseYaml(readFileSync(file, 'utf8')) as { pipedrive: Record<string, any> };
  change(crm.pipedrive);
  writeFileSync(file, stringifyYaml(crm));
}
/** The shipped mapping plus the rep: Pipedrive user 12415231 is sam@seller.example (config/owners.yaml). */
const withSam = (pd: Record<string, any>) => {
  pd.users = { [String(SAM_USER)]: 'sam@seller.example' };
};

const start = (opts: { configDir?: string; dataDir?: string; crmEnv?: Record<string, string>; clockStart?: Date; logLevel?: 'DEBUG' }) =>
  startLocalStack({
    port: 0,
    clockStart: opts.clockStart ?? CLOCK_START,
    logLevel: opts.logLevel ?? 'SILENT',
    sweepEveryMinute: false,
    ...(opts.configDir && { configDir: opts.configDir }),
    ...(opts.dataDir && { dataDir: opts.dataDir }),
    ...(opts.crmEnv && { crmEnv: opts.crmEnv }),
  });
const pipedriveEnv = (pd: FakePipedrive) => ({
  CULTIVATE_PIPEDRIVE_BASIC_AUTH: BASIC,
  CULTIVATE_PIPEDRIVE_API_TOKEN: pd.token,
  CULTIVATE_PIPEDRIVE_API_URL: pd.url,
});

interface Answer<T = any> {
  status: number;
  body: T;
  text: string;
}
async function http<T = any>(stack: LocalStack, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    const h = init.headers as Record<string, string>;
    if (typeof body === 'string' || body instanceof Uint8Array) init.body = body;
    else {
      init.body = JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
  }
  const res = await fetch(`${stack.url}${path}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T, text };
}

/** POST /webhooks/pipedrive as Pipedrive sends it: JSON with HTTP Basic credentials (or none, with null). */
const deliver = (stack: LocalStack, body: unknown, auth: string | null = basicHeader(BASIC), extra: Record<string, string> = {}) =>
  http(stack, 'POST', '/webhooks/pipedrive', typeof body === 'string' ? body : JSON.stringify(body), {
    'content-type': 'application/json',
    ...(auth !== null && { authorization: auth }),
    ...extra,
  });
const drain = async (stack: LocalStack) => expect((await http(stack, 'POST', '/local/drain')).status).toBe(200);
const byEmail = (stack: LocalStack, email: string) => http(stack, 'GET', `/relationships?email=${encodeURIComponent(email)}`);

/** Every key of the main table (consistent scan, all pages), sorted. */
async function tableKeys(stack: LocalStack): Promise<string[]> {
  const keys: string[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const out = await stack.ddb.send(
      new ScanCommand({ TableName: stack.tableName, ConsistentRead: true, ProjectionExpression: 'pk, sk', ExclusiveStartKey: startKey }),
    );
    for (const item of out.Items ?? []) keys.push(`${item.pk?.S}|${item.sk?.S}`);
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return keys.sort();
}
/** The relationship's state item (the role lives on the contact, which the read API does not show). */
async function stateOf(stack: LocalStack, relationshipId: string): Promise<Record<string, any>> {
  const out = await stack.ddb.send(
    new GetItemCommand({ TableName: stack.tableName, Key: marshall({ pk: `REL#${relationshipId}`, sk: 'STATE' }), ConsistentRead: true }),
  );
  return unmarshall(out.Item ?? {}).s as Record<string, any>;
}

/** Pipedrive's "Update deal" example, the deal now lost: what the webhook sends when a rep marks it lost. */
function lostDeal(o: { eventId: string; dealId: number; personId: number; orgId: number; reason: string; at: string; attempt?: number }) {
  const body = fixture('doc-update-deal');
  const seconds = `${o.at.slice(0, 19)}Z`;
  Object.assign(body.data, {
    id: o.dealId,
    person_id: o.personId,
    org_id: o.orgId,
    owner_id: SAM_USER,
    status: 'lost',
    lost_reason: o.reason,
    lost_time: seconds,
    close_time: seconds,
    update_time: seconds,
  });
  body.previous = { status: 'open', lost_reason: null, lost_time: null, close_time: null, update_time: '2027-06-01T10:00:00Z' };
  Object.assign(body.meta, { id: o.eventId, entity_id: String(o.dealId), timestamp: o.at, attempt: o.attempt ?? 1, correlation_id: randomUUID() });
  return body;
}

/** Pipedrive's "Update activity" example, the activity now done (webhooks v2 leave its note out). */
function activityDone(o: { eventId: string; activity: Record<string, any>; at: string }) {
  const body = fixture('doc-update-activity');
  const a = o.activity;
  Object.assign(body.data, {
    id: a.id,
    subject: a.subject,
    type: a.type,
    done: true,
    person_id: a.person_id,
    org_id: a.org_id ?? null,
    deal_id: a.deal_id ?? null,
    owner_id: a.owner_id ?? SAM_USER,
    due_date: a.due_date,
    due_time: { timezone_id: null, value: a.due_time ?? '' },
    update_time: `${o.at.slice(0, 19)}Z`,
  });
  body.previous = { done: false, update_time: '2027-06-09T13:00:00Z' };
  Object.assign(body.meta, { id: o.eventId, entity_id: String(a.id), timestamp: o.at, correlation_id: randomUUID() });
  return body;
}

/** Pipedrive's "Update person" example, the marketing status now subscribed (a company with Campaigns). */
function personOptIn(o: { eventId: string; person: Person; orgId: number; at: string }) {
  const body = fixture('doc-update-person');
  Object.assign(body.data, {
    id: o.person.id,
    name: o.person.name,
    first_name: o.person.name.split(' ')[0],
    last_name: null,
    org_id: o.orgId,
    owner_id: SAM_USER,
    emails: [{ label: 'work', value: o.person.email, primary: true }],
    marketing_status: 'subscribed',
    update_time: `${o.at.slice(0, 19)}Z`,
  });
  body.previous = { marketing_status: 'no_consent' };
  Object.assign(body.meta, { id: o.eventId, entity_id: String(o.person.id), timestamp: o.at, correlation_id: randomUUID() });
  return body;
}

/**
 * The stack's JSON log lines (Powertools writes them to process.stdout and process.stderr), kept
 * instead of printed, so the run's logs can be searched for the fixtures' personal data.
 */
function captureLogs(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const spies = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    return vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      if (text.startsWith('{"level"')) {
        lines.push(text);
        return true;
      }
      return write(chunk, ...rest);
    }) as typeof stream.write);
  });
  return { lines, restore: () => spies.forEach((s) => s.mockRestore()) };
}

const minutesBefore = (iso: string, minutes: number) => new Date(Date.parse(iso) - minutes * 60_000).toISOString();
const clockNow = async (stack: LocalStack) => (await http<{ now: string }>(stack, 'GET', '/local/clock')).body.now;

interface OutboundMessage {
  key: string;
  type: string;
  relationshipId: string;
  owner?: string;
  targets?: string[];
  payload: Record<string, any>;
}

describe('pipedrive end to end: a lost deal in, tasks and consent back out, an unmapped reason replayed after a restart', () => {
  /** Not in the shipped pipedrive.lostReasons, and there is no defaultLostReason: a deal lost for it is quarantined. */
  const UNMAPPED_REASON = 'Champion left the company';
  const day = CLOCK_START.toISOString().slice(0, 10);
  let pd: FakePipedrive;
  let stack: LocalStack;
  let configDir: string;
  let dataDir: string;
  let unmappedId: string;
  let logs: ReturnType<typeof captureLogs>;
  const relId = new Map<number, string>();
  const LOSS_EVENT = randomUUID();
  const loss = (attempt = 1) => lostDeal({ eventId: LOSS_EVENT, dealId: 8, personId: DANA.id, orgId: 1, reason: 'Went with a competitor', at: LOST_AT, attempt });
  const lossEntries = (timeline: { type: string }[]) => timeline.filter((e) => e.type === 'lead-closed-lost');

  beforeAll(async () => {
    pd = await startFakePipedrive();
    pd.seed({
      deals: [
        { id: 8, title: 'Sample Org deal', status: 'lost', lost_reason: 'Went with a competitor', value: 100, currency: 'EUR', owner_id: SAM_USER, person_id: DANA.id, org_id: 1 },
        { id: 30, title: 'Quarantine deal', status: 'lost', lost_reason: UNMAPPED_REASON, owner_id: SAM_USER, person_id: KAI.id, org_id: 5 },
      ],
      persons: [personRow(DANA, 1), personRow(LEE, 1), personRow(KAI, 5), personRow(MIO, 5)],
      organizations: [
        { id: 1, name: 'Sample Org' },
        { id: 5, name: 'Quarantine Org' },
      ],
      participants: { 8: [DANA.id, LEE.id], 30: [KAI.id, MIO.id] },
    });
    configDir = configCopy(withSam);
    const shipped = (parseYaml(readFileSync(join(configDir, 'crm.yaml'), 'utf8')) as { pipedrive: Record<string, any> }).pipedrive;
    expect(Object.keys(shipped.lostReasons)).not.toContain(UNMAPPED_REASON);
    expect(shipped.defaultLostReason).toBeUndefined();
    dataDir = mkdtempSync(join(tmpdir(), 'cultivate-pd-e2e-'));
    logs = captureLogs();
    stack = await start({ configDir, dataDir, crmEnv: pipedriveEnv(pd), logLevel: 'DEBUG' });
  });
  afterAll(async () => {
    await stack?.stop();
    logs?.restore();
    await pd?.stop();
    for (const dir of [configDir, dataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the documented lost deal with Basic credentials is acknowledged 202; every person on the deal is in nurture with reason, role, owner, account and a planned task', async () => {
    const r = await deliver(stack, loss());
    expect({ status: r.status, body: r.body }).toEqual({ status: 202, body: { accepted: 1 } });
    await drain(stack);

    for (const [p, role] of [[DANA, 'champion'], [LEE, 'influencer']] as const) {
      const view = await byEmail(stack, p.email);
      expect(view.status, `${p.name}: ${view.text}`).toBe(200);
      expect(view.body).toMatchObject({
        stage: 'nurturing',
        lostReason: 'competitor',
        owner: 'sam@seller.example',
        accountId: `pipedrive:${COMPANY}:1`,
        nextTouch: { channel: 'task', kind: 'thank-you-note', status: 'planned' },
      });
      expect(lossEntries(view.body.timeline)).toHaveLength(1);
      relId.set(p.id, view.body.id);
      const state = await stateOf(stack, view.body.id);
      expect(state.contact).toMatchObject({ role, name: p.name, company: 'Sample Org' });
      expect(state.crmIds).toContain(`pipedrive:${COMPANY}:${p.id}`);
    }
    expect(new Set(relId.values()).size).toBe(2);
    // The participants and each person came from Pipedrive's API, with the token.
    const paths = pd.calls.map((c) => `${c.method} ${c.path.split('?')[0]}`);
    expect(paths).toEqual(expect.arrayContaining(['GET /api/v1/deals/8/participants', 'GET /api/v2/persons/8', 'GET /api/v2/persons/9', 'GET /api/v2/organizations/1']));
    expect(pd.calls.every((c) => c.headers['x-api-token'] === pd.token)).toBe(true);
  });

  it('a wrong password, no credentials, or not Basic: 401, nothing kept, nothing published', async () => {
    const keysBefore = await tableKeys(stack);
    const publishedBefore = stack.bus.published.length;
    const callsBefore = pd.calls.length;
    const body = lostDeal({ eventId: randomUUID(), dealId: 8, personId: DANA.id, orgId: 1, reason: 'No budget', at: LOST_AT });
    const refusals = [
      await deliver(stack, body, basicHeader('cultivate-hook:wrong-password')),
      await deliver(stack, body, basicHeader('someone-else:e2e-Pa55-w0rd')),
      await deliver(stack, body, null),
      await deliver(stack, body, `Bearer ${BASIC}`),
      await deliver(stack, body, 'Basic !!!not-base64!!!'),
    ];
    for (const r of refusals) {
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: expect.any(String) });
    }
    await drain(stack);
    expect(await tableKeys(stack)).toEqual(keysBefore);
    expect(stack.bus.published.length).toBe(publishedBefore);
    expect(pd.calls.length).toBe(callsBefore);
    expect((await byEmail(stack, DANA.email)).body.lostReason).toBe('competitor');
  });

  it('a mangled body with good credentials: 400 naming each bad field and a quarantineId; kept in quarantine only', async () => {
    const keysBefore = await tableKeys(stack);
    const publishedBefore = stack.bus.published.length;
    const body = loss();
    body.meta.id = randomUUID();
    body.meta.version = '1.0';
    body.meta.action = 'lost';
    delete body.meta.company_id;
    body.data = 'not an object';
    body.v = 1;
    const r = await deliver(stack, body);
    expect(r.status).toBe(400);
    expect(r.body.quarantineId).toEqual(expect.any(String));
    const paths = (r.body.issues as { path: string }[]).map((i) => i.path).sort();
    expect(paths).toEqual(['data', 'meta.action', 'meta.company_id', 'meta.version', 'v']);
    // Not JSON at all is refused the same way.
    const notJson = await deliver(stack, '{"meta": {"action": "change", ');
    expect(notJson.status).toBe(400);
    expect(notJson.body.quarantineId).toEqual(expect.any(String));
    // Over 256 KB: 413, nothing read, nothing kept.
    const huge = await deliver(stack, JSON.stringify({ ...loss(), pad: 'x'.repeat(300 * 1024) }), basicHeader(BASIC), { connection: 'close' });
    expect(huge.status).toBe(413);
    await drain(stack);

    const added = (await tableKeys(stack)).filter((k) => !keysBefore.includes(k));
    expect(added.every((k) => k.startsWith('QUAR#'))).toBe(true);
    expect(added).toHaveLength(2);
    expect(stack.bus.published.length).toBe(publishedBefore);
    const day = CLOCK_START.toISOString().slice(0, 10);
    const listed = (await http(stack, 'GET', `/quarantine?day=${day}`)).body.items as { id: string; kind: string; source: string; paths: string[] }[];
    expect(listed.find((i) => i.id === r.body.quarantineId)).toMatchObject({ kind: 'webhook', source: 'pipedrive', paths: expect.arrayContaining(['meta.version', 'data']) });
  });

  it("Pipedrive's retry of the same delivery (meta.attempt 2) and an old delivery sent again create nothing new", async () => {
    const keysBefore = await tableKeys(stack);
    for (const attempt of [2, 4, 1]) {
      const r = await deliver(stack, loss(attempt));
      expect({ status: r.status, body: r.body }).toEqual({ status: 202, body: { accepted: 1 } });
    }
    await drain(stack);
    expect(await tableKeys(stack)).toEqual(keysBefore);
    for (const p of [DANA, LEE]) {
      const view = await byEmail(stack, p.email);
      expect(view.body.id).toBe(relId.get(p.id));
      expect(lossEntries(view.body.timeline)).toHaveLength(1);
    }
  });

  it('a lost reason crm.yaml does not map: the delivery is accepted, the notification waits in quarantine as unmapped with the reason, no one enters nurture', async () => {
    const r = await deliver(stack, lostDeal({ eventId: randomUUID(), dealId: 30, personId: KAI.id, orgId: 5, reason: UNMAPPED_REASON, at: LOST_AT }));
    expect({ status: r.status, body: r.body }).toEqual({ status: 202, body: { accepted: 1 } });
    await drain(stack);

    const list = await http(stack, 'GET', `/quarantine?day=${day}`);
    expect(list.status).toBe(200);
    const unmapped = (list.body.items as { id: string; kind: string; source: string; reason: string; paths: string[] }[]).filter((i) => i.kind === 'unmapped');
    expect(unmapped).toEqual([expect.objectContaining({ source: 'pipedrive', paths: ['data.lost_reason'], reason: expect.stringContaining('pipedrive.lostReasons') })]);
    unmappedId = unmapped[0]?.id as string;
    for (const p of [KAI, MIO]) expect((await byEmail(stack, p.email)).status).toBe(404);
  });

  it('an opt-in in Pipedrive (marketing status becomes subscribed) grants e-mail consent and is not echoed back', async () => {
    const r = await deliver(stack, personOptIn({ eventId: randomUUID(), person: DANA, orgId: 1, at: minutesBefore(CLOCK_START.toISOString(), 5) }));
    expect(r.status).toBe(202);
    await drain(stack);
    const view = await byEmail(stack, DANA.email);
    expect(view.body.id).toBe(relId.get(DANA.id));
    expect(view.body.consent).toMatchObject({ email: 'granted', source: 'pipedrive-marketing-status' });
    expect(pd.calls.filter((c) => c.method === 'PATCH')).toEqual([]);
  });

  let danaTask: { activity: Record<string, any>; touchId: string; outcomes: string[] };

  it('when the thank-you note falls due, an activity reaches Pipedrive for the mapped rep, linked to person, organization and deal, due 09:00 in the rep zone, with the touch id', async () => {
    const r = await http(stack, 'POST', '/local/clock', { advanceBy: 'P3D' });
    expect(r.status).toBe(200);
    const tasks = ((await http<OutboundMessage[]>(stack, 'GET', '/local/outbound')).body).filter((m) => m.type === 'task-assigned' && m.payload.kind === 'thank-you-note');
    for (const p of [DANA, LEE]) {
      const mine = tasks.filter((t) => t.relationshipId === relId.get(p.id));
      expect(mine, `${p.name}: one thank-you task`).toHaveLength(1);
      const task = mine[0] as OutboundMessage;
      expect(task.targets).toContain('pipedrive');
      expect(task.payload.dueDate).toBe('2027-06-09');
      const activities = pd.created.activities.filter((a) => a.person_id === p.id);
      expect(activities).toHaveLength(1);
      const activity = activities[0] as Record<string, any>;
      expect(activity).toMatchObject({
        type: 'task',
        owner_id: SAM_USER,
        person_id: p.id,
        org_id: 1,
        deal_id: 8,
        participants: [{ person_id: p.id, primary: true }],
        // 09:00 in New York (the rep's zone, EDT in June) is 13:00 UTC, as Pipedrive stores it.
        due_date: '2027-06-09',
        due_time: '13:00',
        done: false,
        subject: task.payload.title,
      });
      expect(activity.note).toContain(`Cultivate touch id: ${task.payload.touchId}`);
      for (const o of task.payload.outcomes as string[]) expect(activity.note).toContain(`[ ] ${o}`);
      // The activity names no one: Pipedrive links the person by id.
      expect(JSON.stringify(activity).toLowerCase()).not.toContain(p.email.toLowerCase());
      if (p === DANA) danaTask = { activity, touchId: task.payload.touchId, outcomes: task.payload.outcomes };
    }
    const posts = pd.calls.filter((c) => c.method === 'POST' && c.path === '/api/v2/activities');
    expect(posts).toHaveLength(2);
  });

  it('the rep ticks an outcome and marks the activity done in Pipedrive: touch-completed with that outcome on the timeline', async () => {
    expect(danaTask).toBeDefined();
    const outcome = danaTask.outcomes.find((o) => !['done', 'next-step', 'no-future'].includes(o)) ?? 'done';
    // What the rep does in Pipedrive: an x in one box of the note, then "done".
    pd.seed({ activities: [{ ...danaTask.activity, id: danaTask.activity.id as number, done: true, note: String(danaTask.activity.note).replace(`[ ] ${outcome}`, `[x] ${outcome}`) }] });
    const body = activityDone({ eventId: randomUUID(), activity: danaTask.activity, at: minutesBefore(await clockNow(stack), 1) });
    const r = await deliver(stack, body);
    expect({ status: r.status, body: r.body }).toEqual({ status: 202, body: { accepted: 1 } });
    // Pipedrive retries it (attempt 2): still one completion.
    expect((await deliver(stack, { ...body, meta: { ...body.meta, attempt: 2 } })).status).toBe(202);
    await drain(stack);

    const view = await byEmail(stack, DANA.email);
    const completed = (view.body.timeline as { type: string; detail?: Record<string, unknown> }[]).filter((e) => e.type === 'touch-completed');
    expect(completed).toEqual([expect.objectContaining({ detail: { touchId: danaTask.touchId, outcome } })]);
    // The note (left out of webhooks v2) was read from Pipedrive's API.
    expect(pd.calls.some((c) => c.method === 'GET' && c.path === `/api/v2/activities/${danaTask.activity.id}`)).toBe(true);
  });

  it('a hard bounce on a sent e-mail reaches Pipedrive as the marketing status unsubscribed', async () => {
    type Mail = { messageId: string; relationshipId: string; destination: { to: string[] } };
    let mail: Mail | undefined;
    for (let week = 0; week < 5 && !mail; week++) {
      expect((await http(stack, 'POST', '/local/clock', { advanceBy: 'P7D' })).status).toBe(200);
      mail = ((await http<Mail[]>(stack, 'GET', '/local/outbox')).body).find((m) => m.relationshipId === relId.get(DANA.id));
    }
    expect(mail, 'an e-mail to the opted-in person within five weeks').toBeDefined();
    expect(mail?.destination.to.map((t) => t.toLowerCase())).toEqual([DANA.email]);
    expect(pd.calls.filter((c) => c.method === 'PATCH')).toEqual([]);

    const bounce = await http(stack, 'POST', '/local/ses-event', { messageId: mail?.messageId, type: 'bounce' });
    expect(bounce.status).toBe(200);
    await drain(stack);

    const consent = ((await http<OutboundMessage[]>(stack, 'GET', '/local/outbound')).body).filter((m) => m.type === 'consent-changed' && m.relationshipId === relId.get(DANA.id));
    expect(consent).toEqual([expect.objectContaining({ targets: expect.arrayContaining(['pipedrive']), payload: expect.objectContaining({ action: 'stop-all-email' }) })]);
    const patches = pd.calls.filter((c) => c.method === 'PATCH');
    expect(patches.map((c) => ({ path: c.path, body: c.body }))).toEqual([{ path: `/api/v2/persons/${DANA.id}`, body: { marketing_status: 'unsubscribed' } }]);
    expect(patches[0]?.headers['x-api-token']).toBe(pd.token);
    // In Cultivate the bounce is a suppression of the address (consent itself is unchanged).
    const view = await byEmail(stack, DANA.email);
    expect(view.body.consent.suppressions).toEqual(expect.arrayContaining([expect.objectContaining({ scope: 'hard-bounce' })]));
    expect(view.body.nextTouch?.channel ?? 'none').not.toBe('email');
  });

  it('the lost deal delivered again weeks later (same meta.id) is a duplicate: no new loss, the cadence is not restarted', async () => {
    const before = await byEmail(stack, LEE.email);
    expect((await deliver(stack, loss(1))).status).toBe(202);
    await drain(stack);
    const after = await byEmail(stack, LEE.email);
    expect(after.body.id).toBe(before.body.id);
    expect(lossEntries(after.body.timeline)).toHaveLength(1);
    expect(after.body.nextTouch).toEqual(before.body.nextTouch);
    expect(after.body.timeline).toHaveLength(before.body.timeline.length);
  });

  it('fuzz: random bodies and headers never get a 5xx; with wrong credentials nothing is kept or published', async () => {
    await drain(stack);
    const keysBefore = await tableKeys(stack);
    const publishedBefore = stack.bus.published.length;
    const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 80 });
    const wrongAuth = fc.oneof(
      fc.constant(null),
      printable,
      printable.map((s) => `Basic ${s}`),
      fc.base64String({ maxLength: 60 }).map((s) => `Basic ${s}`),
      fc.string({ maxLength: 40 }).filter((s) => s !== BASIC).map((pair) => basicHeader(pair)),
      fc.constantFrom(`${BASIC} `, BASIC.toUpperCase(), BASIC.replace(':', ''), `${BASIC}x`, 'cultivate-hook:').map((pair) => basicHeader(pair)),
    );
    const extraHeaders = fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,16}$/), printable, { maxKeys: 3 });
    const contentType = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', '');
    const documented = fc.constantFrom('doc-update-deal', 'doc-create-deal', 'doc-update-activity', 'doc-update-person', 'doc-delete-deal');
    const body = fc.oneof(
      documented.map((name) => JSON.stringify(fixture(name))),
      fc.tuple(documented, fc.constantFrom('meta', 'data', 'previous'), fc.jsonValue()).map(([name, key, value]) => JSON.stringify({ ...fixture(name), [key]: value })),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string(),
      fc.uint8Array({ maxLength: 200 }),
    );
    const statuses = new Map<number, number>();

    await fc.assert(
      fc.asyncProperty(wrongAuth, contentType, extraHeaders, body, async (auth, type, extra, raw) => {
        const headers: Record<string, string> = { ...extra, ...(type && { 'content-type': type }), ...(auth !== null && { authorization: auth }) };
        const r = await http(stack, 'POST', '/webhooks/pipedrive', raw, headers);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        expect(r.status).toBe(401);
      }),
      { numRuns: 150 },
    );
    await drain(stack);
    expect(await tableKeys(stack)).toEqual(keysBefore);
    expect(stack.bus.published.length).toBe(publishedBefore);

    // With the right credentials, random bodies are refused (400, kept for review) or accepted, never a 5xx.
    const randomBody = fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string(), fc.uint8Array({ maxLength: 200 }));
    await fc.assert(
      fc.asyncProperty(contentType, extraHeaders, randomBody, async (type, extra, raw) => {
        const r = await http(stack, 'POST', '/webhooks/pipedrive', raw, { ...extra, ...(type && { 'content-type': type }), authorization: basicHeader(BASIC) });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        expect([202, 400]).toContain(r.status);
        if (r.status === 400) expect(r.body.quarantineId).toEqual(expect.any(String));
      }),
      { numRuns: 150 },
    );
    await drain(stack);
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  });

  it('nothing was dead-lettered', async () => {
    expect((await http(stack, 'GET', '/local/dlq')).body).toEqual([]);
  });

  it('after crm.yaml maps the reason and the stack restarts on the same data, a replay brings everyone on that deal in; a second replay is 409', async () => {
    // The clock goes on from where it was: a restarted stack does not travel back in time.
    const now = new Date(await clockNow(stack));
    await stack.stop();
    rewriteCrmYaml(configDir, (pdMap) => {
      pdMap.lostReasons[UNMAPPED_REASON] = 'no-decision';
    });
    stack = await start({ configDir, dataDir, crmEnv: pipedriveEnv(pd), clockStart: now, logLevel: 'DEBUG' });

    // What was there before the restart still is.
    expect((await byEmail(stack, DANA.email)).body.id).toBe(relId.get(DANA.id));
    const replay = await http(stack, 'POST', `/quarantine/${encodeURIComponent(unmappedId)}/replay`);
    expect(replay.status, replay.text).toBe(200);
    await drain(stack);

    for (const [p, role] of [[KAI, 'champion'], [MIO, 'influencer']] as const) {
      const view = await byEmail(stack, p.email);
      expect(view.status, `${p.name}: ${view.text}`).toBe(200);
      expect(view.body).toMatchObject({ stage: 'nurturing', lostReason: 'no-decision', owner: 'sam@seller.example', accountId: `pipedrive:${COMPANY}:5`, nextTouch: { channel: 'task' } });
      expect(lossEntries(view.body.timeline)).toHaveLength(1);
      expect((await stateOf(stack, view.body.id)).contact.role).toBe(role);
    }
    const again = await http(stack, 'POST', `/quarantine/${encodeURIComponent(unmappedId)}/replay`);
    expect(again.status).toBe(409);
    const listed = (await http(stack, 'GET', `/quarantine?day=${day}`)).body.items as { id: string; replayedAt?: string }[];
    expect(listed.find((i) => i.id === unmappedId)?.replayedAt).toEqual(expect.any(String));
    expect((await http(stack, 'GET', '/local/dlq')).body).toEqual([]);
  });

  it('the logs of the whole run name no one: no fixture e-mail address or name (DESIGN.md §5)', async () => {
    await drain(stack);
    const text = logs.lines.join('');
    expect(text).toContain('CRM webhook accepted');
    expect(text).toContain('pipedrive lost deal normalised');
    const people = [DANA, LEE, KAI, MIO].flatMap((p) => [p.email, p.name]);
    expect(logs.lines.filter((l) => people.some((needle) => l.toLowerCase().includes(needle.toLowerCase())))).toEqual([]);
  });
});

describe('pipedrive end to end: a stack without Pipedrive settings', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await start({});
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers 404 on /webhooks/pipedrive naming the missing setting, with or without credentials', async () => {
    for (const auth of [basicHeader(BASIC), null]) {
      const r = await deliver(stack, fixture('doc-update-deal'), auth);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: expect.stringContaining('CULTIVATE_PIPEDRIVE_BASIC_AUTH'), missingSettings: ['CULTIVATE_PIPEDRIVE_BASIC_AUTH'] });
    }
    expect(stack.bus.published).toEqual([]);
  });
});
