/**
 * A zod failure as the API answers it: `[{ path, message }]`, the path dotted, the root named
 * (`(body)`, `(query)`), and for an unknown key the key itself, so "which field, why" always holds.
 */
import type { z } from 'zod';

export interface Issue {
  path: string;
  message: string;
}

export function zodIssues(issues: readonly z.core.$ZodIssue[], root = '(body)'): Issue[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.') || (i.code === 'unrecognized_keys' ? i.keys.join(', ') : root), message: i.message }));
}
