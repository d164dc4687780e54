/** Live aggregates against a rebuild's (`cultivate metrics rebuild`): every attribute that differs. Pure. */
import type { Delta } from './types.ts';

export interface AggregateDifference {
  pk: string;
  sk: string;
  attribute: string;
  live: number;
  rebuilt: number;
}

/** Sums of amounts are floating point: a difference below this (relative) is rounding, not news. */
const EPSILON = 1e-9;

const same = (a: number, b: number) => Math.abs(a - b) <= EPSILON * Math.max(1, Math.abs(a), Math.abs(b));

/**
 * A missing attribute or item reads 0 on both sides: a gauge back at 0 and an item the rebuild
 * never wrote are the same number. Sorted by key and attribute, so the output is stable.
 */
export function compareAggregates(live: ReadonlyMap<string, Readonly<Record<string, number>>>, rebuilt: readonly Delta[]): AggregateDifference[] {
  const sep = '\u0000';
  const fresh = new Map(rebuilt.map((d) => [`${d.key.pk}${sep}${d.key.sk}`, d.add]));
  const out: AggregateDifference[] = [];
  for (const key of new Set([...live.keys(), ...fresh.keys()])) {
    const a = live.get(key) ?? {};
    const b = fresh.get(key) ?? {};
    const [pk = '', sk = ''] = key.split(sep);
    for (const attribute of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (attribute === 'pk' || attribute === 'sk') continue;
      const l = a[attribute] ?? 0;
      const r = b[attribute] ?? 0;
      if (!same(l, r)) out.push({ pk, sk, attribute, live: l, rebuilt: r });
    }
  }
  return out.sort((x, y) => x.pk.localeCompare(y.pk) || x.sk.localeCompare(y.sk) || x.attribute.localeCompare(y.attribute));
}
