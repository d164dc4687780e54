/**
 * `cultivate config check` on bad guardrail config (cadence.yaml `calendar`, `guardrails`): each
 * class of mistake is reported as `file:line:col: message` at its place in the edited copy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cli, TempConfig, type Run } from './helpers.ts';

let temp: TempConfig | undefined;
const config = () => (temp = new TempConfig());
afterEach(() => {
  temp?.remove();
  temp = undefined;
});

const problemLines = (run: Run) => run.stderr.split('\n').filter((l) => /^[^\s:][^:]*:\d+:\d+: /.test(l));

function expectProblem(run: Run, pos: string, message: string): void {
  expect(run.code).toBe(1);
  const texts = problemLines(run)
    .filter((l) => l.startsWith(`${pos}: `))
    .map((l) => l.slice(pos.length + 2));
  expect(texts.some((t) => t.startsWith(message)), `expected "${pos}: ${message}" in:\n${run.stderr}`).toBe(true);
}

describe('cultivate config check: guardrails', () => {
  it('an unknown country code in the weekend map (at its value), and "UK" (the code is GB)', async () => {
    const c = config().edit('cadence.yaml', '      SA: [fri, sat]', '      XX: [fri, sat]').edit('cadence.yaml', '      IL: [fri, sat]', '      UK: [fri, sat]');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', '[fri, sat]'), 'calendar.weekend.byCountry.XX: unknown country code: not an ISO 3166-1 alpha-2 country');
    expectProblem(run, c.pos('cadence.yaml', '[fri, sat]', { occurrence: 7 }), 'calendar.weekend.byCountry.UK: unknown country code');
    expect(problemLines(run)).toHaveLength(2);
  });

  it('company holidays: an impossible date, an unknown country, a date listed twice', async () => {
    const c = config().edit(
      'cadence.yaml',
      'companyHolidays: []',
      'companyHolidays:\n    - { date: "2026-02-30", name: Shutdown }\n    - { date: "2026-12-31", name: Eve, countries: [de] }\n    - { date: "2026-12-31", name: Eve again, countries: [DE] }\n    - { date: "2027-01-02", name: Day after }\n    - { date: "2027-01-02", name: Twice }',
    );
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', '"2026-02-30"'), 'calendar.companyHolidays[0].date: must be a real date such as 2026-12-24');
    expectProblem(run, c.pos('cadence.yaml', 'de]'), 'calendar.companyHolidays[1].countries[0]: must be an ISO 3166-1 alpha-2 country code in capitals');
    expectProblem(run, c.pos('cadence.yaml', '"2027-01-02"', { occurrence: 2 }), 'calendar.companyHolidays[4].date: company holiday 2027-01-02 is already listed (entry 4)');
    expect(problemLines(run)).toHaveLength(3);
  });

  it('caps that contradict each other: a 30-day cap below the 7-day cap, more e-mails than touches', async () => {
    const c = config().edit('cadence.yaml', 'emails: { per7Days: 1, per30Days: 5 }', 'emails: { per7Days: 4, per30Days: 3 }');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', '3 }'), 'guardrails.perPerson.emails.per30Days: the 30-day cap (3) is below the 7-day cap (4)');
    expectProblem(run, c.pos('cadence.yaml', '4, per30Days: 3'), 'guardrails.perPerson.emails.per7Days: e-mails per 7 days (4) exceed touches per 7 days (3)');
  });

  it('a cap the minimum gap can never let through, a gap not in days, a cap of 0', async () => {
    const c = config()
      .edit('cadence.yaml', 'minimumGap: 2 days', 'minimumGap: 4 days')
      .edit('cadence.yaml', 'touches: { per7Days: 2, per30Days: 6 }', 'touches: { per7Days: 0, per30Days: 6 }')
      .edit('cadence.yaml', 'taskSla: 5 days', 'taskSla: 1 week');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', '3, per30Days: 8'), 'guardrails.perPerson.touches.per7Days: 3 touches per 7 days can never happen with a minimumGap of 4 days (at most 2 fit)');
    expectProblem(run, c.pos('cadence.yaml', '0, per30Days: 6'), 'guardrails.perAccount.touches.per7Days: a cap must be at least 1');
    expectProblem(run, c.pos('cadence.yaml', '1 week'), 'guardrails.taskSla: must be in days');
  });

  it('a window whose days are all weekend for some country', async () => {
    const c = config().edit('cadence.yaml', 'days: [tue]', 'days: [fri, sat]');
    const run = await cli(['config', 'check', c.dir]);
    const at = c.pos('cadence.yaml', '[fri, sat]\n    start');
    expectProblem(run, at, 'windows.value-email.days: window "value-email" has no working day for contacts in SA (weekend fri, sat)');
    expect(problemLines(run).filter((l) => l.startsWith(at)).length).toBeGreaterThanOrEqual(9);
    expect(problemLines(run).every((l) => !l.includes('default weekend'))).toBe(true);
  });

  it('a missing guardrails section is an error, not a silent default', async () => {
    const c = config().edit('cadence.yaml', 'guardrails:\n', 'guardrailz:\n');
    const run = await cli(['config', 'check', c.dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cadence\.yaml:\d+:\d+: guardrailz: unknown key/);
    expect(run.stderr).toMatch(/cadence\.yaml:\d+:\d+: guardrails: is required but missing/);
  });
});
