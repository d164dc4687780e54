#!/usr/bin/env -S npx tsx
/**
 * The `cultivate` CLI. Commands:
 *   cultivate sign <file> [--secret S] [--header]   print a Cultivate-Signature for a file's exact bytes
 *   cultivate catalog [--out dir]                   write the event catalog as JSON Schema files
 *   cultivate reply <e-mail> [--text T] [--url U]   reply (locally) to the last e-mail sent to <e-mail>
 *   cultivate explain <id or e-mail> [--url U]      each touch with the rule that decided it
 *   cultivate config check [dir]                    validate config/, every problem as file:line:col
 *   cultivate preview --reason R --tz Z [...]       the touches a contact like this would get
 *   cultivate quarantine list [--day D]             what was kept instead of applied, and why
 *   cultivate quarantine replay <id>                run a kept entry again (after fixing config/crm.yaml)
 *   cultivate metrics rebuild [--url U] [--dry-run] recompute the metric aggregates from the timelines; print where live ones differed
 *   cultivate import <crm> [--since D] [--dry-run]  backfill past lost deals (age limits in config/crm.yaml `import`)
 *   cultivate demo [--people N] [--weeks W] [--seed S] [--url U]  a simulated year of lost deals and responses against the local stack
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { catalogJsonSchemas } from '#catalog/json-schema';
import { CONFIG_USAGE, runConfigCommands } from '../functions/cli/index.ts';
import { IMPORT_USAGE, importCommand } from '#http/import';
import { demoCommand } from '../functions/cli/demo.ts';
import { FEED_TOKEN_USAGE, feedTokenCommand } from '../functions/cli/feed-token.ts';
import { LOCAL_DEFAULT_WEBHOOK_SECRET as DEFAULT_WEBHOOK_SECRET, signBody } from '#shared/hmac';

// Sales ops' commands: config check, preview.
const configCode = await runConfigCommands(process.argv.slice(2));
if (configCode !== undefined) process.exit(configCode);

const [command, ...rest] = process.argv.slice(2);

function usage(code: number): never {
  (code === 0 ? console.log : console.error)(
    [
      'usage: cultivate <command>',
      '  sign <file> [--secret S] [--header]   signature for the exact bytes of <file> (secret: --secret, CULTIVATE_WEBHOOK_SECRET or the local default)',
      '  catalog [--out dir]                   JSON Schema of every event, for integrators (default: catalog/)',
      '  reply <e-mail> [--text T] [--url U]   post a reply to the last e-mail sent to <e-mail> to the local stack (/local/inbound)',
      '                  [--auto] [--subject S] (--auto: an auto-reply; U default http://127.0.0.1:3000)',
      '  explain <id or e-mail> [--url U] [--token T] [--json]   each touch and the rule that decided it (GET /relationships)',
      CONFIG_USAGE,
      '  quarantine list [--day YYYY-MM-DD] [--url U] [--token T] [--json]   what was kept instead of applied, and why (default: today, UTC)',
      '  quarantine replay <id> [--url U] [--token T]                         run a kept entry again, once its cause is fixed',
      '  metrics rebuild [--url U] [--token T] [--dry-run] [--json]   recompute the metrics from the timelines and print where the live ones differed',
      IMPORT_USAGE,
      FEED_TOKEN_USAGE,
      '  demo [--url U] [--people N] [--weeks W] [--seed S] [--config DIR] [--json]   a simulated year of lost deals and responses against the running local stack, so the dashboard has data',
      '                  (U: --url, CULTIVATE_URL or http://127.0.0.1:3000; T: --token or CULTIVATE_API_TOKEN, a JWT on AWS)',
    ].join('\n'),
  );
  process.exit(code);
}

switch (command) {
  case 'sign': {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { secret: { type: 'string' }, header: { type: 'boolean' } } });
    const file = positionals[0];
    if (!file) usage(2);
    const secret = values.secret ?? process.env.CULTIVATE_WEBHOOK_SECRET ?? DEFAULT_WEBHOOK_SECRET;
    const signature = signBody(secret, readFileSync(file), Date.now() / 1000);
    console.log(values.header ? `Cultivate-Signature: ${signature}` : signature);
    break;
  }
  case 'catalog': {
    const { values } = parseArgs({ args: rest, options: { out: { type: 'string', default: 'catalog' } } });
    const out = values.out as string;
    const schemas = catalogJsonSchemas();
    for (const [name, schema] of Object.entries(schemas)) {
      const path = join(out, `${name}.schema.json`);
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, `${JSON.stringify(schema, null, 2)}\n`);
    }
    console.log(`wrote ${Object.keys(schemas).length} JSON Schemas to ${out}/`);
    break;
  }
  case 'reply': {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { text: { type: 'string' }, url: { type: 'string' }, subject: { type: 'string' }, auto: { type: 'boolean' } },
    });
    const email = positionals[0]?.toLowerCase();
    if (!email) usage(2);
    const base = (values.url ?? process.env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
    const outbox = (await (await fetch(`${base}/local/outbox`)).json()) as { messageId: string; replyTo?: string[]; destination: { to: string[] }; subject: string; sentAt: string; body?: { text?: string } }[];
    const last = outbox.filter((m) => m.destination.to.some((t) => t.toLowerCase().includes(email))).at(-1);
    if (!last?.replyTo?.[0]) {
      console.error(`cultivate: no e-mail to ${email} in ${base}/local/outbox yet (move the clock: POST /local/clock)`);
      process.exit(1);
    }
    const text = values.text ?? 'Thanks, this came at the right time. Could we talk next week?';
    const quoted = (last.body?.text ?? '').split('\n').map((l) => `> ${l}`).join('\r\n');
    const raw = [
      `From: ${email}`,
      `To: ${last.replyTo[0]}`,
      `Subject: ${values.subject ?? `Re: ${last.subject}`}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: <${crypto.randomUUID()}@cultivate-cli.local>`,
      `In-Reply-To: <${last.messageId}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      ...(values.auto ? ['Auto-Submitted: auto-replied'] : []),
      '',
      text,
      '',
      `On ${new Date(last.sentAt).toUTCString()}, you wrote:`,
      quoted,
      '',
    ].join('\r\n');
    const res = await fetch(`${base}/local/inbound`, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: raw });
    console.log(JSON.stringify(await res.json()));
    break;
  }
  case 'explain': {
    // Each touch sent, assigned, pushed or skipped, and the one planned, with the rule that decided it.
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { url: { type: 'string', default: 'http://127.0.0.1:3000' }, token: { type: 'string' }, json: { type: 'boolean' } } });
    const who = positionals[0];
    if (!who) usage(2);
    const base = (values.url as string).replace(/\/+$/, '');
    const path = who.includes('@') ? `/relationships?email=${encodeURIComponent(who)}` : `/relationships/${encodeURIComponent(who)}`;
    const res = await fetch(`${base}${path}`, { headers: values.token ? { authorization: `Bearer ${values.token}` } : {} });
    if (!res.ok) {
      console.error(`cultivate explain: ${res.status} ${await res.text()}`);
      process.exit(1);
    }
    const view = (await res.json()) as { id: string; stage: string; lostReason: string | null; decisions: { at: string; channel: string; kind: string; outcome: string; rule: string; note?: string }[] };
    if (values.json) {
      console.log(JSON.stringify(view.decisions, null, 2));
      break;
    }
    console.log(`${view.id}: ${view.stage}${view.lostReason ? `, lost on ${view.lostReason}` : ''}`);
    for (const d of view.decisions) console.log(`  ${d.at.slice(0, 16).replace('T', ' ')}Z  ${d.outcome.padEnd(13)} ${d.channel.padEnd(5)} ${d.kind.padEnd(16)} ${d.rule}${d.note ? `  (${d.note})` : ''}`);
    if (view.decisions.length === 0) console.log('  no touches yet');
    break;
  }
  case 'quarantine': {
    const [sub, ...args] = rest;
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { url: { type: 'string' }, token: { type: 'string' }, day: { type: 'string' }, json: { type: 'boolean' } },
    });
    const base = (values.url ?? process.env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
    const token = values.token ?? process.env.CULTIVATE_API_TOKEN;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    if (sub === 'list') {
      const res = await fetch(`${base}/quarantine${values.day ? `?day=${encodeURIComponent(values.day)}` : ''}`, { headers });
      if (!res.ok) {
        console.error(`cultivate quarantine list: ${res.status} ${await res.text()}`);
        process.exit(1);
      }
      const { day, items } = (await res.json()) as { day: string; items: { id: string; source: string; kind: string; reason: string; paths: string[]; replayedAt?: string; replayOutcome?: string }[] };
      if (values.json) {
        console.log(JSON.stringify(items, null, 2));
        break;
      }
      console.log(`${items.length} kept on ${day}${items.length > 0 ? ':' : ''}`);
      for (const i of items) {
        const state = i.replayedAt ? `replayed ${i.replayedAt.slice(0, 16)} (${i.replayOutcome ?? ''})` : 'waiting';
        console.log(`  ${i.id}\n    ${i.source} ${i.kind}: ${i.reason}${i.paths.length ? ` [${i.paths.slice(0, 5).join(', ')}]` : ''}\n    ${state}`);
      }
      break;
    }
    if (sub === 'replay') {
      const id = positionals[0];
      if (!id) usage(2);
      const res = await fetch(`${base}/quarantine/${encodeURIComponent(id)}/replay`, { method: 'POST', headers });
      const body = (await res.json()) as { outcome?: string; error?: string; issues?: { path: string; message: string }[] };
      if (!res.ok) {
        console.error(`cultivate quarantine replay: ${res.status} ${body.error ?? ''}`);
        for (const i of body.issues ?? []) console.error(`  ${i.path}: ${i.message}`);
        process.exit(1);
      }
      console.log(`replayed ${id}: ${body.outcome}`);
      break;
    }
    usage(2);
    break;
  }
  case 'metrics': {
    const [sub, ...args] = rest;
    if (sub !== 'rebuild') usage(2);
    const { values } = parseArgs({ args, options: { url: { type: 'string' }, token: { type: 'string' }, 'dry-run': { type: 'boolean' }, json: { type: 'boolean' } } });
    const base = (values.url ?? process.env.CULTIVATE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
    const token = values.token ?? process.env.CULTIVATE_API_TOKEN;
    const res = await fetch(`${base}/metrics/rebuild${values['dry-run'] ? '?dryRun=true' : ''}`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await res.text();
    if (!res.ok) {
      console.error(`cultivate metrics rebuild: ${res.status} ${text.slice(0, 500)}`);
      process.exit(1);
    }
    const body = JSON.parse(text) as {
      written: boolean;
      report: { relationships: number; entries: number; aggregates: number; guards: number; deleted?: number };
      differences: number;
      shown: { pk: string; sk: string; attribute: string; live: number; rebuilt: number }[];
    };
    if (values.json) {
      console.log(JSON.stringify(body, null, 2));
      break;
    }
    const r = body.report;
    console.log(`rebuilt from ${r.relationships} relationships and ${r.entries} timeline entries: ${r.aggregates} aggregates, ${r.guards} guards${body.written ? ` (written; ${r.deleted ?? 0} old items replaced)` : ' (dry run: nothing written)'}`);
    if (body.differences === 0) console.log('live aggregates agreed with the rebuild: no differences');
    else {
      console.log(`${body.differences} differences between live and rebuilt (erased people and changed owners differ by design: docs/metrics.md):`);
      for (const d of body.shown) console.log(`  ${d.pk} ${d.sk} ${d.attribute}: live ${d.live}, rebuilt ${d.rebuilt}`);
      if (body.shown.length < body.differences) console.log(`  ... and ${body.differences - body.shown.length} more (--json for the first ${body.shown.length})`);
    }
    break;
  }
  case 'import': {
    process.exitCode = await importCommand(rest, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env });
    break;
  }
  case 'feed-token': {
    process.exitCode = await feedTokenCommand(rest, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env });
    break;
  }
  case 'demo': {
    process.exitCode = await demoCommand(rest, { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env });
    break;
  }
  case undefined:
  case '--help':
  case 'help':
    usage(0);
    break;
  default:
    console.error(`cultivate: unknown command '${command}'`);
    usage(2);
}
