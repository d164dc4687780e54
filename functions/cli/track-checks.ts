/**
 * Cadence checks `cultivate config check` adds to those of `functions/config/checks.ts`: rules
 * that validate one by one but can never take effect. checks.ts already reports a track that can
 * never match (earlier tracks take everyone it would); these find what that leaves:
 *
 * - lost reasons no track takes from a contact who meets no other condition (no role, horizon,
 *   country or tag track applies): those lost deals would get no touches at all (tracks that take
 *   only referrals, `when.entries`, take no lost deal);
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
  const name = (t: Obj | undefined, i: number) => str(t?.id) ?? `#${i + 1}`;

  // A contact with only a lost reason (no role, horizon, country or tag on record) is taken by a
  // track without `when`, or by one whose `when` lists lost reasons (and lost deals among its
  // `entries`, if it lists them) and nothing else. A track whose `entries` leave out lost deals
  // takes none. (Referrals need no such check: no track for them is a choice, and `preview --entry
  // referral` says so.)
  let catchAll = false;
  const claimed = new Set<string>();
  const conditional = new Set<string>();
  for (const raw of tracks) {
    const t = obj(raw);
    if (!t) continue;
    const when = obj(t.when);
    if (t.when === undefined) catchAll = true;
    // An empty `when` is a schema error; it takes nobody here.
    if (!when || Object.keys(when).length === 0) continue;
    if (when.entries !== undefined && !arr(when.entries).includes('lost-deal')) continue;
    const reasons = Array.isArray(when.lostReasons) ? arr(when.lostReasons).map(str).filter((r): r is string => r !== undefined) : [...lostReasons];
    const onlyReasons = Object.keys(when).every((k) => k === 'lostReasons' || k === 'entries');
    for (const r of reasons) (onlyReasons ? claimed : conditional).add(r);
  }
  const unclaimed = lostReasons.filter((r) => !claimed.has(r));
  if (!catchAll && unclaimed.length > 0) {
    const some = unclaimed.filter((r) => conditional.has(r));
    out.push({
      path: ['tracks'],
      message:
        `no track takes lost reason${unclaimed.length === 1 ? '' : 's'} ${unclaimed.join(', ')}` +
        (some.length > 0 ? ` from a contact without the role, horizon, country or tags a track asks for (only tracks with such conditions list ${some.join(', ')})` : '') +
        `: such lost deals get no touches at all; list ${unclaimed.length === 1 ? 'it' : 'them'} under a track's when.lostReasons, or add a track without \`when\` at the end`,
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
