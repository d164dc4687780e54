/**
 * The aggregates as flat rows, one per metric × period × dimension value (GET /metrics.csv and the
 * weekly feed), read from the same per-period partitions as the report: one query per period plus
 * the gauge partition, whatever the population.
 */
import { GAUGE_PK, periodPk } from './deltas.ts';
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

/** Rows of one aggregate partition (counter items only: `C#<metric>#<dim>#<value>`). */
export function rowsOf(period: string, items: readonly Record<string, unknown>[]): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const item of items) {
    const sk = String(item.sk);
    if (!sk.startsWith('C#')) continue;
    const [metric, dimension, value] = sk.slice(2).split('#') as [string, string, string];
    const n = num(item.n);
    // A level everyone has left reads 0: no row, like the report.
    if (period === 'current' && n === 0) continue;
    rows.push({ metric, period, dimension, value, n, ...(item.sum !== undefined && { sum: num(item.sum) }) });
  }
  return rows;
}

const order = (a: MetricRow, b: MetricRow) =>
  a.metric.localeCompare(b.metric) || a.period.localeCompare(b.period) || a.dimension.localeCompare(b.dimension) || a.value.localeCompare(b.value);

/** Every counter of the periods in [from, to], then the current levels; sorted, so the output is stable. */
export async function metricRows(reader: AggregateReader, kind: PeriodKind, from: string, to: string, opts: { levels?: boolean } = {}): Promise<MetricRow[]> {
  const periods = periodsBetween(kind, from, to);
  const parts = await Promise.all(periods.map(async (p) => rowsOf(p, await reader.partition(periodPk(kind, p)))));
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
