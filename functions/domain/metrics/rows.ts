/**
 * The aggregates as flat rows, one per metric × period × dimension value (GET /metrics.csv and the
 * weekly feed), read from the same per-period partitions as the report: one query per period plus
 * the gauge partition, and a fixed number of items, whatever the population. With `owners: true`
 * (GET /metrics.csv?owners=true) each period's owner partition too: one more query per period, and
 * rows that grow with the number of owners.
 */
import { GAUGE_PK, isOwnerDimension, ownerPeriodPk, periodPk } from './deltas.ts';
import { type PeriodKind, periodsBetween } from './periods.ts';
import type { AggregateReader } from './report.ts';

export interface MetricRow {
  metric: string;
  /** An ISO week or month; `current` for a level (relationships by stage). */
  period: string;
  /** `all` for the total, else a dimension (`owner`) or a dimension crossed with the group (`group+owner`). */
  dimension: string;
  value: string;
  n: number;
  /** Summed amounts (deal values), when the metric carries one. */
  sum?: number;
}

const num = (v: unknown) => (typeof v === 'number' ? v : Number(v ?? 0));

/**
 * Rows of one aggregate partition (counter items only: `C#<metric>#<dim>#<value>`). `owners` false
 * leaves out per-owner items, also those written into a period partition before schema version 2.
 */
export function rowsOf(period: string, items: readonly Record<string, unknown>[], owners = true): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const item of items) {
    const sk = String(item.sk);
    if (!sk.startsWith('C#')) continue;
    const [metric, dimension, value] = sk.slice(2).split('#') as [string, string, string];
    if (!owners && isOwnerDimension(dimension)) continue;
    const n = num(item.n);
    // A level everyone has left reads 0: no row, like the report.
    if (period === 'current' && n === 0) continue;
    rows.push({ metric, period, dimension, value, n, ...(item.sum !== undefined && { sum: num(item.sum) }) });
  }
  return rows;
}

const order = (a: MetricRow, b: MetricRow) =>
  a.metric.localeCompare(b.metric) || a.period.localeCompare(b.period) || a.dimension.localeCompare(b.dimension) || a.value.localeCompare(b.value);

/** Rows of the same metric, period, dimension and value as one (their counts and sums added). */
function merged(rows: readonly MetricRow[]): MetricRow[] {
  const byKey = new Map<string, MetricRow>();
  for (const r of rows) {
    const id = `${r.metric}\u0000${r.dimension}\u0000${r.value}`;
    const cur = byKey.get(id);
    if (!cur) byKey.set(id, { ...r });
    else {
      cur.n += r.n;
      if (r.sum !== undefined) cur.sum = (cur.sum ?? 0) + r.sum;
    }
  }
  return [...byKey.values()];
}

/**
 * Every counter of the periods in [from, to], then the current levels; sorted, so the output is
 * stable. Per-owner rows only with `owners: true`. Since schema version 2 a per-owner counter is
 * in the period's owner partition; one written before is still in the period partition, so a week
 * that straddles the upgrade may have a counter in both: its two parts are added into one row.
 */
export async function metricRows(reader: AggregateReader, kind: PeriodKind, from: string, to: string, opts: { levels?: boolean; owners?: boolean } = {}): Promise<MetricRow[]> {
  const periods = periodsBetween(kind, from, to);
  const owners = opts.owners === true;
  const parts = await Promise.all(
    periods.map(async (p) => {
      const [main, perOwner] = await Promise.all([reader.partition(periodPk(kind, p)), owners ? reader.partition(ownerPeriodPk(kind, p)) : []]);
      return perOwner.length === 0 ? rowsOf(p, main, owners) : merged([...rowsOf(p, main, owners), ...rowsOf(p, perOwner, owners)]);
    }),
  );
  const levels = opts.levels === false ? [] : rowsOf('current', await reader.partition(GAUGE_PK));
  return [...parts.flat(), ...levels].sort(order);
}

/** RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
export function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_HEADER = ['metric', 'period', 'dimension', 'value', 'n', 'sum'] as const;

/** A header line and one line per row, CRLF-terminated (RFC 4180). */
export function toCsv(rows: readonly MetricRow[]): string {
  const lines = [CSV_HEADER.join(','), ...rows.map((r) => [r.metric, r.period, r.dimension, r.value, r.n, r.sum].map(csvField).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
