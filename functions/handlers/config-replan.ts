/**
 * The replan job that follows a publish (or a rollback): every relationship's planned next touch is
 * planned again under the new rules, in place, keeping the person's progress, where the rules
 * changed for that person (`replanDecision`, functions/domain/replan.ts: what `cultivate diff`
 * predicted). A version that changes only controls.yaml replans nothing (kill switches and dry-run
 * are read at send time): its job is recorded as done without reading the store.
 *
 * Resumable: the job item holds a cursor, checkpointed after each page, so a crash (or a Lambda
 * running out of time) continues where the last page ended. A page cut short is read again, and
 * what it already replanned is "already current" the second time: each write is conditional on the
 * item version it was decided from, so nothing is replanned twice and no newer work is overwritten.
 * A newer publish takes the job item over; the older job sees that at its next page or checkpoint
 * and stops, and the newer job compares from the older job's starting rules (what it may not have
 * reached). Runs are serialised (one at a time: a FIFO queue on AWS, a chain locally), so the newer
 * job starts after the older one stopped. Writes are paced (`perSecond`), so a large store does not
 * take the table's capacity from the live pipeline.
 *
 * The loop in `replanOne` is not `updateRelationship` (conditional-update.ts): the replan writes the
 * state and its timeline entry in one transaction (a replanned touch is never without the entry
 * that explains it), where `updateRelationship` saves and then appends, and the job counts why each
 * relationship was left alone.
 */
import pThrottle from 'p-throttle';
import { onlyControlsChanged, type RulesFiles } from '#config/rules';
import type { Planner } from '#domain/planner';
import { replanDecision, type StampedTouch } from '#domain/replan';
import type { PlannedTouch, RelationshipState } from '#domain/types';
import type { Clock, Logger, RelationshipStore, ReplanCounts, ReplanJob, ReplanJobs, ReplanWriter } from '#ports/ports';
import type { RelationshipPages } from './config-diff.ts';

/** What the job needs of a rules version: its planner (stamping the version) and where touches' times are read. */
export interface ReplanRules {
  planner: Planner;
  zoneOf(state: RelationshipState, touch: PlannedTouch): string;
}

export interface ReplanDeps {
  clock: Clock;
  logger: Logger;
  pages: RelationshipPages;
  jobs: ReplanJobs;
  writer: ReplanWriter;
  store: Pick<RelationshipStore, 'get'>;
  /** Rules version `version`'s planner; undefined when that version does not exist. */
  rules(version: number): Promise<ReplanRules | undefined>;
  /** Relationship items per page (one checkpoint each). */
  pageSize?: number;
  /** Relationships decided (and written) per second at most. */
  perSecond?: number;
  /** Stop after the page that passes this instant and hand back 'continue' (a Lambda's timeout). */
  deadline?: () => Date | undefined;
}

export const REPLAN_PAGE_SIZE = 200;
export const REPLAN_PER_SECOND = 50;
const MAX_ATTEMPTS = 10;

export const zeroCounts = (): ReplanCounts => ({ scanned: 0, replanned: 0, unchanged: 0, alreadyCurrent: 0, inFlight: 0, retries: 0 });

/**
 * Starts the job for a newly published version (superseding an older one). False: the job item
 * already belongs to this version or a newer one. `controlsOnly`: the version changed only
 * controls.yaml against `fromVersion`; when the job before it finished, nothing needs replanning and
 * the job is recorded as done at once (otherwise it still replans what the unfinished one did not).
 */
export async function startReplan(deps: Pick<ReplanDeps, 'jobs' | 'clock' | 'logger'>, rulesVersion: number, fromVersion: number, opts: { controlsOnly?: boolean } = {}): Promise<boolean> {
  const at = deps.clock.now().toISOString();
  const before = await deps.jobs.get();
  if (before && before.rulesVersion >= rulesVersion) return false;
  // An unfinished older job left touches under its starting rules: compare from those.
  const unfinished = before !== undefined && before.status !== 'done';
  const from = unfinished ? Math.min(fromVersion, before.fromVersion) : fromVersion;
  const nothingToDo = opts.controlsOnly === true && !unfinished && (before?.rulesVersion ?? 0) === fromVersion;
  const job: ReplanJob = nothingToDo
    ? { rulesVersion, fromVersion: from, status: 'done', onlyControls: true, pages: 0, counts: zeroCounts(), startedAt: at, updatedAt: at, finishedAt: at }
    : { rulesVersion, fromVersion: from, status: 'running', pages: 0, counts: zeroCounts(), startedAt: at, updatedAt: at };
  const started = await deps.jobs.start(job);
  deps.logger.info(nothingToDo ? 'replan job not needed: only controls.yaml changed' : 'replan job started', { rulesVersion, fromVersion: from, started });
  return started && !nothingToDo;
}

/** The version in force and the one before it (their files: is it a controls-only change?). */
export interface InForce {
  version: number;
  files: RulesFiles;
  previous: { version: number; files: RulesFiles | undefined };
}

/**
 * Which job should run now, if any: the version in force gets its job when the job item is older
 * (the version was stored but its job never started: a crash in between, a lost deployment event),
 * and a job of the version in force left running is resumed once nothing checkpointed it for
 * `stalledMs` (a run that failed, a lost continuation; a younger one has a run of its own going),
 * or at once without `stalledMs` (a process that just started runs nothing yet).
 */
export async function reconcileReplan(deps: Pick<ReplanDeps, 'jobs' | 'clock' | 'logger'>, inForce: InForce, stalledMs?: number): Promise<number | undefined> {
  const job = await deps.jobs.get();
  if (inForce.version > (job?.rulesVersion ?? 0)) {
    deps.logger.warn('rules version in force without its replan job: starting it', { rulesVersion: inForce.version, job: job?.rulesVersion });
    const { previous } = inForce;
    const controlsOnly = previous.files !== undefined && onlyControlsChanged(previous.files, inForce.files);
    return (await startReplan(deps, inForce.version, previous.version, { controlsOnly })) ? inForce.version : undefined;
  }
  const idle = stalledMs === undefined || (job !== undefined && Date.parse(job.updatedAt) <= deps.clock.now().getTime() - stalledMs);
  const stalled = job?.status === 'running' && job.rulesVersion === inForce.version && idle;
  return stalled ? job.rulesVersion : undefined;
}

export type ReplanRun = 'done' | 'superseded' | 'continue' | 'failed';

/**
 * Works through the job of `rulesVersion` from its cursor: to the end ('done'), until a newer
 * publish took over ('superseded'), or until the deadline ('continue': run it again). Throws when
 * a page fails; the checkpoint before it stands, so the next run resumes there.
 */
export async function runReplan(deps: ReplanDeps, rulesVersion: number): Promise<ReplanRun> {
  const log = { rulesVersion };
  let job = await deps.jobs.get();
  if (!job || job.rulesVersion !== rulesVersion) {
    deps.logger.info('replan job superseded before it ran', { ...log, current: job?.rulesVersion });
    return 'superseded';
  }
  if (job.status !== 'running') return job.status === 'done' ? 'done' : job.status === 'failed' ? 'failed' : 'superseded';
  // Each version's rules once per run: the job's, the version it starts from, and any other
  // version stamped on a stored touch (a rolled-back rollout's, or what a superseded job left).
  const loaded = new Map<number, Promise<ReplanRules | undefined>>();
  const rulesOf = (version: number) => {
    let found = loaded.get(version);
    if (!found) loaded.set(version, (found = deps.rules(version)));
    return found;
  };
  const fromVersion = job.fromVersion;
  const [rules, from] = await Promise.all([rulesOf(rulesVersion), rulesOf(fromVersion)]);
  if (!rules || !from) {
    const at = deps.clock.now().toISOString();
    await deps.jobs.checkpoint(rulesVersion, { status: 'failed', pages: job.pages, counts: job.counts, updatedAt: at, finishedAt: at, error: `rules v${rules ? fromVersion : rulesVersion} not found` });
    return 'failed';
  }
  const previousOf = async (state: RelationshipState): Promise<ReplanRules> => {
    const stamped = (state.nextTouch as StampedTouch | null)?.rulesVersion;
    return (stamped !== undefined && stamped !== fromVersion && stamped < rulesVersion && (await rulesOf(stamped))) || from;
  };
  const throttle = pThrottle({ limit: deps.perSecond ?? REPLAN_PER_SECOND, interval: 1000 });
  const decide = throttle((state: RelationshipState, counts: ReplanCounts) => replanOne(deps, rules, previousOf, job as ReplanJob, state, counts));

  for (let first = true; ; first = false) {
    if (!first && (await deps.jobs.get())?.rulesVersion !== rulesVersion) {
      deps.logger.info('replan job superseded by a newer publish', { ...log, pages: job.pages });
      return 'superseded';
    }
    const page = await deps.pages.page(job.cursor, deps.pageSize ?? REPLAN_PAGE_SIZE);
    const counts = { ...job.counts, scanned: job.counts.scanned + page.scanned };
    // One at a time (paced): a page is small, and the order makes a crash leave a clean prefix.
    for (const state of page.states) await decide(state, counts);
    const now = deps.clock.now().toISOString();
    const done = page.cursor === undefined;
    const next: ReplanJob = {
      ...job,
      counts,
      pages: job.pages + 1,
      status: done ? 'done' : 'running',
      updatedAt: now,
      ...(done && { finishedAt: now }),
    };
    if (page.cursor) next.cursor = page.cursor;
    else delete next.cursor;
    const kept = await deps.jobs.checkpoint(rulesVersion, {
      status: next.status,
      pages: next.pages,
      counts,
      updatedAt: now,
      ...(next.cursor && { cursor: next.cursor }),
      ...(next.finishedAt && { finishedAt: next.finishedAt }),
    });
    if (!kept) {
      deps.logger.info('replan job superseded by a newer publish', { ...log, pages: next.pages });
      return 'superseded';
    }
    job = next;
    if (done) {
      deps.logger.info('replan job done', { ...log, pages: job.pages, ...counts });
      return 'done';
    }
    const deadline = deps.deadline?.();
    if (deadline && deps.clock.now().getTime() >= deadline.getTime()) {
      deps.logger.info('replan job continues in the next run', { ...log, pages: job.pages });
      return 'continue';
    }
  }
}

/** Decide one relationship and write it conditionally; on a lost race read it again and decide again. */
async function replanOne(
  deps: ReplanDeps,
  rules: ReplanRules,
  previousOf: (state: RelationshipState) => Promise<ReplanRules>,
  job: ReplanJob,
  first: RelationshipState,
  counts: ReplanCounts,
): Promise<void> {
  let state: RelationshipState | undefined = first;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && state; attempt++) {
    const previous = (await previousOf(state)).planner;
    const decision = replanDecision({ state, planner: rules.planner, previous, fromVersion: job.fromVersion, toVersion: job.rulesVersion, now: deps.clock.now(), zoneOf: rules.zoneOf });
    if (decision.kind === 'skip') {
      if (decision.reason === 'in-flight') counts.inFlight++;
      else if (decision.reason === 'already-current') counts.alreadyCurrent++;
      else counts.unchanged++;
      return;
    }
    if ((await deps.writer.saveReplanned(decision.state, state.version, decision.entry)) === 'saved') {
      counts.replanned++;
      return;
    }
    counts.retries++;
    state = await deps.store.get(state.id);
  }
  if (state) throw new Error(`could not replan ${state.id} after ${MAX_ATTEMPTS} conflicting writes`);
}

/** `GET /config/replan`: the job as sales ops read it. */
export function replanView(job: ReplanJob | undefined): Record<string, unknown> {
  if (!job) return { status: 'none' };
  const { cursor, ...rest } = job;
  return { ...rest, more: cursor !== undefined };
}
