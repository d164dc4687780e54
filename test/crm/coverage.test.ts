/**
 * The pure comparison behind `cultivate config check` online: which of a CRM's values crm.yaml
 * does not map, compared as the adapters look them up (ids and internal values, case and spaces
 * ignored), and what happens to each today; then each CRM's catalog read against its local fake.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coverage, type CrmCatalog } from '#crm/coverage';
import { CrmMapping } from '#crm/mappings';
import { envSettings } from '#crm/settings';
import { hubspotApiFromSettings } from '#crm/hubspot/api';
import { hubspotCatalog } from '#crm/hubspot/catalog';
import { createSalesforceApi } from '#crm/salesforce/api';
import { salesforceCatalog } from '#crm/salesforce/catalog';
import { createPipedriveApi } from '#crm/pipedrive/api';
import { pipedriveCatalog } from '#crm/pipedrive/catalog';
import { startFakeHubSpot } from '../helpers/fake-hubspot.ts';
import { startFakeSalesforce } from '../helpers/fake-salesforce.ts';
import { startFakePipedrive } from '../helpers/fake-pipedrive.ts';

const mapping = (m: Partial<CrmMapping>) => CrmMapping.parse(m);
const hubspot = (c: Partial<CrmCatalog>): CrmCatalog => ({ crm: 'hubspot', notes: [], ...c });
const keys = (c: ReturnType<typeof coverage>, kind: string) => c.findings.filter((f) => f.kind === kind).map((f) => f.key);

const pipelines: CrmCatalog['pipelines'] = [
  { key: 'default', label: 'Sales Pipeline', stages: [{ key: 'open', closedLost: false }, { key: 'closedwon', closedLost: false }, { key: 'closedlost', label: 'Closed Lost', closedLost: true }] },
  { key: '123', label: 'Renewals', stages: [{ key: 'r-lost', label: 'Churned', closedLost: true }, { key: 'r-gone', closedLost: true }] },
];

describe('coverage: pipelines (HubSpot)', () => {
  it('a pipeline without a closedLostStages entry is reported with its closed-lost candidates', () => {
    const r = coverage(mapping({ closedLostStages: { default: ['closedlost'] } }), hubspot({ pipelines }));
    expect(r.findings).toEqual([{ kind: 'pipeline', key: '123', message: expect.stringContaining('pipeline "Renewals" (123) has no closedLostStages entry: deals closing there are quarantined; closed-lost candidates: r-lost, r-gone') }]);
    expect(r.checked).toEqual(['2 pipelines']);
  });

  it('a pipeline mapped by its label is reported, since deals carry its id', () => {
    const r = coverage(mapping({ closedLostStages: { default: ['closedlost'], renewals: ['r-lost', 'r-gone'] } }), hubspot({ pipelines }));
    expect(r.findings.map((f) => f.message)).toEqual([expect.stringContaining('crm.yaml has its label "renewals", but records carry "123": use that')]);
  });

  it('a listed stage the pipeline does not have, and a closed-lost candidate left out, are reported', () => {
    const r = coverage(mapping({ closedLostStages: { ' DEFAULT ': ['closedlost'], '123': ['r-lost', 'churned-typo'] } }), hubspot({ pipelines }));
    expect(keys(r, 'pipeline')).toEqual([]);
    expect(r.findings.map((f) => [f.kind, f.key])).toEqual([
      ['stage', 'churned-typo'],
      ['stage', 'r-gone'],
    ]);
    expect(r.findings[0]?.message).toContain('closedLostStages.123 lists "churned-typo", which is not a stage id of pipeline "Renewals" (123)');
    expect(r.findings[1]?.message).toContain('stage "r-gone" of pipeline "Renewals" (123) is closed and not won, but not in closedLostStages.123');
  });
});

describe('coverage: lost reasons, outcomes, users', () => {
  it('an unmapped lost reason says whether defaultLostReason catches it', () => {
    const catalog = hubspot({ lostReasons: { source: 'deal property closed_lost_reason', values: [{ key: 'price', label: 'Too expensive' }, { key: 'timing' }] } });
    const caught = coverage(mapping({ lostReasons: { ' Timing ': 'timing' }, defaultLostReason: 'other' }), catalog);
    expect(caught.findings).toEqual([{ kind: 'lost-reason', key: 'price', message: 'lost reason "Too expensive" (price) (deal property closed_lost_reason) has no lostReasons entry: defaultLostReason (other) catches it' }]);
    const quarantined = coverage(mapping({ lostReasons: { timing: 'timing' } }), catalog);
    expect(quarantined.findings[0]?.message).toContain('no defaultLostReason, so deals lost with it are quarantined');
  });

  it('an outcome that is already a touch outcome name needs no entry where the adapter accepts names', () => {
    const values = [{ key: 'no-answer' }, { key: 'Left VM', label: 'Left voicemail' }, { key: 'sent-brochure' }];
    const accepts = coverage(mapping({ activityOutcomes: { 'left vm': 'left-message' } }), hubspot({ outcomes: { source: 'task property cultivate_outcome', values, unmapped: 'quarantined', acceptsOutcomeNames: true } }));
    expect(accepts.findings.map((f) => f.key)).toEqual(['sent-brochure']);
    expect(accepts.findings[0]?.message).toBe('task property cultivate_outcome "sent-brochure" has no activityOutcomes entry: completed Cultivate tasks with it are quarantined');
    const strict = coverage(mapping({}), { crm: 'pipedrive', notes: [], outcomes: { source: 'activity type', values, unmapped: 'ignored', acceptsOutcomeNames: false } });
    expect(strict.findings.map((f) => f.key)).toEqual(['no-answer', 'Left VM', 'sent-brochure']);
    expect(strict.findings[0]?.message).toContain('done activities of this type are ignored');
  });

  it('a user matches by id or an alias (a Salesforce 15-character id), never by e-mail', () => {
    const users = { source: 'user', values: [{ key: '005000000000001AAA', label: 'a@seller.example', aliases: ['005000000000001'] }, { key: '005000000000002AAA', label: 'b@seller.example' }] };
    const r = coverage(mapping({ users: { '005000000000001': 'a@seller.example', 'b@seller.example': 'b@seller.example' } }), { crm: 'salesforce', notes: ['n'], users });
    expect(r.findings.map((f) => f.key)).toEqual(['005000000000002AAA']);
    expect(r.findings[0]?.message).toContain('"b@seller.example" (005000000000002AAA) has no users entry');
    expect(r.notes).toEqual(['n']);
    expect(r.checked).toEqual(['2 users']);
  });

  it('lists the CRM did not give are not checked', () => {
    const r = coverage(mapping({}), hubspot({}));
    expect(r).toEqual({ crm: 'hubspot', checked: [], findings: [], notes: [] });
  });
});

describe('coverage: property', () => {
  it('exactly the lost reasons with no entry are reported, once each, whatever the case and spaces of the mapping', () => {
    const word = fc.stringMatching(/^[a-z]{1,8}$/);
    fc.assert(
      fc.property(fc.uniqueArray(word, { maxLength: 12 }), fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), (values, mapped) => {
        const table = Object.fromEntries(values.filter((_, i) => mapped[i]).map((v, i) => [i % 2 ? ` ${v.toUpperCase()} ` : v, 'timing' as const]));
        const r = coverage(mapping({ lostReasons: table }), hubspot({ lostReasons: { source: 's', values: values.map((key) => ({ key })) } }));
        expect(keys(r, 'lost-reason')).toEqual(values.filter((_, i) => !mapped[i]));
      }),
    );
  });
});

describe('catalog reads against the fakes (each CRM real response shapes)', () => {
  it('HubSpot: every pipeline, the lost-reason options without hidden ones, a missing outcome property as a note, every page of owners', async () => {
    const hs = await startFakeHubSpot();
    try {
      hs.seed({
        pipelines: [{ id: '123', label: 'Renewals', stages: [{ id: 'r-open', label: 'Open', isClosed: false, probability: 0.5 }, { id: 'r-lost', label: 'Churned', isClosed: true, probability: 0 }] }],
        properties: { deals: { closed_lost_reason: { type: 'enumeration', options: [{ value: 'price', label: 'Too expensive' }, { value: 'old', label: 'Retired', hidden: true }] } } },
        owners: [...Array.from({ length: 501 }, (_, i) => ({ id: String(1000 + i), email: `rep${i}@seller.example` })), { id: '9', email: 'gone@seller.example', archived: true }],
      });
      const api = await hubspotApiFromSettings(envSettings({ CULTIVATE_HUBSPOT_TOKEN: hs.token, CULTIVATE_HUBSPOT_API_URL: hs.url }));
      const catalog = await hubspotCatalog(api, mapping({}));
      expect(catalog.pipelines?.map((p) => [p.key, p.stages.filter((s) => s.closedLost).map((s) => s.key)])).toEqual([
        ['default', ['closedlost']],
        ['123', ['r-lost']],
      ]);
      expect(catalog.lostReasons).toEqual({ source: 'deal property closed_lost_reason', values: [{ key: 'price', label: 'Too expensive' }] });
      expect(catalog.outcomes).toBeUndefined();
      expect(catalog.notes).toEqual(['tasks property cultivate_outcome does not exist in HubSpot (fields in crm.yaml): not checked']);
      expect(catalog.users?.values).toHaveLength(501);
      expect(catalog.users?.values[0]).toEqual({ key: '1000', label: 'rep0@seller.example' });
      expect(hs.calls.filter((c) => c.path.startsWith('/crm/v3/owners')).map((c) => new URL(c.path, hs.url).searchParams.get('after'))).toEqual([null, '500']);
      expect(hs.calls.every((c) => c.headers.authorization === `Bearer ${hs.token}`)).toBe(true);
    } finally {
      await hs.stop();
    }
  });

  it('HubSpot: a free-text lost-reason property cannot be listed and says so', async () => {
    const hs = await startFakeHubSpot();
    try {
      hs.seed({ properties: { tasks: { cultivate_outcome: { type: 'enumeration', options: [{ value: 'done', label: 'Done' }] } } } });
      const api = await hubspotApiFromSettings(envSettings({ CULTIVATE_HUBSPOT_TOKEN: hs.token, CULTIVATE_HUBSPOT_API_URL: hs.url }));
      const catalog = await hubspotCatalog(api, mapping({}));
      expect(catalog.lostReasons).toBeUndefined();
      expect(catalog.outcomes?.values).toEqual([{ key: 'done', label: 'Done' }]);
      expect(catalog.notes).toEqual(['deals property closed_lost_reason is free text (string), so its values cannot be listed: not checked']);
    } finally {
      await hs.stop();
    }
  });

  it('Salesforce: active picklist values of fields.lostReason through describe, a text outcome field as a note, active standard users', async () => {
    const sf = await startFakeSalesforce();
    try {
      sf.defineField('Opportunity', { name: 'Loss_Reason__c', label: 'Loss Reason', type: 'picklist', picklistValues: [{ value: 'Price', label: 'Too expensive' }, { value: 'Legacy', active: false }] });
      sf.seed({
        User: {
          '005000000000001AAA': { Name: 'Ann Rep', Email: 'ann@seller.example', IsActive: true, UserType: 'Standard' },
          '005000000000002AAA': { Name: 'Old Rep', Email: 'old@seller.example', IsActive: false, UserType: 'Standard' },
          '005000000000003AAA': { Name: 'Site Guest', Email: null, IsActive: true, UserType: 'Guest' },
        },
      });
      const api = createSalesforceApi(envSettings({ CULTIVATE_SALESFORCE_API_URL: sf.url, CULTIVATE_SALESFORCE_CLIENT_ID: sf.clientId, CULTIVATE_SALESFORCE_CLIENT_SECRET: sf.clientSecret }), { baseDelayMs: 1 });
      const catalog = await salesforceCatalog(api, mapping({ fields: { lostReason: 'Loss_Reason__c' } }));
      expect(catalog.lostReasons).toEqual({ source: 'Opportunity.Loss_Reason__c', values: [{ key: 'Price', label: 'Too expensive' }] });
      expect(catalog.outcomes).toBeUndefined();
      expect(catalog.notes).toEqual(['Task.CallDisposition is a string field, so its values cannot be listed: not checked']);
      expect(catalog.users?.values).toEqual([{ key: '005000000000001AAA', label: 'ann@seller.example', aliases: ['005000000000001'] }]);
      expect(catalog.pipelines).toBeUndefined();
    } finally {
      await sf.stop();
    }
  });

  it('Pipedrive: the predefined lost reasons, active activity types by key, active users', async () => {
    const pd = await startFakePipedrive();
    try {
      pd.seed({
        lostReasons: ['No budget', 'Went silent'],
        activityTypes: [{ key_string: 'call', name: 'Call' }, { key_string: 'demo_visit', name: 'Demo visit' }, { key_string: 'fax', name: 'Fax', active_flag: false }],
        users: [{ id: 7, name: 'Ann Rep', email: 'ann@seller.example' }, { id: 8, name: 'Old Rep', email: 'old@seller.example', active_flag: false }],
      });
      const catalog = await pipedriveCatalog(createPipedriveApi({ baseUrl: pd.url, token: async () => pd.token, baseDelayMs: 1 }));
      expect(catalog.lostReasons?.values).toEqual([{ key: 'No budget' }, { key: 'Went silent' }]);
      expect(catalog.outcomes?.values).toEqual([{ key: 'call', label: 'Call' }, { key: 'demo_visit', label: 'Demo visit' }]);
      expect(catalog.users?.values).toEqual([{ key: '7', label: 'ann@seller.example' }]);
      expect(pd.calls.map((c) => c.path.split('?')[0])).toEqual(expect.arrayContaining(['/api/v1/dealFields', '/api/v1/activityTypes', '/api/v1/users']));
    } finally {
      await pd.stop();
    }
  });

  it('Pipedrive: free-form lost reasons only cannot be listed and say so', async () => {
    const pd = await startFakePipedrive();
    try {
      const catalog = await pipedriveCatalog(createPipedriveApi({ baseUrl: pd.url, token: async () => pd.token, baseDelayMs: 1 }));
      expect(catalog.lostReasons).toBeUndefined();
      expect(catalog.notes).toEqual(['Pipedrive has no predefined lost reasons (free-form only), so they cannot be listed: not checked']);
    } finally {
      await pd.stop();
    }
  });
});
