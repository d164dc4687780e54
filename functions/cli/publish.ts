/**
 * `cultivate config publish | rollback | versions | replan`: rules versions for sales ops.
 *
 * publish [dir]   runs the same check as `config check`, shows what the folder changes for the
 *                 people in nurture now (the `cultivate diff` summary, against the version in
 *                 force), then publishes it as the next version, only if that is still the version
 *                 the diff was made against. The replan job then moves the planned touches in the
 *                 background (--wait: until it is done).
 * rollback        publishes an older version's text again (default: the one before the version in
 *                 force), as a new version, after showing what that changes.
 * versions        the history, newest first.
 * replan          the replan job: which version it applies, how far it got, what it did.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { RULES_FILES, type RulesFiles } from '#config/rules';
import { type ConfigDiff, emptyDiff, mergeDiffs } from '#handlers/config-diff';
import type { ReplanJob } from '#ports/ports';
import { checkConfigDir, formatProblem } from './config-check.ts';
import { formatDiff } from './diff.ts';
import type { CliIO } from './index.ts';

const COMMON = `  --url U     the Cultivate API (default: CULTIVATE_URL or http://127.0.0.1:3000)
  --token T   bearer token (default: CULTIVATE_API_TOKEN; a JWT on AWS)
  --wait      wait for the replan job to finish and print what it did
  --json      print the answer as JSON`;

export const PUBLISH_USAGE = `usage: cultivate config publish [dir] [--note N] [--url U] [--token T] [--wait] [--json]
  checks <dir> (default: config), shows what it changes for the people in nurture now, and
  publishes cadence.yaml, content.yaml, owners.yaml and controls.yaml as the next rules version;
  planned touches are then replanned in place, keeping each person's progress
  --note N    why (shown in cultivate config versions)
${COMMON}
`;

export const ROLLBACK_USAGE = `usage: cultivate config rollback [--to N] [--note N] [--url U] [--token T] [--wait] [--json]
  publishes version N's rules again, as a new version (default: the version before the one in
  force; 0 is the config/ folder deployed with the code), after showing what that changes
${COMMON}
`;

export const VERSIONS_USAGE = `usage: cultivate config versions [--url U] [--token T] [--json]
  the published rules versions, newest first, and the one in force
`;

export const REPLAN_USAGE = `usage: cultivate config replan [--url U] [--token T] [--wait] [--json]
  the replan job that follows each publish: its rules version, how far it got, what it did
`;

interface Api {
  base: string;
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

class Unreachable extends Error {}

function api(values: { url?: string | undefined; token?: string | undefined }, io: CliIO): Api {
  const env = io.env ?? process.env;
  const base = (values.url ?? env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const token = values.token ?? env.CULTIVATE_API_TOKEN;
  return {
    base,
    async call<T>(method: 'GET' | 'POST', path: string, body?: unknown) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(token && { authorization: `Bearer ${token}` }) },
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
      } catch (err) {
        throw new Unreachable(`cannot reach ${base} (${(err as Error).message}); is the stack running (npm start), or give --url`);
      }
      return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
    },
  };
}

interface ErrorBody {
  error?: string;
  problems?: { file: string; line: number; col: number; message: string }[];
  issues?: { path: string; message: string }[];
  current?: number;
}

interface VersionSummary {
  version: number;
  publishedAt: string | null;
  note: string;
  hash: string;
  rollbackOf?: number;
}

interface Published extends VersionSummary {
  previous: number;
}

function reportError(io: CliIO, command: string, status: number, body: ErrorBody, dir?: string): void {
  for (const p of body.problems ?? []) io.err(`${dir ? join(dir, p.file) : p.file}:${p.line}:${p.col}: ${p.message}\n`);
  for (const i of body.issues ?? []) io.err(`  ${i.path}: ${i.message}\n`);
  io.err(`cultivate config ${command}: ${status} ${body.error ?? ''}\n`);
}

/** The whole store, a page per request, as `cultivate diff` does. */
async function diffOver(a: Api, files: RulesFiles): Promise<{ ok: true; diff: ConfigDiff; requests: number } | { ok: false; status: number; body: ErrorBody }> {
  let total = emptyDiff();
  let cursor: string | undefined;
  let requests = 0;
  do {
    const res = await a.call<ErrorBody & { diff?: ConfigDiff; cursor?: string }>('POST', '/config/diff', { files, ...(cursor && { cursor }) });
    if (res.status !== 200 || !res.body.diff) return { ok: false, status: res.status, body: res.body };
    total = mergeDiffs(total, res.body.diff);
    cursor = res.body.cursor;
    requests++;
  } while (cursor);
  return { ok: true, diff: total, requests };
}

const POLL_MS = 500;
const WAIT_LIMIT_MS = 30 * 60_000;

/**
 * The job of `version` (or of a newer one, which took over) once it is no longer running; while
 * none has started, undefined: an older version's job is never reported as this one's (on AWS a
 * version's job starts only when its rollout is complete). At the wait limit, what there is.
 */
async function waitForReplan(a: Api, version: number, limitMs = WAIT_LIMIT_MS): Promise<ReplanJob | undefined> {
  const until = Date.now() + limitMs;
  for (;;) {
    const { body } = await a.call<ReplanJob | { status: 'none' }>('GET', '/config/replan');
    const job = 'rulesVersion' in body && body.rulesVersion >= version ? body : undefined;
    if (job && (job.rulesVersion > version || job.status !== 'running')) return job;
    if (Date.now() > until) return job;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export function formatReplan(job: ReplanJob | undefined): string {
  if (!job) return 'no replan job yet (nothing was published)\n';
  if (job.onlyControls) return `replan to rules v${job.rulesVersion} (from v${job.fromVersion}): not needed: only controls.yaml changed (kill switches and dry-run are read when a touch is sent)\n`;
  const c = job.counts;
  const head = `replan to rules v${job.rulesVersion} (from v${job.fromVersion}): ${job.status}${job.status === 'running' ? ` (${job.pages} pages so far)` : ''}${job.error ? `: ${job.error}` : ''}`;
  return `${head}\n  ${c.replanned} replanned, ${c.unchanged} unchanged, ${c.alreadyCurrent} already planned under v${job.rulesVersion}, ${c.inFlight} being sent (left alone); ${c.scanned} items read\n  look one up: cultivate explain <relationship id>\n`;
}

/** --wait found no job of the version it published within the wait. */
const noJobYet = (version: number) =>
  `no replan job for rules v${version} yet: on AWS it starts once v${version}'s rollout is complete (or never, if the rollout was rolled back: cultivate config versions); follow it with cultivate config replan --wait\n`;

function formatPublished(p: Published, what: string): string {
  const note = p.note ? `: "${p.note}"` : '';
  return `published rules v${p.version}${note} (${what}; was v${p.previous})\nthe planned touches are replanned under v${p.version} in the background: cultivate config replan\n`;
}

type Values = { url?: string | undefined; token?: string | undefined; json?: boolean | undefined; wait?: boolean | undefined; note?: string | undefined; to?: string | undefined; help?: boolean | undefined };

function parse(args: string[], usage: string, command: string, io: CliIO, extra: Record<string, { type: 'string' }>, positionals: number) {
  try {
    const parsed = parseArgs({
      args,
      allowPositionals: positionals > 0,
      strict: true,
      options: { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false }, wait: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false }, ...extra },
    });
    if (parsed.positionals.length > positionals) throw new Error(`expected at most ${positionals} folder, got ${parsed.positionals.join(' ')}`);
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (err) {
    io.err(`cultivate config ${command}: ${(err as Error).message}\n${usage}`);
    return undefined;
  }
}

async function guarded(command: string, io: CliIO, run: () => Promise<number>): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Unreachable) {
      io.err(`cultivate config ${command}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

export async function publishCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parse(args, PUBLISH_USAGE, 'publish', io, { note: { type: 'string' } }, 1);
  if (!parsed) return 2;
  const { values } = parsed;
  if (values.help) {
    io.out(PUBLISH_USAGE);
    return 0;
  }
  const dir = parsed.positionals[0] ?? 'config';
  // The same check as `config check`: a folder it refuses is never published.
  const checked = checkConfigDir(dir);
  if (!checked.config) {
    for (const p of checked.problems) io.err(`${formatProblem(p)}\n`);
    io.err(`cultivate config publish: ${dir} has ${checked.problems.length} problem${checked.problems.length === 1 ? '' : 's'}; nothing published\n`);
    return 1;
  }
  const files: RulesFiles = {};
  for (const name of RULES_FILES) {
    const path = join(dir, name);
    if (existsSync(path)) files[name] = readFileSync(path, 'utf8');
  }
  return guarded('publish', io, async () => {
    const a = api(values, io);
    const versions = await a.call<{ current?: number } & ErrorBody>('GET', '/config/versions?limit=1');
    if (versions.status !== 200 || versions.body.current === undefined) {
      reportError(io, 'publish', versions.status, versions.body);
      return 1;
    }
    const current = versions.body.current;
    const diff = await diffOver(a, files);
    if (!diff.ok) {
      reportError(io, 'publish', diff.status, diff.body, dir);
      return 1;
    }
    const res = await a.call<Published & ErrorBody>('POST', '/config/publish', { files, expectedVersion: current, ...(values.note !== undefined && { note: values.note }) });
    if (res.status !== 201) {
      reportError(io, 'publish', res.status, res.body, dir);
      return 1;
    }
    return finish(a, io, values, res.body, diff.diff, dir, diff.requests, `from ${dir}`);
  });
}

export async function rollbackCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parse(args, ROLLBACK_USAGE, 'rollback', io, { note: { type: 'string' }, to: { type: 'string' } }, 0);
  if (!parsed) return 2;
  const { values } = parsed;
  if (values.help) {
    io.out(ROLLBACK_USAGE);
    return 0;
  }
  const to = values.to === undefined ? undefined : Number(values.to);
  if (to !== undefined && (!Number.isInteger(to) || to < 0)) {
    io.err(`cultivate config rollback: --to "${values.to}" must be a version number (0 or more)\n`);
    return 2;
  }
  return guarded('rollback', io, async () => {
    const a = api(values, io);
    const versions = await a.call<{ current?: number } & ErrorBody>('GET', '/config/versions?limit=1');
    if (versions.status !== 200 || versions.body.current === undefined) {
      reportError(io, 'rollback', versions.status, versions.body);
      return 1;
    }
    const current = versions.body.current;
    const target = to ?? current - 1;
    if (target < 0 || target >= current) {
      io.err(`cultivate config rollback: rules v${current} are in force; roll back to a version from 0 to ${current - 1}${current === 0 ? ' (nothing was published yet)' : ''}\n`);
      return 1;
    }
    const old = await a.call<{ files?: RulesFiles } & ErrorBody>('GET', `/config/versions/${target}`);
    if (old.status !== 200 || !old.body.files) {
      reportError(io, 'rollback', old.status, old.body);
      return 1;
    }
    const diff = await diffOver(a, old.body.files);
    if (!diff.ok) {
      reportError(io, 'rollback', diff.status, diff.body);
      return 1;
    }
    const res = await a.call<Published & ErrorBody>('POST', '/config/rollback', { to: target, expectedVersion: current, ...(values.note !== undefined && { note: values.note }) });
    if (res.status !== 201) {
      reportError(io, 'rollback', res.status, res.body);
      return 1;
    }
    return finish(a, io, values, res.body, diff.diff, `rules v${target}`, diff.requests, `the text of v${target}`);
  });
}

async function finish(a: Api, io: CliIO, values: Values, published: Published, diff: ConfigDiff, label: string, requests: number, what: string): Promise<number> {
  const job = values.wait ? await waitForReplan(a, published.version) : undefined;
  if (values.json) {
    io.out(`${JSON.stringify({ published, diff, ...(job && { replan: job }) }, null, 2)}\n`);
    return job && job.status === 'failed' ? 1 : 0;
  }
  io.out(formatPublished(published, what));
  io.out(`\nwhat it changes for the people in nurture now (the rules in force were v${published.previous}):\n${formatDiff(label, diff, requests)}`);
  if (values.wait) io.out(`\n${job ? formatReplan(job) : noJobYet(published.version)}`);
  return job && job.status === 'failed' ? 1 : 0;
}

export async function versionsCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parse(args, VERSIONS_USAGE, 'versions', io, {}, 0);
  if (!parsed) return 2;
  if (parsed.values.help) {
    io.out(VERSIONS_USAGE);
    return 0;
  }
  return guarded('versions', io, async () => {
    const res = await api(parsed.values, io).call<{ current: number; versions: VersionSummary[] } & ErrorBody>('GET', '/config/versions?limit=100');
    if (res.status !== 200) {
      reportError(io, 'versions', res.status, res.body);
      return 1;
    }
    if (parsed.values.json) {
      io.out(`${JSON.stringify(res.body, null, 2)}\n`);
      return 0;
    }
    for (const v of res.body.versions) {
      const when = v.publishedAt ? `${v.publishedAt.slice(0, 16).replace('T', ' ')}Z` : 'deployed'.padEnd(17);
      const what = v.rollbackOf !== undefined && !v.note.includes(`v${v.rollbackOf}`) ? `${v.note} (rollback to v${v.rollbackOf})` : v.note;
      io.out(`${v.version === res.body.current ? '*' : ' '} v${String(v.version).padEnd(4)} ${when}  ${v.hash.slice(0, 12)}  ${what}\n`);
    }
    io.out(`rules v${res.body.current} in force (*)\n`);
    return 0;
  });
}

export async function replanCommand(args: string[], io: CliIO): Promise<number> {
  const parsed = parse(args, REPLAN_USAGE, 'replan', io, {}, 0);
  if (!parsed) return 2;
  if (parsed.values.help) {
    io.out(REPLAN_USAGE);
    return 0;
  }
  return guarded('replan', io, async () => {
    const a = api(parsed.values, io);
    const res = await a.call<ReplanJob | { status: 'none' }>('GET', '/config/replan');
    let job = 'rulesVersion' in res.body ? res.body : undefined;
    if (job && parsed.values.wait) job = await waitForReplan(a, job.rulesVersion);
    io.out(parsed.values.json ? `${JSON.stringify(job ?? res.body, null, 2)}\n` : formatReplan(job));
    return job?.status === 'failed' ? 1 : 0;
  });
}
