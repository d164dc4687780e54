/**
 * Golden files for `cultivate preview --json`. Each was generated once with the implementation
 * (`npx tsx test/cli/entry.ts preview ... --json > test/golden/<file>`) and checked by hand
 * against the playbook (DESIGN.md §1, config/cadence.yaml) before it was committed. A change in
 * the planner, the content library or cadence.yaml that moves a touch fails here; if the change is
 * intended, regenerate the file, check it by hand again, and commit it with the change.
 *
 * What was checked by hand in preview-timing-berlin.json (loss 2026-11-24, 12:00 Berlin = 11:00Z;
 * owner defaults to owners.yaml's fallbackOwner jordan@, America/Denver):
 * - touch 1 is the thank-you note task, Thu 2026-11-26 10:36 Denver (17:36Z): two local days after
 *   the loss, a weekday inside the default task window 09:00-17:00 of the owner's zone;
 * - touches 2-9 are 8 weekly value e-mails on Tuesdays 2026-12-01 ... 2027-01-19, each at 10:51
 *   Berlin (09:51Z in CET), inside the value-email window 09:00-16:00; the first comes on the
 *   first Tuesday at least 2 days after the thank-you (weekly.after);
 * - Tue 2027-01-26 is skipped (skipWeeks: 1): the 9th e-mail goes Tue 2027-02-02, 14 days after
 *   the 8th;
 * - then every 4 weeks: 2027-03-02, 2027-03-30 (10:51 Berlin = 08:51Z: CEST began on 2027-03-28,
 *   the local time stays put), 2027-04-27;
 * - the next one (2027-05-25) would fall after 2027-05-24, six quiet months after the loss
 *   (stopEmailAfterQuiet), so the cadence ends: 13 touches, 12 e-mails, no content twice, English
 *   items first (the contact has no language; the two German items come last).
 * - the human rhythms of lost-deal (`humanTouches`), tasks in Denver at the same 10:36: courtesy
 *   call 1 is due six weeks after the loss, Tue 2027-01-05, the day of weekly e-mail 6; a task
 *   due within the minimum gap before an e-mail waits for it, so the call goes Thu 2027-01-07
 *   (2 days after the e-mail) and the e-mails keep their Tuesdays; requalification 1 three months
 *   after the loss, Wed 2027-02-24; courtesy call 2 three months after call 1, Wed 2027-04-07;
 *   requalification 2 (Mon 2027-05-24 10:36 Denver) falls after the 6-month horizon; no
 *   handwritten note (the contact has no postal address on record).
 * preview-timing-berlin-consent-unknown.json: the same thank-you, then one permission-ask task
 * (Mon 2026-11-30 10:36 Denver: 3 days after the thank-you falls on a Sunday, so the next window
 * day), and no e-mail at all; the human rhythms need no consent: courtesy call 1 on its day, Tue
 * 2027-01-05 (no e-mail to wait for), requalification Wed 2027-02-24, call 2 Mon 2027-04-05.
 * preview-unresponsive-berlin.json: the lost-no-weekly track, the thank-you note and the quarterly
 * requalification (Wed 2027-02-24): no weekly (nor any) e-mail.
 *
 *
 * Guardrail goldens (cadence.yaml `calendar`), checked by hand:
 * preview-timing-berlin-unity-day.json (DE, Berlin, loss Tue 2028-09-12): the thank-you task Thu
 * 2028-09-14 (Denver), weekly e-mails on Tuesdays 09-19, 09-26, then Tue 2028-10-03 is Tag der
 * Deutschen Einheit, a public holiday in Germany: the third e-mail moves to the next window day,
 * Tue 2028-10-10 at the same 10:51, its reason says so; the rhythm goes on from there (10-17 ...).
 * preview-timing-riyadh-weekend.json (SA, Riyadh, owner Sam in New York, loss Wed 2026-12-02): the
 * thank-you would be Fri 2026-12-04, a weekend day in Saudi Arabia (Fri-Sat): it moves to the
 * next window day, Mon 2026-12-07 10:36 New York; the first e-mail comes on the first Tuesday at
 * least 2 days after it (12-15), then weekly.
 *
 * The playbook assertions below re-check the main golden's shape independently of the
 * implementation (with Intl, not the planner's own time code), so a golden regenerated without
 * looking fails too.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli, cliProcess } from '../cli/helpers.ts';

const BASE = ['preview', '--reason', 'timing', '--role', 'champion', '--tz', 'Europe/Berlin', '--country', 'DE', '--from', '2026-11-24', '--months', '6', '--json'];
const golden = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');

interface Row {
  at: string;
  localTime: string;
  channel: 'email' | 'task';
  kind: string;
  content: string | null;
  reason: string;
}

const berlin = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const DAY = 86_400_000;

describe('cultivate preview --json, golden files', () => {
  it('timing, champion, Europe/Berlin, DE, from 2026-11-24, 6 months (run as a process)', async () => {
    const run = await cliProcess(BASE);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(golden('preview-timing-berlin.json'));
  });

  it('the same contact without e-mail consent: a permission-ask task and no e-mail', async () => {
    const run = await cli([...BASE, '--consent', 'unknown']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(golden('preview-timing-berlin-consent-unknown.json'));
    const rows = JSON.parse(run.stdout) as Row[];
    expect(rows.map((r) => r.kind)).toEqual(['thank-you-note', 'permission-ask', 'courtesy-call', 'requalification', 'courtesy-call']);
    expect(rows.every((r) => r.channel === 'task')).toBe(true);
  });

  it('lost as unresponsive: the thank-you note and the quarterly requalification, no weekly mail', async () => {
    const args = [...BASE];
    args[args.indexOf('timing')] = 'unresponsive';
    const run = await cli(args);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(golden('preview-unresponsive-berlin.json'));
    const rows = JSON.parse(run.stdout) as Row[];
    expect(rows.filter((r) => r.channel === 'email')).toEqual([]);
    expect(rows.map((r) => r.kind)).toEqual(['thank-you-note', 'requalification']);
  });

  it('the main golden follows the playbook (checked independently of the planner)', () => {
    const rows = JSON.parse(golden('preview-timing-berlin.json')) as Row[];
    for (const r of rows) expect(Object.keys(r)).toEqual(['at', 'localTime', 'channel', 'kind', 'content', 'reason']);
    const lostAt = Date.parse('2026-11-24T11:00:00Z');

    // A thank-you task about two days after the loss.
    const [thanks] = rows;
    const emails = rows.filter((r) => r.channel === 'email');
    expect(thanks?.kind).toBe('thank-you-note');
    expect(thanks?.channel).toBe('task');
    const gap = (Date.parse(thanks!.at) - lostAt) / DAY;
    expect(gap).toBeGreaterThanOrEqual(1.5);
    expect(gap).toBeLessThan(3);

    // Every e-mail: a value e-mail on a Tuesday inside 09:00-16:00 Berlin, at the same minute, new content each time.
    expect(emails.every((r) => r.channel === 'email' && r.kind === 'value-email')).toBe(true);
    const local = emails.map((r) => berlin.format(new Date(r.at)));
    expect(new Set(local).size).toBe(1);
    const [weekday, time] = (local[0] ?? '').split(' ');
    expect(weekday).toBe('Tue');
    expect((time ?? '') >= '09:00' && (time ?? '') < '16:00').toBe(true);
    expect(new Set(emails.map((r) => r.content)).size).toBe(emails.length);

    // 8 weekly, one skipped week, then every 4 weeks (in local days: DST changes the UTC gap).
    const days = emails.slice(1).map((r, i) => Math.round((Date.parse(r.at) - Date.parse(emails[i]!.at)) / DAY));
    expect(days).toEqual([7, 7, 7, 7, 7, 7, 7, 14, 28, 28, 28]);
    expect(emails.slice(0, 8).every((r, i) => r.reason.includes(`weekly value e-mail ${i + 1} of 8`))).toBe(true);
    expect(emails[8]?.reason).toMatch(/skip-week/);
    expect(emails.slice(9).every((r) => /monthly/.test(r.reason))).toBe(true);
    // Six quiet months after the loss, e-mail ends: nothing on or after 2027-05-24.
    expect(Date.parse(emails.at(-1)!.at)).toBeLessThan(Date.parse('2027-05-24T11:00:00Z'));
    expect(Date.parse(emails.at(-1)!.at) + 28 * DAY).toBeGreaterThan(Date.parse('2027-05-24T11:00:00Z'));

    // The human rhythms: tasks in the owner's zone (Denver), none on the day of an e-mail or the day after (the 2-day gap).
    const denver = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Denver', year: 'numeric', month: '2-digit', day: '2-digit' });
    const tasks = rows.slice(1).filter((r) => r.channel === 'task');
    expect(tasks.map((r) => `${denver.format(new Date(r.at))} ${r.kind}`)).toEqual(['2027-01-07 courtesy-call', '2027-02-24 requalification', '2027-04-07 courtesy-call']);
    for (const t of tasks) for (const e of emails) expect(Math.abs(Date.parse(t.at) - Date.parse(e.at))).toBeGreaterThan(DAY);
  });

  it('a weekly e-mail on a German public holiday moves a week, and says why (DE, 2028-10-03)', async () => {
    const run = await cli(['preview', '--reason', 'timing', '--role', 'champion', '--tz', 'Europe/Berlin', '--country', 'DE', '--from', '2028-09-12', '--months', '2', '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(golden('preview-timing-berlin-unity-day.json'));
    const emails = (JSON.parse(run.stdout) as Row[]).filter((r) => r.channel === 'email');
    expect(emails.some((r) => r.at.startsWith('2028-10-03'))).toBe(false);
    const moved = emails.find((r) => r.at.startsWith('2028-10-10'));
    expect(moved?.reason).toContain('Tue 2028-10-03 is not a working day: holiday: Tag der Deutschen Einheit');
    expect(new Set(emails.map((r) => berlin.format(new Date(r.at)))).size).toBe(1);
  });

  it('a task on a Friday for a contact in Saudi Arabia (Fri-Sat weekend) moves to Monday, and says why', async () => {
    const run = await cli(['preview', '--reason', 'timing', '--tz', 'Asia/Riyadh', '--country', 'SA', '--owner', 'sam@seller.example', '--from', '2026-12-02', '--months', '1', '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(golden('preview-timing-riyadh-weekend.json'));
    const [thanks] = JSON.parse(run.stdout) as Row[];
    expect(thanks?.localTime).toMatch(/^Mon 2026-12-07 /);
    expect(thanks?.reason).toContain('Fri 2026-12-04 is not a working day: weekend (Fri–Sat)');
  });
});
