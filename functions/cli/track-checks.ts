/**
 * Cadence checks `cultivate config check` adds to those of `functions/config/checks.ts`: rules
 * that validate one by one but can never take effect. checks.ts already reports a lost reason
 * listed by two tracks (at the second listing); these find what that leaves:
 *
 * - a track whose every lost reason is taken by earlier tracks (it can never match);
 * - a second track without `when` (the first one already takes every unclaimed reason);
 * - a track without `when` while every lost reason is claimed (it can never match);
 * - lost reasons no track takes (those lost deals would get no touches at all);
 * - `permissionAsk` or `skipWeeks` on a track that never e-mails (no effect);
 * - `stopEmailAfterQuiet` ending before the track's first e-mail could go.
 *
 * Like checks.ts, they read the raw YAML data defensively, so they run even when the schema
 * found problems elsewhere.
 */
import { lostReasons } from '#catalog/events';
import { parseDuration, type Duration } from '#config/schema';

export interface TrackProblem {
  path: (string | number)[];
  message: string;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Shortest and longest span of a duration in days (a month is 28 to 31 days). */
function days(text: unknown): { min: number; max: number } | undefined {
  const d: Duration | undefined = typeof text === 'string' ? parseDuration(text) : undefined;
  if (!d) return undefined;
  if (d.unit === 'day') return { min: d.amount, max: d.amount };
  if (d.unit === 'week') return { min: 7 * d.amount, max: 7 * d.amount };
  return { min: 28 * d.amount, max: 31 * d.amount };
}

export function trackChecks(rawCadence: unknown): TrackProblem[] {
  const out: TrackProblem[] = [];
  const tracks = arr(obj(rawCadence)?.tracks);
  if (tracks.length === 0) return out;
  const claimed = new Map<string, string>();
  let catchAll: string | undefined;
  const name = (t: Obj | undefined, i: number) => str(t?.id) ?? `#${i + 1}`;

  tracks.forEach((raw, i) => {
    const t = obj(raw);
    if (!t) return;
    const when = obj(t.when);
    if (when === undefined) {
      if (catchAll !== undefined) {
        out.push({ path: ['tracks', i], message: `track "${name(t, i)}" can never match: track "${catchAll}" (also without \`when\`) already takes every lost reason no other track lists` });
      } else catchAll = name(t, i);
      return;
    }
    const reasons = arr(when.lostReasons).map(str).filter((r): r is string => r !== undefined);
    const fresh = reasons.filter((r) => !claimed.has(r));
    if (reasons.length > 0 && fresh.length === 0) {
      const by = [...new Set(reasons.map((r) => claimed.get(r)))].map((id) => `"${id}"`).join(', ');
      out.push({
        path: ['tracks', i, 'when', 'lostReasons'],
        message: `track "${name(t, i)}" can never match: every lost reason it lists (${reasons.join(', ')}) is already taken by earlier track${by.includes(',') ? 's' : ''} ${by}`,
      });
    }
    for (const r of fresh) claimed.set(r, name(t, i));
  });

  const unclaimed = lostReasons.filter((r) => !claimed.has(r));
  if (catchAll !== undefined && unclaimed.length === 0) {
    const i = tracks.findIndex((t) => obj(t) !== undefined && obj(obj(t)?.when) === undefined);
    out.push({ path: ['tracks', i], message: `track "${catchAll}" (without \`when\`) can never match: the tracks before and after it list every lost reason` });
  }
  if (catchAll === undefined && unclaimed.length > 0 && claimed.size > 0) {
    out.push({
      path: ['tracks'],
      message: `no track takes lost reason${unclaimed.length === 1 ? '' : 's'} ${unclaimed.join(', ')}: such lost deals get no touches at all; list ${unclaimed.length === 1 ? 'it' : 'them'} under a track's when.lostReasons, or add a track without \`when\``,
    });
  }

  tracks.forEach((raw, i) => {
    const t = obj(raw);
    if (!t) return;
    const weekly = obj(t.weekly);
    const monthly = obj(t.monthly);
    const weeklyCount = typeof weekly?.count === 'number' ? weekly.count : undefined;
    const emails = (weekly !== undefined && weeklyCount !== 0) || monthly !== undefined;
    if (!emails && t.permissionAsk !== undefined) {
      out.push({ path: ['tracks', i, 'permissionAsk'], message: `track "${name(t, i)}" sends no e-mail (no weekly or monthly), so asking permission to e-mail has no effect; remove permissionAsk or add e-mails` });
    }
    if (typeof t.skipWeeks === 'number' && t.skipWeeks > 0 && (weekly === undefined || weeklyCount === 0 || monthly === undefined)) {
      out.push({ path: ['tracks', i, 'skipWeeks'], message: `skipWeeks has no effect: the skipped week comes between the weekly e-mails and the monthly rhythm, and track "${name(t, i)}" lacks ${monthly === undefined ? 'monthly' : 'weekly'}` });
    }
    if (emails) {
      // The first e-mail goes no sooner than thankYou.after + weekly.after after the loss.
      const first = [t.thankYou !== undefined ? days(obj(t.thankYou)?.after) : { min: 0, max: 0 }, weekly ? days(weekly.after) : { min: 0, max: 0 }];
      const quiet = days(t.stopEmailAfterQuiet);
      if (quiet && first.every((d) => d !== undefined)) {
        const earliest = first.reduce((sum, d) => sum + (d?.min ?? 0), 0);
        if (quiet.max <= earliest) {
          out.push({
            path: ['tracks', i, 'stopEmailAfterQuiet'],
            message: `e-mail stops ${String(t.stopEmailAfterQuiet)} after the loss, before the first e-mail of track "${name(t, i)}" can go (at least ${earliest} days after the loss): no e-mail would ever be sent`,
          });
        }
      }
    }
  });
  return out;
}
