/**
 * A local fake of the HubSpot API endpoints Cultivate calls, answering in HubSpot's own response
 * shapes (developers.hubspot.com/docs/api/crm/...), for adapter and end-to-end tests.
 *
 *   const hs = await startFakeHubSpot();            // hs.url → CULTIVATE_HUBSPOT_API_URL, hs.token → CULTIVATE_HUBSPOT_TOKEN
 *   hs.seed({ objects: { deals: { '9001': { pipeline: 'default', dealstage: 'closedlost' } } },
 *             associations: [{ from: 'deals', fromId: '9001', to: 'contacts', toId: '501', label: 'Champion' }] });
 *   hs.rateLimitOnce();                              // the next call answers 429 (HubSpot's SECONDLY policy body)
 *   hs.calls                                         // every request: method, path (with query), parsed body, headers
 *   hs.created('tasks')                              // tasks (or notes) created through the API, with their associations
 *   await hs.stop();
 *
 * Every call must carry `Authorization: Bearer <token>` (401 in HubSpot's error shape otherwise).
 * The default sales pipeline (`default`, with `closedwon` and `closedlost`) is always there.
 *
 * For `cultivate config check`: GET /crm/v3/pipelines/deals (every pipeline, with `cultivate
 * import`'s routes below), GET /crm/v3/properties/{type}/{name} (seed `properties`; `deals.closed_lost_reason` is HubSpot's
 * default multi-line text unless seeded) and GET /crm/v3/owners (seed `owners`; paged by `limit`).
 */
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import type { AddressInfo } from 'node:net';

type ObjectType = 'deals' | 'contacts' | 'companies' | 'tasks' | 'notes' | 'meetings';
type Props = Record<string, string | null>;

export interface FakeAssociation {
  from: ObjectType;
  fromId: string;
  to: ObjectType;
  toId: string;
  /** A user-defined association label (e.g. a deal-contact label such as "Champion"). */
  label?: string;
  /** HubSpot-defined type id; defaults: deal→contact 3, deal→company 5 (primary), contact→company 1 (primary). */
  typeId?: number;
}

export interface FakeStage {
  id: string;
  label: string;
  isClosed: boolean;
  probability: number;
}

export interface FakeHubSpotSeed {
  objects?: Partial<Record<ObjectType, Record<string, Props>>>;
  /** Property history, newest first, e.g. `{ '9001': { dealstage: [{ value: 'closedlost', timestamp: '...' }] } }`. */
  history?: Record<string, Record<string, { value: string; timestamp: string }[]>>;
  associations?: FakeAssociation[];
  pipelines?: { id: string; label: string; stages: FakeStage[] }[];
  /** Property definitions by object type and name; `type: 'enumeration'` with options, or e.g. `string`. */
  properties?: Partial<Record<ObjectType, Record<string, FakeProperty>>>;
  owners?: FakeOwner[];
}

export interface FakeProperty {
  type: string;
  label?: string;
  options?: { value: string; label: string; hidden?: boolean }[];
}

export interface FakeOwner {
  id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  archived?: boolean;
}

export interface FakeCall {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

export interface FakeHubSpot {
  url: string;
  token: string;
  calls: FakeCall[];
  seed(data: FakeHubSpotSeed): void;
  /** The next API call answers 429 once. */
  rateLimitOnce(): void;
  /** Objects created through POST /crm/v3/objects/{tasks|notes}, oldest first. */
  created(type: 'tasks' | 'notes'): { id: string; properties: Props; associations: unknown[] }[];
  /** Addresses unsubscribed from all e-mail through communication preferences v4. */
  unsubscribed: string[];
  stop(): Promise<void>;
}

const DEFAULT_PIPELINE = {
  id: 'default',
  label: 'Sales Pipeline',
  stages: [
    { id: 'appointmentscheduled', label: 'Appointment Scheduled', isClosed: false, probability: 0.2 },
    { id: 'qualifiedtobuy', label: 'Qualified To Buy', isClosed: false, probability: 0.4 },
    { id: 'presentationscheduled', label: 'Presentation Scheduled', isClosed: false, probability: 0.6 },
    { id: 'decisionmakerboughtin', label: 'Decision Maker Bought-In', isClosed: false, probability: 0.8 },
    { id: 'contractsent', label: 'Contract Sent', isClosed: false, probability: 0.9 },
    { id: 'closedwon', label: 'Closed Won', isClosed: true, probability: 1 },
    { id: 'closedlost', label: 'Closed Lost', isClosed: true, probability: 0 },
  ],
};

const DEFAULT_TYPE: Record<string, number> = { 'deals>contacts': 3, 'deals>companies': 5, 'contacts>companies': 1, 'contacts>deals': 4, 'companies>deals': 6 };
const V3_TYPE_NAME: Record<string, string> = { 'contacts>companies': 'contact_to_company', 'tasks>contacts': 'task_to_contact', 'meetings>contacts': 'meeting_event_to_contact' };
const SINGULAR: Record<string, string> = { deals: 'deal', contacts: 'contact', companies: 'company', tasks: 'task', notes: 'note', meetings: 'meeting' };

const at = '2026-11-20T15:04:05.000Z';

export async function startFakeHubSpot(opts: { token?: string } = {}): Promise<FakeHubSpot> {
  const token = opts.token ?? 'pat-na1-fake-hubspot-token';
  const objects = new Map<string, Map<string, Props>>();
  const history = new Map<string, Record<string, { value: string; timestamp: string }[]>>();
  const associations: FakeAssociation[] = [];
  const pipelines = new Map<string, typeof DEFAULT_PIPELINE>([[DEFAULT_PIPELINE.id, DEFAULT_PIPELINE]]);
  const created: Record<'tasks' | 'notes', { id: string; properties: Props; associations: unknown[] }[]> = { tasks: [], notes: [] };
  const unsubscribed: string[] = [];
  const properties = new Map<string, FakeProperty>([['deals/closed_lost_reason', { type: 'string', label: 'Closed Lost Reason' }]]);
  const owners: FakeOwner[] = [];
  const calls: FakeCall[] = [];
  let limitNext = false;
  let nextId = 70_000;

  const store = (type: string) => {
    let s = objects.get(type);
    if (!s) objects.set(type, (s = new Map()));
    return s;
  };
  const errorBody = (status: string, message: string, category: string) => ({ status, message, correlationId: '00000000-0000-4000-8000-000000000000', category });
  const objectJson = (type: string, id: string, props: Props, wanted: string[] | undefined) => {
    const properties: Props = { hs_object_id: id, createdate: at, hs_lastmodifieddate: at };
    for (const name of wanted ?? Object.keys(props)) if (name in props) properties[name] = props[name] ?? null;
    return { id, properties, createdAt: at, updatedAt: at, archived: false };
  };
  const linksFrom = (from: string, id: string, to: string) => associations.filter((a) => a.from === from && a.fromId === id && a.to === to);

  const app = new Hono();
  app.use('*', async (c, next) => {
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((v, k) => (headers[k] = v));
    const text = ['POST', 'PUT', 'PATCH'].includes(c.req.method) ? await c.req.text() : '';
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const url = new URL(c.req.url);
    calls.push({ method: c.req.method, path: url.pathname + url.search, body, headers });
    c.set('jsonBody' as never, body as never);
    if (headers.authorization !== `Bearer ${token}`)
      return c.json(errorBody('error', 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview', 'INVALID_AUTHENTICATION'), 401);
    if (limitNext) {
      limitNext = false;
      c.header('X-HubSpot-RateLimit-Interval-Milliseconds', '10000');
      c.header('X-HubSpot-RateLimit-Max', '100');
      c.header('X-HubSpot-RateLimit-Remaining', '0');
      return c.json({ status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: '00000000-0000-4000-8000-000000000001', policyName: 'SECONDLY', groupName: 'publicapi:private-app-api-calls-secondly:1' }, 429);
    }
    await next();
  });
  const body = (c: Context) => c.get('jsonBody' as never) as Record<string, unknown> | undefined;

  app.get('/crm/v3/objects/:type/:id', (c) => {
    const type = c.req.param('type');
    const id = c.req.param('id');
    const props = store(type).get(id);
    if (!props) return c.json(errorBody('error', `Object not found.  objectId are usually numeric.`, 'OBJECT_NOT_FOUND'), 404);
    const wanted = c.req.query('properties')?.split(',').filter(Boolean);
    const out: Record<string, unknown> = objectJson(type, id, props, wanted);
    const withHistory = c.req.query('propertiesWithHistory')?.split(',').filter(Boolean);
    if (withHistory?.length) {
      const h = history.get(id) ?? {};
      out.propertiesWithHistory = Object.fromEntries(
        withHistory.map((p) => [p, (h[p] ?? (props[p] ? [{ value: props[p], timestamp: at }] : [])).map((e) => ({ ...e, sourceType: 'CRM_UI', sourceId: 'userId:1' }))]),
      );
    }
    const assoc = c.req.query('associations')?.split(',').filter(Boolean);
    if (assoc?.length) {
      const entries = assoc
        .map((to) => [to, linksFrom(type, id, to as ObjectType)] as const)
        .filter(([, l]) => l.length > 0)
        .map(([to, l]) => [to, { results: l.map((a) => ({ id: a.toId, type: V3_TYPE_NAME[`${type}>${to}`] ?? `${SINGULAR[type]}_to_${SINGULAR[to]}` })) }]);
      if (entries.length) out.associations = Object.fromEntries(entries);
    }
    return c.json(out);
  });

  app.post('/crm/v3/objects/:type/batch/read', (c) => {
    const type = c.req.param('type');
    const b = body(c) ?? {};
    const inputs = Array.isArray(b.inputs) ? (b.inputs as { id: string }[]) : [];
    const wanted = Array.isArray(b.properties) ? (b.properties as string[]) : undefined;
    const found = inputs.filter((i) => store(type).has(String(i.id)));
    const missing = inputs.filter((i) => !store(type).has(String(i.id)));
    const results = found.map((i) => objectJson(type, String(i.id), store(type).get(String(i.id)) ?? {}, wanted));
    const base = { status: 'COMPLETE', results, startedAt: at, completedAt: at };
    if (missing.length === 0) return c.json(base);
    return c.json({ ...base, numErrors: 1, errors: [{ status: 'error', category: 'OBJECT_NOT_FOUND', message: 'Could not get some CRM objects, they may be deleted or not exist.', context: { ids: missing.map((m) => String(m.id)) } }] }, 207);
  });

  app.post('/crm/v3/objects/:type', (c) => {
    const type = c.req.param('type') as 'tasks' | 'notes';
    if (type !== 'tasks' && type !== 'notes') return c.json(errorBody('error', 'unsupported in the fake', 'VALIDATION_ERROR'), 400);
    const b = body(c) ?? {};
    const properties = (b.properties ?? {}) as Props;
    if (type === 'tasks' && !properties.hs_timestamp) return c.json(errorBody('error', 'Property values were not valid: hs_timestamp is required', 'VALIDATION_ERROR'), 400);
    const id = String(nextId++);
    store(type).set(id, properties);
    const assoc = Array.isArray(b.associations) ? (b.associations as { to: { id: string }; types: { associationTypeId: number }[] }[]) : [];
    for (const a of assoc) {
      const typeId = a.types[0]?.associationTypeId ?? 0;
      const to: ObjectType | undefined = [204, 202].includes(typeId) ? 'contacts' : [192, 190].includes(typeId) ? 'companies' : [216, 214].includes(typeId) ? 'deals' : undefined;
      if (to) associations.push({ from: type, fromId: id, to, toId: String(a.to.id), typeId });
    }
    created[type].push({ id, properties, associations: assoc });
    return c.json(objectJson(type, id, properties, undefined), 201);
  });

  app.get('/crm/v4/objects/:from/:id/associations/:to', (c) => {
    const from = c.req.param('from');
    const to = c.req.param('to');
    const links = linksFrom(from, c.req.param('id'), to as ObjectType);
    const grouped = new Map<string, { category: string; typeId: number; label: string | null }[]>();
    for (const l of links) {
      const types = grouped.get(l.toId) ?? [{ category: 'HUBSPOT_DEFINED', typeId: DEFAULT_TYPE[`${from}>${to}`] ?? 1, label: DEFAULT_TYPE[`${from}>${to}`] === 5 ? 'Primary' : null }];
      if (l.label) types.push({ category: 'USER_DEFINED', typeId: 100 + types.length, label: l.label });
      else if (l.typeId !== undefined && !types.some((t) => t.typeId === l.typeId)) types.push({ category: 'HUBSPOT_DEFINED', typeId: l.typeId, label: null });
      grouped.set(l.toId, types);
    }
    return c.json({ results: [...grouped].map(([toId, associationTypes]) => ({ toObjectId: Number(toId), associationTypes })) });
  });

  app.get('/crm/v3/pipelines/deals/:id', (c) => {
    const p = pipelines.get(c.req.param('id'));
    if (!p) return c.json(errorBody('error', 'Unable to find pipeline', 'OBJECT_NOT_FOUND'), 404);
    return c.json({
      id: p.id,
      label: p.label,
      displayOrder: 0,
      archived: false,
      createdAt: at,
      updatedAt: at,
      stages: p.stages.map((s, i) => ({ id: s.id, label: s.label, displayOrder: i, metadata: { isClosed: String(s.isClosed), probability: s.probability.toFixed(1) }, archived: false, createdAt: at, updatedAt: at })),
    });
  });

  // Shape from developers.hubspot.com/docs/api/crm/properties ("Retrieve a property").
  app.get('/crm/v3/properties/:type/:name', (c) => {
    const name = c.req.param('name');
    const p = properties.get(`${c.req.param('type')}/${name}`);
    if (!p) return c.json(errorBody('error', `Unable to find property ${name}`, 'OBJECT_NOT_FOUND'), 404);
    return c.json({
      updatedAt: at,
      createdAt: at,
      name,
      label: p.label ?? name,
      type: p.type,
      fieldType: p.type === 'enumeration' ? 'select' : 'textarea',
      description: '',
      groupName: 'dealinformation',
      options: (p.options ?? []).map((o, i) => ({ label: o.label, value: o.value, description: '', displayOrder: i, hidden: o.hidden ?? false })),
      displayOrder: -1,
      calculated: false,
      externalOptions: false,
      hasUniqueValue: false,
      hidden: false,
      modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
      formField: true,
    });
  });

  // Shape from developers.hubspot.com/docs/api/crm/owners ("Retrieve a list of owners"); `after` is an offset here.
  app.get('/crm/v3/owners', (c) => {
    const archived = c.req.query('archived') === 'true';
    const all = owners.filter((o) => (o.archived ?? false) === archived);
    const start = Number(c.req.query('after') ?? 0);
    const limit = Number(c.req.query('limit') ?? 100);
    const page = all.slice(start, start + limit).map((o, i) => ({
      id: o.id,
      email: o.email,
      type: 'PERSON',
      firstName: o.firstName ?? '',
      lastName: o.lastName ?? '',
      userId: 9_586_500 + start + i,
      userIdIncludingInactive: 9_586_500 + start + i,
      createdAt: at,
      updatedAt: at,
      archived: o.archived ?? false,
    }));
    return c.json({ results: page, ...(start + limit < all.length && { paging: { next: { after: String(start + limit), link: '' } } }) });
  });

  app.post('/communication-preferences/v4/statuses/:subscriber/unsubscribe-all', (c) => {
    const subscriber = decodeURIComponent(c.req.param('subscriber'));
    if (c.req.query('channel') !== 'EMAIL') return c.json(errorBody('error', 'channel is required', 'VALIDATION_ERROR'), 400);
    unsubscribed.push(subscriber);
    return c.json({
      status: 'COMPLETE',
      results: [{ subscriberIdString: subscriber, channel: 'EMAIL', status: 'NOT_SUBSCRIBED', subscriptionId: 1, source: 'Public API', timestamp: at, legalBasis: null, legalBasisExplanation: null, setStatusSuccessReason: 'REQUESTED_CHANGE_OCCURRED', subscriptionName: 'Marketing Information' }],
      requestedAt: at,
      startedAt: at,
      completedAt: at,
    });
  });

  // --- `cultivate import` (backfill): CRM search, every pipeline, account details ---------------
  // CRM search (developers.hubspot.com/docs/api/crm/search): filterGroups are ORed, the filters in
  // a group ANDed; at most 5 groups, 6 filters per group and 18 in all; `limit` up to 200;
  // `after` is an offset; HubSpot stops paging at 10,000 results. Dates compare as epoch ms.
  app.post('/crm/v3/objects/:type/search', (c) => {
    const type = c.req.param('type');
    const b = (body(c) ?? {}) as { filterGroups?: { filters?: SearchFilter[] }[]; sorts?: unknown[]; properties?: string[]; limit?: number; after?: string };
    const groups = b.filterGroups ?? [];
    const filterCount = groups.reduce((n, g) => n + (g.filters?.length ?? 0), 0);
    if (groups.length > 5 || groups.some((g) => (g.filters?.length ?? 0) > 6) || filterCount > 18)
      return c.json(errorBody('error', 'Too many filter groups or filters (at most 5 groups, 6 filters per group, 18 in all)', 'VALIDATION_ERROR'), 400);
    const limit = b.limit ?? 10;
    if (limit > 200) return c.json(errorBody('error', 'limit must be at most 200', 'VALIDATION_ERROR'), 400);
    const offset = Number(b.after ?? 0);
    if (offset >= 10_000) return c.json(errorBody('error', 'search results are limited to 10,000; narrow the filters', 'VALIDATION_ERROR'), 400);
    let rows = [...store(type)].filter(([, props]) => groups.length === 0 || groups.some((g) => (g.filters ?? []).every((f) => matchesFilter(props[f.propertyName] ?? null, f))));
    const sort = b.sorts?.[0];
    const sortBy = typeof sort === 'string' ? { propertyName: sort.replace(/^-/, ''), direction: sort.startsWith('-') ? 'DESCENDING' : 'ASCENDING' } : (sort as { propertyName: string; direction?: string } | undefined);
    if (sortBy) {
      const sign = sortBy.direction === 'DESCENDING' ? -1 : 1;
      rows = rows.sort(([ia, a], [ib, b2]) => sign * (comparable(a[sortBy.propertyName] ?? null) - comparable(b2[sortBy.propertyName] ?? null)) || Number(ia) - Number(ib));
    }
    const page = rows.slice(offset, offset + limit);
    const next = offset + limit < rows.length ? String(offset + limit) : undefined;
    return c.json({
      total: rows.length,
      results: page.map(([id, props]) => objectJson(type, id, props, b.properties)),
      ...(next && { paging: { next: { after: next, link: `?after=${next}` } } }),
    });
  });

  app.get('/crm/v3/pipelines/deals', (c) =>
    c.json({
      results: [...pipelines.values()].map((p) => ({
        id: p.id,
        label: p.label,
        displayOrder: 0,
        archived: false,
        createdAt: at,
        updatedAt: at,
        stages: p.stages.map((s, i) => ({ id: s.id, label: s.label, displayOrder: i, metadata: { isClosed: String(s.isClosed), probability: s.probability.toFixed(1) }, archived: false, createdAt: at, updatedAt: at })),
      })),
    }),
  );

  // Account details (developers.hubspot.com/docs/api/settings/account-information-api).
  app.get('/account-info/v3/details', (c) =>
    c.json({ portalId: FAKE_HUBSPOT_PORTAL_ID, accountType: 'STANDARD', timeZone: 'US/Eastern', companyCurrency: 'USD', additionalCurrencies: [], utcOffset: '-05:00', utcOffsetMilliseconds: -18000000, uiDomain: 'app.hubspot.com', dataHostingLocation: 'na1' }),
  );

  app.notFound((c) => c.json(errorBody('error', `fake HubSpot: no route for ${c.req.method} ${new URL(c.req.url).pathname}`, 'NOT_FOUND'), 404));

  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    calls,
    unsubscribed,
    seed(data) {
      for (const [type, byId] of Object.entries(data.objects ?? {})) for (const [id, props] of Object.entries(byId ?? {})) store(type).set(id, { ...store(type).get(id), ...props });
      for (const [id, h] of Object.entries(data.history ?? {})) history.set(id, { ...history.get(id), ...h });
      associations.push(...(data.associations ?? []));
      for (const p of data.pipelines ?? []) pipelines.set(p.id, p);
      for (const [type, byName] of Object.entries(data.properties ?? {})) for (const [name, p] of Object.entries(byName ?? {})) properties.set(`${type}/${name}`, p);
      owners.push(...(data.owners ?? []));
    },
    rateLimitOnce() {
      limitNext = true;
    },
    created: (type) => created[type],
    stop: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

/** The portal id the fake's account details answer (`GET /account-info/v3/details`). */
export const FAKE_HUBSPOT_PORTAL_ID = 62515;

interface SearchFilter {
  propertyName: string;
  operator: string;
  value?: string | number;
  values?: (string | number)[];
}

/** HubSpot compares datetime properties as epoch milliseconds; the fake stores ISO or ms strings. */
function comparable(v: string | number | null): number {
  if (v === null) return Number.NEGATIVE_INFINITY;
  const n = Number(v);
  return Number.isFinite(n) ? n : Date.parse(String(v));
}

function matchesFilter(actual: string | null, f: SearchFilter): boolean {
  const same = (x: string | number) => actual !== null && String(x).toLowerCase() === actual.toLowerCase();
  switch (f.operator) {
    case 'EQ':
      return f.value !== undefined && same(f.value);
    case 'NEQ':
      return f.value === undefined || !same(f.value);
    case 'IN':
      return (f.values ?? []).some(same);
    case 'HAS_PROPERTY':
      return actual !== null && actual !== '';
    case 'GT':
    case 'GTE':
    case 'LT':
    case 'LTE': {
      if (actual === null || f.value === undefined) return false;
      const a = comparable(actual);
      const v = comparable(f.value);
      return f.operator === 'GT' ? a > v : f.operator === 'GTE' ? a >= v : f.operator === 'LT' ? a < v : a <= v;
    }
    default:
      return false;
  }
}
