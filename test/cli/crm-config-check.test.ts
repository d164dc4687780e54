/**
 * `cultivate config check` on config/crm.yaml: a misspelt key, a CRM user mapped to someone who is
 * not an owner, a lost reason Cultivate does not have, and a repeated label are each reported as
 * `file:line:col: message`, in one pass; the shipped file is clean.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cli, TempConfig } from './helpers.ts';

let temp: TempConfig | undefined;
const config = () => (temp = new TempConfig());
afterEach(() => {
  temp?.remove();
  temp = undefined;
});

describe('cultivate config check: crm.yaml', () => {
  it('the shipped config is clean', async () => {
    const run = await cli(['config', 'check', 'config']);
    expect(run.code, run.stderr).toBe(0);
  });

  it('every problem at its place, in one run', async () => {
    const c = config()
      .edit('crm.yaml', '  users: {}\n\nsalesforce:', '  users:\n    "77": nobody@seller.example\n  pipelinez: {}\n\nsalesforce:')
      .edit('crm.yaml', '    Timing: timing', '    Timing: later')
      .edit('crm.yaml', '    "Timing": timing', '    "Timing": timing\n    " timing ": budget');
    const run = await cli(['config', 'check', c.dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${c.pos('crm.yaml', 'nobody@seller.example')}: hubspot.users.77: nobody@seller.example is not an owner in owners.yaml`);
    expect(run.stderr).toContain(`${c.pos('crm.yaml', 'pipelinez')}: hubspot.pipelinez: unknown key`);
    expect(run.stderr).toMatch(new RegExp(`${c.pos('crm.yaml', 'later').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: salesforce\\.lostReasons\\.Timing: `));
  });

  it('a repeated label (compared without case and spaces) once the schema holds', async () => {
    const c = config().edit('crm.yaml', '    "Timing": timing', '    "Timing": timing\n    " timing ": budget');
    const run = await cli(['config', 'check', c.dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('pipedrive.lostReasons. timing : " timing " repeats "Timing"');
  });
});
