/**
 * Does nurture cause re-engagement? Nurtured vs holdout conversion to a CRM outcome (meeting,
 * new or reopened deal, won deal), the lift with a confidence interval whose method is named,
 * incremental deals and revenue, cost per incremental deal, and, while underpowered, the sample
 * size needed and when the current entry rate reaches it. Pure.
 */

export interface GroupOutcome {
  /** Episodes that entered nurture (the denominator). */
  entered: number;
  /** Episodes with at least one CRM outcome after the loss. */
  converted: number;
  /** Revenue won after the loss. */
  wonAmount: number;
}

export interface LiftInput {
  nurtured: GroupOutcome;
  holdout: GroupOutcome;
  /** Touches made to the nurtured group (the holdout gets none). */
  touches: { email: number; task: number };
  costPerTouch: { email: number; task: number; currency: string };
  /** Share of accounts held out (0-50). */
  holdoutPercent: number;
  power: { minimumDetectableLift: number; alpha: number; power: number };
  /** Holdout entries per day lately (for the estimate of when the sample suffices). */
  holdoutEntriesPerDay: number;
  asOf: string;
  confidence?: number;
}

export const CI_METHOD = "Newcombe's hybrid score interval for a difference of independent proportions (Newcombe 1998, method 10: Wilson score limits of each group combined)";

/** The standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError('normalQuantile needs 0 < p < 1');
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

/** Wilson score interval for x successes in n trials. */
export function wilson(x: number, n: number, z: number): { lower: number; upper: number } {
  if (n === 0) return { lower: 0, upper: 1 };
  const p = x / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { lower: Math.max(0, center - half), upper: Math.min(1, center + half) };
}

/** Newcombe's hybrid score interval for p1 - p2. */
export function newcombeInterval(x1: number, n1: number, x2: number, n2: number, confidence = 0.95): { lower: number; upper: number } {
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p1 = n1 ? x1 / n1 : 0;
  const p2 = n2 ? x2 / n2 : 0;
  const w1 = wilson(x1, n1, z);
  const w2 = wilson(x2, n2, z);
  const delta = p1 - p2;
  return {
    lower: delta - Math.sqrt((p1 - w1.lower) ** 2 + (w2.upper - p2) ** 2),
    upper: delta + Math.sqrt((w1.upper - p1) ** 2 + (p2 - w2.lower) ** 2),
  };
}

/**
 * Holdout size needed to detect an absolute difference `delta` over baseline `p0` with a two-sided
 * z test of two proportions, nurtured group k times the holdout (Fleiss' formula without continuity
 * correction). Returns the holdout size; the nurtured group needs k times it.
 */
export function holdoutSizeNeeded(p0: number, delta: number, k: number, alpha: number, power: number): number {
  const p1 = Math.min(0.999, p0 + delta);
  const pBar = (p0 + k * p1) / (1 + k);
  const za = normalQuantile(1 - alpha / 2);
  const zb = normalQuantile(power);
  const n = (za * Math.sqrt(pBar * (1 - pBar) * (1 + 1 / k)) + zb * Math.sqrt(p0 * (1 - p0) + (p1 * (1 - p1)) / k)) ** 2 / (p1 - p0) ** 2;
  return Math.ceil(n);
}

export interface LiftReport {
  nurtured: GroupOutcome & { conversionRate: number | null };
  holdout: GroupOutcome & { conversionRate: number | null };
  /** Absolute difference in conversion rate, nurtured minus holdout. */
  lift: number | null;
  /** Relative lift (nurtured / holdout - 1), null when the holdout rate is 0. */
  relativeLift: number | null;
  interval: { confidence: number; lower: number; upper: number; method: string } | null;
  incrementalDeals: number | null;
  incrementalRevenue: number | null;
  cost: { amount: number; currency: string };
  costPerIncrementalDeal: number | null;
  power: {
    underpowered: boolean;
    baselineRate: number;
    minimumDetectableLift: number;
    holdoutNeeded: number;
    nurturedNeeded: number;
    /** When the holdout reaches its size at the current entry rate (null: reached, or no entries lately). */
    expectedBy: string | null;
  };
}

export function lift(input: LiftInput): LiftReport {
  const { nurtured: n1, holdout: n0 } = input;
  const confidence = input.confidence ?? 0.95;
  const rate = (g: GroupOutcome) => (g.entered > 0 ? g.converted / g.entered : null);
  const p1 = rate(n1);
  const p0 = rate(n0);
  const both = p1 !== null && p0 !== null;
  const delta = both ? (p1 as number) - (p0 as number) : null;
  const interval = both ? { confidence, ...newcombeInterval(n1.converted, n1.entered, n0.converted, n0.entered, confidence), method: CI_METHOD } : null;
  const incrementalDeals = delta === null ? null : delta * n1.entered;
  const incrementalRevenue = both ? (n1.wonAmount / n1.entered - n0.wonAmount / n0.entered) * n1.entered : null;
  const cost = input.touches.email * input.costPerTouch.email + input.touches.task * input.costPerTouch.task;
  // The baseline: the holdout's own rate once it says something, else the pooled rate; never 0.
  const pooled = n1.entered + n0.entered > 0 ? (n1.converted + n0.converted) / (n1.entered + n0.entered) : 0;
  const baselineRate = Math.max(0.01, n0.entered >= 30 && p0 !== null ? p0 : pooled);
  const pct = Math.min(50, Math.max(0.1, input.holdoutPercent));
  const k = (100 - pct) / pct;
  const holdoutNeeded = holdoutSizeNeeded(baselineRate, input.power.minimumDetectableLift, k, input.power.alpha, input.power.power);
  const nurturedNeeded = Math.ceil(holdoutNeeded * k);
  const underpowered = n0.entered < holdoutNeeded || n1.entered < nurturedNeeded;
  const missing = holdoutNeeded - n0.entered;
  const expectedBy =
    underpowered && missing > 0 && input.holdoutEntriesPerDay > 0
      ? new Date(Date.parse(input.asOf) + Math.ceil(missing / input.holdoutEntriesPerDay) * 86_400_000).toISOString().slice(0, 10)
      : null;
  return {
    nurtured: { ...n1, conversionRate: p1 },
    holdout: { ...n0, conversionRate: p0 },
    lift: delta,
    relativeLift: both && (p0 as number) > 0 ? (p1 as number) / (p0 as number) - 1 : null,
    interval,
    incrementalDeals,
    incrementalRevenue,
    cost: { amount: cost, currency: input.costPerTouch.currency },
    costPerIncrementalDeal: incrementalDeals !== null && incrementalDeals > 0 ? cost / incrementalDeals : null,
    power: { underpowered, baselineRate, minimumDetectableLift: input.power.minimumDetectableLift, holdoutNeeded, nurturedNeeded, expectedBy },
  };
}
