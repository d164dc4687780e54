/**
 * `cultivate diff <dir>`: posts the proposed config folder to `POST /config/diff` (which compares it
 * with the rules in force over the live store, in AWS or on the local stack), follows the cursor
 * through the whole store, and prints the summary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_FILES } from '#config/load';
import { type ConfigDiff, type DiffCategory, diffCategories, type DiffExample, emptyDiff, mergeDiffs } from '#handlers/config-diff';
import type { CliIO } from './index.ts';

export const DIFF_USAGE = `usage: cultivate diff <dir> [--url U] [--token T] [--limit N] [--json]
  compares the config folder <dir> with the rules in force, over the live store:
  how many planned touches move earlier or later, appear or disappear, and who changes track
  --url U     the Cultivate API (default: CULTIVATE_URL or http://127.0.0.1:3000)
  --token T   bearer token (default: CULTIVATE_API_TOKEN; a JWT on AWS)
  --limit N   relationship items per request (default 5000, at most 20000)
  --json      print the summary as JSON
`;

interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export async function diffCommand(args: string[], io: CliIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { url: { type: 'string' }, token: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    });
  } catch (err) {
    io.err(`cultivate diff: ${(err as Error).message}\n${DIFF_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(DIFF_USAGE);
    return 0;
  }
  const dir = positionals[0];
  if (!dir || positionals.length > 1) {
    io.err(`cultivate diff: give exactly one config folder\n${DIFF_USAGE}`);
    return 2;
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 20_000)) {
    io.err(`cultivate diff: --limit "${values.limit}" must be a whole number from 1 to 20000\n`);
    return 2;
  }
  const files: Record<string, string> = {};
  for (const file of Object.values(CONFIG_FILES)) {
    const path = join(dir, file);
    if (existsSync(path)) files[file] = readFileSync(path, 'utf8');
  }
  if (Object.keys(files).length === 0) {
    io.err(`cultivate diff: ${dir} has none of ${Object.values(CONFIG_FILES).join(', ')}\n`);
    return 2;
  }

  const env = io.env ?? process.env;
  const base = (values.url ?? env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const token = values.token ?? env.CULTIVATE_API_TOKEN;
  let total = emptyDiff();
  let cursor: string | undefined;
  let requests = 0;
  do {
    let res: Response;
    try {
      res = await fetch(`${base}/config/diff`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
        body: JSON.stringify({ files, ...(limit && { limit }), ...(cursor && { cursor }) }),
      });
    } catch (err) {
      io.err(`cultivate diff: cannot reach ${base} (${(err as Error).message}); is the stack running (npm start), or give --url\n`);
      return 1;
    }
    const body = (await res.json().catch(() => ({}))) as { diff?: ConfigDiff; cursor?: string; error?: string; problems?: Problem[]; issues?: { path: string; message: string }[] };
    if (!res.ok || !body.diff) {
      for (const p of body.problems ?? []) io.err(`${join(dir, p.file)}:${p.line}:${p.col}: ${p.message}\n`);
      for (const i of body.issues ?? []) io.err(`  ${i.path}: ${i.message}\n`);
      io.err(`cultivate diff: ${res.status} ${body.error ?? ''}\n`);
      return 1;
    }
    total = mergeDiffs(total, body.diff);
    cursor = body.cursor;
    requests++;
  } while (cursor);

  io.out(values.json ? `${JSON.stringify(total, null, 2)}\n` : formatDiff(dir, total, requests));
  return 0;
}

const LABELS: Record<DiffCategory, string> = {
  earlier: 'move earlier',
  later: 'move later',
  appear: 'appear (no touch planned now)',
  disappear: 'disappear (no touch any more)',
  changed: 'change kind or content, same time',
  unchanged: 'unchanged',
};

const short = (iso: string | undefined) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-');

function example(e: DiffExample): string {
  return `${e.relationshipId} (${short(e.before)} ${e.kindBefore ?? ''} -> ${short(e.after)} ${e.kindAfter ?? ''})`.replace(/\s+\)/g, ')').replace(/\s{2,}/g, ' ');
}

/** The summary sales ops read: counts, a few ids to look up with `cultivate explain`, track changes. */
export function formatDiff(dir: string, d: ConfigDiff, requests = 1): string {
  const lines = [`${dir} against the rules in force: ${d.compared} relationships with a planned touch compared (${d.scanned} items read in ${requests} request${requests === 1 ? '' : 's'})`];
  for (const k of diffCategories) {
    const ex = k === 'unchanged' ? [] : d.examples[k];
    lines.push(`  ${LABELS[k].padEnd(36)} ${String(d.counts[k]).padStart(7)}${ex.length > 0 ? `   e.g. ${ex.map(example).join(', ')}` : ''}`);
  }
  if (d.inFlight > 0) lines.push(`  ${'being sent now (left as they are)'.padEnd(36)} ${String(d.inFlight).padStart(7)}`);
  const tracks = Object.entries(d.byTrack).sort(([a], [b]) => a.localeCompare(b));
  if (tracks.length > 0) {
    lines.push('', 'by track (proposed):');
    for (const [track, c] of tracks) lines.push(`  ${track.padEnd(24)} ${diffCategories.map((k) => `${k} ${c[k]}`).join('  ')}`);
  }
  lines.push('', d.trackChanges.length === 0 ? 'nobody changes track' : 'track changes:');
  for (const t of d.trackChanges) lines.push(`  ${t.from ?? '(none)'} -> ${t.to ?? '(none)'}: ${t.count}   e.g. ${t.examples.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
