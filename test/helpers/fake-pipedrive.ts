/**
 * A local fake of the Pipedrive REST API, for the adapter's tests and end-to-end tests. It answers
 * the endpoints the Pipedrive adapter calls, in Pipedrive's response shapes (`{ success, data }`,
 * v1 participants with `additional_data.pagination`), enforces the `x-api-token` header (or the
 * `api_token` query parameter), and records every call.
 *
 *   const pd = await startFakePipedrive();            // token 'pd-test-token'
 *   pd.seed({ deals: [...], persons: [...], organizations: [...], participants: { 42: [7, 8] } });
 *   pd.rateLimitNext();                               // the next request gets one 429 (Retry-After: 0)
 *   ... CULTIVATE_PIPEDRIVE_API_URL = pd.url, CULTIVATE_PIPEDRIVE_API_TOKEN = pd.token ...
 *   pd.calls                                          // [{ method, path, body, headers }]
 *   pd.created.activities / pd.created.notes           // what POSTs made, with their new ids
 *   pd.reset();                                       // between tests
 *   await pd.stop();
 *
 * Endpoints: GET /api/v2/deals/:id, GET /api/v1/deals/:id/participants, GET|PATCH /api/v2/persons/:id,
 * GET /api/v2/organizations/:id, GET|POST /api/v2/activities(/:id), POST /api/v1/notes; and for
 * `cultivate config check`: GET /api/v1/dealFields (the `lost_reason` field with the seeded
 * `lostReasons` as its options, paged by start/limit), GET /api/v1/activityTypes (Pipedrive's
 * default types unless `activityTypes` is seeded), GET /api/v1/users (seed `users`).
 */
import { serve } from '@hono/node-server';
import { Hono, type Context } from 'hono';

type Row = Record<string, unknown> & { id: number };

export interface FakePipedriveSeed {
  deals?: Row[];
  persons?: Row[];
  organizations?: Row[];
  activities?: Row[];
  /** Deal id -> person ids on it (the deal's own person is a participant too in Pipedrive). */
  participants?: Record<number, number[]>;
  /** The company's predefined lost reasons (Company settings > Lost reasons), in order. */
  lostReasons?: string[];
  /** Replaces the default activity types: `{ key_string, name, active_flag }`. */
  activityTypes?: { key_string: string; name: string; active_flag?: boolean }[];
  users?: { id: number; name: string; email: string; active_flag?: boolean }[];
}

// Pipedrive's default activity types (key_string = Activity.type).
const DEFAULT_ACTIVITY_TYPES = [
  { key_string: 'call', name: 'Call', icon_key: 'call' },
  { key_string: 'meeting', name: 'Meeting', icon_key: 'meeting' },
  { key_string: 'task', name: 'Task', icon_key: 'task' },
  { key_string: 'deadline', name: 'Deadline', icon_key: 'deadline' },
  { key_string: 'email', name: 'Email', icon_key: 'email' },
  { key_string: 'lunch', name: 'Lunch', icon_key: 'lunch' },
];

export interface FakeCall {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

export interface FakePipedrive {
  url: string;
  token: string;
  calls: FakeCall[];
  created: { activities: Row[]; notes: Row[] };
  seed(data: FakePipedriveSeed): void;
  /** The next `count` requests (default 1) are answered 429 with Retry-After: 0. */
  rateLimitNext(count?: number): void;
  /** Forgets seeded data, calls, created rows, pending 429s and refusals; new ids start at 9000 again. */
  reset(): void;
  /** PATCH of `marketing_status` answers 400, as for a company without Campaigns. */
  refuseMarketingStatus(refuse?: boolean): void;
  stop(): Promise<void>;
}

export async function startFakePipedrive(opts: { token?: string } = {}): Promise<FakePipedrive> {
  const token = opts.token ?? 'pd-test-token';
  const deals = new Map<number, Row>();
  const persons = new Map<number, Row>();
  const orgs = new Map<number, Row>();
  const activities = new Map<number, Row>();
  const participants = new Map<number, number[]>();
  const calls: FakeCall[] = [];
  let lostReasons: string[] = [];
  let activityTypes: { key_string: string; name: string; active_flag?: boolean; icon_key?: string }[] = DEFAULT_ACTIVITY_TYPES;
  let users: { id: number; name: string; email: string; active_flag?: boolean }[] = [];
  const created = { activities: [] as Row[], notes: [] as Row[] };
  let nextId = 9000;
  let limited = 0;
  let refuseMarketing = false;

  type Env = { Variables: { body: unknown } };
  const app = new Hono<Env>();
  const fail = (c: Context<Env>, status: 400 | 401 | 404 | 429, error: string) => c.json({ success: false, error, errorCode: status }, status);
  const found = (c: Context<Env>, map: Map<number, Row>, what: string) => {
    const row = map.get(Number(c.req.param('id')));
    return row ? c.json({ success: true, data: row }) : fail(c, 404, `${what} not found`);
  };

  app.use('*', async (c, next) => {
    const text = c.req.method === 'GET' ? '' : await c.req.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const url = new URL(c.req.url);
    calls.push({ method: c.req.method, path: url.pathname + url.search, body, headers: Object.fromEntries(c.req.raw.headers.entries()) });
    c.set('body', body);
    if (limited > 0) {
      limited--;
      c.header('retry-after', '0');
      c.header('x-ratelimit-limit', '20');
      c.header('x-ratelimit-remaining', '0');
      return fail(c, 429, 'Request over limit');
    }
    if ((c.req.header('x-api-token') ?? url.searchParams.get('api_token')) !== token) return fail(c, 401, 'unauthorized access');
    await next();
  });
  const bodyOf = (c: Context<Env>) => (c.get('body') ?? {}) as Record<string, unknown>;

  app.get('/api/v2/deals/:id', (c) => found(c, deals, 'Deal'));
  app.get('/api/v2/persons/:id', (c) => {
    const row = persons.get(Number(c.req.param('id')));
    if (!row) return fail(c, 404, 'Person not found');
    // Like Pipedrive: marketing_status only when asked for with include_fields.
    const { marketing_status, ...rest } = row;
    const include = (c.req.query('include_fields') ?? '').split(',').includes('marketing_status');
    return c.json({ success: true, data: include && marketing_status !== undefined ? { ...rest, marketing_status } : rest });
  });
  app.get('/api/v2/organizations/:id', (c) => found(c, orgs, 'Organization'));
  app.get('/api/v2/activities/:id', (c) => found(c, activities, 'Activity'));
  app.get('/api/v1/deals/:id/participants', (c) => {
    const dealId = Number(c.req.param('id'));
    if (!deals.has(dealId)) return fail(c, 404, 'Deal not found');
    const all = participants.get(dealId) ?? [];
    const start = Number(c.req.query('start') ?? 0);
    const limit = Number(c.req.query('limit') ?? 100);
    const page = all.slice(start, start + limit).map((pid, i) => {
      const p = persons.get(pid);
      return {
        id: 500 + start + i,
        person_id: { name: p?.name ?? null, email: p?.emails ?? [], value: pid },
        add_time: '2026-11-01 10:00:00',
        active_flag: true,
        related_item_data: { deal_id: dealId, title: deals.get(dealId)?.title ?? null },
        person: { id: pid, name: p?.name ?? null, email: p?.emails ?? [] },
        related_item_type: 'deal',
        related_item_id: dealId,
      };
    });
    return c.json({ success: true, data: page, additional_data: { pagination: { start, limit, more_items_in_collection: start + limit < all.length } } });
  });
  // Shapes from developers.pipedrive.com/docs/api/v1 (DealFields, ActivityTypes, Users): `{ success, data, additional_data }`.
  app.get('/api/v1/dealFields', (c) => {
    const at = '2019-06-09 10:23:02';
    const fields = [
      { id: 12453, key: 'title', name: 'Title', field_type: 'varchar', add_time: at, active_flag: true, edit_flag: false },
      { id: 12461, key: 'status', name: 'Status', field_type: 'status', add_time: at, active_flag: true, edit_flag: false, options: ['open', 'won', 'lost', 'deleted'].map((s) => ({ id: s, label: s[0]?.toUpperCase() + s.slice(1) })) },
      { id: 12472, key: 'lost_reason', name: 'Lost reason', field_type: 'varchar_options', add_time: at, active_flag: true, edit_flag: false, mandatory_flag: { status: '=lost' }, ...(lostReasons.length > 0 && { options: lostReasons.map((label, i) => ({ id: 49 + i, label })) }) },
      { id: 12476, key: 'lost_time', name: 'Lost time', field_type: 'date', add_time: at, active_flag: true, edit_flag: false },
    ];
    const start = Number(c.req.query('start') ?? 0);
    const limit = Number(c.req.query('limit') ?? 100);
    const more = start + limit < fields.length;
    return c.json({ success: true, data: fields.slice(start, start + limit), additional_data: { pagination: { start, limit, more_items_in_collection: more, ...(more && { next_start: start + limit }) } } });
  });
  app.get('/api/v1/activityTypes', (c) =>
    c.json({
      success: true,
      data: activityTypes.map((t, i) => ({ id: i + 1, order_nr: i + 1, name: t.name, key_string: t.key_string, icon_key: t.icon_key ?? 'task', active_flag: t.active_flag ?? true, color: null, is_custom_flag: !DEFAULT_ACTIVITY_TYPES.some((d) => d.key_string === t.key_string), add_time: '2019-06-09 10:23:02', update_time: null })),
    }),
  );
  app.get('/api/v1/users', (c) =>
    c.json({
      success: true,
      data: users.map((u) => ({ id: u.id, name: u.name, default_currency: 'EUR', locale: 'en_US', lang: 1, email: u.email, phone: null, activated: true, last_login: '2026-11-20 08:00:00', created: '2024-01-10 09:00:00', modified: '2026-11-20 08:00:00', has_created_company: false, access: [{ app: 'sales', admin: false, permission_set_id: '1' }], active_flag: u.active_flag ?? true, timezone_name: 'Europe/Berlin', timezone_offset: '+01:00', role_id: 1, icon_url: null, is_you: false, is_deleted: false })),
    }),
  );
  app.post('/api/v2/activities', (c) => {
    const row = { id: nextId++, ...bodyOf(c), add_time: new Date().toISOString() };
    created.activities.push(row);
    activities.set(row.id, row);
    return c.json({ success: true, data: row });
  });
  app.post('/api/v1/notes', (c) => {
    const body = bodyOf(c);
    if (typeof body.content !== 'string' || !body.content) return fail(c, 400, 'Content is required');
    const row = { id: nextId++, ...body, add_time: new Date().toISOString().slice(0, 19).replace('T', ' ') };
    created.notes.push(row);
    return c.json({ success: true, data: row });
  });
  app.patch('/api/v2/persons/:id', (c) => {
    const id = Number(c.req.param('id'));
    const row = persons.get(id);
    if (!row) return fail(c, 404, 'Person not found');
    const body = bodyOf(c);
    if (refuseMarketing && 'marketing_status' in body) return fail(c, 400, 'marketing_status is not available');
    const next = { ...row, ...body, id };
    persons.set(id, next);
    return c.json({ success: true, data: next });
  });

  // --- `cultivate import` (backfill) ------------------------------------------------------------
  // GET /api/v2/deals (developers.pipedrive.com/docs/api/v1/Deals#getDeals, API v2): filters by
  // status and update time, sorts by id, update_time or add_time, pages with an opaque `cursor`
  // answered as `additional_data.next_cursor` (null on the last page); `limit` at most 500.
  app.get('/api/v2/deals', (c) => {
    const q = (k: string) => c.req.query(k);
    const limit = Number(q('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return fail(c, 400, 'limit must be between 1 and 500');
    const sortBy = q('sort_by') ?? 'id';
    if (!['id', 'update_time', 'add_time'].includes(sortBy)) return fail(c, 400, 'sort_by must be one of id, update_time, add_time');
    const sign = q('sort_direction') === 'desc' ? -1 : 1;
    const since = q('updated_since') ? Date.parse(q('updated_since') as string) : undefined;
    const until = q('updated_until') ? Date.parse(q('updated_until') as string) : undefined;
    const updated = (d: Row) => Date.parse(String(d.update_time ?? d.lost_time ?? d.add_time ?? '1970-01-01T00:00:00Z'));
    const key = (d: Row) => (sortBy === 'id' ? d.id : sortBy === 'update_time' ? updated(d) : Date.parse(String(d.add_time ?? '')));
    const rows = [...deals.values()]
      .filter((d) => !q('status') || d.status === q('status'))
      .filter((d) => (since === undefined || updated(d) >= since) && (until === undefined || updated(d) < until))
      .sort((a, b) => sign * (key(a) - key(b)) || a.id - b.id);
    const start = q('cursor') ? Number(Buffer.from(q('cursor') as string, 'base64url').toString('utf8').replace(/^offset:/, '')) : 0;
    if (!Number.isInteger(start) || start < 0) return fail(c, 400, 'invalid cursor');
    const next = start + limit < rows.length ? Buffer.from(`offset:${start + limit}`).toString('base64url') : null;
    return c.json({ success: true, data: rows.slice(start, start + limit), additional_data: { next_cursor: next } });
  });
  // GET /api/v1/users/me: the token's user, with the company it belongs to.
  app.get('/api/v1/users/me', (c) =>
    c.json({ success: true, data: { id: 12415231, name: 'Fake Admin', email: 'admin@seller.example', company_id: FAKE_PIPEDRIVE_COMPANY_ID, company_name: 'Seller Example', company_domain: 'sellerexample', is_admin: 1, active_flag: true, timezone_name: 'Europe/Berlin' } }),
  );

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    calls,
    created,
    seed(data) {
      for (const d of data.deals ?? []) deals.set(d.id, d);
      for (const p of data.persons ?? []) persons.set(p.id, p);
      for (const o of data.organizations ?? []) orgs.set(o.id, o);
      for (const a of data.activities ?? []) activities.set(a.id, a);
      for (const [dealId, ids] of Object.entries(data.participants ?? {})) participants.set(Number(dealId), ids);
      if (data.lostReasons) lostReasons = data.lostReasons;
      if (data.activityTypes) activityTypes = data.activityTypes;
      if (data.users) users = data.users;
    },
    reset() {
      for (const m of [deals, persons, orgs, activities, participants]) m.clear();
      calls.length = 0;
      created.activities.length = 0;
      created.notes.length = 0;
      nextId = 9000;
      limited = 0;
      refuseMarketing = false;
      lostReasons = [];
      activityTypes = DEFAULT_ACTIVITY_TYPES;
      users = [];
    },
    rateLimitNext(count = 1) {
      limited = count;
    },
    refuseMarketingStatus(refuse = true) {
      refuseMarketing = refuse;
    },
    stop: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

/** The company id the fake's `GET /api/v1/users/me` answers. */
export const FAKE_PIPEDRIVE_COMPANY_ID = 8087566;
