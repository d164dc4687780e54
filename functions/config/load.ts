/**
 * Reads `config/` (cadence.yaml, content.yaml, owners.yaml), validates each file against its
 * schema, cross-checks them, and reports every problem at once as `file:line:col: message`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { semanticChecks, type ConfigFileKey } from './checks.ts';
import { CadenceFileSchema, ContentFileSchema, OwnersFileSchema, type CultivateConfig } from './schema.ts';

export type { CadenceConfig, ContentItem, ContentLibrary, CultivateConfig, Owner, OwnersConfig, TrackConfig, WindowConfig } from './schema.ts';

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  ${p.file}:${p.line}:${p.col}: ${p.message}`);
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export const CONFIG_FILES: Record<ConfigFileKey, string> = {
  cadence: 'cadence.yaml',
  content: 'content.yaml',
  owners: 'owners.yaml',
};
export type { ConfigFileKey };

/** The text of each file, and the name to report it under (e.g. `config/cadence.yaml`). */
export type ConfigSources = Record<ConfigFileKey, { name: string; text: string }>;

type Path = readonly PropertyKey[];

class ParsedFile {
  readonly lineCounter = new LineCounter();
  readonly doc: Document.Parsed;
  constructor(
    readonly name: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lineCounter, prettyErrors: true, uniqueKeys: true });
  }

  private pos(offset: number): { line: number; col: number } {
    return this.lineCounter.linePos(offset);
  }

  problem(offset: number | undefined, message: string): ConfigProblem {
    const { line, col } = offset === undefined ? { line: 1, col: 1 } : this.pos(offset);
    return { file: this.name, line, col, message };
  }

  /** The deepest node that exists along `path`, and whether it is the node at the full path. */
  nodeAt(path: Path): { offset: number | undefined; exact: boolean } {
    const keys = path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    for (let n = keys.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(keys.slice(0, n), true);
      if (isNode(node) && node.range) return { offset: node.range[0], exact: n === keys.length };
    }
    return { offset: undefined, exact: false };
  }

  /** The key node of `key` in the map at `path` (for unknown keys). */
  keyAt(path: Path, key: string): number | undefined {
    const keys = path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    const map = keys.length === 0 ? this.doc.contents : this.doc.getIn(keys, true);
    if (!isMap(map)) return undefined;
    for (const pair of map.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === key) return pair.key.range?.[0];
    }
    return undefined;
  }

  /** Problems at `path` (a zod-style path into this file). */
  at(path: Path, message: string): ConfigProblem {
    return this.problem(this.nodeAt(path).offset, withPath(path, message));
  }
}

function withPath(path: Path, message: string): string {
  if (path.length === 0) return message;
  const text = path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`))
    .join('');
  return `${text}: ${message}`;
}

/** The keys a strict object at `path` in `schema` accepts (for "did you mean" help), if known. */
function allowedKeys(schema: z.ZodType, path: Path): string[] | undefined {
  let node: unknown = schema;
  const unwrap = () => {
    for (let i = 0; i < 10; i++) {
      const def = (node as { def?: { type?: string; innerType?: unknown; in?: unknown } }).def;
      if (def?.type === 'optional' || def?.type === 'default' || def?.type === 'nullable') node = def.innerType;
      else if (def?.type === 'pipe') node = def.in;
      else return;
    }
  };
  for (const key of path) {
    unwrap();
    const def = (node as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown } }).def;
    if (def?.type === 'object' && typeof key === 'string') node = def.shape?.[key];
    else if (def?.type === 'array') node = def.element;
    else if (def?.type === 'record') node = def.valueType;
    else return undefined;
  }
  unwrap();
  const def = (node as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

function zodProblems(file: ParsedFile, issues: readonly z.core.$ZodIssue[], schema: z.ZodType): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const offset = file.keyAt(issue.path, key) ?? file.nodeAt(issue.path).offset;
        const allowed = allowedKeys(schema, issue.path);
        const hint = allowed ? `; allowed here: ${allowed.join(', ')}` : '';
        out.push(file.problem(offset, withPath([...issue.path, key], `unknown key${hint}`)));
      }
      continue;
    }
    const { offset, exact } = file.nodeAt(issue.path);
    let message = issue.message;
    if (issue.code === 'invalid_type' && !exact && issue.path.length > 0) message = 'is required but missing';
    out.push(file.problem(offset, withPath(issue.path, message)));
  }
  return out;
}

function syntaxProblems(file: ParsedFile): ConfigProblem[] {
  return file.doc.errors.map((e) => {
    const pos = e.linePos?.[0];
    const first = e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? e.message;
    return { file: file.name, line: pos?.line ?? 1, col: pos?.col ?? 1, message: `YAML ${e.code}: ${first}` };
  });
}

/** Validates config from text. Throws a `ConfigError` listing every problem. */
export function parseConfig(sources: ConfigSources): CultivateConfig {
  const files: Record<ConfigFileKey, ParsedFile> = {
    cadence: new ParsedFile(sources.cadence.name, sources.cadence.text),
    content: new ParsedFile(sources.content.name, sources.content.text),
    owners: new ParsedFile(sources.owners.name, sources.owners.text),
  };
  const problems: ConfigProblem[] = [];
  // A file that is not valid YAML reports its syntax errors; the others are still checked.
  const rawOf = (k: ConfigFileKey): unknown => {
    const f = files[k];
    if (f.doc.errors.length > 0) {
      problems.push(...syntaxProblems(f));
      return undefined;
    }
    return f.doc.toJS({ maxAliasCount: 100 }) ?? {};
  };
  const raw = { cadence: rawOf('cadence'), content: rawOf('content'), owners: rawOf('owners') };
  const check = <T>(k: ConfigFileKey, schema: z.ZodType<T>): T | undefined => {
    if (raw[k] === undefined) return undefined;
    const r = schema.safeParse(raw[k]);
    if (r.success) return r.data;
    problems.push(...zodProblems(files[k], r.error.issues, schema));
    return undefined;
  };
  const cadence = check('cadence', CadenceFileSchema);
  const content = check('content', ContentFileSchema);
  const owners = check('owners', OwnersFileSchema);
  for (const p of semanticChecks(raw)) problems.push(files[p.file].at(p.path, p.message));
  if (problems.length > 0 || !cadence || !content || !owners) {
    const order = Object.fromEntries((Object.keys(files) as ConfigFileKey[]).map((k, i) => [files[k].name, i]));
    problems.sort((a, b) => (order[a.file] ?? 0) - (order[b.file] ?? 0) || a.line - b.line || a.col - b.col);
    throw new ConfigError(problems);
  }
  return { cadence, content, owners };
}

/** Reads and validates `dir`/cadence.yaml, content.yaml and owners.yaml. Throws a `ConfigError`. */
export function loadConfig(dir = 'config'): CultivateConfig {
  const problems: ConfigProblem[] = [];
  const read = (key: ConfigFileKey) => {
    const name = join(dir, CONFIG_FILES[key]);
    try {
      return { name, text: readFileSync(name, 'utf8') };
    } catch (err) {
      problems.push({ file: name, line: 1, col: 1, message: `cannot read file: ${(err as Error).message}` });
      return { name, text: '' };
    }
  };
  const sources: ConfigSources = { cadence: read('cadence'), content: read('content'), owners: read('owners') };
  if (problems.length > 0) throw new ConfigError(problems);
  return parseConfig(sources);
}
