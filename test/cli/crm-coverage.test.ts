/**
 * `cultivate config check` online (issue #5), end to end against the local fakes of HubSpot,
 * Salesforce and Pipedrive: with a CRM's API settings in the environment (or --crm), it lists the
 * pipelines, lost reasons, outcomes and users config/crm.yaml does not map, as warnings (exit 0;
 * exit 1 with --strict), and an error naming the missing settings when --crm names a CRM without them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigCommands } from '../../functions/cli/index.ts';
import { startFakeHubSpot, type FakeHubSpot } from '../helpers/fake-hubspot.ts';
import { startFakePipedrive, type FakePipedrive } from '../helpers/fake-pipedrive.ts';
import { startFakeSalesforce, type FakeSalesforce } from '../helpers/fake-salesforce.ts';
import { TempConfig, type Run } from './helpers.ts';

let hs: FakeHubSpot;
let sf: FakeSalesforce;
let pd: FakePipedrive;
let temp: TempConfig;

async function check(args: string[], env: Record<string, string>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runConfigCommands(['config', 'check', temp.dir, ...args], { out: (t) => void (stdout += t), err: (t) => void (stderr += t), env });
  return { code, stdout, stderr };
}

const hubspotEnv = () => ({ CULTIVATE_HUBSPOT_TOKEN: hs.token, CULTIVATE_HUBSPOT_API_URL: hs.url });
const salesforceEnv = () => ({ CULTIVATE_SALESFORCE_API_URL: sf.url, CULTIVATE_SALESFORCE_CLIENT_ID: sf.clientId, CULTIVATE_SALESFORCE_CLIENT_SECRET: sf.clientSecret });
const pipedriveEnv = () => ({ CULTIVATE_PIPEDRIVE_API_TOKEN: pd.token, CULTIVATE_PIPEDRIVE_API_URL: pd.url });
const allEnv = () => ({ ...hubspotEnv(), ...salesforceEnv(), ...pipedriveEnv() });

beforeAll(async () => {
  [hs, sf, pd] = await Promise.all([startFakeHubSpot(), startFakeSalesforce(), startFakePipedrive()]);
  // The shipped crm.yaml maps users to nobody; map one per CRM so a mapped user is seen as mapped.
  temp = new TempConfig()
    .edit('crm.yaml', '  users: {}\n\nsalesforce:', '  users:\n    "1001": dana.owner@seller.example\n\nsalesforce:')
    .edit('crm.yaml', '  users: {}\n\npipedrive:', '  users:\n    "005000000000001": dana.owner@seller.example\n\npipedrive:');
  const owner = temp.text('owners.yaml').match(/email:\s*(\S+)/)?.[1];
  expect(owner, 'owners.yaml has an owner').toBeDefined();
  temp.edit('crm.yaml', '"1001": dana.owner@seller.example', `"1001": ${owner}`).edit('crm.yaml', '"005000000000001": dana.owner@seller.example', `"005000000000001": ${owner}`);

  hs.seed({
    pipelines: [{ id: '123', label: 'Renewals', stages: [{ id: 'r-lost', label: 'Churned', isClosed: true, probability: 0 }] }],
    properties: { deals: { closed_lost_reason: { type: 'enumeration', options: [{ value: 'Bad timing', label: 'Bad timing' }, { value: 'price', label: 'Too expensive' }] } } },
    owners: [{ id: '1001', email: 'ann@seller.example' }, { id: '1002', email: 'ben@seller.example' }],
  });
  sf.defineField('Opportunity', { name: 'Loss_Reason__c', type: 'picklist', picklistValues: [{ value: 'Timing' }, { value: 'Price' }] });
  sf.seed({
    User: {
      '005000000000001AAA': { Name: 'Ann', Email: 'ann@seller.example', IsActive: true, UserType: 'Standard' },
      '005000000000002AAA': { Name: 'Ben', Email: 'ben@seller.example', IsActive: true, UserType: 'Standard' },
    },
  });
  pd.seed({ lostReasons: ['Timing', 'Too expensive'], users: [{ id: 7, name: 'Ann', email: 'ann@seller.example' }] });
});

afterAll(async () => {
  temp.remove();
  await Promise.all([hs.stop(), sf.stop(), pd.stop()]);
});

describe('cultivate config check: CRM coverage', () => {
  it('without settings and without --crm, the online part is skipped silently', async () => {
    const calls = hs.calls.length + sf.calls.length + pd.calls.length;
    const run = await check([], {});
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toMatch(/^(hubspot|salesforce|pipedrive):/m);
    expect(hs.calls.length + sf.calls.length + pd.calls.length).toBe(calls);
  });

  it('with every CRM in the environment: what each does not map, as warnings, exit 0', async () => {
    const run = await check([], allEnv());
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('hubspot: checked 2 pipelines, 2 lost reasons, 2 users against crm.yaml: 3 unmapped');
    expect(lines).toContain('hubspot: warning: pipeline "Renewals" (123) has no closedLostStages entry: deals closing there are quarantined; closed-lost candidates: r-lost');
    expect(lines).toContain('hubspot: warning: lost reason "Too expensive" (price) (deal property closed_lost_reason) has no lostReasons entry: defaultLostReason (other) catches it');
    expect(lines).toContain('hubspot: warning: owner "ben@seller.example" (1002) has no users entry: relationships owned there get the fallback owner (owners.yaml)');
    expect(lines).toContain('hubspot: note: tasks property cultivate_outcome does not exist in HubSpot (fields in crm.yaml): not checked');
    expect(lines).toContain('salesforce: checked 2 lost reasons, 2 users against crm.yaml: 2 unmapped');
    expect(lines).toContain('salesforce: warning: lost reason "Price" (Opportunity.Loss_Reason__c) has no lostReasons entry: defaultLostReason (other) catches it');
    expect(lines).toContain('salesforce: warning: user "ben@seller.example" (005000000000002AAA) has no users entry: relationships owned there get the fallback owner (owners.yaml)');
    expect(lines).toContain('pipedrive: checked 2 lost reasons, 6 outcomes, 1 user against crm.yaml: 7 unmapped');
    expect(lines).toContain('pipedrive: warning: lost reason "Too expensive" (Pipedrive lost reasons) has no lostReasons entry: no defaultLostReason, so deals lost with it are quarantined');
    expect(lines).toContain('pipedrive: warning: activity type "meeting" has no activityOutcomes entry: done activities of this type are ignored');
    expect(lines).toContain('pipedrive: warning: user "ann@seller.example" (7) has no users entry: relationships owned there get the fallback owner (owners.yaml)');
    expect(run.stdout).not.toContain('"call"');
  });

  it('--strict turns unmapped values into exit 1', async () => {
    const run = await check(['--strict', '--crm', 'hubspot'], allEnv());
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('hubspot: checked');
    expect(run.stdout).not.toContain('salesforce:');
    expect(run.stderr).toContain('cultivate config check: 3 unmapped CRM values (--strict)');
  });

  it('--crm with missing settings is an error naming them; the CRMs that have them are still checked', async () => {
    const run = await check(['--crm', 'salesforce', '--crm', 'pipedrive'], { ...pipedriveEnv(), CULTIVATE_SALESFORCE_API_URL: sf.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('salesforce: error: missing settings CULTIVATE_SALESFORCE_CLIENT_ID, CULTIVATE_SALESFORCE_CLIENT_SECRET');
    expect(run.stdout).toContain('pipedrive: checked');
  });

  it('--crm all with nothing set names every CRM\'s settings', async () => {
    const run = await check(['--crm', 'all'], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('hubspot: error: missing setting CULTIVATE_HUBSPOT_TOKEN');
    expect(run.stderr).toContain('pipedrive: error: missing setting CULTIVATE_PIPEDRIVE_API_TOKEN');
  });

  it('a CRM that refuses the credentials is an error (exit 1), not a crash', async () => {
    const run = await check([], { ...hubspotEnv(), CULTIVATE_HUBSPOT_TOKEN: 'wrong' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^hubspot: error: cannot read its values: hubspot GET \/crm\/v3\/\S+ answered 401$/m);
  });

  it('a mapping that covers everything reports nothing unmapped, and --strict passes', async () => {
    temp.edit('crm.yaml', '"Timing": timing', '"Timing": timing\n    "Too expensive": budget').edit('crm.yaml', '    call: done', '    call: done\n    meeting: done\n    task: done\n    deadline: done\n    email: done\n    lunch: done');
    temp.edit('crm.yaml', '  # Pipedrive user id -> owner e-mail in owners.yaml.\n  users: {}', `  users:\n    "7": ${temp.text('owners.yaml').match(/email:\s*(\S+)/)?.[1]}`);
    const run = await check(['--strict', '--crm', 'pipedrive'], pipedriveEnv());
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('pipedrive: checked 2 lost reasons, 6 outcomes, 1 user against crm.yaml: everything is mapped');
  });

  it('a --crm that is not a CRM is a usage error (exit 2)', async () => {
    const run = await check(['--crm', 'zoho'], {});
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--crm "zoho" is not one of hubspot, salesforce, pipedrive, all');
  });
});
