/**
 * Config routes for sales ops' tools. `POST /config/diff` compares proposed config files with the
 * rules in force over the live store, where the data lives (on AWS: a Lambda behind the JWT
 * authorizer; nobody's data is copied to a laptop). Body:
 *
 *   {"files": {"cadence.yaml": "...", ...}, "limit": 5000, "cursor": "..."}
 *
 * Files not given are the current ones. 200 `{diff, cursor?}` (a cursor: post again with it for
 * the next part of the store); 400 `{error, problems: [{file, line, col, message}]}` for a bad
 * file (the same `parseConfig` as everywhere), or `{error, issues}` for a bad body.
 *
 * Publishing (`configRulesRoutes`): `POST /config/publish` `{files, note?, expectedVersion?}`
 * stores the files (those not given stay as in force) as the next rules version, 201; `POST
 * /config/rollback` `{to?, note?, expectedVersion?}` publishes version `to`'s text (default: the
 * one before the version in force) again as a new version; 409 `{error, current}` when
 * `expectedVersion` is no longer the version in force (someone published meanwhile), or 409
 * `{error, rollingOut: {version, state}}` while another version rolls out on AWS; `GET
 * /config/versions` the history, newest first; `GET /config/versions/{n}` one version with its
 * files; `GET /config/replan` the replan job that follows each publish.
 *
 * What paused itself (`configPauseRoutes`, cadence.yaml `autoPause`): `GET /config/pauses` the
 * content items and tracks that paused themselves, when and why, and the earlier resumes; `DELETE
 * /config/pauses/{content|track}/{id}` resumes one, with its counters of that moment as the
 * baseline its rate is measured from afterwards (404 when it is not paused).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { BadCursorError, type ConfigDiffDeps, runConfigDiff } from '#handlers/config-diff';
import { type PublishDeps, type PublishResult, publishRules, rollbackRules, rulesInForce, rulesVersion } from '#handlers/config-publish';
import { replanView } from '#handlers/config-replan';
import type { AutoPauseStore, Clock, Logger, PublishedRules, ReplanJobs } from '#ports/ports';
import { pauseKinds, type PauseKind } from '#domain/auto-pause';
import { zodIssues } from '#shared/zod-issues';

/** Relationship items one request reads at most (and by default): well inside an API's 30 s. */
export const DIFF_MAX_LIMIT = 20_000;
export const DIFF_DEFAULT_LIMIT = 5_000;
/** Bytes of UTF-8 per file a request may carry (the body limit below is in bytes too); a version holds less (MAX_RULES_BYTES). */
const MAX_FILE_BYTES = 512 * 1024;

const fileText = z.string().refine((text) => Buffer.byteLength(text, 'utf8') <= MAX_FILE_BYTES, `must be at most ${MAX_FILE_BYTES} bytes (UTF-8)`);

const ProposedFiles = z
    .strictObject({
      'cadence.yaml': fileText.optional(),
      'content.yaml': fileText.optional(),
      'owners.yaml': fileText.optional(),
      'controls.yaml': fileText.optional(),
    })
    .refine((f) => Object.keys(f).length > 0, { message: 'give at least one file (cadence.yaml, content.yaml, owners.yaml, controls.yaml)' });

export const ConfigDiffRequest = z.strictObject({
  files: ProposedFiles,
  limit: z.int().min(1).max(DIFF_MAX_LIMIT).default(DIFF_DEFAULT_LIMIT),
  cursor: z.string().min(1).max(2048).optional(),
});

export function configDiffRoutes(deps: ConfigDiffDeps): Hono {
  const app = new Hono();
  app.post(
    '/config/diff',
    bodyLimit({ maxSize: 4 * MAX_FILE_BYTES + 8192, onError: (c) => c.json({ error: 'body too large: the config files together must stay under 2 MB' }, 413) }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json({ error: 'the body must be JSON: {"files": {"cadence.yaml": "..."}}' }, 400);
      }
      const parsed = ConfigDiffRequest.safeParse(body);
      if (!parsed.success) {
        return c.json({ error: 'invalid request', issues: zodIssues(parsed.error.issues) }, 400);
      }
      const { files, limit, cursor } = parsed.data;
      try {
        const result = await runConfigDiff(deps, { files, limit, ...(cursor && { cursor }) });
        if (!result.ok) return c.json({ error: `the proposed config has ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`, problems: result.problems }, 400);
        return c.json({ diff: result.diff, ...(result.cursor && { cursor: result.cursor }) });
      } catch (err) {
        if (err instanceof BadCursorError) return c.json({ error: 'invalid request', issues: [{ path: 'cursor', message: err.message }] }, 400);
        throw err;
      }
    },
  );
  return app;
}

const note = z.string().max(500, 'must be at most 500 characters');
const version = z.int('must be a whole number').min(0, 'must be 0 or more');

export const PublishRequest = z.strictObject({ files: ProposedFiles, note: note.optional(), expectedVersion: version.optional() });
export const RollbackRequest = z.strictObject({ to: version.optional(), note: note.optional(), expectedVersion: version.optional() });

export interface ConfigRulesDeps extends PublishDeps {
  jobs: ReplanJobs;
}

/** A version without its files (the history lists many). */
function summaryOf(v: Pick<PublishedRules, 'version' | 'hash'> & Partial<PublishedRules>) {
  return { version: v.version, publishedAt: v.publishedAt ?? null, note: v.note ?? '', hash: v.hash, ...(v.rollbackOf !== undefined && { rollbackOf: v.rollbackOf }) };
}

export function configRulesRoutes(deps: ConfigRulesDeps): Hono {
  const app = new Hono();
  const bodyOf = async (c: { req: { json(): Promise<unknown> } }): Promise<{ ok: true; body: unknown } | { ok: false }> => {
    try {
      return { ok: true, body: await c.req.json() };
    } catch {
      return { ok: false };
    }
  };
  const issues = (error: z.ZodError) => ({ error: 'invalid request', issues: zodIssues(error.issues) });
  const answer = (c: { json: (body: unknown, status: 201 | 400 | 404 | 409) => Response }, result: PublishResult) => {
    if (result.ok) return c.json({ ...summaryOf(result.published), previous: result.previous }, 201);
    if (result.kind === 'invalid') return c.json({ error: `the rules have ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}; nothing published`, problems: result.problems }, 400);
    if (result.kind === 'conflict') return c.json({ error: `rules v${result.current} are in force now (published meanwhile): look at them, diff again, and publish with expectedVersion ${result.current}`, current: result.current }, 409);
    if (result.kind === 'rolling-out') {
      const state = result.state.toLowerCase().replace('_', ' ');
      return c.json({ error: `rules v${result.version} are still rolling out in AppConfig (${state}): nothing published; publish again when that rollout has finished, or stop it in the AppConfig console first`, rollingOut: { version: result.version, state: result.state } }, 409);
    }
    return c.json({ error: `no rules version ${result.version}` }, 404);
  };
  const limited = bodyLimit({ maxSize: 4 * MAX_FILE_BYTES + 8192, onError: (c) => c.json({ error: 'body too large: the config files together must stay under 2 MB' }, 413) });

  app.post('/config/publish', limited, async (c) => {
    const raw = await bodyOf(c);
    if (!raw.ok) return c.json({ error: 'the body must be JSON: {"files": {"cadence.yaml": "..."}, "note": "..."}' }, 400);
    const parsed = PublishRequest.safeParse(raw.body);
    if (!parsed.success) return c.json(issues(parsed.error), 400);
    const { files, note: text, expectedVersion } = parsed.data;
    return answer(c, await publishRules(deps, { files, ...(text !== undefined && { note: text }), ...(expectedVersion !== undefined && { expectedVersion }) }));
  });

  app.post('/config/rollback', async (c) => {
    const raw = await bodyOf(c);
    if (!raw.ok) return c.json({ error: 'the body must be JSON: {"to": 3} or {}' }, 400);
    const parsed = RollbackRequest.safeParse(raw.body);
    if (!parsed.success) return c.json(issues(parsed.error), 400);
    const { to, note: text, expectedVersion } = parsed.data;
    return answer(c, await rollbackRules(deps, { ...(to !== undefined && { to }), ...(text !== undefined && { note: text }), ...(expectedVersion !== undefined && { expectedVersion }) }));
  });

  app.get('/config/versions', async (c) => {
    const limit = z.coerce.number().int().min(1).max(100).default(20).safeParse(c.req.query('limit') ?? undefined);
    if (!limit.success) return c.json({ error: 'invalid request', issues: [{ path: 'limit', message: 'must be a whole number from 1 to 100' }] }, 400);
    const [current, list] = await Promise.all([rulesInForce(deps), deps.versions.list(limit.data)]);
    const bundled = await rulesVersion(deps, 0);
    // Version 0 (the deployed folder) ends the history when the list reaches back that far.
    const versions = [...list.map(summaryOf), ...(bundled && list.length < limit.data ? [summaryOf(bundled)] : [])];
    return c.json({ current: current.version, versions });
  });

  app.get('/config/versions/:version', async (c) => {
    const n = version.safeParse(Number(c.req.param('version')));
    if (!n.success) return c.json({ error: 'invalid request', issues: [{ path: 'version', message: 'must be a whole number, 0 or more' }] }, 400);
    const found = await rulesVersion(deps, n.data);
    if (!found) return c.json({ error: `no rules version ${n.data}` }, 404);
    return c.json({ ...summaryOf(found), files: found.files });
  });

  app.get('/config/replan', async (c) => c.json(replanView(await deps.jobs.get())));
  return app;
}

export interface ConfigPauseDeps {
  clock: Clock;
  logger: Logger;
  store: AutoPauseStore;
  /** The track ids of the rules in force: a content item's counters are summed over them. */
  trackIds(): readonly string[] | Promise<readonly string[]>;
  /** After a resume (the local stack makes its planner see it at once). */
  resumed?(kind: PauseKind, id: string): Promise<void> | void;
}

const PauseParams = z.strictObject({
  kind: z.enum(pauseKinds, { message: `must be one of ${pauseKinds.join(', ')}` }),
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a content item or track id (lower-case letters, digits and dashes)').max(200),
});

export function configPauseRoutes(deps: ConfigPauseDeps): Hono {
  const app = new Hono();
  app.get('/config/pauses', async (c) => c.json(await deps.store.list()));

  app.delete('/config/pauses/:kind/:id', async (c) => {
    const params = PauseParams.safeParse(c.req.param());
    if (!params.success) return c.json({ error: 'invalid request', issues: zodIssues(params.error.issues, '(path)') }, 400);
    const { kind, id } = params.data;
    const result = await deps.store.resume(kind, id, await deps.trackIds(), deps.clock.now());
    if (result.outcome === 'not-paused') return c.json({ error: `${kind} ${id} is not paused` }, 404);
    deps.logger.info('auto-pause resumed', { kind, id, sent: result.baseline.sent, unsubscribed: result.baseline.unsubscribed, complained: result.baseline.complained });
    await deps.resumed?.(kind, id);
    return c.json({ resumed: { kind, id }, pause: result.pause, baseline: result.baseline });
  });
  return app;
}
