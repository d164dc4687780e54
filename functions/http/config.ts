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
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { BadCursorError, type ConfigDiffDeps, runConfigDiff } from '#handlers/config-diff';

/** Relationship items one request reads at most (and by default): well inside an API's 30 s. */
export const DIFF_MAX_LIMIT = 20_000;
export const DIFF_DEFAULT_LIMIT = 5_000;
const MAX_FILE_CHARS = 512 * 1024;

const fileText = z.string().max(MAX_FILE_CHARS, `must be at most ${MAX_FILE_CHARS} characters`);

export const ConfigDiffRequest = z.strictObject({
  files: z
    .strictObject({
      'cadence.yaml': fileText.optional(),
      'content.yaml': fileText.optional(),
      'owners.yaml': fileText.optional(),
      'controls.yaml': fileText.optional(),
    })
    .refine((f) => Object.keys(f).length > 0, { message: 'give at least one file (cadence.yaml, content.yaml, owners.yaml, controls.yaml)' }),
  limit: z.int().min(1).max(DIFF_MAX_LIMIT).default(DIFF_DEFAULT_LIMIT),
  cursor: z.string().min(1).max(2048).optional(),
});

export function configDiffRoutes(deps: ConfigDiffDeps): Hono {
  const app = new Hono();
  app.post(
    '/config/diff',
    bodyLimit({ maxSize: 4 * MAX_FILE_CHARS + 8192, onError: (c) => c.json({ error: 'body too large: the config files together must stay under 2 MB' }, 413) }),
    async (c) => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        return c.json({ error: 'the body must be JSON: {"files": {"cadence.yaml": "..."}}' }, 400);
      }
      const parsed = ConfigDiffRequest.safeParse(body);
      if (!parsed.success) {
        return c.json({ error: 'invalid request', issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) }, 400);
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
