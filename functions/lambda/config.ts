/**
 * The config/ folder travels with each function that needs it (copied next to the bundle at
 * synth time). Loaded and validated once per container; a bad file fails the cold start loudly.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineConfig, type PipelineConfig } from '#config/pipeline';
import { env } from './runtime.ts';

let cached: PipelineConfig | undefined;

export function pipeline(): PipelineConfig {
  cached ??= loadPipelineConfig(
    process.env.CULTIVATE_CONFIG_DIR ?? join(dirname(fileURLToPath(import.meta.url)), 'config'),
    env('CULTIVATE_PUBLIC_BASE_URL'),
    process.env.SES_CONFIGURATION_SET,
  );
  return cached;
}
