/**
 * Aggregate deltas of a fact (pure). Counters are keyed by (metric, period, dimension, value);
 * gauges by (metric, dimension, value); survival inputs by (cohort month, group, entry date) with
 * one attribute per day, so Kaplan-Meier needs the aggregates only.
 *
 *   AGG#W#<2026-W47> | AGG#M#<2026-11>   C#<metric>#<dim>#<value>    n (count), sum (amount)
 *   AGG#W#<2026-W47>#O | AGG#M#<2026-11>#O   the same, for the `owner` and `group+owner` dimensions
 *   AGG#G                                C#<metric>#<dim>#<value>    n (a level: +1 / -1)
 *   AGG#S#<cohort month>                 <group>#<entry date>        n entered, e<day> events, c<day> censored
 *
 * Owners grow with the population (about one per 300 people) and every other dimension stays within
 * a few dozen values, so the per-owner counters have a partition of their own per period: the
 * report, CSV, feed and dashboard read a fixed number of items whatever the number of people, and
 * per-owner numbers cost their reads only where asked for (`owners=true`, /dashboard/owners; issue #7,
 * bench/feed.ts). Gauges have no owner dimension.
 */
import { month, periodOf } from './periods.ts';
import type { Delta, Dims, Fact, ItemKey } from './types.ts';

/** Days-to-re-engagement histogram buckets: upper bounds (inclusive) in days; the last is open. */
export const DAY_BUCKETS = [7, 14, 30, 60, 90, 180, 365] as const;
/** Survival days beyond this are kept at this day (three years covers every reported horizon). */
export const MAX_SURVIVAL_DAY = 1095;

export function bucketOf(days: number): string {
  let lower = 0;
  for (const upper of DAY_BUCKETS) {
    if (days <= upper) return `${lower}-${upper}`;
    lower = upper + 1;
  }
  return `${lower}+`;
}

export const bucketLabels = (): string[] => [...DAY_BUCKETS.map((u, i) => `${i === 0 ? 0 : (DAY_BUCKETS[i - 1] as number) + 1}-${u}`), `${DAY_BUCKETS[DAY_BUCKETS.length - 1] as number + 1}+`];

const clean = (v: string) => v.replace(/#/g, '_');

/** Each dimension alone, and each crossed with the group (nurtured vs holdout) when the fact has one (and `cross`). */
export function dimensionValues(dims: Dims, cross = true): [string, string][] {
  const out: [string, string][] = [['all', 'all']];
  const group = cross ? dims.group : undefined;
  for (const [k, v] of Object.entries(dims)) {
    out.push([k, clean(v)]);
    if (group !== undefined && k !== 'group') out.push([`group+${k}`, `${group}+${clean(v)}`]);
  }
  return out;
}

export const counterSk = (metric: string, dim: string, value: string) => `C#${metric}#${dim}#${value}`;
export const periodPk = (kind: 'week' | 'month', period: string) => `AGG#${kind === 'week' ? 'W' : 'M'}#${period}`;
/** The per-owner counters of a period (`owner`, `group+owner`): read only when owners are asked for. */
export const ownerPeriodPk = (kind: 'week' | 'month', period: string) => `${periodPk(kind, period)}#O`;
/** Dimensions whose values grow with the population: kept out of the period partitions. */
export const isOwnerDimension = (dim: string) => dim === 'owner' || dim === 'group+owner';
export const GAUGE_PK = 'AGG#G';
export const survivalPk = (cohortMonth: string) => `AGG#S#${cohortMonth}`;

export function deltasOf(fact: Fact): Delta[] {
  const out: Delta[] = [];
  const counters = (metric: string, dims: Dims, add: Record<string, number>) => {
    for (const kind of ['week', 'month'] as const) {
      const period = periodOf(kind, fact.at);
      for (const [dim, value] of dimensionValues(dims, fact.crossGroup !== false)) {
        const pk = isOwnerDimension(dim) ? ownerPeriodPk(kind, period) : periodPk(kind, period);
        out.push({ key: { pk, sk: counterSk(metric, dim, value) }, add });
      }
    }
  };
  if (fact.gauge) {
    for (const [dim, value] of dimensionValues(fact.dims)) out.push({ key: { pk: GAUGE_PK, sk: counterSk(fact.metric, dim, value) }, add: { n: fact.gauge } });
  } else {
    counters(fact.metric, fact.dims, fact.amount !== undefined ? { n: 1, sum: fact.amount } : { n: 1 });
  }
  if (fact.days !== undefined) {
    counters(`${fact.metric}.days`, { bucket: bucketOf(fact.days), ...(fact.dims.group !== undefined && { group: fact.dims.group }) }, { n: 1 });
  }
  if (fact.survival) {
    const s = fact.survival;
    const key: ItemKey = { pk: survivalPk(month(s.lostAt)), sk: `${s.group}#${s.lostAt.slice(0, 10)}` };
    const day = Math.min(MAX_SURVIVAL_DAY, Math.max(0, s.day ?? 0));
    out.push({ key, add: s.event === 'entered' ? { n: 1 } : { [`${s.event === 'event' ? 'e' : 'c'}${day}`]: 1 } });
  }
  return out;
}

export const keyString = (k: ItemKey) => `${k.pk}\u0000${k.sk}`;

/** Deltas on the same item merged into one (a transaction may not touch an item twice). */
export function mergeDeltas(deltas: readonly Delta[]): Delta[] {
  const byKey = new Map<string, Delta>();
  for (const d of deltas) {
    const id = keyString(d.key);
    const cur = byKey.get(id);
    if (!cur) byKey.set(id, { key: d.key, add: { ...d.add } });
    else for (const [a, v] of Object.entries(d.add)) cur.add[a] = (cur.add[a] ?? 0) + v;
  }
  // Zero sums (a gauge's -1 and +1 on one item) are no update at all.
  return [...byKey.values()]
    .map((d) => ({ key: d.key, add: Object.fromEntries(Object.entries(d.add).filter(([, v]) => v !== 0)) }))
    .filter((d) => Object.keys(d.add).length > 0);
}
