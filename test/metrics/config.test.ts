/** config/metrics.yaml: the shipped file is valid; problems name file:line:col and the field. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { loadMetricsConfig, MetricsConfigError, parseMetricsConfig } from '#config/metrics';
import { metricsContext } from '#handlers/metrics-stream';

const shipped = readFileSync('config/metrics.yaml', 'utf8');

function problems(text: string): string[] {
  try {
    parseMetricsConfig(text);
  } catch (err) {
    if (err instanceof MetricsConfigError) return err.problems.map((p) => `${p.file}:${p.line}:${p.col}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('metrics config', () => {
  it('the shipped config/metrics.yaml is valid', () => {
    const c = loadMetricsConfig('config');
    // Off until there is enough volume (see the file): fixtures and demos are all nurtured.
    expect(c.holdout.percent).toBe(0);
    expect(c.reviewThresholds).toEqual({ bounceRate: 0.05, complaintRate: 0.001, alarmAt: 0.5 });
  });

  it('the fact context reads tracks from cadence.yaml and series from content.yaml', () => {
    const ctx = metricsContext(loadConfig('config'), loadMetricsConfig('config'));
    expect(ctx.seriesOf('stale-deal-audit')).toBe('pipeline-hygiene');
    expect(ctx.seriesOf('no-such-item')).toBe('unknown');
    expect(ctx.trackOf({ lostReason: 'timing' })).not.toBe('none');
  });

  it('a bad value is reported at its line and column with the field named', () => {
    const text = shipped.replace('  percent: 0', '  percent: 80');
    const line = text.split('\n').findIndex((l) => l.startsWith('  percent: 80')) + 1;
    expect(problems(text)).toEqual([`config/metrics.yaml:${line}:12: holdout.percent: percent above 50 would hold out most accounts`]);
  });

  it('an unknown key is reported at the key, with the keys allowed there', () => {
    const text = shipped.replace('  task: 12.5', '  task: 12.5\n  lunch: 40');
    const line = text.split('\n').findIndex((l) => l.startsWith('  lunch:')) + 1;
    expect(problems(text)).toEqual([`config/metrics.yaml:${line}:3: costPerTouch.lunch: unknown key; allowed here: currency, email, task`]);
  });

  it('a missing field and a YAML syntax error are both named', () => {
    // A missing key is reported where the enclosing map (here the document) starts.
    const root = shipped.split('\n').findIndex((l) => l.startsWith('holdout:')) + 1;
    expect(problems(shipped.replace(/\ntaskOnTimeGraceHours: 24\n/, '\n'))).toEqual([`config/metrics.yaml:${root}:1: taskOnTimeGraceHours: is required but missing`]);
    expect(problems('holdout: [\n')[0]).toMatch(/^config\/metrics\.yaml:\d+:\d+: YAML /);
  });
});
