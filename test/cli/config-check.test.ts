/**
 * `cultivate config check [dir]`: every class of mistake sales ops can make is reported as
 * `file:line:col: message`, at the place in the file where it is, and the shipped config passes.
 * Each test edits a temp copy of config/ and computes the expected position from the edited text.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cli, cliProcess, TempConfig, type Run } from './helpers.ts';

let temp: TempConfig | undefined;
const config = () => (temp = new TempConfig());
afterEach(() => {
  temp?.remove();
  temp = undefined;
});

const problemLines = (run: Run) => run.stderr.split('\n').filter((l) => /^[^\s:][^:]*:\d+:\d+: /.test(l));

/** The run failed with a line `<pos>: <message...>`. */
function expectProblem(run: Run, pos: string, message: string | RegExp): void {
  expect(run.code).toBe(1);
  const lines = problemLines(run).filter((l) => l.startsWith(`${pos}: `));
  const texts = lines.map((l) => l.slice(pos.length + 2));
  expect(texts.some((t) => (typeof message === 'string' ? t.startsWith(message) : message.test(t))), `expected "${pos}: ${String(message)}" in:\n${run.stderr}`).toBe(true);
}

describe('cultivate config check', () => {
  it('passes the shipped config with a one-line summary', async () => {
    const run = await cli(['config', 'check']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'config: OK: 5 tracks (referral-partners, customer-care, referral-unreachable, lost-deal, lost-no-weekly), 16 content items in 6 topics, 4 owners (3 active), sending from mail.seller.example\n',
    );
  });

  it('reports a bad lunches block where each problem is', async () => {
    const c = config()
      .edit('cadence.yaml', '  groupWithin: 6 weeks', '  groupWithin: soon')
      .edit('cadence.yaml', '  maxGuests: 2', '  maxGuests: 5')
      .edit('cadence.yaml', '  competitorTags: []', '  competitorTags: [Logistics, logistics, logistics]');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', 'groupWithin: soon', { offset: 'groupWithin: '.length }), 'lunches.groupWithin: must be a duration such as "2 days"');
    expectProblem(run, c.pos('cadence.yaml', 'maxGuests: 5', { offset: 'maxGuests: '.length }), 'lunches.maxGuests: at most 2 guests');
    expectProblem(run, c.pos('cadence.yaml', 'Logistics'), 'lunches.competitorTags[0]: must be lower-case letters, digits and dashes');
    expectProblem(run, c.pos('cadence.yaml', '[Logistics'), 'lunches.competitorTags: a tag is listed twice');
    expect(problemLines(run)).toHaveLength(4);
  });

  it('reports an unknown key where the key is, with the keys allowed there', async () => {
    const c = config().edit('cadence.yaml', '  useOwnerWhenMissing: true\n', '  useOwnerWhenMissing: true\n  colour: blue\n');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', 'colour: blue'), 'timezone.colour: unknown key; allowed here: useOwnerWhenMissing, default');
    expect(problemLines(run)).toHaveLength(1);
  });

  it('reports an impossible time ("25:00") at its value', async () => {
    const c = config().edit('cadence.yaml', 'end: "16:00"', 'end: "25:00"');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', '"25:00"'), 'windows.value-email.end: must be a time "HH:MM" between 00:00 and 24:00');
  });

  it('reports a window that ends before it starts', async () => {
    const c = config().edit('cadence.yaml', 'start: "09:00"\n    end: "16:00"', 'start: "16:00"\n    end: "09:00"');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', '"09:00"', { occurrence: 2 }), 'windows.value-email.end: window end 09:00 must be after its start 16:00');
  });

  it('reports a track that can never match: every lost reason it lists is taken by an earlier track', async () => {
    const c = config().edit('cadence.yaml', 'lostReasons: [unresponsive, bad-fit]', 'lostReasons: [timing, budget]');
    const run = await cli(['config', 'check', c.dir]);
    // At the shadowed track's `when`, naming the track before it that takes everyone.
    expectProblem(run, c.pos('cadence.yaml', 'when:\n      lostReasons: [timing, budget]\n'), 'tracks[4].when: track "lost-no-weekly" can never match: track "lost-deal" before it takes everyone it would');
    // The reasons it gave up are left to the role tracks only (referral-unreachable takes referrals,
    // no lost deal), so a contact with nothing but such a lost reason gets no track.
    expectProblem(
      run,
      c.pos('cadence.yaml', 'tracks:\n', { offset: 'tracks:\n'.length + 2 }),
      'tracks: no track takes lost reasons unresponsive, bad-fit from a contact without the role, horizon, country or tags a track asks for',
    );
    expect(problemLines(run)).toHaveLength(2);
  });

  it('reports tracks that can never match behind a track without `when` (a catch-all), or behind several tracks together', async () => {
    const extra = (id: string) => `\n  - id: ${id}\n    thankYou:\n      after: 2 days\n    stopEmailAfterQuiet: 6 months\n`;
    const c = config().append('cadence.yaml', extra('catch-all') + extra('second-catch-all'));
    const run = await cli(['config', 'check', c.dir]);
    // The first catch-all: the two tracks before it list every lost reason between them.
    expectProblem(run, c.pos('cadence.yaml', 'id: catch-all'), 'tracks[5].id: track "catch-all" can never match: tracks "lost-deal", "lost-no-weekly" before it take everyone it would');
    expectProblem(run, c.pos('cadence.yaml', 'id: second-catch-all'), 'tracks[6].id: track "second-catch-all" can never match: track "catch-all" before it takes everyone it would');
    expect(problemLines(run)).toHaveLength(2);
  });

  it('reports a role track placed after a broader track, and accepts it placed before', async () => {
    const champions = '  - id: champions\n    when:\n      lostReasons: [timing]\n      roles: [champion, advocate]\n    thankYou:\n      after: 2 days\n    stopEmailAfterQuiet: 6 months\n\n';
    const after = config().append('cadence.yaml', `\n${champions}`);
    const run = await cli(['config', 'check', after.dir]);
    expectProblem(run, after.pos('cadence.yaml', '  - id: champions\n    when:', { offset: '  - id: champions\n    '.length }), 'tracks[5].when: track "champions" can never match: track "lost-deal" before it takes everyone it would');
    expect(problemLines(run)).toHaveLength(1);
    after.remove();

    const before = config().edit('cadence.yaml', '  - id: lost-deal\n', `${champions}  - id: lost-deal\n`);
    const ok = await cli(['config', 'check', before.dir]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/: OK: 6 tracks \(referral-partners, customer-care, referral-unreachable, champions, lost-deal, lost-no-weekly\)/);
  });

  it('reports an empty `when`, a value listed twice, and unknown role, horizon, country and tag values with what is allowed', async () => {
    const c = config()
      .edit('cadence.yaml', 'when:\n      lostReasons: [unresponsive, bad-fit]', 'when: {}')
      .edit('cadence.yaml', 'lostReasons: [timing, budget,', 'roles: [champoin]\n      horizons: [someday]\n      countries: [UK]\n      tags: [Enterprise]\n      lostReasons: [timing, timing, budget,');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', '{}'), 'tracks[4].when: list at least one condition (entries, lostReasons, roles, horizons, countries, tags); for a track that takes every lost deal, leave `when` out');
    expectProblem(run, c.pos('cadence.yaml', 'timing, timing', { offset: 'timing, '.length }), 'tracks[3].when.lostReasons[1]: "timing" is listed twice');
    expectProblem(run, c.pos('cadence.yaml', 'champoin'), 'tracks[3].when.roles[0]: must be a contact role: prospect, customer, past-customer, champion, evaluator, influencer, referral-partner, advocate');
    expectProblem(run, c.pos('cadence.yaml', 'someday'), 'tracks[3].when.horizons[0]: must be a horizon: reason, season, lifetime');
    expectProblem(run, c.pos('cadence.yaml', 'UK]'), 'tracks[3].when.countries[0]: unknown country code: not an ISO 3166-1 alpha-2 country (e.g. GB, not UK)');
    expectProblem(run, c.pos('cadence.yaml', 'Enterprise'), 'tracks[3].when.tags[0]: must be lower-case letters, digits and dashes');
    // With lost-deal now asking for a role and lost-no-weekly broken, a contact with only a lost reason has no track.
    expectProblem(run, c.pos('cadence.yaml', 'tracks:\n', { offset: 'tracks:\n'.length + 2 }), 'tracks: no track takes lost reasons timing, budget, no-decision, competitor, no-need, unresponsive, bad-fit, other from a contact without the role, horizon, country or tags a track asks for');
    expect(problemLines(run)).toHaveLength(7);
  });

  it('reports an unknown entering event, and a track for referrals that asks for a lost reason (a referral has none)', async () => {
    const c = config().edit('cadence.yaml', 'entries: [referral]', 'entries: [referal]');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', 'referal]'), 'tracks[2].when.entries[0]: must be an entering event: lost-deal, referral');
    expect(problemLines(run)).toHaveLength(1);
    c.remove();

    const both = config().edit('cadence.yaml', 'entries: [referral]', 'entries: [referral]\n      lostReasons: [unresponsive]');
    const refused = await cli(['config', 'check', both.dir]);
    expectProblem(refused, both.pos('cadence.yaml', 'lostReasons: [unresponsive]\n', { offset: 'lostReasons: '.length }), 'tracks[2].when.lostReasons: a referral has no lost reason, so a track that lists lostReasons takes no referral');
    expect(problemLines(refused)).toHaveLength(1);
  });

  it('a track without `when` takes lost deals only: a track for referrals after it can still match, one after a track for all referrals cannot', async () => {
    // lost-no-weekly made the catch-all, the referral track narrowed to champions, and a track for
    // the other referrals after the catch-all; referral partners' track takes their referrals too.
    const c = config()
      .edit('cadence.yaml', '    when:\n      lostReasons: [unresponsive, bad-fit]\n', '')
      .edit('cadence.yaml', 'entries: [referral]', 'entries: [referral]\n      roles: [champion]')
      .edit('cadence.yaml', 'roles: [referral-partner]', 'roles: [referral-partner]\n      entries: [lost-deal, referral]')
      .append('cadence.yaml', '\n  - id: late-referrals\n    when:\n      entries: [referral]\n    stopEmailAfterQuiet: 6 months\n');
    const run = await cli(['config', 'check', c.dir]);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/: OK: 6 tracks \(referral-partners, customer-care, referral-unreachable, lost-deal, lost-no-weekly, late-referrals\)/);
    c.remove();

    const shadowed = config().append('cadence.yaml', '\n  - id: late-referrals\n    when:\n      entries: [referral]\n    stopEmailAfterQuiet: 6 months\n');
    const refused = await cli(['config', 'check', shadowed.dir]);
    expectProblem(refused, shadowed.pos('cadence.yaml', 'id: late-referrals\n    when', { offset: 'id: late-referrals\n    '.length }), 'tracks[5].when: track "late-referrals" can never match: track "referral-unreachable" before it takes everyone it would');
    expect(problemLines(refused)).toHaveLength(1);
  });

  it('reports an unknown key under `when` with the conditions allowed there', async () => {
    // On a role track: a broken `when` takes nobody, and breaking a track that takes lost reasons
    // would add a "no track takes" problem (the empty `when` test above shows that).
    const c = config().edit('cadence.yaml', 'roles: [customer, past-customer]', 'roles: [customer, past-customer]\n      role: [champion]');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', 'role: [champion]'), 'tracks[1].when.role: unknown key; allowed here: entries, lostReasons, roles, horizons, countries, tags');
    expect(problemLines(run)).toHaveLength(1);
  });

  it('reports rules that have no effect: permissionAsk and skipWeeks on a track without e-mail, quiet ending before the first e-mail', async () => {
    const c = config()
      .edit('cadence.yaml', 'lostReasons: [unresponsive, bad-fit]\n    thankYou:\n      after: 2 days\n', 'lostReasons: [unresponsive, bad-fit]\n    thankYou:\n      after: 2 days\n    permissionAsk:\n      after: 3 days\n    skipWeeks: 1\n')
      .edit('cadence.yaml', 'stopEmailAfterQuiet: 6 months  #', 'stopEmailAfterQuiet: 3 days  #');
    const run = await cli(['config', 'check', c.dir]);
    const added = 'after: 3 days\n    skipWeeks: 1';
    expectProblem(run, c.pos('cadence.yaml', added), 'tracks[4].permissionAsk: track "lost-no-weekly" sends no e-mail');
    expectProblem(run, c.pos('cadence.yaml', added, { offset: added.length - 1 }), 'tracks[4].skipWeeks: skipWeeks has no effect');
    expectProblem(run, c.pos('cadence.yaml', '3 days  #'), 'tracks[3].stopEmailAfterQuiet: e-mail stops 3 days after the loss, before the first e-mail of track "lost-deal" can go');
    expect(problemLines(run)).toHaveLength(3);
  });

  it('reports human touches of an unknown kind, a kind listed twice in one track, and a count without `every`', async () => {
    const c = config()
      .edit('cadence.yaml', '{ kind: referral-exchange, first: 1 month, every: 3 months }', '{ kind: lunch-date, first: 1 month, every: 3 months }')
      .edit('cadence.yaml', '      - { kind: courtesy-call, first: 1 month, every: 3 months }\n', '      - { kind: courtesy-call, first: 1 month, every: 3 months }\n      - { kind: courtesy-call, first: 2 months, every: 6 months }\n')
      .edit('cadence.yaml', '{ kind: research, first: 2 days, count: 1 }', '{ kind: research, first: 2 days, count: 3 }');
    const run = await cli(['config', 'check', c.dir]);
    expect(run.code).toBe(1);
    expect(problemLines(run)).toEqual([
      `${c.pos('cadence.yaml', 'lunch-date')}: tracks[0].humanTouches[0].kind: must be a human touch: ask-why, courtesy-call, thinking-of-you, handwritten-note, item-of-value, referral-exchange, introduction, requalification, research, personal-message, lunch`,
      // At the second entry of the kind (customer-care), the first keeps its rhythm.
      `${c.pos('cadence.yaml', 'courtesy-call, first: 2 months')}: tracks[1].humanTouches[1].kind: "courtesy-call" is listed twice in this track; give it one rhythm`,
      `${c.pos('cadence.yaml', 'count: 3 }', { offset: 'count: '.length })}: tracks[2].humanTouches[0].count: count 3 needs \`every\` (how long between them); without it the touch happens once`,
    ]);
  });

  it('reports a missing content topic, in cadence.yaml and in content.yaml', async () => {
    const c = config()
      .edit('cadence.yaml', 'topics: [pipeline-hygiene, forecasting', 'topics: [pipeline-hygeine, forecasting')
      .edit('content.yaml', 'topic: onboarding\n', 'topic: on-boarding\n');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('cadence.yaml', 'pipeline-hygeine'), 'tracks[3].topics[0]: unknown content topic "pipeline-hygeine": not a topic in content.yaml');
    expectProblem(run, c.pos('content.yaml', 'on-boarding'), 'items[7].topic: unknown topic "on-boarding": declare it under topics');
  });

  it('reports an unknown manager and an unknown fallback owner', async () => {
    const c = config()
      .edit('owners.yaml', 'manager: riley@seller.example', 'manager: rilley@seller.example')
      .edit('owners.yaml', 'fallbackOwner: jordan@seller.example', 'fallbackOwner: jordon@seller.example');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('owners.yaml', 'rilley@'), 'owners[0].manager: unknown manager rilley@seller.example: not an owner in this file');
    expectProblem(run, c.pos('owners.yaml', 'jordon@'), 'fallbackOwner: unknown fallback owner jordon@seller.example');
  });

  it('reports bad sending.yaml values, unknown keys and missing keys', async () => {
    const c = config()
      .edit('sending.yaml', 'sesMaxSendRate: 14', 'sesMaxSendRate: 0')
      .edit('sending.yaml', 'leaseSeconds: 300', 'leaseSecs: 300')
      .edit('sending.yaml', 'domainStart: "2026-11-01"', 'domainStart: "2026-11-31"')
      .edit('sending.yaml', '{ fromDay: 7, perDay: 1000 }', '{ fromDay: 7, perDay: -5 }');
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, c.pos('sending.yaml', 'sesMaxSendRate: 0', { offset: 'sesMaxSendRate: '.length }), 'sesMaxSendRate: Too small');
    expectProblem(run, c.pos('sending.yaml', 'leaseSecs'), 'leaseSecs: unknown key; allowed here: sendingDomain, replyDomain, companyName, postalAddress, sesMaxSendRate, leaseSeconds, dailyCap');
    expectProblem(run, c.pos('sending.yaml', '"2026-11-31"'), 'dailyCap.domainStart: ');
    expectProblem(run, c.pos('sending.yaml', '-5'), 'dailyCap.ramp[2].perDay: Too small');
    expectProblem(run, c.pos('sending.yaml', 'sendingDomain'), 'leaseSeconds: is required but missing');
  });

  it('reports a YAML syntax error in sending.yaml at its place, and still checks the other files', async () => {
    const c = config()
      .edit('sending.yaml', 'companyName: Seller Example Inc.', 'companyName: [Seller Example Inc.')
      .edit('owners.yaml', 'active: false', 'active: maybe');
    const run = await cli(['config', 'check', c.dir]);
    const lines = problemLines(run);
    expect(lines.some((l) => l.startsWith(`${c.path('sending.yaml')}:`) && l.includes('YAML'))).toBe(true);
    expectProblem(run, c.pos('owners.yaml', 'maybe'), 'owners[1].active: ');
  });

  it('reports a missing file', async () => {
    const c = config();
    const { rmSync } = await import('node:fs');
    rmSync(c.path('sending.yaml'));
    const run = await cli(['config', 'check', c.dir]);
    expectProblem(run, `${c.path('sending.yaml')}:1:1`, 'cannot read file');
  });

  it('prints every problem of every file in one run, in file and line order, then the count', async () => {
    const c = config()
      .edit('cadence.yaml', 'end: "16:00"', 'end: "25:00"')
      .edit('cadence.yaml', 'topics: [pipeline-hygiene, forecasting', 'topics: [pipeline-hygeine, forecasting')
      .edit('content.yaml', 'defaultLanguage: en', 'defaultLanguage: en\nstyle: friendly')
      .edit('owners.yaml', 'manager: riley@seller.example', 'manager: rilley@seller.example')
      .edit('sending.yaml', 'sesMaxSendRate: 14', 'sesMaxSendRate: fast');
    const run = await cli(['config', 'check', c.dir]);
    expect(run.code).toBe(1);
    const lines = problemLines(run);
    expect(lines).toHaveLength(5);
    expect(lines.map((l) => l.slice(c.dir.length + 1).split(':')[0])).toEqual(['cadence.yaml', 'cadence.yaml', 'content.yaml', 'owners.yaml', 'sending.yaml']);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toBe(`${c.dir}: 5 problems`);
    expect(run.stdout).toBe('');
  });

  it('runs as a process: exit 0 on the shipped config, exit 1 with file:line:col lines on a broken copy', async () => {
    const ok = await cliProcess(['config', 'check', 'config']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^config: OK: 5 tracks /);
    const c = config().edit('cadence.yaml', 'end: "16:00"', 'end: "25:00"');
    const bad = await cliProcess(['config', 'check', c.dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${c.pos('cadence.yaml', '"25:00"')}: windows.value-email.end: must be a time`);
  });

  it('rejects bad usage with exit 2, and leaves other commands alone', async () => {
    expect((await cli(['config', 'lint'])).code).toBe(2);
    expect((await cli(['config', 'check', 'a', 'b'])).code).toBe(2);
    expect(await cli(['sign', 'x.json'])).toEqual({ code: undefined, stdout: '', stderr: '' });
    expect((await cli([])).code).toBeUndefined();
  });
});
