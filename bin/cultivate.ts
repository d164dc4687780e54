#!/usr/bin/env -S npx tsx
/**
 * The `cultivate` CLI. Commands:
 *   cultivate sign <file> [--secret S] [--header]   print a Cultivate-Signature for a file's exact bytes
 *   cultivate catalog [--out dir]                   write the event catalog as JSON Schema files
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { catalogJsonSchemas } from '#catalog/json-schema';
import { LOCAL_DEFAULT_WEBHOOK_SECRET as DEFAULT_WEBHOOK_SECRET, signBody } from '#shared/hmac';

const [command, ...rest] = process.argv.slice(2);

function usage(code: number): never {
  (code === 0 ? console.log : console.error)(
    [
      'usage: cultivate <command>',
      '  sign <file> [--secret S] [--header]   signature for the exact bytes of <file> (secret: --secret, CULTIVATE_WEBHOOK_SECRET or the local default)',
      '  catalog [--out dir]                   JSON Schema of every event, for integrators (default: catalog/)',
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
  case undefined:
  case '--help':
  case 'help':
    usage(0);
    break;
  default:
    console.error(`cultivate: unknown command '${command}'`);
    usage(2);
}
