/**
 * `cultivate feed-token create|list|revoke`: the client of `/metrics/tokens` (functions/http/feed-tokens.ts).
 * A feed token lets one consumer (a feed reader, a chat integration, a spreadsheet, a board-deck
 * link) read the metrics under /feeds; people manage them with their own JWT on AWS.
 */
import { parseArgs } from 'node:util';
import { parseFeedToken } from '#domain/feed-token';
import type { CliIO } from './index.ts';

export const FEED_TOKEN_USAGE = [
  '  feed-token create <name> [--expires-in-days N]   a token for one feed reader, chat integration or spreadsheet,',
  '                  printed once with the feed URLs that carry it (name: 1-64 of A-Z a-z 0-9 space . _ -)',
  '  feed-token list                                  every token with its status (never a secret)',
  '  feed-token revoke <id>                           the token stops working at its next request',
  '                  (each: [--url U] [--token T] [--json]; T is a JWT on AWS, to manage tokens)',
].join('\n');

const HELP = `usage: cultivate feed-token <create|list|revoke> ...
${FEED_TOKEN_USAGE}
  --url U     the Cultivate API (default: CULTIVATE_URL or http://127.0.0.1:3000)
  --token T   bearer token of the person managing tokens (default: CULTIVATE_API_TOKEN; a JWT on AWS)
  --json      print the API's answer as JSON
`;

export interface FeedTokenIO extends CliIO {
  /** The HTTP client (default: the global fetch). */
  fetch?: typeof fetch;
}

interface TokenView {
  id: string;
  name: string;
  status: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  createdBy?: string;
}
interface CreatedView extends TokenView {
  token: string;
  urls: Record<'feed' | 'csv' | 'dashboard' | 'dashboardOwners' | 'json', string>;
  note: string;
}

const day = (iso: string | undefined) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-');

/** Returns the exit code: 0 done, 1 the API refused or could not be reached, 2 bad arguments. */
export async function feedTokenCommand(argv: string[], io: FeedTokenIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        'expires-in-days': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.err(`cultivate feed-token: ${(err as Error).message}\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, ...args] = positionals;
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const usageError = (message: string) => {
    io.err(`cultivate feed-token: ${message}\n${HELP}`);
    return 2;
  };
  if (values['expires-in-days'] !== undefined && action !== 'create') return usageError('--expires-in-days goes with create');

  const env = io.env ?? process.env;
  const base = (values.url ?? env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  const bearer = values.token ?? env.CULTIVATE_API_TOKEN;
  const send = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> } | undefined> => {
    let res: Response;
    try {
      res = await (io.fetch ?? fetch)(`${base}${path}`, {
        method,
        headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...(bearer && { authorization: `Bearer ${bearer}` }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch (err) {
      io.err(`cultivate feed-token: cannot reach ${base} (${(err as Error).message}); is the stack running (npm start), or give --url\n`);
      return undefined;
    }
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const refused = (answer: { status: number; body: Record<string, unknown> }) => {
    const issues = (answer.body.issues ?? []) as { path: string; message: string }[];
    for (const i of issues) io.err(`  ${i.path}: ${i.message}\n`);
    io.err(`cultivate feed-token: ${answer.status} ${String(answer.body.error ?? '')}${answer.status === 401 ? ' (on AWS, give --token with your JWT)' : ''}\n`);
    return 1;
  };

  if (action === 'create') {
    if (args.length !== 1) return usageError('create takes one name, in quotes if it has spaces');
    let expiresInDays: number | undefined;
    if (values['expires-in-days'] !== undefined) {
      expiresInDays = Number(values['expires-in-days']);
      if (!Number.isInteger(expiresInDays) || expiresInDays < 1) return usageError(`--expires-in-days "${values['expires-in-days']}" must be a whole number of days, at least 1`);
    }
    const answer = await send('POST', '/metrics/tokens', { name: args[0], ...(expiresInDays !== undefined && { expiresInDays }) });
    if (!answer) return 1;
    if (answer.status !== 201) return refused(answer);
    const t = answer.body as unknown as CreatedView;
    if (values.json) {
      io.out(`${JSON.stringify(t, null, 2)}\n`);
      return 0;
    }
    io.out(
      [
        `feed token ${t.id} for "${t.name}", ${t.expiresAt ? `expires ${day(t.expiresAt)}` : 'does not expire'}:`,
        '',
        `  ${t.token}`,
        '',
        'Shown this once: Cultivate keeps only its hash. Anyone holding it, or a link with it, reads the metrics:',
        'give it only to the consumer it names.',
        `  JSON Feed   ${t.urls.feed}`,
        `  CSV         ${t.urls.csv}`,
        `  dashboard   ${t.urls.dashboard}`,
        `  per owner   ${t.urls.dashboardOwners}`,
        `  or send "Authorization: Bearer <token>" to ${base}/feeds/...`,
        `revoke it with: cultivate feed-token revoke ${t.id}`,
        '',
      ].join('\n'),
    );
    return 0;
  }

  if (action === 'list') {
    if (args.length !== 0) return usageError('list takes no arguments');
    const answer = await send('GET', '/metrics/tokens');
    if (!answer) return 1;
    if (answer.status !== 200) return refused(answer);
    const tokens = (answer.body.tokens ?? []) as TokenView[];
    if (values.json) {
      io.out(`${JSON.stringify(tokens, null, 2)}\n`);
      return 0;
    }
    if (tokens.length === 0) {
      io.out('no feed tokens yet: cultivate feed-token create <name>\n');
      return 0;
    }
    const rows = [['id', 'status', 'created', 'expires', 'revoked', 'name'], ...tokens.map((t) => [t.id, t.status, day(t.createdAt), day(t.expiresAt), day(t.revokedAt), t.name])];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    io.out(`${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n')}\n`);
    return 0;
  }

  if (action === 'revoke') {
    if (args.length !== 1) return usageError('revoke takes one token id');
    // A whole token pasted by mistake: its id is enough, and its secret is not sent anywhere.
    const id = parseFeedToken(args[0] as string)?.id ?? (args[0] as string);
    const answer = await send('DELETE', `/metrics/tokens/${encodeURIComponent(id)}`);
    if (!answer) return 1;
    if (answer.status !== 200) return refused(answer);
    const t = answer.body as unknown as TokenView & { alreadyRevoked: boolean };
    if (values.json) io.out(`${JSON.stringify(t, null, 2)}\n`);
    else io.out(t.alreadyRevoked ? `feed token ${t.id} ("${t.name}") was revoked already, at ${day(t.revokedAt)}\n` : `feed token ${t.id} ("${t.name}") revoked: it stops working now\n`);
    return 0;
  }

  return usageError(action ? `no feed-token command "${action}"` : 'say create, list or revoke');
}
