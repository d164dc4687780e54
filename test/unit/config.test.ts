import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, type ConfigSources } from '../../functions/config/load.ts';
import { resolveOwner } from '../../functions/config/owners.ts';
import { parseDuration } from '../../functions/config/schema.ts';

const shipped = {
  cadence: readFileSync('config/cadence.yaml', 'utf8'),
  content: readFileSync('config/content.yaml', 'utf8'),
  owners: readFileSync('config/owners.yaml', 'utf8'),
};
type Key = keyof typeof shipped;

const tmp = mkdtempSync(join(tmpdir(), 'cultivate-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

/** Writes the shipped config with one file replaced into a fresh folder, and loads it. */
function loadWith(key: Key, text: string): unknown {
  const dir = join(tmp, `c${n++}`);
  mkdirSync(dir);
  for (const k of Object.keys(shipped) as Key[]) writeFileSync(join(dir, `${k}.yaml`), k === key ? text : shipped[k]);
  try {
    loadConfig(dir);
  } catch (err) {
    return err;
  }
  throw new Error('expected a ConfigError');
}

/** 1-based line and column of the first occurrence of `needle` (at `offsetInNeedle`) in `text`. */
function position(text: string, needle: string, offsetInNeedle = 0): { line: number; col: number } {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`not found: ${needle}`);
  const before = text.slice(0, at + offsetInNeedle);
  const lines = before.split('\n');
  return { line: lines.length, col: (lines.at(-1)?.length ?? 0) + 1 };
}

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`not found: ${from}`);
  return text.replace(from, to);
}

describe('config loading', () => {
  it('loads the shipped config', () => {
    const c = loadConfig('config');
    // Role and tag tracks come first: the first track that matches wins.
    expect(c.cadence.tracks.map((t) => t.id)).toEqual(['referral-partners', 'customer-care', 'referral-unreachable', 'lost-deal', 'lost-no-weekly']);
    const track = c.cadence.tracks.find((t) => t.id === 'lost-deal');
    expect(track?.weekly).toEqual({ after: '2 days', count: 8 });
    expect(track?.skipWeeks).toBe(1);
    const partners = c.cadence.tracks.find((t) => t.id === 'referral-partners');
    expect(partners?.when).toEqual({ roles: ['referral-partner'] });
    expect(partners?.weekly).toBeUndefined();
    expect(partners?.humanTouches).toContainEqual({ kind: 'referral-exchange', first: '1 month', every: '3 months' });
    const unreachable = c.cadence.tracks.find((t) => t.id === 'referral-unreachable');
    expect(unreachable?.when).toEqual({ entries: ['referral'] });
    expect(unreachable?.humanTouches).toContainEqual({ kind: 'research', first: '2 days', count: 1 });
    expect(c.content.items.length).toBeGreaterThanOrEqual(12);
    expect(new Set(c.content.items.map((i) => i.topic)).size).toBeGreaterThanOrEqual(4);
    const sam = c.owners.owners.find((o) => o.email === 'sam@seller.example');
    expect(sam).toMatchObject({ name: 'Sam Patel', timezone: 'America/New_York', active: true });
    expect(c.owners.owners.some((o) => !o.active && o.manager)).toBe(true);
  });

  it('reports an unknown key at its own line and column', () => {
    const text = replaceOnce(shipped.cadence, '    skipWeeks: 1', '    skipWeeks: 1\n    skipWeek: 2');
    const err = loadWith('cadence', text);
    expect(err).toBeInstanceOf(ConfigError);
    const { line, col } = position(text, 'skipWeek: 2');
    expect((err as Error).message).toContain(`cadence.yaml:${line}:${col}: tracks[3].skipWeek: unknown key`);
    expect((err as ConfigError).problems).toHaveLength(1);
  });

  it('reports an impossible time ("25:00") at the value', () => {
    const text = replaceOnce(shipped.cadence, 'start: "09:00"\n    end: "16:00"', 'start: "25:00"\n    end: "16:00"');
    const err = loadWith('cadence', text) as ConfigError;
    const { line, col } = position(text, 'start: "25:00"', 'start: '.length);
    expect(err.message).toContain(`cadence.yaml:${line}:${col}: windows.value-email.start: must be a time "HH:MM"`);
  });

  it('reports a window that ends before it starts, and an unknown weekday', () => {
    const text = replaceOnce(
      replaceOnce(shipped.cadence, 'end: "16:00"', 'end: "08:00"'),
      'days: [mon, tue, wed, thu, fri]',
      'days: [mon, tue, wed, thu, fry]',
    );
    const err = loadWith('cadence', text) as ConfigError;
    const end = position(text, 'end: "08:00"', 'end: '.length);
    const fry = position(text, 'fry]');
    expect(err.message).toContain(`cadence.yaml:${end.line}:${end.col}: windows.value-email.end: window end 08:00 must be after its start 09:00`);
    expect(err.message).toContain(`cadence.yaml:${fry.line}:${fry.col}: windows.default.days[4]: must be one of`);
  });

  it('reports a cadence topic missing from the content library', () => {
    const text = replaceOnce(shipped.cadence, 'topics: [pipeline-hygiene, forecasting,', 'topics: [pipeline-hygiene, forcasting,');
    const err = loadWith('cadence', text) as ConfigError;
    const { line, col } = position(text, 'forcasting');
    expect(err.message).toContain(`cadence.yaml:${line}:${col}: tracks[3].topics[1]: unknown content topic "forcasting"`);
  });

  it('reports an unknown manager', () => {
    const text = replaceOnce(shipped.owners, 'manager: riley@seller.example\n    active: false', 'manager: rilee@seller.example\n    active: false');
    const err = loadWith('owners', text) as ConfigError;
    const { line, col } = position(text, 'rilee@', 0);
    expect(err.message).toContain(`owners.yaml:${line}:${col}: owners[1].manager: unknown manager rilee@seller.example`);
  });

  it('reports an unknown or inactive fallback owner', () => {
    const text = replaceOnce(shipped.owners, 'fallbackOwner: jordan@seller.example', 'fallbackOwner: lena@seller.example');
    const err = loadWith('owners', text) as ConfigError;
    const { line, col } = position(text, 'lena@seller.example');
    expect(err.message).toContain(`owners.yaml:${line}:${col}: fallbackOwner: fallback owner lena@seller.example is not active`);
  });

  it('an alias bomb (a few lines expanding past the alias limit) is a problem at the file, not a throw', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]'].join('\n');
    let err: unknown;
    try {
      parseConfig({ cadence: { name: 'config/cadence.yaml', text: bomb }, content: { name: 'config/content.yaml', text: shipped.content }, owners: { name: 'config/owners.yaml', text: shipped.owners } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.objectContaining({ file: 'config/cadence.yaml', line: 1, col: 1, message: expect.stringMatching(/alias/i) })]);
  });

  it('reports a missing key, an unknown content topic and a YAML syntax error, all at once', () => {
    const sources: ConfigSources = {
      cadence: { name: 'config/cadence.yaml', text: replaceOnce(shipped.cadence, '    stopEmailAfterQuiet: 6 months  #', '    #') },
      content: { name: 'config/content.yaml', text: replaceOnce(shipped.content, 'topic: pricing\n', 'topic: prizing\n') },
      owners: { name: 'config/owners.yaml', text: shipped.owners.replace('owners:\n', 'owners: [\n') },
    };
    let err: ConfigError | undefined;
    try {
      parseConfig(sources);
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const files = new Set(err?.problems.map((p) => p.file));
    expect(files).toEqual(new Set(['config/cadence.yaml', 'config/content.yaml', 'config/owners.yaml']));
    expect(err?.message).toMatch(/config\/cadence\.yaml:\d+:\d+: tracks\[3\]\.stopEmailAfterQuiet: is required but missing/);
    const prizing = position(sources.content.text, 'prizing');
    expect(err?.message).toContain(`config/content.yaml:${prizing.line}:${prizing.col}: items[5].topic: unknown topic "prizing"`);
    expect(err?.message).toMatch(/config\/owners\.yaml:\d+:\d+: YAML /);
  });

  it('reports a file that cannot be read', () => {
    expect(() => loadConfig(join(tmp, 'does-not-exist'))).toThrow(/cadence\.yaml:1:1: cannot read file/);
  });
});

describe('owner routing', () => {
  const owners = loadConfig('config').owners;
  it('keeps an active owner, routes an inactive one to the manager, an unknown one to the fallback', () => {
    expect(resolveOwner(owners, 'sam@seller.example')).toMatchObject({ via: 'owner', owner: { email: 'sam@seller.example' } });
    expect(resolveOwner(owners, 'LENA@seller.example')).toMatchObject({ via: 'manager', owner: { email: 'riley@seller.example' } });
    expect(resolveOwner(owners, 'ghost@seller.example')).toMatchObject({ via: 'fallback', owner: { email: 'jordan@seller.example' } });
    expect(resolveOwner(owners, undefined)).toMatchObject({ via: 'fallback' });
  });
  it('goes to the fallback when the whole manager chain is inactive', () => {
    const all = { ...owners, owners: owners.owners.map((o) => (o.email === 'riley@seller.example' ? { ...o, active: false } : o)) };
    expect(resolveOwner(all, 'lena@seller.example')).toMatchObject({ via: 'fallback', owner: { email: 'jordan@seller.example' } });
  });
});

describe('durations', () => {
  it('parses the forms sales ops write', () => {
    expect(parseDuration('2 days')).toEqual({ amount: 2, unit: 'day' });
    expect(parseDuration('1 week')).toEqual({ amount: 1, unit: 'week' });
    expect(parseDuration('6mo')).toEqual({ amount: 6, unit: 'month' });
    expect(parseDuration('6 months')).toEqual({ amount: 6, unit: 'month' });
    expect(parseDuration('soon')).toBeUndefined();
  });
});
