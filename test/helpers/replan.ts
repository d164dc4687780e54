/**
 * People in nurture for the publish / replan tests, planned by given rules, and the Done-means
 * change of config/README.md: the weekly value e-mail from Tuesday to Thursday, the per-account cap
 * from 2 to 1 touch a week.
 */
import { randomUUID } from 'node:crypto';
import type { Planner } from '#domain/planner';
import type { RelationshipState } from '#domain/types';
import { TempConfig } from '../cli/helpers.ts';

/** Tuesday 2026-12-08 10:00 in Chicago. */
export const NOW = new Date('2026-12-08T16:00:00.000Z');

export type Phase = 'thank-you' | 'after-thank-you' | 'emailing';
export type Reason = 'timing' | 'budget' | 'unresponsive';

/** The Done-means change, in a temp copy of config/ (remove it after the test). */
export function thursdayConfig(): TempConfig {
  return new TempConfig()
    .edit('cadence.yaml', 'value-email:\n    days: [tue]', 'value-email:\n    days: [thu]')
    .edit('cadence.yaml', 'touches: { per7Days: 2, per30Days: 6 }', 'touches: { per7Days: 1, per30Days: 6 }');
}

/** A person in nurture with consent, at `phase` of the cadence, planned by `planner` at `now`. */
export function person(planner: Planner, name: string, reason: Reason, phase: Phase, over: Partial<RelationshipState> = {}, now = NOW): RelationshipState {
  const id = `rel_${name}_${randomUUID().slice(0, 8)}`;
  const lostAt = phase === 'thank-you' ? '2026-12-07T15:00:00.000Z' : '2026-11-20T15:00:00.000Z';
  const history =
    phase === 'thank-you'
      ? { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 }
      : phase === 'after-thank-you'
        ? { emailsSent: 0, tasksAssigned: 1, sentContent: [], cadenceStep: 1, lastTouchAt: '2026-11-24T15:00:00.000Z' }
        : { emailsSent: 1, tasksAssigned: 1, sentContent: ['stale-deal-audit'], cadenceStep: 2, lastTouchAt: '2026-12-01T16:10:00.000Z', lastEmailAt: '2026-12-01T16:10:00.000Z' };
  const state: RelationshipState = {
    id,
    version: 0,
    createdAt: lostAt,
    updatedAt: lostAt,
    stage: 'nurturing',
    nurture: { lostReason: reason, lostAt },
    owner: 'sam@seller.example',
    contact: { email: `${name}.${randomUUID().slice(0, 6)}@customer.example`, name: `${name} Fixture`, timezone: 'America/Chicago', country: 'US' },
    fieldTimes: {},
    crmIds: [],
    consent: { email: 'granted', basis: 'opt-in', source: 'form', capturedAt: '2026-03-02T10:00:00Z', at: '2026-03-02T10:00:00.000Z' },
    suppressions: [],
    applied: [],
    planVersion: 4,
    nextTouch: null,
    history,
    ...over,
  };
  return { ...state, nextTouch: over.nextTouch !== undefined ? over.nextTouch : planner.planNext(state, { now }) };
}
