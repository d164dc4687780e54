/** config/README.md documents every key sales ops can write: a new schema key without a line there fails. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CadenceFileSchema, ContentFileSchema, ControlsFileSchema, OwnersFileSchema } from '../../functions/config/schema.ts';
import { SendingConfig } from '../../functions/config/sending.ts';

interface Def {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
}
const defOf = (n: unknown) => (n as { def?: Def }).def;

/** Every object key reachable in `schema`, as dotted paths (`tracks.weekly.count`). */
function keys(schema: unknown, prefix = ''): string[] {
  const def = defOf(schema);
  if (!def) return [];
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'nullable':
      return keys(def.innerType, prefix);
    case 'pipe':
      return keys(def.in, prefix);
    case 'array':
      return keys(def.element, prefix);
    case 'record':
      return keys(def.valueType, prefix);
    case 'object':
      return Object.entries(def.shape ?? {}).flatMap(([k, v]) => [`${prefix}${k}`, ...keys(v, `${prefix}${k}.`)]);
    default:
      return [];
  }
}

const readme = readFileSync('config/README.md', 'utf8');
const schemas: [string, z.ZodType][] = [
  ['cadence.yaml', CadenceFileSchema],
  ['content.yaml', ContentFileSchema],
  ['owners.yaml', OwnersFileSchema],
  ['sending.yaml', SendingConfig],
  ['controls.yaml', ControlsFileSchema],
];

describe('config/README.md', () => {
  it.each(schemas)('explains every key of %s', (file, schema) => {
    const start = readme.indexOf(`## \`${file}\``);
    expect(start, `a "## \`${file}\`" section`).toBeGreaterThanOrEqual(0);
    const end = readme.indexOf('\n## ', start + 1);
    const section = readme.slice(start, end < 0 ? undefined : end);
    const all = keys(schema);
    expect(all.length).toBeGreaterThan(3);
    // Documented: the key in backticks by itself or as the end of a dotted path (`weekly.count`),
    // or, for a parent key, as the start of one (`thankYou.after`).
    const missing = all.filter((path) => {
      const parts = path.split('.');
      const suffixes = parts.map((_, i) => parts.slice(i).join('.'));
      return !suffixes.some((s) => section.includes(`\`${s}\``) || section.includes(`\`${s}.`));
    });
    expect(missing).toEqual([]);
  });

  it('names the window kinds and the commands to check a change', () => {
    for (const word of ['`default`', '`value-email`', '`thank-you-note`', '`permission-ask`', 'npm run -s cultivate -- config check', 'npm run -s cultivate -- preview', 'npm run -s cultivate -- send-test', 'npm run -s cultivate -- diff']) {
      expect(readme).toContain(word);
    }
  });
});
