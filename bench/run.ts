/**
 * `npm run bench`: Cultivate's hot paths on one core, each beside a baseline measured in the same
 * run (ratios, not absolute timings, are what to compare across machines).
 *
 * 1. "Next Tuesday 09:30 local after t" for a mixed population of time zones: the planner's
 *    Intl-based slot search vs a straightforward implementation on luxon (a general date library).
 *    Both must agree on every instant before any timing is printed: correctness first.
 * 2. Whole next-touch plans per second (the cadence planner from config/), for the same population.
 * 3. Feed reads at 10,000 and 1,000,000 people on DynamoDB Local (bench/feed.ts): time, queries,
 *    items and read units per request of GET /metrics, /metrics.csv and /metrics/feed.json.
 */
import { DateTime } from 'luxon';
import { loadConfig } from '#config/load';
import { createCadencePlanner } from '#domain/cadence';
import { nextLocalSlot } from '#domain/local-time';
import { newRelationship } from '#domain/relationship';
import type { RelationshipState } from '#domain/types';
import { feedBench } from './feed.ts';

const ZONES = ['America/Chicago', 'America/New_York', 'America/Los_Angeles', 'Europe/Berlin', 'Europe/London', 'Asia/Kolkata', 'Asia/Tokyo', 'Australia/Sydney', 'America/Sao_Paulo', 'Africa/Johannesburg', 'Pacific/Auckland', 'Asia/Dubai'];
const N = Number(process.env.BENCH_N ?? 100_000);
const TUESDAY = 2;
const MINUTE = 9 * 60 + 30;

// A deterministic population: instants over two years (crossing every DST change), zones mixed.
let seed = 42;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const start = Date.parse('2026-01-01T00:00:00Z');
const population = Array.from({ length: N }, () => ({ t: new Date(start + Math.floor(rand() * 730 * 86_400_000)), tz: ZONES[Math.floor(rand() * ZONES.length)] as string }));

/** The baseline: what one would write first with a general date library. */
function luxonNextSlot(after: Date, tz: string, weekday: number, minuteOfDay: number): Date {
  let d = DateTime.fromJSDate(after, { zone: tz }).startOf('day');
  for (let i = 0; i < 15; i++) {
    const luxonWeekday = weekday === 0 ? 7 : weekday;
    if (d.weekday === luxonWeekday) {
      const slot = d.set({ hour: Math.floor(minuteOfDay / 60), minute: minuteOfDay % 60 });
      if (slot.toMillis() >= after.getTime()) return slot.toJSDate();
    }
    d = d.plus({ days: 1 });
  }
  throw new Error('no slot within two weeks');
}

function time(label: string, fn: () => void): number {
  fn(); // warm up
  const t0 = process.hrtime.bigint();
  fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = N / seconds;
  console.log(`  ${label.padEnd(44)} ${Math.round(rate).toLocaleString('en-US').padStart(10)} /s`);
  return rate;
}

// Correctness first: both implementations agree everywhere (the planner moves a time that falls in
// a spring-forward gap forward, as luxon does).
let disagreements = 0;
for (const p of population) {
  const a = nextLocalSlot(p.t, p.tz, TUESDAY, MINUTE).getTime();
  const b = luxonNextSlot(p.t, p.tz, TUESDAY, MINUTE).getTime();
  if (a !== b) disagreements++;
}
if (disagreements > 0) {
  console.error(`bench: the planner and the baseline disagree on ${disagreements} of ${N} instants`);
  process.exit(1);
}

console.log(`\nnext "Tuesday 09:30 local" slot, ${N.toLocaleString('en-US')} instants over ${ZONES.length} zones, one core`);
let sink = 0;
const baseline = time('baseline: luxon', () => {
  for (const p of population) sink += luxonNextSlot(p.t, p.tz, TUESDAY, MINUTE).getTime() & 1;
});
const ours = time('Cultivate: Intl (functions/domain/local-time)', () => {
  for (const p of population) sink += nextLocalSlot(p.t, p.tz, TUESDAY, MINUTE).getTime() & 1;
});
console.log(`  ratio: ${(ours / baseline).toFixed(2)}x the baseline`);

const planner = createCadencePlanner(loadConfig('config'));
const states: RelationshipState[] = population.map((p, i) => {
  const base = newRelationship(`rel_${i.toString(16).padStart(8, '0')}-bench`, p.t.toISOString());
  const emails = i % 9;
  return {
    ...base,
    stage: 'nurturing',
    planVersion: 1,
    owner: 'sam@seller.example',
    contact: { timezone: p.tz, email: `p${i}@bench.example` },
    consent: { email: 'granted', basis: 'opt-in', at: p.t.toISOString() },
    nurture: { lostReason: 'timing', lostAt: p.t.toISOString() },
    history: {
      ...base.history,
      tasksAssigned: 1,
      cadenceStep: 1 + emails,
      emailsSent: emails,
      sentContent: [],
      ...(emails > 0 && { lastEmailAt: p.t.toISOString(), lastTouchAt: p.t.toISOString() }),
    },
  };
});
console.log(`\nwhole next-touch plans (cadence planner), ${N.toLocaleString('en-US')} people, one core`);
const plans = time('Cultivate: planNext', () => {
  for (const [i, s] of states.entries()) sink += planner.planNext(s, { now: (population[i] as { t: Date }).t }) ? 1 : 0;
});
console.log(`  ratio: ${(plans / baseline).toFixed(2)}x the luxon slot baseline (a whole plan does more than one slot search)`);
console.log(sink > 0 ? '' : '(sink)');

await feedBench();
