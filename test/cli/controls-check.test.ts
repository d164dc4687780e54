/** `cultivate config check` with controls.yaml: switches that are on are said out loud; a bad one is an error. */
import { afterEach, describe, expect, it } from 'vitest';
import { cli, TempConfig } from './helpers.ts';

let tmp: TempConfig | undefined;
afterEach(() => tmp?.remove());

describe('config check and controls.yaml', () => {
  it('the shipped folder prints no controls line (nothing is switched on)', async () => {
    const run = await cli(['config', 'check', 'config']);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain('controls.yaml');
  });

  it('says which switches are on', async () => {
    tmp = new TempConfig().edit('controls.yaml', 'tracks: {}', 'tracks:\n  lost-deal: { paused: true }\n  lost-no-weekly: { dryRun: true }');
    const run = await cli(['config', 'check', tmp.dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('controls.yaml: PAUSED: track lost-deal; DRY-RUN: track lost-no-weekly\n');
    tmp.edit('controls.yaml', 'paused: false', 'paused: true');
    expect((await cli(['config', 'check', tmp.dir])).stdout).toContain('controls.yaml: PAUSED: everything');
  });

  it('an unknown track id and a misspelt switch are errors at their place', async () => {
    tmp = new TempConfig().edit('controls.yaml', 'tracks: {}', 'tracks:\n  lost-dael: { paused: true }\n  lost-deal: { dryrun: true }');
    const run = await cli(['config', 'check', tmp.dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${tmp.pos('controls.yaml', 'lost-dael')}: tracks.lost-dael: unknown track "lost-dael"`);
    expect(run.stderr).toContain(`${tmp.pos('controls.yaml', 'dryrun')}: tracks.lost-deal.dryrun: unknown key; allowed here: paused, dryRun`);
  });
});
