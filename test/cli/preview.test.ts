/** `cultivate preview`: flags, the human table, why it stopped, and agreement with the production path. */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config/load.ts';
import { createCadencePlanner } from '../../functions/domain/cadence.ts';
import { recordTouch } from '../../functions/domain/touch.ts';
import type { RelationshipState } from '../../functions/domain/types.ts';
import { cli, cliProcess, TempConfig } from './helpers.ts';

const CONTACT = ['--reason', 'timing', '--role', 'champion', '--tz', 'Europe/Berlin', '--country', 'DE', '--from', '2026-11-24'];

let temp: TempConfig | undefined;
afterEach(() => {
  temp?.remove();
  temp = undefined;
});

describe('cultivate preview: flags', () => {
  it('rejects a bad lost reason and a bad time zone with exit 2, naming the flag and what is accepted', async () => {
    const run = await cli(['preview', '--reason', 'timng', '--tz', 'Europe/Berlín']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('--reason: "timng" must be one of timing, budget, no-decision, competitor, no-need, unresponsive, bad-fit, other');
    expect(run.stderr).toContain('--tz: "Europe/Berlín" must be an IANA time zone');
    expect(run.stderr).toContain('usage: cultivate preview');
  });

  it('rejects a missing reason, bad consent, country, date and months, and unknown flags', async () => {
    expect((await cli(['preview', '--tz', 'Europe/Berlin'])).stderr).toContain('--reason: is required');
    const bad = await cli(['preview', '--reason', 'budget', '--consent', 'yes', '--country', 'de', '--from', '2026-02-31', '--months', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--consent: "yes" must be one of granted, unknown, denied');
    expect(bad.stderr).toContain('--country: "de" must be an ISO 3166-1 alpha-2 country code');
    expect(bad.stderr).toContain('--from: "2026-02-31" must be a date');
    expect(bad.stderr).toContain('--months: "x" must be a whole number of months');
    const unknown = await cli(['preview', '--reason', 'budget', '--colour', 'blue']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--colour'/);
  });

  it('exits 2 from a real process on a bad time zone', async () => {
    const run = await cliProcess(['preview', '--reason', 'timing', '--tz', 'Mars/Olympus']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--tz: "Mars/Olympus" must be an IANA time zone');
  });

  it('exits 1 with the problems when the config folder is broken', async () => {
    temp = new TempConfig().edit('cadence.yaml', 'end: "16:00"', 'end: "25:00"');
    const run = await cli(['preview', ...CONTACT, '--config', temp.dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${temp.pos('cadence.yaml', '"25:00"')}: windows.value-email.end`);
  });
});

describe('cultivate preview: the table', () => {
  it('prints date, local time, zone, channel, kind, content and why, and ends with why it stopped', async () => {
    const run = await cli(['preview', ...CONTACT]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Preview: a contact with lost reason timing, role champion, time zone Europe/Berlin, country DE, consent granted, lost Tue 2026-11-24 12:00 Europe/Berlin.');
    expect(lines[1]).toBe('Track: lost-deal (first match in cadence.yaml, by lost reason timing). Tasks go to jordan@seller.example, in America/Denver.');
    const header = lines.find((l) => l.startsWith('#'));
    expect(header).toMatch(/^#\s+date\s+local time\s+zone\s+channel\s+kind\s+content\s+why$/);
    expect(lines).toContainEqual(expect.stringMatching(/^1\s+Thu 2026-11-26\s+10:36\s+America\/Denver\s+task\s+thank-you-note\s+-\s+lost-deal: thank-you note task for the owner, 2 days after the loss$/));
    expect(lines).toContainEqual(expect.stringMatching(/^2\s+Tue 2026-12-01\s+10:51\s+Europe\/Berlin\s+email\s+value-email\s+The 20-minute stale deal audit\s+lost-deal: weekly value e-mail 1 of 8$/));
    expect(lines).toContainEqual(expect.stringMatching(/^11\s+Tue 2027-02-02 .*skip-week test: 1 week skipped after 8 weekly e-mails/));
    expect(lines).toContainEqual(expect.stringMatching(/^8\s+Thu 2027-01-07\s+10:36\s+America\/Denver\s+task\s+courtesy-call\s+-\s+lost-deal: courtesy call 1 \(6 weeks after the loss, then every 3 months\), a task for the owner; moved later: minimum gap/));
    expect(lines.at(-2)).toBe('28 touches (12 e-mails, 16 tasks).');
    // The human rhythms go on to the horizon; the e-mails' own end is still named.
    expect(lines.at(-1)).toMatch(/^Stopped: the preview horizon \(24 months, to 2028-11-24\) is reached; the cadence goes on, next: requalification on .*; e-mail has ended: e-mail ends after 6 quiet months \(.*cutoff 2027-05-24\)\.$/);
  });

  it('--postal-address: the lunches (and the notes) appear, four months in and then every six; without it, none', async () => {
    const withAddress = await cli(['preview', ...CONTACT, '--postal-address', '--months', '12', '--json']);
    expect(withAddress.code).toBe(0);
    const rows = JSON.parse(withAddress.stdout) as { kind: string; localTime: string; reason: string }[];
    const lunches = rows.filter((r) => r.kind === 'lunch');
    expect(lunches.map((r) => r.localTime.slice(0, 14))).toEqual(['Wed 2027-03-24', 'Fri 2027-09-24']);
    expect(lunches[0]?.reason).toBe('lost-deal: lunch in their city 1 (4 months after the loss, then every 6 months), a task for the owner');
    expect(lunches[1]?.reason).toBe('lost-deal: lunch in their city 2 (every 6 months), a task for the owner');
    expect(rows.some((r) => r.kind === 'handwritten-note')).toBe(true);
    const without = JSON.parse((await cli(['preview', ...CONTACT, '--months', '12', '--json'])).stdout) as { kind: string }[];
    expect(without.some((r) => r.kind === 'lunch' || r.kind === 'handwritten-note')).toBe(false);
  });

  it('says when the horizon, not the cadence, ended the preview', async () => {
    const run = await cli(['preview', ...CONTACT, '--months', '1']);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(
      'Stopped: the preview horizon (1 month, to 2026-12-24) is reached; the cadence goes on, next: value-email on Tue 2026-12-29 10:51 Europe/Berlin.',
    );
  });

  it('says why there is no e-mail without consent, or with consent denied', async () => {
    const unknown = await cli(['preview', ...CONTACT, '--consent', 'unknown']);
    expect(unknown.stdout).toContain('permission-ask');
    expect(unknown.stdout.trimEnd().split('\n').at(-1)).toMatch(/; e-mail has ended: no e-mail without consent: after the permission ask/);
    const denied = await cli(['preview', ...CONTACT, '--consent', 'denied']);
    expect(denied.stdout).not.toContain('permission-ask');
    expect(denied.stdout.trimEnd().split('\n').at(-1)).toMatch(/; e-mail has ended: e-mail consent is denied: no e-mail, and no permission ask\.$/);
    const unresponsive = await cli(['preview', '--reason', 'unresponsive', '--tz', 'Europe/Berlin', '--from', '2026-11-24']);
    expect(unresponsive.stdout.trimEnd().split('\n').at(-1)).toMatch(/; e-mail has ended: track "lost-no-weekly" sends no e-mail \(no weekly or monthly\): only its tasks\.$/);
  });

  it("shows tasks in the time zone of whoever does them: an inactive owner's manager", async () => {
    const run = await cli(['preview', ...CONTACT, '--owner', 'lena@seller.example', '--json']);
    const rows = JSON.parse(run.stdout) as { channel: string; localTime: string }[];
    expect(rows[0]?.channel).toBe('task');
    expect(rows[0]?.localTime).toMatch(/ America\/Chicago$/);
    expect(rows.filter((r) => r.channel === 'email').every((r) => r.localTime.endsWith(' Europe/Berlin'))).toBe(true);
    const table = await cli(['preview', ...CONTACT, '--owner', 'lena@seller.example']);
    expect(table.stdout).toContain('Tasks go to riley@seller.example (manager), in America/Chicago.');
  });

  it('starts the loss now when --from is not given, and plans nothing before it', async () => {
    const now = new Date('2027-03-10T08:00:00Z');
    const run = await cli(['preview', '--reason', 'budget', '--tz', 'America/New_York', '--months', '2', '--json'], now);
    const rows = JSON.parse(run.stdout) as { at: string }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => Date.parse(r.at) > now.getTime())).toBe(true);
    expect(rows.every((r) => Date.parse(r.at) < Date.parse('2027-05-10T08:00:00Z'))).toBe(true);
  });

  it('a contact without a time zone gets the owner\'s (cadence.yaml useOwnerWhenMissing)', async () => {
    const run = await cli(['preview', '--reason', 'timing', '--owner', 'sam@seller.example', '--from', '2026-11-24', '--months', '2', '--json']);
    const rows = JSON.parse(run.stdout) as { channel: string; localTime: string }[];
    expect(rows.every((r) => r.localTime.endsWith(' America/New_York'))).toBe(true);
  });
});

describe('cultivate preview: tracks chosen by role, horizon, country and tags', () => {
  // A track for champions and advocates who may buy again soon, before lost-deal: three e-mails, no monthly rhythm.
  const championsTrack = [
    '  - id: champions-soon',
    '    when:',
    '      roles: [champion, advocate]',
    '      horizons: [reason, season]',
    '    weekly:',
    '      after: 2 days',
    '      count: 3',
    '    stopEmailAfterQuiet: 6 months',
    '',
    '  - id: lost-deal',
    '',
  ].join('\n');
  const withChampions = () => (temp = new TempConfig().edit('cadence.yaml', '  - id: lost-deal\n', championsTrack));

  it('--role and --horizon choose the role track, and the table says by which conditions', async () => {
    const c = withChampions();
    const run = await cli(['preview', ...CONTACT, '--horizon', 'season', '--config', c.dir]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toContain('role champion, horizon season,');
    expect(lines[1]).toBe('Track: champions-soon (first match in cadence.yaml, by role champion and horizon season). Tasks go to jordan@seller.example, in America/Denver.');
    expect(lines.filter((l) => /\bvalue-email\b/.test(l))).toHaveLength(3);
    expect(lines.at(-1)).toBe('Stopped: the 3 weekly e-mails are done and track "champions-soon" has no monthly rhythm.');
    // The JSON rows carry the track's rule.
    const json = JSON.parse((await cli(['preview', ...CONTACT, '--horizon', 'reason', '--json', '--config', c.dir])).stdout) as { reason: string }[];
    expect(json.map((r) => r.reason.split(':')[0])).toEqual(['champions-soon', 'champions-soon', 'champions-soon']);
  });

  it('a contact missing a condition (no horizon, another role) falls through to the next matching track', async () => {
    const c = withChampions();
    const noHorizon = await cli(['preview', ...CONTACT, '--config', c.dir]);
    expect(noHorizon.stdout.split('\n')[1]).toMatch(/^Track: lost-deal \(first match in cadence.yaml, by lost reason timing\)\./);
    const evaluator = await cli(['preview', '--reason', 'timing', '--role', 'evaluator', '--horizon', 'season', '--from', '2026-11-24', '--config', c.dir]);
    expect(evaluator.stdout.split('\n')[1]).toMatch(/^Track: lost-deal /);
  });

  it('--tag (repeatable) chooses a tag track; a catch-all says so', async () => {
    temp = new TempConfig()
      .edit('cadence.yaml', '  - id: lost-deal\n', '  - id: enterprise\n    when:\n      tags: [enterprise]\n    thankYou:\n      after: 1 day\n    stopEmailAfterQuiet: 6 months\n\n  - id: lost-deal\n')
      .edit('cadence.yaml', '    when:\n      lostReasons: [unresponsive, bad-fit]\n', '');
    const tagged = await cli(['preview', ...CONTACT, '--tag', 'Partner', '--tag', 'Enterprise', '--config', temp.dir]);
    expect(tagged.code, tagged.stderr).toBe(0);
    expect(tagged.stdout.split('\n')[0]).toContain('tags Partner, Enterprise');
    expect(tagged.stdout.split('\n')[1]).toMatch(/^Track: enterprise \(first match in cadence.yaml, by tag Enterprise\)\./);
    const untagged = await cli(['preview', '--reason', 'unresponsive', '--tag', 'partner', '--from', '2026-11-24', '--config', temp.dir]);
    expect(untagged.stdout.split('\n')[1]).toMatch(/^Track: lost-no-weekly \(a catch-all without `when`: no track before it takes this contact\)\./);
    const bad = await cli(['preview', '--reason', 'timing', '--horizon', 'someday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--horizon: "someday" must be one of reason, season, lifetime');
  });
});

describe('cultivate preview --entry referral', () => {
  it('enters the contact by a referral: the referral track, research first, timed from the referral', async () => {
    const run = await cli(['preview', '--entry', 'referral', '--tz', 'Europe/Berlin', '--country', 'DE', '--from', '2026-11-24', '--months', '14']);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Preview: a contact with time zone Europe/Berlin, country DE, consent granted, referred Tue 2026-11-24 12:00 Europe/Berlin.');
    expect(lines[1]).toBe('Track: referral-unreachable (first match in cadence.yaml, by entry referral). Tasks go to jordan@seller.example, in America/Denver.');
    const json = JSON.parse((await cli(['preview', '--entry', 'referral', '--tz', 'Europe/Berlin', '--from', '2026-11-24', '--months', '14', '--json'])).stdout) as { kind: string; reason: string }[];
    expect(json.map((r) => r.kind)).toEqual(['research', 'personal-message', 'requalification', 'requalification']);
    expect(json[0]?.reason).toBe('referral-unreachable: research their pain or gain 1 of 1 (2 days after the referral), a task for the owner');
    expect(lines.at(-1)).toMatch(/; e-mail has ended: track "referral-unreachable" sends no e-mail \(no weekly or monthly\): only its tasks\.$/);
  });

  it('says so when no track takes referrals: a track without `when` takes lost deals only', async () => {
    // The referral track turned into one for lost deals of advocates, and a catch-all at the end.
    temp = new TempConfig().edit('cadence.yaml', 'entries: [referral]', 'roles: [advocate]').edit('cadence.yaml', '    when:\n      lostReasons: [unresponsive, bad-fit]\n', '');
    const run = await cli(['preview', '--entry', 'referral', '--from', '2026-11-24', '--config', temp.dir]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[1]).toMatch(/^Track: \(none: no track in cadence.yaml takes referrals\)\./);
    expect(lines).toContain('(no touches)');
    expect(lines.at(-1)).toBe('Stopped: no track in cadence.yaml takes referrals (a track takes them only when its when.entries lists referral).');
    // The same folder still takes every lost deal.
    expect((await cli(['preview', '--reason', 'unresponsive', '--from', '2026-11-24', '--config', temp.dir])).stdout.split('\n')[1]).toMatch(/^Track: lost-no-weekly \(a catch-all without `when`/);
  });

  it('--reason is required for a lost deal only, and refused with a referral, as are the loss hints', async () => {
    const missing = await cli(['preview', '--entry', 'lost-deal']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--reason: is required');
    const refused = await cli(['preview', '--entry', 'referral', '--reason', 'timing', '--contract-ends-at', '2027-09-30']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--reason: "timing" belongs to a lost deal; a referral has none (leave it out with --entry referral)');
    expect(refused.stderr).toContain('--contract-ends-at: "2027-09-30" belongs to a lost deal');
    const unknown = await cli(['preview', '--entry', 'referal']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--entry: "referal" must be one of lost-deal, referral');
  });
});

describe('cultivate preview agrees with the production path', () => {
  it('gives the same touches as the planner driven by recordTouch from a lost deal', async () => {
    const config = loadConfig('config');
    const planner = createCadencePlanner(config);
    const lostAt = '2026-11-24T11:00:00.000Z';
    let s: RelationshipState = {
      id: 'rel_preview',
      version: 1,
      createdAt: lostAt,
      updatedAt: lostAt,
      stage: 'nurturing',
      nurture: { lostReason: 'timing', lostAt },
      owner: config.owners.fallbackOwner,
      contact: { timezone: 'Europe/Berlin' },
      fieldTimes: {},
      crmIds: [],
      consent: { email: 'granted', basis: 'opt-in', at: lostAt },
      suppressions: [],
      applied: [],
      planVersion: 1,
      nextTouch: null,
      history: { emailsSent: 0, tasksAssigned: 0, sentContent: [], cadenceStep: 0 },
    };
    s = { ...s, nextTouch: planner.planNext(s, { now: new Date(lostAt) }) };
    const expected: string[] = [];
    // To the preview's 24-month horizon: the human rhythms go on for as long as nurture lasts.
    const horizon = Date.parse('2028-11-24T11:00:00.000Z');
    for (let i = 0; i < 100 && s.nextTouch && Date.parse(s.nextTouch.at) < horizon; i++) {
      const t = s.nextTouch;
      expected.push(`${t.at} ${t.kind} ${t.contentId ?? '-'}`);
      const result = t.channel === 'email' ? { kind: 'email-sent' as const, messageId: `m${i}`, title: 'x' } : { kind: 'task-assigned' as const, title: 'x' };
      s = recordTouch(s, t, result, new Date(t.at), planner)!.state;
    }
    const titles = new Map(config.content.items.map((i) => [i.title, i.id]));
    const run = await cli(['preview', ...CONTACT, '--months', '24', '--json']);
    const rows = JSON.parse(run.stdout) as { at: string; kind: string; content: string | null }[];
    expect(rows.map((r) => `${r.at} ${r.kind} ${r.content === null ? '-' : titles.get(r.content)}`)).toEqual(expected);
  });
});
