/**
 * `cultivate config pauses` and `cultivate config resume content|track <id>`: what paused itself
 * (cadence.yaml `autoPause`), when and why, and resuming it (`GET /config/pauses`, `DELETE
 * /config/pauses/{kind}/{id}`; locally on the running stack, on AWS with --url and a JWT).
 */
import { parseArgs } from 'node:util';
import type { AutoPause, Baseline, PauseKind } from '#domain/auto-pause';
import type { CliIO } from './index.ts';

const COMMON = `  --url U     the Cultivate API (default: CULTIVATE_URL or http://127.0.0.1:3000)
  --token T   bearer token (default: CULTIVATE_API_TOKEN; a JWT on AWS)
  --json      print the answer as JSON`;

export const PAUSES_USAGE = `usage: cultivate config pauses [--url U] [--token T] [--json]
  the content items and tracks that paused themselves (cadence.yaml autoPause): when and why,
  and when each was last resumed
${COMMON}
`;

export const RESUME_USAGE = `usage: cultivate config resume content|track <id> [--url U] [--token T] [--json]
  resumes a content item or track that paused itself; its rate is measured afresh from now
  (the e-mails, unsubscribes and complaints so far become its baseline)
${COMMON}
`;

interface Listing {
  pauses: AutoPause[];
  resumed: ({ kind: PauseKind; id: string } & Baseline)[];
}

type Options = { url?: string | undefined; token?: string | undefined; json?: boolean | undefined; help?: boolean | undefined };

function flags(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
}

async function call<T>(values: Options, io: CliIO, method: 'GET' | 'DELETE', path: string): Promise<{ status: number; body: T }> {
  const env = io.env ?? process.env;
  const base = (values.url ?? env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const token = values.token ?? env.CULTIVATE_API_TOKEN;
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (err) {
    throw new Error(`cannot reach ${base} (${(err as Error).message}); is the stack running (npm start), or give --url`);
  }
  return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
}

const day = (iso: string) => iso.slice(0, 16).replace('T', ' ');

export function formatPauses(listing: Listing): string {
  const lines: string[] = [];
  if (listing.pauses.length === 0) lines.push('nothing paused itself');
  for (const p of listing.pauses) {
    lines.push(`PAUSED ${p.kind} ${p.id} since ${day(p.pausedAt)} UTC`);
    lines.push(`  ${p.reason}`);
    lines.push(`  resume: cultivate config resume ${p.kind} ${p.id}`);
  }
  const paused = new Set(listing.pauses.map((p) => `${p.kind}#${p.id}`));
  const earlier = listing.resumed.filter((r) => !paused.has(`${r.kind}#${r.id}`));
  if (earlier.length > 0) {
    lines.push('', 'resumed earlier (their rates count from then):');
    for (const r of earlier) lines.push(`  ${r.kind} ${r.id} on ${day(r.since)} UTC, after ${r.sent} e-mails, ${r.unsubscribed} unsubscribed, ${r.complained} complained`);
  }
  return `${lines.join('\n')}\n`;
}

export async function pausesCommand(args: string[], io: CliIO): Promise<number> {
  let parsed: ReturnType<typeof flags>;
  try {
    parsed = flags(args);
    if (parsed.positionals.length > 0) throw new Error(`unexpected ${parsed.positionals.join(' ')}`);
  } catch (err) {
    io.err(`cultivate config pauses: ${(err as Error).message}\n${PAUSES_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(PAUSES_USAGE);
    return 0;
  }
  try {
    const { status, body } = await call<Listing & { error?: string }>(parsed.values, io, 'GET', '/config/pauses');
    if (status !== 200) {
      io.err(`cultivate config pauses: ${status} ${body.error ?? ''}\n`);
      return 1;
    }
    io.out(parsed.values.json ? `${JSON.stringify(body, null, 2)}\n` : formatPauses(body));
    return 0;
  } catch (err) {
    io.err(`cultivate config pauses: ${(err as Error).message}\n`);
    return 1;
  }
}

export async function resumeCommand(args: string[], io: CliIO): Promise<number> {
  let parsed: ReturnType<typeof flags>;
  try {
    parsed = flags(args);
    if (parsed.values.help) {
      io.out(RESUME_USAGE);
      return 0;
    }
    const [kind, id, ...extra] = parsed.positionals;
    if (kind !== 'content' && kind !== 'track') throw new Error(`say what to resume: content or track, got ${kind ?? 'nothing'}`);
    if (!id) throw new Error(`say which ${kind}: its id`);
    if (extra.length > 0) throw new Error(`unexpected ${extra.join(' ')}`);
  } catch (err) {
    io.err(`cultivate config resume: ${(err as Error).message}\n${RESUME_USAGE}`);
    return 2;
  }
  const [kind, id] = parsed.positionals as [PauseKind, string];
  try {
    const { status, body } = await call<{ error?: string; issues?: { path: string; message: string }[]; pause?: AutoPause; baseline?: Baseline }>(parsed.values, io, 'DELETE', `/config/pauses/${kind}/${encodeURIComponent(id)}`);
    if (status !== 200 || !body.baseline) {
      for (const i of body.issues ?? []) io.err(`  ${i.path}: ${i.message}\n`);
      io.err(`cultivate config resume: ${status} ${body.error ?? ''}\n`);
      return 1;
    }
    if (parsed.values.json) io.out(`${JSON.stringify(body, null, 2)}\n`);
    else {
      const b = body.baseline;
      io.out(`resumed ${kind} ${id} (paused since ${day(body.pause?.pausedAt ?? b.since)} UTC): its rate counts from ${day(b.since)} UTC on\n`);
      io.out(`  so far: ${b.sent} e-mails, ${b.unsubscribed} unsubscribed, ${b.complained} complained (the baseline)\n`);
    }
    return 0;
  } catch (err) {
    io.err(`cultivate config resume: ${(err as Error).message}\n`);
    return 1;
  }
}
