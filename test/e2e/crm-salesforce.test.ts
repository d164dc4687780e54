/**
 * End to end, Salesforce (issue #5, "Done means"): the local stack in process, with Salesforce's
 * settings and a local fake of its REST API, driven over HTTP as Salesforce and a reviewer would.
 *
 * Payloads: Outbound Messages built by `outboundMessageXml` in the shape of Salesforce's
 * "Understanding the Outbound Messaging WSDL" (developer.salesforce.com/docs/platform/api/guide/
 * sforce-api-om-outboundmessaging-wsdl.html), with the ids of the adapter's fixtures
 * (test/crm/salesforce/fixtures/outbound-message-*.xml); the acknowledgement is the WSDL's
 * `notificationsResponse` with `<Ack>true</Ack>`. Authentication is what Salesforce can do: the
 * secret token in the endpoint URL's path (Outbound Messages cannot add headers) plus the org id
 * allow-list. Outbound Messages carry no timestamp or signature, so there is no "stale delivery"
 * to refuse; a redelivery keeps its notification id and is a duplicate (tested below).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { canonicalId } from '#crm/salesforce/ids';
import { startLocalStack, type LocalStack } from '#local/runtime';
import { signBody } from '#shared/hmac';
import { type FakeSalesforce, outboundMessageXml, startFakeSalesforce } from '../helpers/fake-salesforce.ts';

/** A Monday, 09:00 UTC, no public holiday in the week. */
const CLOCK_START = new Date('2026-11-30T09:00:00.000Z');
const DAY = CLOCK_START.toISOString().slice(0, 10);
const LOST_AT = '2026-11-30T08:30:00.000Z';

const id18 = (id15: string) => canonicalId(id15) as string;
const ORG = id18('00D5e000000KQ2e');
const OTHER_ORG = id18('00D5e000000ZZ9y');
const ACTION = id18('04k5e000000CaRk');
const TASK_ACTION = id18('04k5e000000CaRm');
const USER = id18('0055e00000AaBbC');
const ACCOUNT = id18('0015e00000ZkM3h');
const ACCOUNT2 = id18('0015e00000QnB7t');
const TOKEN = 'sf-e2e-5f0c2b7d9a61e4c38b17d02fa9e6c451';
const SAM = 'sam@seller.example';

interface Person {
  contactId: string;
  email: string;
  first: string;
  last: string;
  role: string;
  cultivateRole: string;
}

const DANA: Person = { contactId: id18('0035e00000XyZaB'), email: 'dana.reyes.sf-fixture@example.com', first: 'Dana', last: 'Reyes-Fixture', role: 'Decision Maker', cultivateRole: 'champion' };
const LEE: Person = { contactId: id18('0035e00000QrStU'), email: 'lee.park.sf-fixture@example.com', first: 'Lee', last: 'Park-Fixture', role: 'Evaluator', cultivateRole: 'evaluator' };
const OPP = id18('0065e00000AbCdE');
/** For the quarantine describe: another deal, another pair of people. */
const ROBIN: Person = { contactId: id18('0035e00000RbNaA'), email: 'robin.quill.sf-fixture@example.com', first: 'Robin', last: 'Quill-Fixture', role: 'Economic Buyer', cultivateRole: 'champion' };
const KAI: Person = { contactId: id18('0035e00000KaIbB'), email: 'kai.moreno.sf-fixture@example.com', first: 'Kai', last: 'Moreno-Fixture', role: 'Influencer', cultivateRole: 'influencer' };
const OPP2 = id18('0065e00000QuArA');

interface Deal {
  opp: string;
  account: string;
  company: string;
  people: Person[];
}
const ACME: Deal = { opp: OPP, account: ACCOUNT, company: 'Acme Corporation', people: [DANA, LEE] };
/** Another account, so the per-account touch cap of one does not hold back the other's e-mails. */
const GLOBEX: Deal = { opp: OPP2, account: ACCOUNT2, company: 'Globex Fixture Ltd', people: [ROBIN, KAI] };

const ACK =
  /^<\?xml version="1\.0" encoding="UTF-8"\?><soapenv:Envelope xmlns:soapenv="http:\/\/schemas\.xmlsoap\.org\/soap\/envelope\/"><soapenv:Body><notificationsResponse xmlns="http:\/\/soap\.sforce\.com\/2005\/09\/outbound"><Ack>true<\/Ack><\/notificationsResponse><\/soapenv:Body><\/soapenv:Envelope>$/;

// ------------------------------------------------------------------------------------- helpers

/** A copy of config/ whose salesforce mapping is changed by `edit` (a temp folder, removed in afterAll). */
function configCopy(edit: (salesforce: Record<string, any>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'cultivate-sf-config-'));
  cpSync(new URL('../../config', import.meta.url), dir, { recursive: true });
  const file = join(dir, 'crm.yaml');
  const crm = parseYaml(readFileSync(file, 'utf8')) as Record<string, any>;
  edit(crm.salesforce);
  writeFileSync(file, stringifyYaml(crm));
  return dir;
}

function seedDeal(sf: FakeSalesforce, { opp, account, company, people }: Deal) {
  sf.seed({
    Account: { [account]: { Name: company } },
    Opportunity: { [opp]: { AccountId: account, OwnerId: USER, IsClosed: true, IsWon: false, StageName: 'Closed Lost' } },
    Contact: Object.fromEntries(
      people.map((p) => [
        p.contactId,
        { Email: p.email, FirstName: p.first, LastName: p.last, Title: 'VP Operations', MailingCountry: 'United States', HasOptedOutOfEmail: false, OwnerId: USER, AccountId: account },
      ]),
    ),
    OpportunityContactRole: Object.fromEntries(
      people.map((p, i) => [id18(`00K5e00000${opp.slice(10, 13)}${String(i).padStart(2, '0')}`), { OpportunityId: opp, ContactId: p.contactId, Role: p.role, IsPrimary: i === 0 }]),
    ),
  });
}

/** The Outbound Message of a closed-lost opportunity (the fields an admin ticks on the message). */
function lostDealXml(opts: { deal: Deal; notificationId: string; reason: string; sessionId?: string; orgId?: string }) {
  return outboundMessageXml({
    orgId: opts.orgId ?? ORG,
    actionId: ACTION,
    ...(opts.sessionId && { sessionId: opts.sessionId }),
    notifications: [
      {
        id: opts.notificationId,
        object: 'Opportunity',
        fields: {
          Id: opts.deal.opp,
          AccountId: opts.deal.account,
          Amount: '24000.0',
          CreatedDate: '2026-09-01T09:00:00.000Z',
          IsClosed: 'true',
          IsWon: 'false',
          LastModifiedDate: LOST_AT,
          Loss_Reason__c: opts.reason,
          Name: 'Acme & Co - Platform',
          OwnerId: USER,
          StageName: 'Closed Lost',
        },
      },
    ],
  });
}

interface Client {
  stack: LocalStack;
  post(path: string, body: string | Uint8Array | object, headers?: Record<string, string>): Promise<{ status: number; text: string; body: any; contentType: string }>;
  get(path: string): Promise<{ status: number; body: any }>;
  drain(): Promise<void>;
  byEmail(email: string): Promise<{ status: number; body: any }>;
  states(): Promise<Record<string, any>[]>;
}

function client(stack: LocalStack): Client {
  const request = async (method: string, path: string, body?: string | Uint8Array | object, headers: Record<string, string> = {}) => {
    const raw = body === undefined || typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const h = { ...(body !== undefined && typeof body === 'object' && !(body instanceof Uint8Array) && { 'content-type': 'application/json' }), ...headers };
    const res = await fetch(`${stack.url}${path}`, { method, headers: h, ...(raw !== undefined && { body: raw }) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (the SOAP acknowledgement)
    }
    return { status: res.status, text, body: parsed as any, contentType: res.headers.get('content-type') ?? '' };
  };
  const c: Client = {
    stack,
    post: (path, body, headers) => request('POST', path, body, headers),
    get: (path) => request('GET', path),
    async drain() {
      expect((await request('POST', '/local/drain')).status).toBe(200);
    },
    byEmail: (email) => request('GET', `/relationships?email=${encodeURIComponent(email)}`),
    async states() {
      const items: Record<string, any>[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const out = await stack.ddb.send(new ScanCommand({ TableName: stack.tableName, ConsistentRead: true, ExclusiveStartKey: start }));
        for (const item of out.Items ?? []) items.push(unmarshall(item));
        start = out.LastEvaluatedKey;
      } while (start);
      return items.filter((i) => i.sk === 'STATE');
    },
  };
  return c;
}

/** Salesforce posts to the endpoint URL the admin entered: the token is its last path segment. */
const endpoint = (token = TOKEN) => `/webhooks/salesforce/${encodeURIComponent(token)}`;
const SOAP_HEADERS = { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' };

/** What a relationship in nurture from this deal must look like. */
async function expectNurtured(c: Client, p: Person, reason: string, deal: Deal) {
  const view = await c.byEmail(p.email);
  expect(view.status, p.email).toBe(200);
  expect(view.body).toMatchObject({
    stage: 'nurturing',
    lostReason: reason,
    owner: SAM,
    accountId: `salesforce:${ORG}:${deal.account}`,
    nextTouch: { channel: 'task', kind: 'thank-you-note', status: 'planned' },
  });
  // The read view has no role: the stored state has it, with the CRM ids of the person and deal.
  const state = (await c.states()).find((s) => s.pk === `REL#${view.body.id}`);
  expect(state?.s).toMatchObject({ contact: { role: p.cultivateRole, email: p.email, company: deal.company }, nurture: { dealId: deal.opp } });
  expect(state?.s.crmIds).toContain(`salesforce:${ORG}:${p.contactId}`);
  return view.body as { id: string; timeline: { type: string; eventId: string; detail?: Record<string, unknown> }[] };
}

// ------------------------------------------------------------------------------------- the run

/**
 * One stack on one data folder for the whole story, restarted once (the mapping fix), and a bare
 * stack without Salesforce's settings started alongside: starting a stack is most of the run time.
 */
let sf: FakeSalesforce;
let stack: LocalStack | undefined;
let bare: LocalStack | undefined;
let c: Client;
const dataDir = mkdtempSync(join(tmpdir(), 'cultivate-sf-e2e-'));
const dirs: string[] = [dataDir];
const relId = new Map<string, string>();

/** Sales ops' mapping: the rep's user id mapped, and no default, so an unknown lost reason waits in quarantine. */
const mapping = (extra: Record<string, string> = {}) =>
  configCopy((s) => {
    s.users = { [USER]: SAM };
    delete s.defaultLostReason;
    Object.assign(s.lostReasons, extra);
  });

async function startWith(configDir: string): Promise<LocalStack> {
  dirs.push(configDir);
  return startLocalStack({
    port: 0,
    dataDir,
    clockStart: CLOCK_START,
    sweepEveryMinute: false,
    logLevel: 'SILENT',
    configDir,
    crmEnv: {
      // The 15-character form, as admins paste it from Company Information, next to a sandbox's.
      CULTIVATE_SALESFORCE_ORG_IDS: `${ORG.slice(0, 15)}, ${id18('00D000000000001')}`,
      CULTIVATE_SALESFORCE_TOKEN: TOKEN,
      CULTIVATE_SALESFORCE_API_URL: sf.url,
      CULTIVATE_SALESFORCE_CLIENT_ID: sf.clientId,
      CULTIVATE_SALESFORCE_CLIENT_SECRET: sf.clientSecret,
    },
  });
}

beforeAll(async () => {
  sf = await startFakeSalesforce();
  seedDeal(sf, ACME);
  seedDeal(sf, GLOBEX);
  [stack, bare] = await Promise.all([startWith(mapping()), startLocalStack({ port: 0, clockStart: CLOCK_START, sweepEveryMinute: false, logLevel: 'SILENT' })]);
  c = client(stack);
});
afterAll(async () => {
  await Promise.all([stack?.stop(), bare?.stop()]);
  await sf?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const live = () => stack as LocalStack;

describe('Salesforce end to end: without its settings', () => {
  it('POST /webhooks/salesforce (and with a token) answers 404 naming the missing settings, and keeps nothing', async () => {
    const b = client(bare as LocalStack);
    for (const path of ['/webhooks/salesforce', endpoint()]) {
      const r = await b.post(path, lostDealXml({ deal: ACME, notificationId: id18('04l5e00000Gx7Qz'), reason: 'Timing' }), SOAP_HEADERS);
      expect(r.status).toBe(404);
      expect(r.body).toEqual({
        error: 'the salesforce webhook is not configured: set CULTIVATE_SALESFORCE_ORG_IDS and CULTIVATE_SALESFORCE_TOKEN',
        missingSettings: ['CULTIVATE_SALESFORCE_ORG_IDS', 'CULTIVATE_SALESFORCE_TOKEN'],
      });
    }
    expect(bare?.bus.published).toEqual([]);
    expect((await b.get(`/quarantine?day=${DAY}`)).body.items).toEqual([]);
    await bare?.stop();
    bare = undefined;
  });
});

describe('Salesforce end to end: an Outbound Message in, people nurtured', () => {
  it('a closed-lost Outbound Message is acknowledged as Salesforce expects, and every contact role enters nurture', async () => {
    const r = await c.post(endpoint(), lostDealXml({ deal: ACME, notificationId: id18('04l5e00000Gx7Qz'), reason: 'Timing' }), SOAP_HEADERS);
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/xml/);
    expect(r.text).toMatch(ACK);
    await c.drain();

    for (const p of [DANA, LEE]) relId.set(p.email, (await expectNurtured(c, p, 'timing', ACME)).id);
    expect(relId.get(DANA.email)).not.toBe(relId.get(LEE.email));
    // The contacts came from the REST API (the message carries only the opportunity), with a token.
    expect(sf.calls.some((call) => call.method === 'POST' && call.path === '/services/oauth2/token')).toBe(true);
    const soql = sf.calls.filter((call) => call.method === 'GET').map((call) => new URL(call.path, sf.url).searchParams.get('q') ?? '');
    expect(soql).toContainEqual(expect.stringMatching(new RegExp(`FROM OpportunityContactRole WHERE OpportunityId = '${OPP}'`)));
  });

  it("Salesforce's redelivery of the same notification creates nothing new", async () => {
    const before = await c.states();
    const published = live().bus.published.length;
    // Salesforce resends until it sees the Ack: same notification id, a fresh session id.
    const r = await c.post(endpoint(), lostDealXml({ deal: ACME, notificationId: id18('04l5e00000Gx7Qz'), reason: 'Timing', sessionId: '00D5e000000KQ2e!AQ4AQFake.Session.Retry' }), SOAP_HEADERS);
    expect(r.status).toBe(200);
    expect(r.text).toMatch(ACK);
    await c.drain();

    const after = await c.states();
    expect(after.map((s) => s.pk).sort()).toEqual(before.map((s) => s.pk).sort());
    for (const p of [DANA, LEE]) {
      const view = await c.byEmail(p.email);
      expect(view.body.id).toBe(relId.get(p.email));
      expect(view.body.timeline.filter((e: { type: string }) => e.type === 'lead-closed-lost')).toHaveLength(1);
    }
    // Only the notification reference and the two (deduplicated) events went out: no new touches or messages.
    expect(live().bus.published.slice(published).map((p) => p.detailType).sort()).toEqual(['crm-notification', 'lead-closed-lost', 'lead-closed-lost']);
  });

  describe('refusals create nothing', () => {
    let states: number;
    let published: number;
    beforeAll(async () => {
      states = (await c.states()).length;
      published = live().bus.published.length;
    });
    const other: Person = { ...DANA, email: 'forged.sf-fixture@example.com' };
    const body = () => lostDealXml({ deal: ACME, notificationId: id18('04l5e00000Fo7gD'), reason: 'Budget' });

    it('a wrong token in the path or the header is 401', async () => {
      for (const [path, headers] of [
        [endpoint('sf-e2e-guessed-token'), SOAP_HEADERS],
        [endpoint(`${TOKEN}x`), SOAP_HEADERS],
        ['/webhooks/salesforce', SOAP_HEADERS],
        ['/webhooks/salesforce', { ...SOAP_HEADERS, 'x-cultivate-token': TOKEN.slice(0, -1) }],
      ] as const) {
        const r = await c.post(path, body(), headers);
        expect({ path, status: r.status }).toEqual({ path, status: 401 });
        expect(r.body.error).toEqual(expect.any(String));
      }
    });

    it('the right token with an org that is not on the allow-list is 401 (an org id is not a secret)', async () => {
      const r = await c.post(endpoint(), lostDealXml({ deal: ACME, notificationId: id18('04l5e00000Fo7gE'), reason: 'Budget', orgId: OTHER_ORG }), SOAP_HEADERS);
      expect(r.status).toBe(401);
      expect(r.body.error).toMatch(/allow-list/);
    });

    it('a mangled body is 400 naming every bad field, with a quarantineId, and kept as a webhook entry', async () => {
      const mangled = body()
        .replace(`<ActionId>${ACTION}</ActionId>`, '<ActionId>not-an-id</ActionId>')
        .replace(`<sf:Id>${OPP}</sf:Id>`, '');
      const r = await c.post(endpoint(), mangled, SOAP_HEADERS);
      expect(r.status).toBe(400);
      const paths = (r.body.issues as { path: string }[]).map((i) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['notifications.ActionId', 'notifications.Notification[0].sObject.Id']));
      expect(r.body.quarantineId).toEqual(expect.any(String));

      const notXml = await c.post(endpoint(), '<notifications><unclosed>', SOAP_HEADERS);
      expect(notXml.status).toBe(400);
      expect(notXml.body).toMatchObject({ error: 'not well-formed XML', quarantineId: expect.any(String) });

      const listed = await c.get(`/quarantine?day=${DAY}`);
      expect(listed.status).toBe(200);
      const kept = (listed.body.items as { id: string; kind: string; source: string; paths: string[] }[]).find((i) => i.id === r.body.quarantineId);
      expect(kept).toMatchObject({ kind: 'webhook', source: 'salesforce', paths: expect.arrayContaining(['notifications.ActionId']) });
    });

    it('after all of them: no new relationship, nothing published', async () => {
      await c.drain();
      expect((await c.byEmail(other.email)).status).toBe(404);
      expect((await c.states()).length).toBe(states);
      expect(live().bus.published.length).toBe(published);
    });
  });
});

describe('Salesforce end to end: an unmapped lost reason waits in quarantine and replays once the mapping is fixed', () => {
  let quarantineId = '';

  it('a lost reason the mapping does not know (and no default) is acknowledged, then kept as unmapped', async () => {
    const published = live().bus.published.length;
    const r = await c.post(endpoint(), lostDealXml({ deal: GLOBEX, notificationId: id18('04l5e00000QuArN'), reason: 'Procurement freeze' }), SOAP_HEADERS);
    expect(r.status).toBe(200);
    expect(r.text).toMatch(ACK);
    await c.drain();

    const listed = await c.get(`/quarantine?day=${DAY}`);
    expect(listed.status).toBe(200);
    const unmapped = (listed.body.items as { id: string; kind: string }[]).filter((i) => i.kind === 'unmapped');
    expect(unmapped).toEqual([expect.objectContaining({ source: 'salesforce', reason: expect.stringMatching(/lost reason not mapped/), paths: ['Opportunity.Loss_Reason__c'] })]);
    quarantineId = (unmapped[0] as { id: string }).id;
    for (const p of [ROBIN, KAI]) expect((await c.byEmail(p.email)).status).toBe(404);
    expect(live().bus.published.slice(published).map((p) => p.detailType)).toEqual(['crm-notification']);
  });

  it('after the mapping is fixed and the stack restarted on the same data, the replay brings the people in, once', async () => {
    await stack?.stop();
    stack = undefined;
    stack = await startWith(mapping({ 'Procurement freeze': 'budget' }));
    c = client(stack);

    const replay = await c.post(`/quarantine/${encodeURIComponent(quarantineId)}/replay`, '');
    expect(replay.status).toBe(200);
    expect(replay.body.item).toMatchObject({ id: quarantineId, kind: 'unmapped', replayedAt: expect.any(String) });
    await c.drain();
    for (const p of [ROBIN, KAI]) relId.set(p.email, (await expectNurtured(c, p, 'budget', GLOBEX)).id);
    // DynamoDB Local kept the earlier relationships too.
    for (const p of [DANA, LEE]) expect((await c.byEmail(p.email)).body.id).toBe(relId.get(p.email));

    const again = await c.post(`/quarantine/${encodeURIComponent(quarantineId)}/replay`, '');
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/replayed already/);
  });
});

describe('Salesforce end to end: tasks and opt-outs back to Salesforce, and a fuzz', () => {
  it('the thank-you note reaches Salesforce as a Task in its format; completing it there records touch-completed', async () => {
    const r = await c.post('/local/clock', { advanceBy: 'P3D' });
    expect(r.status).toBe(200);
    const fired = (r.body.fired as { relationshipId: string; kind: string; outcome: string }[]).filter((f) => f.kind === 'thank-you-note');
    // Every person of both deals (the replayed one too) gets one, assigned.
    expect(fired.map((f) => f.relationshipId).sort()).toEqual([...relId.values()].sort());
    expect(new Set(fired.map((f) => f.outcome))).toEqual(new Set(['task-assigned']));

    const tasks = sf.records('Task');
    expect(tasks.map((t) => t.WhoId).sort()).toEqual([DANA, LEE, ROBIN, KAI].map((p) => p.contactId).sort());
    const danaTask = tasks.find((t) => t.WhoId === DANA.contactId);
    const thanks = (await c.byEmail(DANA.email)).body.decisions.find((d: { kind: string }) => d.kind === 'thank-you-note');
    expect(danaTask).toMatchObject({
      Subject: expect.stringMatching(/thank/i),
      Status: 'Not Started',
      Priority: 'Normal',
      OwnerId: USER,
      WhoId: DANA.contactId,
      WhatId: OPP,
      // The due date where the rep is (Sam: America/New_York), as a Salesforce date.
      ActivityDate: new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York' }).format(new Date(thanks.at)),
    });
    expect(String(danaTask?.Description)).toMatch(new RegExp(`\\nCultivate touch id: ${thanks.touchId.replace(/[.]/g, '\\.')}$`));
    expect(String(danaTask?.Description)).toContain(`Due: ${danaTask?.ActivityDate} (your time zone, America/New_York)`);
    // Through the REST API, authenticated with the client credentials token.
    const create = sf.calls.find((call) => call.method === 'POST' && call.path === '/services/data/v62.0/sobjects/Task' && (call.body as { WhoId?: string }).WhoId === DANA.contactId);
    expect(create?.headers.authorization).toMatch(/^Bearer 00DFAKE/);

    // The rep completes it; the org's Outbound Message on Task sends it back.
    const now = (await c.get('/local/clock')).body.now as string;
    const done = outboundMessageXml({
      orgId: ORG,
      actionId: TASK_ACTION,
      notifications: [
        {
          id: id18('04l5e00000Gx7R1'),
          object: 'Task',
          fields: { Id: danaTask?.Id as string, CallDisposition: 'Left voicemail', Description: String(danaTask?.Description).replace(/\n/g, '\r\n'), IsClosed: 'true', LastModifiedDate: now, Status: 'Completed', WhoId: DANA.contactId },
        },
      ],
    });
    const back = await c.post(endpoint(), done, SOAP_HEADERS);
    expect(back.status).toBe(200);
    expect(back.text).toMatch(ACK);
    await c.drain();
    const timeline = (await c.byEmail(DANA.email)).body.timeline as { type: string; detail?: Record<string, unknown> }[];
    expect(timeline.filter((e) => e.type === 'touch-completed')).toEqual([expect.objectContaining({ detail: { touchId: thanks.touchId, outcome: 'left-message' } })]);
  });

  it('a hard bounce reaches Salesforce as the opt-out and bounce fields on the Contact', async () => {
    // Salesforce has no e-mail consent to give (HasOptedOutOfEmail false is not an opt-in): the
    // opt-in comes from a webinar form through the generic webhook, for the same address.
    const now = (await c.get('/local/clock')).body.now as string;
    const optIn = Buffer.from(
      JSON.stringify({
        id: 'sf-e2e-webinar-optin-dana',
        type: 'consent-changed',
        occurredAt: now,
        contact: { email: DANA.email },
        data: { action: 'grant-email', consent: { email: 'granted', basis: 'opt-in', source: 'webinar-form', capturedAt: now } },
      }),
    );
    const signed = await c.post('/webhooks/generic', new Uint8Array(optIn), { 'content-type': 'application/json', 'cultivate-signature': signBody(live().webhookSecret, optIn, Date.now() / 1000) });
    expect(signed.status).toBe(202);
    await c.drain();

    // Step to Dana's planned e-mail; the per-account cap (the thank-you tasks count) may push it a week.
    let mail: { messageId: string } | undefined;
    for (let step = 0; step < 3 && !mail; step++) {
      const planned = (await c.byEmail(DANA.email)).body.nextTouch as { at: string; channel: string };
      expect(planned.channel).toBe('email');
      expect((await c.post('/local/clock', { to: new Date(Date.parse(planned.at) + 60_000).toISOString() })).status).toBe(200);
      const outbox = (await c.get('/local/outbox')).body as { messageId: string; destination: { to: string[] } }[];
      mail = outbox.find((m) => m.destination.to.some((t) => t.toLowerCase() === DANA.email));
    }
    expect(mail, 'the first value e-mail to Dana').toBeDefined();

    const patchesBefore = sf.calls.filter((call) => call.method === 'PATCH').length;
    const bounce = await c.post('/local/ses-event', { messageId: mail?.messageId, type: 'bounce' });
    expect(bounce.status).toBe(200);
    await c.drain();

    const patches = sf.calls.filter((call) => call.method === 'PATCH').slice(patchesBefore);
    expect(patches).toEqual([
      expect.objectContaining({
        path: `/services/data/v62.0/sobjects/Contact/${DANA.contactId}`,
        body: { HasOptedOutOfEmail: true, EmailBouncedReason: expect.stringMatching(/hard bounce/i), EmailBouncedDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      }),
    ]);
    expect(sf.records('Contact').find((r) => r.Id === DANA.contactId)).toMatchObject({ HasOptedOutOfEmail: true });
    const local = ((await c.get('/local/outbound')).body as { type: string; relationshipId: string; targets?: string[] }[]).filter(
      (m) => m.type === 'consent-changed' && m.relationshipId === relId.get(DANA.email),
    );
    expect(local.at(-1)?.targets).toContain('salesforce');
  });

  it('fuzz: random bodies and headers never get a 5xx; with a wrong credential nothing is kept or published', async () => {
    const good = lostDealXml({ deal: ACME, notificationId: id18('04l5e00000FuZzA'), reason: 'Budget' });
    const headerValue = fc.stringMatching(/^[\x21-\x7e]{0,40}$/);
    const bodyArb = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.uint8Array({ maxLength: 400 }),
      fc.json({ maxDepth: 3 }),
      // Salesforce's own message with a slice cut out or replaced.
      fc.tuple(fc.nat(good.length), fc.nat(200), fc.string({ maxLength: 30 })).map(([at, len, insert]) => good.slice(0, at) + insert + good.slice(at + len)),
    );
    const headersArb = fc.record({ 'content-type': fc.constantFrom('text/xml; charset=utf-8', 'application/json', 'application/x-www-form-urlencoded', '*/*'), soapaction: headerValue }, { requiredKeys: ['content-type'] });
    const toBytes = (b: string | Uint8Array) => (typeof b === 'string' ? new TextEncoder().encode(b) : b);
    const tableSize = async () => {
      let n = 0;
      let start: Record<string, AttributeValue> | undefined;
      do {
        const out = await live().ddb.send(new ScanCommand({ TableName: live().tableName, Select: 'COUNT', ExclusiveStartKey: start }));
        n += out.Count ?? 0;
        start = out.LastEvaluatedKey;
      } while (start);
      return n;
    };

    const items = await tableSize();
    const published = live().bus.published.length;
    await fc.assert(
      fc.asyncProperty(bodyArb, headersArb, fc.option(headerValue.filter((t) => t !== TOKEN), { nil: undefined }), headerValue.filter((t) => t !== TOKEN && t.length > 0 && t !== '.' && t !== '..'), async (b, headers, headerToken, pathToken) => {
        const r = await c.post(endpoint(pathToken), toBytes(b), { ...headers, ...(headerToken !== undefined && { 'x-cultivate-token': headerToken }) });
        expect(r.status).toBe(401);
      }),
      { numRuns: 100 },
    );
    await c.drain();
    expect(await tableSize()).toBe(items);
    expect(live().bus.published.length).toBe(published);

    // With the right token: never a 5xx, and every refusal of an authentic body says where it was kept.
    await fc.assert(
      fc.asyncProperty(bodyArb, headersArb, async (b, headers) => {
        const r = await c.post(endpoint(), toBytes(b), headers);
        expect(r.status).toBeLessThan(500);
        if (r.status === 400) expect(r.body.quarantineId).toEqual(expect.any(String));
      }),
      { numRuns: 100 },
    );
    await c.drain();
    expect((await c.get('/local/dlq')).body).toEqual([]);
  });
});
