/**
 * controls.yaml (kill switches and dry-run): validated with the rules, positions for every problem,
 * and `controlFor`, which the sender's final claim reads.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#config/load';
import { NO_CONTROLS, type ControlsConfig, type CultivateConfig } from '#config/schema';
import { controlFor } from '#domain/cadence';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of config/ with controls.yaml replaced (or removed when `text` is undefined). */
function withControls(text: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), 'cultivate-controls-'));
  dirs.push(dir);
  cpSync('config', dir, { recursive: true });
  if (text === undefined) rmSync(join(dir, 'controls.yaml'));
  else writeFileSync(join(dir, 'controls.yaml'), text);
  return dir;
}

function problemsOf(dir: string): string {
  try {
    loadConfig(dir);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('controls.yaml', () => {
  it('the shipped file pauses nothing and dry-runs nothing', () => {
    expect(loadConfig('config').controls).toEqual(NO_CONTROLS);
  });

  it('without the file, nothing is paused', () => {
    expect(loadConfig(withControls(undefined)).controls).toEqual(NO_CONTROLS);
  });

  it('reads a global pause and per-track switches (omitted switches are off)', () => {
    const dir = withControls('version: 1\npaused: true\ndryRun: false\ntracks:\n  lost-deal: { dryRun: true }\n');
    expect(loadConfig(dir).controls).toEqual({ version: 1, paused: true, dryRun: false, tracks: { 'lost-deal': { paused: false, dryRun: true } } });
  });

  it('an unknown track id is an error at its key, naming the tracks that exist', () => {
    const dir = withControls('version: 1\npaused: false\ndryRun: false\ntracks:\n  lost-dael:\n    paused: true\n');
    expect(problemsOf(dir)).toContain(`${join(dir, 'controls.yaml')}:5:3: tracks.lost-dael: unknown track "lost-dael": cadence.yaml has "referral-partners", "customer-care", "referral-unreachable", "lost-deal", "lost-no-weekly"`);
  });

  it('a misspelt switch is an error, never a silent default', () => {
    const dir = withControls('version: 1\npaused: false\ndryRun: false\ntracks:\n  lost-deal: { pause: true }\n');
    expect(problemsOf(dir)).toMatch(/controls\.yaml:5:16: tracks\.lost-deal\.pause: unknown key; allowed here: paused, dryRun/);
  });

  it('a missing top-level switch and a non-boolean are errors with positions', () => {
    const dir = withControls('version: 1\npaused: yes please\ntracks: {}\n');
    const message = problemsOf(dir);
    expect(message).toMatch(/controls\.yaml:2:9: paused: /);
    expect(message).toMatch(/controls\.yaml:1:1: dryRun: /);
  });
});

describe('controlFor', () => {
  const shipped = loadConfig('config');
  const withSwitches = (controls: Partial<ControlsConfig>): CultivateConfig => ({ ...shipped, controls: { ...NO_CONTROLS, ...controls } });
  const lost = (lostReason: 'timing' | 'unresponsive') => ({ nurture: { lostReason, lostAt: '2026-11-20T15:00:00.000Z' } });

  it('nothing switched: no hold, no dry-run, and the track the person is on', () => {
    expect(controlFor(shipped, lost('timing'))).toEqual({ trackId: 'lost-deal', dryRun: false });
    expect(controlFor(shipped, {})).toEqual({ trackId: undefined, dryRun: false });
  });

  it('a global pause holds every track, even a person on no track', () => {
    const c = withSwitches({ paused: true });
    expect(controlFor(c, lost('timing')).hold).toBe('paused');
    expect(controlFor(c, lost('unresponsive')).hold).toBe('paused');
    expect(controlFor(c, {}).hold).toBe('paused');
  });

  it('a track pause holds only that track', () => {
    const c = withSwitches({ tracks: { 'lost-deal': { paused: true, dryRun: false } } });
    expect(controlFor(c, lost('timing'))).toEqual({ trackId: 'lost-deal', hold: 'track-paused', dryRun: false });
    expect(controlFor(c, lost('unresponsive'))).toEqual({ trackId: 'lost-no-weekly', dryRun: false });
  });

  it('dry-run for all or per track; a pause wins over dry-run', () => {
    expect(controlFor(withSwitches({ dryRun: true }), lost('unresponsive')).dryRun).toBe(true);
    const perTrack = withSwitches({ tracks: { 'lost-no-weekly': { paused: false, dryRun: true } } });
    expect(controlFor(perTrack, lost('unresponsive')).dryRun).toBe(true);
    expect(controlFor(perTrack, lost('timing')).dryRun).toBe(false);
    const both = controlFor(withSwitches({ paused: true, dryRun: true }), lost('timing'));
    expect(both.hold).toBe('paused');
  });
});
