/**
 * `cultivate send-test`: a track's e-mails through a real SESv2Client to the local SES v2 server
 * (functions/local/ses-local.ts), to the test addresses only; customers' addresses are refused.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { startSesLocal } from '#local/ses-local';
import { simulate, PreviewOptions } from '../../functions/cli/preview.ts';
import { companyDomains, isCompanyAddress, sampleSubjectFor } from '../../functions/cli/send-test.ts';
import type { CultivateConfig, TrackConfig } from '../../functions/config/schema.ts';
import { cli, TempConfig } from './helpers.ts';

let server: Server;
let endpoint: string;
const NOW = new Date('2026-11-24T12:00:00.000Z');

interface Stored {
  from: string;
  destination: { to: string[]; cc?: string[]; bcc?: string[] };
  subject: string;
  body: { text?: string; html?: string };
  headers?: { name: string; value: string }[];
}

async function store(): Promise<Stored[]> {
  return ((await (await fetch(`${endpoint}/store`)).json()) as { emails: Stored[] }).emails;
}

beforeAll(async () => {
  ({ server, endpoint } = await startSesLocal());
});
afterAll(async () => {
  await new Promise<void>((res) => server.close(() => res()));
});
beforeEach(async () => {
  await fetch(`${endpoint}/clear-store`, { method: 'POST' });
});

/** The value e-mails the shipped lost-deal track sends a contact lost at NOW, by title, in order. */
function lostDealTitles(): string[] {
  const config = loadConfig('config');
  const result = simulate(config, PreviewOptions.parse({ reason: 'timing', id: 'rel_send_test' }), NOW);
  const titles = new Map(config.content.items.map((i) => [i.id, i.title]));
  return result.touches.filter((t) => t.channel === 'email').map((t) => titles.get(t.contentId ?? '') as string);
}

describe('cultivate send-test', () => {
  it('sends every e-mail of the track, subject [test], to the test addresses and nobody else', async () => {
    const run = await cli(['send-test', 'lost-deal', '--to', 'qa@seller.example', '--to', 'ops@mail.seller.example', '--endpoint', endpoint], NOW);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const titles = lostDealTitles();
    expect(titles.length).toBeGreaterThan(8);
    const emails = await store();
    expect(emails).toHaveLength(2 * titles.length);
    for (const e of emails) {
      expect([...e.destination.to, ...(e.destination.cc ?? []), ...(e.destination.bcc ?? [])].every((a) => a === 'qa@seller.example' || a === 'ops@mail.seller.example')).toBe(true);
      expect(e.subject.startsWith('[test] ')).toBe(true);
      expect(e.from).toContain('@mail.seller.example');
      expect(e.body.text).toContain('Hi Alex,');
      expect(e.headers?.some((h) => h.name === 'List-Unsubscribe')).toBe(true);
    }
    const toQa = emails.filter((e) => e.destination.to.includes('qa@seller.example')).map((e) => e.subject);
    expect(toQa).toEqual(titles.map((t) => `[test] ${t}`));
    expect(run.stdout).toContain(`${2 * titles.length} test e-mails of track "lost-deal" sent`);
  });

  it('refuses an address outside the company domains and then sends nothing at all', async () => {
    const run = await cli(['send-test', 'lost-deal', '--to', 'qa@seller.example', '--to', 'dana@customer.example', '--endpoint', endpoint], NOW);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('refused dana@customer.example');
    expect(run.stderr).toContain('company domains: seller.example');
    expect(await store()).toEqual([]);
    // a look-alike domain is not the company's
    const lookalike = await cli(['send-test', 'lost-deal', '--to', 'qa@evilseller.example', '--endpoint', endpoint], NOW);
    expect(lookalike.code).toBe(2);
    expect(await store()).toEqual([]);
  });

  it('--allow-domain admits a QA inbox domain', async () => {
    const run = await cli(['send-test', 'lost-deal', '--to', 'inbox@qa-mail.example', '--allow-domain', 'qa-mail.example', '--endpoint', endpoint], NOW);
    expect(run.code).toBe(0);
    const emails = await store();
    expect(emails.length).toBe(lostDealTitles().length);
    expect(new Set(emails.flatMap((e) => e.destination.to))).toEqual(new Set(['inbox@qa-mail.example']));
  });

  it('--dry prints the e-mails and sends none', async () => {
    const run = await cli(['send-test', 'lost-deal', '--to', 'qa@seller.example', '--dry', '--endpoint', endpoint], NOW);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Subject: [test] ${lostDealTitles()[0]}`);
    expect(run.stdout).toContain('not sent (--dry)');
    expect(await store()).toEqual([]);
  });

  it('a track without e-mail sends nothing; an unknown track and a missing --to are usage errors', async () => {
    const none = await cli(['send-test', 'lost-no-weekly', '--to', 'qa@seller.example', '--endpoint', endpoint], NOW);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('sends no e-mail');
    const unknown = await cli(['send-test', 'lost-dael', '--to', 'qa@seller.example', '--endpoint', endpoint], NOW);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no track "lost-dael"');
    expect(unknown.stderr).toContain('lost-deal, lost-no-weekly');
    const noTo = await cli(['send-test', 'lost-deal'], NOW);
    expect(noTo.code).toBe(2);
    expect(await store()).toEqual([]);
  });
});

describe('send-test of a track with conditions', () => {
  const shipped = loadConfig('config');
  const track = (id: string, when?: TrackConfig['when']): TrackConfig => ({ id, skipWeeks: 0, stopEmailAfterQuiet: '6 months', ...(when && { when }) });
  const withTracks = (...tracks: TrackConfig[]): CultivateConfig => ({ ...shipped, cadence: { ...shipped.cadence, tracks } });

  it('builds the sample contact from the track\'s own `when`: the first value of each list', () => {
    const config = withTracks(track('fr-advocates', { roles: ['advocate', 'champion'], countries: ['FR'], tags: ['enterprise', 'strategic'] }), ...shipped.cadence.tracks);
    expect(sampleSubjectFor(config, 'fr-advocates')).toEqual({ lostReason: 'timing', role: 'advocate', country: 'FR', tags: ['enterprise'] });
    expect(sampleSubjectFor(config, 'lost-no-weekly')).toEqual({ lostReason: 'unresponsive' });
  });

  it('takes the first lost reason earlier tracks leave to it; none when they take every one', () => {
    const config = withTracks(track('timing-champions', { lostReasons: ['timing', 'budget'], roles: ['champion'] }), track('champions', { roles: ['champion'] }), track('rest'));
    expect(sampleSubjectFor(config, 'champions')).toEqual({ lostReason: 'no-decision', role: 'champion' });
    expect(sampleSubjectFor(config, 'rest')).toEqual({ lostReason: 'timing' });
    expect(sampleSubjectFor(withTracks(track('all'), track('never', { roles: ['champion'] })), 'never')).toBeUndefined();
  });

  it('samples a referral for a track that takes referrals (the shipped referral-unreachable)', () => {
    expect(sampleSubjectFor(shipped, 'referral-unreachable')).toEqual({ entry: 'referral' });
    const both = withTracks(track('both', { entries: ['referral', 'lost-deal'] }));
    expect(sampleSubjectFor(both, 'both')).toEqual({ lostReason: 'timing' });
  });

  it('sends the e-mails of a referral track that has some (--dry)', async () => {
    const temp = new TempConfig().edit('cadence.yaml', '    when:\n      entries: [referral]\n', '    when:\n      entries: [referral]\n    weekly:\n      after: 3 days\n      count: 2\n');
    try {
      const run = await cli(['send-test', 'referral-unreachable', '--to', 'qa@seller.example', '--dry', '--config', temp.dir, '--endpoint', endpoint], NOW);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.match(/^Subject: \[test\] /gm)).toHaveLength(2);
    } finally {
      temp.remove();
    }
  });

  it('sends the e-mails of a role track placed before lost-deal (--dry)', async () => {
    const temp = new TempConfig().edit('cadence.yaml', '  - id: lost-deal\n', '  - id: champions\n    when:\n      roles: [champion]\n    weekly:\n      after: 2 days\n      count: 2\n    stopEmailAfterQuiet: 6 months\n\n  - id: lost-deal\n');
    try {
      const run = await cli(['send-test', 'champions', '--to', 'qa@seller.example', '--dry', '--config', temp.dir, '--endpoint', endpoint], NOW);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout.match(/^Subject: \[test\] /gm)).toHaveLength(2);
    } finally {
      temp.remove();
    }
  });
});

describe('company domains', () => {
  const config = loadConfig('config');
  it('are the owners\' domains the sending domain belongs to, plus --allow-domain', () => {
    expect(companyDomains({ sendingDomain: 'mail.seller.example' }, config, [])).toEqual(['seller.example']);
    expect(companyDomains({ sendingDomain: 'news.other.example' }, config, [])).toEqual([]);
    expect(companyDomains({ sendingDomain: 'news.other.example' }, config, ['QA.example'])).toEqual(['qa.example']);
  });
  it('match the domain or its subdomains, never a suffix of a label', () => {
    expect(isCompanyAddress('a@seller.example', ['seller.example'])).toBe(true);
    expect(isCompanyAddress('a@Mail.Seller.Example', ['seller.example'])).toBe(true);
    expect(isCompanyAddress('a@evilseller.example', ['seller.example'])).toBe(false);
    expect(isCompanyAddress('a@seller.example.attacker.test', ['seller.example'])).toBe(false);
  });
});
