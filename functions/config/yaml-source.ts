/**
 * A YAML file with positions: maps a zod-style path (or a zod issue) to `file:line:col`, for the
 * config loader and the CLI alike (rules: the deepest existing node on the path, the key itself for
 * an unknown key, "is required but missing" for a missing one).
 */
import { isMap, isNode, isPair, isScalar, LineCounter, parseDocument, YAMLParseError, type Document } from 'yaml';
import type { z } from 'zod';

export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export type Path = readonly PropertyKey[];

export class YamlSource {
  readonly lineCounter = new LineCounter();
  readonly doc: Document.Parsed;

  constructor(
    readonly name: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lineCounter, prettyErrors: true, uniqueKeys: true });
  }

  /** The file's YAML syntax errors, as problems. */
  syntaxProblems(): ConfigProblem[] {
    return this.doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const first = e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? e.message;
      return { file: this.name, line: pos?.line ?? 1, col: pos?.col ?? 1, message: `YAML ${e.code}: ${first}` };
    });
  }

  /**
   * The plain data, or undefined when the file is not valid YAML. A file that parses but cannot be
   * turned into data (an alias bomb past `maxAliasCount`) gets that as one more syntax error, so
   * every caller reports it as a problem rather than throwing.
   */
  data(): unknown {
    if (this.doc.errors.length > 0) return undefined;
    try {
      return this.doc.toJS({ maxAliasCount: 100 }) ?? {};
    } catch (err) {
      this.doc.errors.push(new YAMLParseError([0, 1], 'BAD_ALIAS', (err as Error).message));
      return undefined;
    }
  }

  problem(offset: number | undefined, message: string): ConfigProblem {
    const { line, col } = offset === undefined ? { line: 1, col: 1 } : this.lineCounter.linePos(offset);
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

  /** The offset of the key `key` in the map at `path` (where an unknown key is reported). */
  keyAt(path: Path, key: string): number | undefined {
    const keys = path.map((k) => (typeof k === 'symbol' ? String(k) : k));
    const map = keys.length === 0 ? this.doc.contents : this.doc.getIn(keys, true);
    if (!isMap(map)) return undefined;
    for (const pair of map.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === key) return pair.key.range?.[0];
    }
    return undefined;
  }

  /** A problem at the node `path` points to (or its deepest existing parent). */
  at(path: Path, message: string): ConfigProblem {
    return this.problem(this.nodeAt(path).offset, withPath(path, message));
  }

  /** Zod issues as problems at their place in this file. */
  zodProblems(issues: readonly z.core.$ZodIssue[], schema?: z.ZodType): ConfigProblem[] {
    const out: ConfigProblem[] = [];
    for (const issue of issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const offset = this.keyAt(issue.path, key) ?? this.nodeAt(issue.path).offset;
          const allowed = schema ? allowedKeys(schema, issue.path) : undefined;
          const hint = allowed ? `; allowed here: ${allowed.join(', ')}` : '';
          out.push(this.problem(offset, withPath([...issue.path, key], `unknown key${hint}`)));
        }
        continue;
      }
      const { offset, exact } = this.nodeAt(issue.path);
      let message = issue.message;
      if (issue.code === 'invalid_type' && !exact && issue.path.length > 0) message = 'is required but missing';
      out.push(this.problem(offset, withPath(issue.path, message)));
    }
    return out;
  }
}

/** `tracks[1].when.lostReasons[0]: message`, as load.ts writes it. */
export function withPath(path: Path, message: string): string {
  if (path.length === 0) return message;
  const text = path
    .map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`))
    .join('');
  return `${text}: ${message}`;
}

/** The keys a strict object at `path` in `schema` accepts (for the "allowed here" hint), if known. */
function allowedKeys(schema: z.ZodType, path: Path): string[] | undefined {
  type Def = { type?: string; innerType?: unknown; in?: unknown; shape?: Record<string, unknown>; element?: unknown; valueType?: unknown };
  const defOf = (n: unknown) => (n as { def?: Def }).def;
  let node: unknown = schema;
  const unwrap = () => {
    for (let i = 0; i < 10; i++) {
      const def = defOf(node);
      if (def?.type === 'optional' || def?.type === 'default' || def?.type === 'nullable') node = def.innerType;
      else if (def?.type === 'pipe') node = def.in;
      else return;
    }
  };
  for (const key of path) {
    unwrap();
    const def = defOf(node);
    if (def?.type === 'object' && typeof key === 'string') node = def.shape?.[key];
    else if (def?.type === 'array') node = def.element;
    else if (def?.type === 'record') node = def.valueType;
    else return undefined;
  }
  unwrap();
  const def = defOf(node);
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}
