/**
 * `cultivate diff`: what a proposed config would change for the people in nurture now. For each
 * relationship, the next touch the current rules plan and the one the proposed rules plan, both
 * from the same `now` and the same history (so only the rules differ): moved earlier or later,
 * new, gone, changed at the same time (kind or content), unchanged, and who changes track.
 * Counts per track and a few relationship ids as examples; no personal data.
 *
 * `diffPlans` is pure; `runConfigDiff` reads one bounded page range of the live store, so a large
 * store is compared in several requests, merged with `mergeDiffs` (the CLI does it).
 */
import { ConfigError, parseConfig, type ConfigSources } from '#config/load';
import type { CultivateConfig } from '#config/schema';
import { createCadencePlanner, trackOfState } from '#domain/cadence';
import type { Planner } from '#domain/planner';
import { compareTouches, planAgain } from '#domain/replan';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import type { Clock, Logger } from '#ports/ports';

export interface PlanSide {
  planner: Planner;
  trackOf(state: RelationshipState): string | undefined;
}

export function planSide(config: CultivateConfig): PlanSide {
  return { planner: createCadencePlanner(config), trackOf: (s) => trackOfState(config, s)?.id };
}

export const diffCategories = ['earlier', 'later', 'appear', 'disappear', 'changed', 'unchanged'] as const;
export type DiffCategory = (typeof diffCategories)[number];
export type DiffCounts = Record<DiffCategory, number>;

export interface DiffExample {
  relationshipId: string;
  /** The next touch's due instant under the current rules, if any. */
  before?: string;
  /** Under the proposed rules, if any. */
  after?: string;
  /** What kind of touch (`value-email`, `thank-you-note`, ...) before and after. */
  kindBefore?: string;
  kindAfter?: string;
}

export interface TrackChange {
  from: string | null;
  to: string | null;
  count: number;
  examples: string[];
}

export interface ConfigDiff {
  /** Relationship items read. */
  scanned: number;
  /** With a touch planned under either rules (the counts below add up to it). */
  compared: number;
  /** A touch queued or being sent right now: it goes as it is; what follows it is not compared. */
  inFlight: number;
  counts: DiffCounts;
  /** Counts per track (the proposed track; the current one for someone no proposed track takes). */
  byTrack: Record<string, DiffCounts>;
  trackChanges: TrackChange[];
  examples: Record<Exclude<DiffCategory, 'unchanged'>, DiffExample[]>;
}

export const EXAMPLES = 3;
const NO_TRACK = '(no track)';

const zeroCounts = (): DiffCounts => ({ earlier: 0, later: 0, appear: 0, disappear: 0, changed: 0, unchanged: 0 });

export function emptyDiff(): ConfigDiff {
  return { scanned: 0, compared: 0, inFlight: 0, counts: zeroCounts(), byTrack: {}, trackChanges: [], examples: { earlier: [], later: [], appear: [], disappear: [], changed: [] } };
}

/** The next touch each rules would plan for `state` at `now`, from the same history (as the replan job does). */
function planOf(side: PlanSide, state: RelationshipState, now: Date): PlannedTouch | null {
  return planAgain(side.planner, state, now);
}

/** Compares the current and the proposed rules over `states`. Pure. */
export function diffPlans(states: Iterable<RelationshipState>, before: PlanSide, after: PlanSide, now: Date, scanned?: number): ConfigDiff {
  const diff = emptyDiff();
  const changes = new Map<string, TrackChange>();
  let seen = 0;
  for (const state of states) {
    seen++;
    const trackBefore = before.trackOf(state) ?? null;
    const trackAfter = after.trackOf(state) ?? null;
    if (state.stage === 'nurturing' && trackBefore !== trackAfter) {
      const key = `${trackBefore}\u0000${trackAfter}`;
      const change = changes.get(key) ?? { from: trackBefore, to: trackAfter, count: 0, examples: [] };
      change.count++;
      if (change.examples.length < EXAMPLES) change.examples.push(state.id);
      changes.set(key, change);
    }
    const status = state.nextTouch?.status;
    if (status === 'queued' || status === 'sending') {
      diff.inFlight++;
      continue;
    }
    const planBefore = planOf(before, state, now);
    const planAfter = planOf(after, state, now);
    const category = compareTouches(planBefore, planAfter);
    if (!category) continue;
    diff.compared++;
    diff.counts[category]++;
    const track = trackAfter ?? trackBefore ?? NO_TRACK;
    diff.byTrack[track] ??= zeroCounts();
    diff.byTrack[track][category]++;
    if (category !== 'unchanged' && diff.examples[category].length < EXAMPLES) {
      diff.examples[category].push({
        relationshipId: state.id,
        ...(planBefore && { before: planBefore.at, kindBefore: planBefore.kind }),
        ...(planAfter && { after: planAfter.at, kindAfter: planAfter.kind }),
      });
    }
  }
  diff.scanned = scanned ?? seen;
  diff.trackChanges = [...changes.values()].sort((a, b) => b.count - a.count);
  return diff;
}

/** Two diffs over disjoint parts of the store, as one. */
export function mergeDiffs(a: ConfigDiff, b: ConfigDiff): ConfigDiff {
  const counts = (x: DiffCounts, y: DiffCounts | undefined): DiffCounts =>
    Object.fromEntries(diffCategories.map((k) => [k, x[k] + (y?.[k] ?? 0)])) as DiffCounts;
  const byTrack: Record<string, DiffCounts> = { ...a.byTrack };
  for (const [track, c] of Object.entries(b.byTrack)) byTrack[track] = counts(c, a.byTrack[track]);
  const changes = new Map<string, TrackChange>();
  for (const t of [...a.trackChanges, ...b.trackChanges]) {
    const key = `${t.from}\u0000${t.to}`;
    const seen = changes.get(key);
    changes.set(key, seen ? { ...seen, count: seen.count + t.count, examples: [...seen.examples, ...t.examples].slice(0, EXAMPLES) } : { ...t });
  }
  const examples = Object.fromEntries(
    Object.entries(a.examples).map(([k, list]) => [k, [...list, ...b.examples[k as keyof ConfigDiff['examples']]].slice(0, EXAMPLES)]),
  ) as ConfigDiff['examples'];
  return {
    scanned: a.scanned + b.scanned,
    compared: a.compared + b.compared,
    inFlight: a.inFlight + b.inFlight,
    counts: counts(a.counts, b.counts),
    byTrack,
    trackChanges: [...changes.values()].sort((x, y) => y.count - x.count),
    examples,
  };
}

// ------------------------------------------------------------------------------------------------
// Over the live store

/** Relationship states, a page at a time (a DynamoDB scan on AWS and locally). */
export interface RelationshipPages {
  /** At most `limit` items read from `cursor` on; `cursor` absent in the answer: the end. */
  page(cursor: string | undefined, limit: number): Promise<{ states: RelationshipState[]; scanned: number; cursor?: string }>;
}

export interface ConfigDiffDeps {
  clock: Clock;
  logger: Logger;
  pages: RelationshipPages;
  /** The rules in force (the published version, else the deployed folder): their files' text (a proposed file not given falls back to these). */
  currentSources: () => ConfigSources | Promise<ConfigSources>;
}

export type DiffFiles = Partial<Record<'cadence.yaml' | 'content.yaml' | 'owners.yaml' | 'controls.yaml', string>>;

export type ConfigDiffResult =
  | { ok: true; diff: ConfigDiff; cursor?: string }
  | { ok: false; problems: { file: string; line: number; col: number; message: string }[] };

/** Validates the proposed files with the same `parseConfig`, then compares one page range of the store. */
export async function runConfigDiff(deps: ConfigDiffDeps, input: { files: DiffFiles; cursor?: string; limit: number }): Promise<ConfigDiffResult> {
  const current = await deps.currentSources();
  const proposedText = (file: keyof DiffFiles, fallback: { name: string; text: string } | undefined) => {
    const text = input.files[file];
    return text !== undefined ? { name: file, text } : fallback;
  };
  const proposedSources: ConfigSources = {
    cadence: proposedText('cadence.yaml', current.cadence) as ConfigSources['cadence'],
    content: proposedText('content.yaml', current.content) as ConfigSources['content'],
    owners: proposedText('owners.yaml', current.owners) as ConfigSources['owners'],
  };
  const controls = proposedText('controls.yaml', current.controls);
  if (controls) proposedSources.controls = controls;
  let proposed: CultivateConfig;
  try {
    proposed = parseConfig(proposedSources);
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: [...err.problems] };
    throw err;
  }
  const before = planSide(parseConfig(current));
  const after = planSide(proposed);
  const page = await deps.pages.page(input.cursor, input.limit);
  const diff = diffPlans(page.states, before, after, deps.clock.now(), page.scanned);
  deps.logger.info('config diff', { scanned: diff.scanned, compared: diff.compared, ...diff.counts, more: page.cursor !== undefined });
  return { ok: true, diff, ...(page.cursor && { cursor: page.cursor }) };
}

/** A cursor that is not one this API gave out. */
export class BadCursorError extends Error {
  constructor() {
    super('cursor: not a cursor from a previous /config/diff answer');
    this.name = 'BadCursorError';
  }
}
