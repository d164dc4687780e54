/**
 * A local fake of the Salesforce REST API endpoints Cultivate calls, answering in Salesforce's own
 * shapes (OAuth token response, SOQL query results with `attributes`, sObject create/update answers,
 * error arrays with `errorCode`), for adapter and end-to-end tests.
 *
 *   const sf = await startFakeSalesforce();     // sf.url → CULTIVATE_SALESFORCE_API_URL,
 *                                               // sf.clientId / sf.clientSecret → CULTIVATE_SALESFORCE_CLIENT_ID / _SECRET
 *   sf.seed({ Opportunity: { '006…': { AccountId: '001…', IsClosed: true, IsWon: false, … } },
 *             OpportunityContactRole: { '00K…': { OpportunityId: '006…', ContactId: '003…', Role: 'Decision Maker' } },
 *             Contact: { '003…': { Email: 'dana@example.com', … } } });
 *   sf.failNext(429)                            // the next API call answers 429 once (Retry-After: 0)
 *   sf.expireSessions()                         // the next API call answers 401 INVALID_SESSION_ID
 *   sf.calls                                    // every request: method, path (with query), parsed body, headers
 *   sf.records('Task')                          // records as stored (created Tasks, patched Contacts)
 *   await sf.stop();
 *
 * SOQL: `SELECT f1, Rel.f2 FROM Object [WHERE a = 'x' AND b >= 2026-01-01 ...] [ORDER BY f [ASC|DESC]] [LIMIT n]`,
 * the forms the adapter sends. Relationship paths (`Account.Name`, `Contact.Account.Name`) follow
 * `<Rel>Id` to the seeded record. Seeded fields that are absent answer null, as Salesforce does.
 * OpportunityStage holds the standard stages unless seeded.
 *
 * sObject Describe (GET /services/data/vXX.X/sobjects/{object}/describe), for `cultivate config
 * check`: Opportunity and Task with a few standard fields (StageName from OpportunityStage,
 * Task.CallDisposition as text); `sf.defineField('Opportunity', { name: 'Loss_Reason__c', type:
 * 'picklist', picklistValues: [...] })` adds or replaces one. Users are seeded as `User` records
 * (`UserType`, `IsActive`) and read through SOQL.
 */
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import type { AddressInfo } from 'node:net';

type Fields = Record<string, unknown>;
export type FakeSalesforceSeed = Record<string, Record<string, Fields>>;

export interface FakeCall {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

export interface FakeSalesforce {
  url: string;
  clientId: string;
  clientSecret: string;
  calls: FakeCall[];
  /** Adds or replaces records by object and id (fields merged over existing ones). */
  seed(data: FakeSalesforceSeed): void;
  /** The next REST call (not the token call) answers `status` once; 429 carries Retry-After: 0. */
  failNext(status?: number): void;
  /** Invalidates every issued token: the next call answers 401 INVALID_SESSION_ID. */
  expireSessions(): void;
  records(object: string): ({ Id: string } & Fields)[];
  /** Adds or replaces one field in an sObject's describe (the object is created when new). */
  defineField(object: string, field: FakeField): void;
  stop(): Promise<void>;
}

export interface FakeField {
  name: string;
  label?: string;
  /** Salesforce's field type: picklist, multipicklist, string, textarea, boolean, id, ... */
  type: string;
  picklistValues?: { value: string; label?: string; active?: boolean }[];
}

const STANDARD_STAGES: [string, boolean, boolean][] = [
  ['Prospecting', false, false],
  ['Qualification', false, false],
  ['Needs Analysis', false, false],
  ['Value Proposition', false, false],
  ['Id. Decision Makers', false, false],
  ['Perception Analysis', false, false],
  ['Proposal/Price Quote', false, false],
  ['Negotiation/Review', false, false],
  ['Closed Won', true, true],
  ['Closed Lost', true, false],
];

const PREFIX: Record<string, string> = { Task: '00T', Contact: '003', Account: '001', Opportunity: '006', Lead: '00Q', OpportunityContactRole: '00K', OpportunityHistory: '008' };

export async function startFakeSalesforce(opts: { clientId?: string; clientSecret?: string } = {}): Promise<FakeSalesforce> {
  const clientId = opts.clientId ?? '3MVG9fake.client.id';
  const clientSecret = opts.clientSecret ?? 'fake-client-secret';
  const db = new Map<string, Map<string, Fields>>();
  const calls: FakeCall[] = [];
  const tokens = new Set<string>();
  let failures: number[] = [];
  let counter = 0;
  let url = '';

  const table = (object: string) => {
    let t = db.get(object);
    if (!t) db.set(object, (t = new Map()));
    return t;
  };
  const seed = (data: FakeSalesforceSeed) => {
    for (const [object, rows] of Object.entries(data)) for (const [id, fields] of Object.entries(rows)) table(object).set(id, { ...table(object).get(id), ...fields, Id: id });
  };
  seed({ OpportunityStage: Object.fromEntries(STANDARD_STAGES.map(([name, isClosed, isWon], i) => [`01J00000000000${String(i).padStart(2, '0')}`, { ApiName: name, MasterLabel: name, IsClosed: isClosed, IsWon: isWon }])) });

  const sameId = (a: unknown, b: string) => typeof a === 'string' && (a === b || (a.length >= 15 && b.length >= 15 && a.slice(0, 15) === b.slice(0, 15)));
  const attributes = (object: string, id: string) => ({ type: object, url: `/services/data/v62.0/sobjects/${object}/${id}` });

  /** Follows `Rel.Field` through `<Rel>Id`, building Salesforce's nested relationship objects. */
  function project(object: string, row: Fields, paths: string[][]): Fields {
    const out: Fields = { attributes: attributes(object, String(row.Id)) };
    const groups = new Map<string, string[][]>();
    for (const path of paths) {
      const [head, ...rest] = path as [string, ...string[]];
      if (rest.length === 0) out[head] = row[head] ?? null;
      else groups.set(head, [...(groups.get(head) ?? []), rest]);
    }
    for (const [rel, sub] of groups) {
      const id = row[`${rel}Id`];
      const target = typeof id === 'string' ? [...table(rel).values()].find((r) => sameId(r.Id, id)) : undefined;
      out[rel] = target ? project(rel, target, sub) : null;
    }
    return out;
  }

  const sfError = (c: Context, status: number, errorCode: string, message: string) => c.json([{ message, errorCode }], status as 400);

  const described = new Map<string, Map<string, FakeField>>();
  const defineField = (object: string, field: FakeField) => {
    let fields = described.get(object);
    if (!fields) described.set(object, (fields = new Map()));
    fields.set(field.name, field);
  };
  for (const [object, name, type] of [['Opportunity', 'Id', 'id'], ['Opportunity', 'Name', 'string'], ['Opportunity', 'IsClosed', 'boolean'], ['Opportunity', 'IsWon', 'boolean'], ['Task', 'Id', 'id'], ['Task', 'Subject', 'combobox'], ['Task', 'CallDisposition', 'string']] as const)
    defineField(object, { name, type });
  // Shape from the REST API Developer Guide, "sObject Describe" (DescribeSObjectResult, Field, PicklistEntry).
  const describeJson = (object: string, fields: Map<string, FakeField>) => {
    const stages = object === 'Opportunity' ? [...table('OpportunityStage').values()].map((r) => ({ value: String(r.ApiName), label: String(r.MasterLabel), active: true })) : undefined;
    const all = [...fields.values(), ...(stages ? [{ name: 'StageName', label: 'Stage', type: 'picklist', picklistValues: stages }] : [])];
    return {
      name: object,
      label: object,
      custom: false,
      queryable: true,
      urls: { describe: `/services/data/v62.0/sobjects/${object}/describe` },
      fields: all.map((f) => ({
        name: f.name,
        label: f.label ?? f.name,
        type: f.type,
        custom: f.name.endsWith('__c'),
        nillable: f.type !== 'id' && f.type !== 'boolean',
        picklistValues: (f.picklistValues ?? []).map((v) => ({ active: v.active ?? true, defaultValue: false, label: v.label ?? v.value, validFor: null, value: v.value })),
      })),
    };
  };

  const app = new Hono();
  app.use('*', async (c, next) => {
    const raw = await c.req.raw.clone().text();
    let body: unknown = raw || undefined;
    if (raw && (c.req.header('content-type') ?? '').includes('json')) body = JSON.parse(raw);
    else if (raw && (c.req.header('content-type') ?? '').includes('x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw));
    const u = new URL(c.req.url);
    calls.push({ method: c.req.method, path: u.pathname + u.search, body, headers: Object.fromEntries(c.req.raw.headers.entries()) });
    await next();
  });

  app.post('/services/oauth2/token', async (c) => {
    const form = new URLSearchParams(await c.req.text());
    if (form.get('grant_type') !== 'client_credentials') return c.json({ error: 'unsupported_grant_type', error_description: 'grant type not supported' }, 400);
    if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) return c.json({ error: 'invalid_client', error_description: 'invalid client credentials' }, 400);
    const token = `00DFAKE000000000!fake-token-${++counter}`;
    tokens.add(token);
    return c.json({ access_token: token, signature: 'fake-signature', token_format: 'opaque', instance_url: url, id: `${url}/id/00DFAKE000000000AAA/005FAKE000000000AAA`, token_type: 'Bearer', issued_at: String(Date.now()) });
  });

  app.use('/services/data/*', async (c, next) => {
    const auth = c.req.header('authorization') ?? '';
    if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7))) return sfError(c, 401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    const fail = failures.shift();
    if (fail !== undefined) {
      if (fail === 429) c.header('Retry-After', '0');
      return fail === 403 ? sfError(c, 403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.') : sfError(c, fail, 'SERVER_UNAVAILABLE', 'try again');
    }
    await next();
  });

  app.get('/services/data/:version/sobjects/:object/describe', (c) => {
    const object = c.req.param('object');
    const fields = described.get(object);
    return fields ? c.json(describeJson(object, fields)) : sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
  });

  app.post('/services/data/:version/sobjects/:object', async (c) => {
    const object = c.req.param('object');
    const fields = (await c.req.json()) as Fields;
    const id = `${PREFIX[object] ?? 'a00'}FAKE${String(++counter).padStart(8, '0')}AAA`.slice(0, 18);
    table(object).set(id, { ...fields, Id: id, CreatedDate: new Date().toISOString() });
    return c.json({ id, success: true, errors: [] }, 201);
  });

  app.patch('/services/data/:version/sobjects/:object/:id', async (c) => {
    const object = c.req.param('object');
    const id = c.req.param('id');
    const existing = [...table(object).values()].find((r) => sameId(r.Id, id));
    if (!existing) return sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist');
    Object.assign(existing, (await c.req.json()) as Fields);
    return c.body(null, 204);
  });

  // SOQL (Salesforce REST API Developer Guide, "Execute a SOQL Query": `GET /services/data/vXX.X/query?q=`,
  // the trailing slash optional), with the WHERE clauses the adapter and the backfill send:
  // conditions joined by AND, comparing with = != > >= < <= against 'strings', true/false, null,
  // numbers, and date literals (YYYY-MM-DD), which compare with date and datetime fields by their date.
  const soqlQuery = (c: Context) => {
    const q = (c.req.query('q') ?? '').trim();
    const m = /^SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?(?:\s+ORDER\s+BY\s+(\w+)(?:\s+(ASC|DESC))?)?(?:\s+LIMIT\s+(\d+))?$/is.exec(q);
    if (!m) return sfError(c, 400, 'MALFORMED_QUERY', 'unexpected token');
    const [, select = '', object = '', where, orderBy, direction, limit] = m;
    const conditions: { field: string; op: string; value: unknown }[] = [];
    for (const part of where ? where.split(/\s+AND\s+/i) : []) {
      const cm = /^(\w+)\s*(=|!=|>=|<=|>|<)\s*('(?:[^'\\]|\\.)*'|true|false|null|\d{4}-\d{2}-\d{2}(?:T[\d:.]+Z)?|-?\d+(?:\.\d+)?)$/i.exec(part.trim());
      if (!cm) return sfError(c, 400, 'MALFORMED_QUERY', `unexpected token: ${part.trim().slice(0, 40)}`);
      const [, field = '', op = '', literal = ''] = cm;
      const value = literal.startsWith("'") ? literal.slice(1, -1).replace(/\\(.)/g, '$1') : /^(true|false)$/i.test(literal) ? literal.toLowerCase() === 'true' : /^null$/i.test(literal) ? null : /^-?\d+(\.\d+)?$/.test(literal) ? Number(literal) : literal;
      conditions.push({ field, op, value });
    }
    const comparable = (actual: unknown, value: unknown): [unknown, unknown] =>
      typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && typeof actual === 'string' ? [actual.slice(0, 10), value] : [actual, value];
    const holds = (row: Fields, { field, op, value }: { field: string; op: string; value: unknown }) => {
      const [a, v] = comparable(row[field] ?? null, value);
      if (op === '=') return field.endsWith('Id') && typeof v === 'string' ? sameId(a, v) : a === v;
      if (op === '!=') return a !== v;
      if (a === null || v === null) return false;
      const cmp = String(a) < String(v) ? -1 : String(a) > String(v) ? 1 : 0;
      return op === '>' ? cmp > 0 : op === '>=' ? cmp >= 0 : op === '<' ? cmp < 0 : cmp <= 0;
    };
    let rows = [...table(object).values()].filter((r) => conditions.every((cond) => holds(r, cond)));
    if (orderBy) {
      const sign = direction?.toUpperCase() === 'DESC' ? -1 : 1;
      rows.sort((a, b) => sign * (String(a[orderBy] ?? '') < String(b[orderBy] ?? '') ? -1 : String(a[orderBy] ?? '') > String(b[orderBy] ?? '') ? 1 : 0));
    }
    if (limit) rows = rows.slice(0, Number(limit));
    const paths = select.split(',').map((f) => f.trim().split('.'));
    return c.json({ totalSize: rows.length, done: true, records: rows.map((r) => project(object, r, paths)) });
  };
  app.get('/services/data/:version/query', soqlQuery);
  app.get('/services/data/:version/query/', soqlQuery);

  app.notFound((c) => sfError(c, 404, 'NOT_FOUND', 'The requested resource does not exist'));

  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    clientId,
    clientSecret,
    calls,
    seed,
    failNext: (status = 429) => void failures.push(status),
    expireSessions: () => tokens.clear(),
    records: (object) => [...table(object).values()] as ({ Id: string } & Fields)[],
    defineField,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        failures = [];
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface OutboundNotification {
  /** The notification id (04l…): Salesforce resends the same id until it gets the Ack. */
  id: string;
  /** The sObject type, e.g. Opportunity, Task, Contact. */
  object: string;
  /** Field API name → value; null is sent as xsi:nil. */
  fields: Record<string, string | null>;
}

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');

/**
 * An Outbound Message as Salesforce posts it: SOAP 1.1 `notifications` in
 * http://soap.sforce.com/2005/09/outbound, sObject fields in the enterprise sObject namespace, in
 * alphabetical order, carriage returns as `&#13;`. Shape from "Understanding the Outbound Messaging
 * WSDL" (https://developer.salesforce.com/docs/platform/api/guide/sforce-api-om-outboundmessaging-wsdl.html).
 */
export function outboundMessageXml(o: { orgId: string; actionId: string; sessionId?: string; instance?: string; notifications: OutboundNotification[] }): string {
  const base = `${o.instance ?? 'https://acme.my.salesforce.com'}/services/Soap`;
  const org15 = o.orgId.slice(0, 15);
  const notifications = o.notifications.map((n) => {
    const fields = Object.entries(n.fields)
      .sort(([a], [b]) => (a === 'Id' ? -1 : b === 'Id' ? 1 : a.localeCompare(b)))
      .map(([k, v]) => (v === null ? `     <sf:${k} xsi:nil="true"/>` : `     <sf:${k}>${xmlText(v)}</sf:${k}>`));
    return [
      '   <Notification>',
      `    <Id>${n.id}</Id>`,
      `    <sObject xsi:type="sf:${n.object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">`,
      ...fields,
      '    </sObject>',
      '   </Notification>',
    ].join('\n');
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    ' <soapenv:Body>',
    '  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">',
    `   <OrganizationId>${o.orgId}</OrganizationId>`,
    `   <ActionId>${o.actionId}</ActionId>`,
    o.sessionId === undefined ? '   <SessionId xsi:nil="true"/>' : `   <SessionId>${xmlText(o.sessionId)}</SessionId>`,
    `   <EnterpriseUrl>${base}/c/62.0/${org15}</EnterpriseUrl>`,
    `   <PartnerUrl>${base}/u/62.0/${org15}</PartnerUrl>`,
    ...notifications,
    '  </notifications>',
    ' </soapenv:Body>',
    '</soapenv:Envelope>',
  ].join('\n');
}
