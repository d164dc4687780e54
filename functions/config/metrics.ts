/**
 * config/metrics.yaml: the holdout (share and salt), cost per touch by channel, the power target
 * for the lift, SES review thresholds. Strict schema; problems reported as `file:line:col`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { type ConfigProblem, YamlSource } from './yaml-source.ts';

const share = (what: string) => z.number().gt(0, `${what} must be above 0`).lt(1, `${what} must be below 1`);

export const MetricsConfig = z
  .object({
    holdout: z
      .object({
        percent: z.number().min(0, 'percent must be 0 (no holdout) or more').max(50, 'percent above 50 would hold out most accounts'),
        salt: z.string().min(8, 'salt must be at least 8 characters (changing it re-draws the groups)'),
      })
      .strict(),
    costPerTouch: z
      .object({
        currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD'),
        email: z.number().nonnegative().finite(),
        task: z.number().nonnegative().finite(),
      })
      .strict(),
    power: z
      .object({
        minimumDetectableLift: share('minimumDetectableLift'),
        alpha: share('alpha'),
        power: share('power'),
      })
      .strict(),
    reviewThresholds: z
      .object({
        bounceRate: share('bounceRate'),
        complaintRate: share('complaintRate'),
        alarmAt: share('alarmAt'),
      })
      .strict(),
    taskOnTimeGraceHours: z.number().int().min(0).max(24 * 14),
  })
  .strict();
export type MetricsConfig = z.infer<typeof MetricsConfig>;

export class MetricsConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`Invalid metrics configuration:\n${problems.map((p) => `  ${p.file}:${p.line}:${p.col}: ${p.message}`).join('\n')}`);
    this.name = 'MetricsConfigError';
  }
}

/** Validates the text of metrics.yaml; throws a MetricsConfigError naming every problem's place. */
export function parseMetricsConfig(text: string, name = 'config/metrics.yaml'): MetricsConfig {
  const source = new YamlSource(name, text);
  const data = source.data();
  if (data === undefined) throw new MetricsConfigError(source.syntaxProblems());
  const parsed = MetricsConfig.safeParse(data);
  if (!parsed.success) throw new MetricsConfigError(source.zodProblems(parsed.error.issues, MetricsConfig));
  return parsed.data;
}

export function loadMetricsConfig(dir = 'config'): MetricsConfig {
  const file = join(dir, 'metrics.yaml');
  return parseMetricsConfig(readFileSync(file, 'utf8'), file);
}
