/**
 * Kaplan-Meier from aggregates (pure). A subject is an episode: it enters at the loss, has its
 * event at the first human re-engagement, or is censored (erased, or still waiting at the report
 * date), so a young cohort is not undercounted: it simply has fewer days of follow-up.
 */
import { bucketLabels, DAY_BUCKETS } from './deltas.ts';
import { daysBetween } from './periods.ts';

export interface SurvivalRow {
  day: number;
  events: number;
  censored: number;
}

export interface SurvivalPoint extends SurvivalRow {
  /** At risk just before this day (censored on the same day count as at risk: the usual convention). */
  atRisk: number;
  /** Share not yet re-engaged after this day. */
  survival: number;
}

export interface Curve {
  subjects: number;
  points: SurvivalPoint[];
  /** The longest follow-up observed (days): the curve says nothing beyond it. */
  maxFollowUp: number;
}

/** The product-limit estimator S(t) = prod over event days t_i <= t of (1 - d_i / n_i). */
export function kaplanMeier(rows: readonly SurvivalRow[]): Curve {
  const byDay = new Map<number, SurvivalRow>();
  for (const r of rows) {
    if (r.events < 0 || r.censored < 0 || !Number.isInteger(r.day) || r.day < 0) throw new RangeError(`survival row for day ${r.day} is not a count`);
    const cur = byDay.get(r.day) ?? { day: r.day, events: 0, censored: 0 };
    byDay.set(r.day, { day: r.day, events: cur.events + r.events, censored: cur.censored + r.censored });
  }
  const sorted = [...byDay.values()].filter((r) => r.events + r.censored > 0).sort((a, b) => a.day - b.day);
  const subjects = sorted.reduce((s, r) => s + r.events + r.censored, 0);
  let atRisk = subjects;
  let survival = 1;
  const points: SurvivalPoint[] = [];
  for (const r of sorted) {
    if (r.events > 0) survival *= 1 - r.events / atRisk;
    points.push({ ...r, atRisk, survival });
    atRisk -= r.events + r.censored;
  }
  return { subjects, points, maxFollowUp: sorted.length ? (sorted[sorted.length - 1] as SurvivalRow).day : 0 };
}

/** S(t): the survival after day t (1 before the first event). */
export function survivalAt(curve: Curve, day: number): number {
  let s = 1;
  for (const p of curve.points) {
    if (p.day > day) break;
    s = p.survival;
  }
  return s;
}

/** Share re-engaged by `day` (1 - S), or null when nobody has been followed that long yet. */
export function shareBy(curve: Curve, day: number): number | null {
  return curve.maxFollowUp >= day ? 1 - survivalAt(curve, day) : null;
}

/** The first day the curve reaches 1 - q or lower (q = 0.5: the median time), or null if it does not. */
export function curveQuantile(curve: Curve, q: number): number | null {
  for (const p of curve.points) if (p.survival <= 1 - q + 1e-12) return p.day;
  return null;
}

/** One stored survival item: entries of one day, with their events and censorings by day since the loss. */
export interface SurvivalItem {
  entryDate: string;
  entered: number;
  events: Record<number, number>;
  censored: Record<number, number>;
}

/**
 * Rows for Kaplan-Meier from the stored items: whoever has neither re-engaged nor left is
 * censored at the report date (their follow-up so far).
 */
export function rowsFromItems(items: readonly SurvivalItem[], asOf: string): SurvivalRow[] {
  const rows: SurvivalRow[] = [];
  for (const item of items) {
    let done = 0;
    for (const [day, n] of Object.entries(item.events)) {
      rows.push({ day: Number(day), events: n, censored: 0 });
      done += n;
    }
    for (const [day, n] of Object.entries(item.censored)) {
      rows.push({ day: Number(day), events: 0, censored: n });
      done += n;
    }
    const waiting = item.entered - done;
    if (waiting > 0) rows.push({ day: daysBetween(`${item.entryDate}T00:00:00.000Z`, asOf), events: 0, censored: waiting });
  }
  return rows;
}

export interface HistogramQuantile {
  days: number;
  /** `interpolated` inside a closed bucket; `at-least` when it falls in the open last bucket. */
  bound: 'interpolated' | 'at-least';
}

/**
 * A quantile of days-to-re-engagement among those re-engaged, from the fixed buckets: linear
 * interpolation inside the bucket that holds it (days are whole: bucket 8-14 spans [8, 15)).
 */
export function histogramQuantile(counts: Readonly<Record<string, number>>, q: number): HistogramQuantile | null {
  const labels = bucketLabels();
  const total = labels.reduce((s, l) => s + (counts[l] ?? 0), 0);
  if (total === 0) return null;
  const target = q * total;
  let below = 0;
  for (const [i, label] of labels.entries()) {
    const n = counts[label] ?? 0;
    const lower = i === 0 ? 0 : (DAY_BUCKETS[i - 1] as number) + 1;
    if (i === labels.length - 1) return { days: lower, bound: 'at-least' };
    if (n > 0 && below + n >= target) {
      const upper = (DAY_BUCKETS[i] as number) + 1;
      return { days: Math.round((lower + ((target - below) / n) * (upper - lower)) * 10) / 10, bound: 'interpolated' };
    }
    below += n;
  }
  return null;
}
